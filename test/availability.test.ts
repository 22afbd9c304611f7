// Availability over HTTP and as a page: the engineer's own statement, read by operators, refused to everyone else.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialects } from "./support/databases.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { csrfTokenIn, getPage, postForm } from "./support/pages.ts";

const weekdays = {
  timeZone: "Asia/Tokyo",
  windows: ["mon", "tue", "wed", "thu", "fri"].map((day) => ({ day, start: "10:00", end: "15:00" })),
  exceptions: [{ from: "2027-03-25", to: "2027-04-07", note: "春休み" }],
};

describe.each(dialects)("availability on %s", (dialect) => {
  let t: TestAzusa;
  let as: Record<"operator" | "engineer" | "otherEngineer" | "contractor" | "lead", Client>;
  let engineerId: string;

  beforeAll(async () => {
    t = await startTestAzusa({ dialect });
    const tenant = await t.createTenant("東京システムインテグレーション");
    engineerId = (await t.createUser("engineer", "sato@office.example")).id;
    await t.createUser("engineer", "suzuki@office.example");
    await t.createUser("contractor", "buyer@tokyo-si.example", tenant.id);
    await t.createUser("lead", "lead@tokyo-si.example", tenant.id);
    as = {
      operator: await t.signIn("root@office.example"),
      engineer: await t.signIn("sato@office.example"),
      otherEngineer: await t.signIn("suzuki@office.example"),
      contractor: await t.signIn("buyer@tokyo-si.example"),
      lead: await t.signIn("lead@tokyo-si.example"),
    };
  });
  afterAll(() => t?.stop());

  it("is empty until stated, then holds the engineer's windows, exceptions and weekly hours", async () => {
    const before = await (await as.engineer.get(`/api/v1/engineers/${engineerId}/availability`)).json();
    expect(before).toMatchObject({ windows: [], exceptions: [], weeklyHours: 0, updatedAt: null });

    const res = await as.engineer.put(`/api/v1/engineers/${engineerId}/availability`, weekdays);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ...weekdays, weeklyHours: 25, updatedAt: expect.any(String) });
    const audit = await (await as.operator.get("/api/v1/audit-events?limit=1")).json();
    expect(audit.items[0]).toMatchObject({ action: "availability.updated", subject: `engineer:${engineerId}` });
    expect(JSON.stringify(audit.items[0].details)).not.toContain("春休み");
  });

  it("lets operators read it but only the engineer change it; tenant staff and other engineers are told nothing", async () => {
    const read = await as.operator.get(`/api/v1/engineers/${engineerId}/availability`);
    expect(read.status).toBe(200);
    expect((await read.json()).weeklyHours).toBe(25);
    const changed = await as.operator.put(`/api/v1/engineers/${engineerId}/availability`, {
      ...weekdays,
      windows: [],
    });
    expect(changed.status).toBe(403);
    for (const client of [as.otherEngineer, as.contractor, as.lead]) {
      expect((await client.get(`/api/v1/engineers/${engineerId}/availability`)).status).toBe(404);
      expect((await client.put(`/api/v1/engineers/${engineerId}/availability`, weekdays)).status).toBe(404);
    }
    const after = await (await as.engineer.get(`/api/v1/engineers/${engineerId}/availability`)).json();
    expect(after.weeklyHours).toBe(25);
  });

  it("keeps one statement whole when two are sent at once, never the two mixed", async () => {
    const mornings = { ...weekdays, windows: [{ day: "mon", start: "09:00", end: "12:00" }] };
    const evenings = { ...weekdays, windows: [{ day: "mon", start: "10:00", end: "14:00" }] };
    const path = `/api/v1/engineers/${engineerId}/availability`;
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all([as.engineer.put(path, mornings), as.engineer.put(path, evenings)]);
      expect(answers.map((r) => r.status)).toEqual([200, 200]);
      const now = await (await as.engineer.get(path)).json();
      expect(now.windows).toHaveLength(1);
      expect([3, 4]).toContain(now.weeklyHours);
    }
    expect((await as.engineer.put(path, weekdays)).status).toBe(200);
  });

  it("names the wrong field and keeps what was stated before", async () => {
    const cases: [unknown, string][] = [
      [{ ...weekdays, timeZone: "Nagano/Somewhere" }, "timeZone"],
      [{ ...weekdays, windows: [{ day: "mon", start: "15:00", end: "10:00" }] }, "windows.0.end"],
      [{ ...weekdays, windows: [{ day: "mon", start: "9:00", end: "10:00" }] }, "windows.0.start"],
      [
        {
          ...weekdays,
          windows: [
            { day: "tue", start: "09:00", end: "12:00" },
            { day: "tue", start: "11:00", end: "13:00" },
          ],
        },
        "windows.1",
      ],
      [{ ...weekdays, exceptions: [{ from: "2027-04-07", to: "2027-03-25" }] }, "exceptions.0.to"],
      [{ ...weekdays, windows: [{ day: "someday", start: "09:00", end: "10:00" }] }, "windows.0.day"],
    ];
    for (const [body, path] of cases) {
      const res = await as.engineer.put(`/api/v1/engineers/${engineerId}/availability`, body);
      expect(res.status).toBe(400);
      expect((await res.json()).error.fields.map((f: { path: string }) => f.path)).toContain(path);
    }
    const kept = await (await as.engineer.get(`/api/v1/engineers/${engineerId}/availability`)).json();
    expect(kept).toMatchObject({ windows: weekdays.windows, exceptions: weekdays.exceptions });
  });

  it("lets the engineer state it on their page, which says it is not a control of working times", async () => {
    const page = await getPage(as.engineer, "/my-availability");
    expect(page.status).toBe(200);
    expect(page.html).toContain("勤務時間の管理ではありません");
    const saved = await postForm(as.engineer, "/my-availability", {
      _csrf: csrfTokenIn(page.html),
      timeZone: "Asia/Tokyo",
      windowDay: "sat",
      windowStart: "09:00",
      windowEnd: "12:30",
      exceptionFrom: "2027-08-10",
      exceptionTo: "",
      exceptionNote: "通院",
    });
    expect(saved.status).toBe(303);
    const now = await (await as.engineer.get(`/api/v1/engineers/${engineerId}/availability`)).json();
    expect(now).toMatchObject({
      windows: [{ day: "sat", start: "09:00", end: "12:30" }],
      weeklyHours: 3.5,
      exceptions: [{ from: "2027-08-10", to: "2027-08-10", note: "通院" }],
    });

    const bad = await postForm(as.engineer, "/my-availability", {
      _csrf: csrfTokenIn(page.html),
      timeZone: "Asia/Tokyo",
      windowDay: "sun",
      windowStart: "18:00",
      windowEnd: "17:00",
    });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain("windows.0.end");
    expect(bad.html).toContain("開始より後にしてください");
    expect(bad.html).not.toContain("must be after start");
    for (const client of [as.operator, as.contractor, as.lead]) {
      expect((await getPage(client, "/my-availability")).status).toBe(404);
    }
  });
});
