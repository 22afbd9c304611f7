// How a package fits each suggested engineer's week, over HTTP and on the package page: the hours it needs of
// those the engineer has free for it, from their stated windows where they stated any.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hm } from "../src/web/i18n/i18n.ts";
import { dialects } from "./support/databases.ts";
import { sampleContractWithWbs } from "./support/fixtures.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { getPage } from "./support/pages.ts";

const ALL_VETTING = ["nda", "background_check", "security_training"] as const;
// Mon–Fri 10:00–15:00: 25 h a week.
const weekdays = {
  timeZone: "Asia/Tokyo",
  windows: ["mon", "tue", "wed", "thu", "fri"].map((day) => ({ day, start: "10:00", end: "15:00" })),
  exceptions: [],
};

interface Fit {
  neededHours: number;
  availableHours: number;
  fromWindows: boolean;
  awayDays: number;
}

describe.each(dialects)("suggestions and the engineer's week on %s", (dialect) => {
  let t: TestAzusa;
  let operator: Client;
  let lead: Client;
  const engineers: Record<string, { id: string; client: Client }> = {};
  let packageId: string;

  async function engineer(name: string, capacity: number) {
    const { id } = await t.createUser("engineer", `${name}@office.example`);
    await operator.put(`/api/v1/engineers/${id}`, {
      weeklyCapacityHours: capacity,
      skills: [
        { skill: "java", level: 5 },
        { skill: "spring", level: 5 },
      ],
    });
    for (const kind of ALL_VETTING) {
      await operator.post(`/api/v1/engineers/${id}/vetting`, { kind, issuedOn: "2026-04-01", expiresOn: "2027-12-31" });
    }
    engineers[name] = { id, client: await t.signIn(`${name}@office.example`) };
  }

  const suggestions = async () => {
    const res = await lead.get(`/api/v1/packages/${packageId}/suggestions`);
    expect(res.status).toBe(200);
    return res.json();
  };
  const fitOf = async (name: string): Promise<Fit | undefined> =>
    (await suggestions()).ranked.find((s: { name: string }) => s.name === name)?.fit;

  beforeAll(async () => {
    t = await startTestAzusa({ dialect, env: { AZUSA_SCHEDULES: "off" } });
    const tenant = await t.createTenant("東京システムインテグレーション");
    await t.createUser("contractor", "buyer@tokyo-si.example", tenant.id);
    const leadId = (await t.createUser("lead", "lead@tokyo-si.example", tenant.id)).id;
    operator = await t.signIn("root@office.example");
    const contractor = await t.signIn("buyer@tokyo-si.example");
    lead = await t.signIn("lead@tokyo-si.example");
    await engineer("aoki", 40);
    await engineer("baba", 12);
    packageId = (await sampleContractWithWbs(contractor, lead, leadId)).packages["2.1"]?.id as string;
    expect((await lead.post(`/api/v1/packages/${packageId}/open`)).status).toBe(200);
  });
  afterAll(() => t?.stop());

  it("says the hours a week the package needs of those the engineer has free, from windows where stated", async () => {
    const aoki = engineers.aoki as { id: string; client: Client };
    const needed = (await suggestions()).weeklyHours as number;
    expect(await fitOf("aoki")).toEqual({ neededHours: needed, availableHours: 40, fromWindows: false, awayDays: 0 });
    expect(await fitOf("baba")).toEqual({ neededHours: needed, availableHours: 12, fromWindows: false, awayDays: 0 });

    expect((await aoki.client.put(`/api/v1/engineers/${aoki.id}/availability`, weekdays)).status).toBe(200);
    expect(await fitOf("aoki")).toEqual({ neededHours: needed, availableHours: 25, fromWindows: true, awayDays: 0 });

    // Four weeks away in the package's span (2027-01-04 to 2027-06-30) lower the average over it, and are counted.
    const away = { ...weekdays, exceptions: [{ from: "2027-02-01", to: "2027-02-28", note: "入院" }] };
    expect((await aoki.client.put(`/api/v1/engineers/${aoki.id}/availability`, away)).status).toBe(200);
    const fit = (await fitOf("aoki")) as Fit;
    expect(fit).toMatchObject({ neededHours: needed, fromWindows: true, awayDays: 28 });
    expect(fit.availableHours).toBeLessThan(25);
    expect(fit.availableHours).toBeGreaterThan(20);
    expect((await aoki.client.put(`/api/v1/engineers/${aoki.id}/availability`, weekdays)).status).toBe(200);
  });

  it("shows the fit on the package page, in Japanese and in English", async () => {
    const needed = hm((await suggestions()).weeklyHours);
    const ja = await getPage(lead, `/packages/${packageId}`);
    expect(ja.status).toBe(200);
    expect(ja.html).toContain(`週 25:00 のうち ${needed} に収まる`);
    expect(ja.html).toContain("稼働時間帯から");
    expect(ja.html).toContain(`週 12:00 のうち ${needed} に収まる`);
    const en = await getPage(lead, `/packages/${packageId}?lang=en`);
    expect(en.html).toContain(`fits in ${needed} of 25:00 available a week`);
  });
});
