// How a package fits each suggested engineer's week, over HTTP and on the package page: the hours it needs of
// those the engineer has free for it, from their stated windows where they stated any.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hm } from "../src/web/i18n/i18n.ts";
import { dialects } from "./support/databases.ts";
import { sampleContractWithWbs } from "./support/fixtures.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { csrfTokenIn, getPage, postForm } from "./support/pages.ts";

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

  it("leaves out packages bigger than the largest the engineer wants, says why, and keeps it until changed", async () => {
    const baba = engineers.baba as { id: string; client: Client };
    const path = `/api/v1/engineers/${baba.id}/availability`;
    const estimate = (await (await lead.get(`/api/v1/packages/${packageId}`)).json()).estimateHours as number;
    const set = await baba.client.put(path, { ...weekdays, windows: [], largestPackageHours: estimate - 1 });
    expect(set.status).toBe(200);
    expect((await set.json()).largestPackageHours).toBe(estimate - 1);
    const s = await suggestions();
    expect(s.ranked.map((x: { name: string }) => x.name)).not.toContain("baba");
    const out = s.ineligible.find((i: { name: string }) => i.name === "baba");
    expect(out.rules).toEqual([{ rule: "size", estimateHours: estimate, largestHours: estimate - 1 }]);
    expect(out.why).toEqual([`wants packages of at most ${estimate - 1} h; this one is ${estimate} h`]);
    const page = await getPage(lead, `/packages/${packageId}`);
    expect(page.html).toContain(
      `希望するパッケージは ${hm(estimate - 1)} までです（このパッケージは ${hm(estimate)}）`,
    );
    // An offer is refused for the same reason.
    const offer = await lead.post(`/api/v1/packages/${packageId}/offers`, { engineerId: baba.id });
    expect(offer.status).toBe(409);

    // A statement without the field keeps it; a wrong one is refused naming it and changes nothing.
    expect((await baba.client.put(path, { ...weekdays, windows: [] })).status).toBe(200);
    expect((await (await baba.client.get(path)).json()).largestPackageHours).toBe(estimate - 1);
    for (const largestPackageHours of [0, -3, 20_000, "forty"]) {
      const bad = await baba.client.put(path, { ...weekdays, largestPackageHours });
      expect(bad.status).toBe(400);
      const body = await bad.json();
      expect(body.error.fields.map((f: { path: string }) => f.path)).toContain("largestPackageHours");
    }
    expect(await (await baba.client.get(path)).json()).toMatchObject({
      windows: [],
      largestPackageHours: estimate - 1,
    });
    // Nobody else sets it.
    expect((await operator.put(path, { ...weekdays, largestPackageHours: null })).status).toBe(403);
    expect((await lead.put(path, { ...weekdays, largestPackageHours: null })).status).toBe(404);

    // Exactly the package's size is enough; null is any size.
    expect((await baba.client.put(path, { ...weekdays, windows: [], largestPackageHours: estimate })).status).toBe(200);
    expect((await fitOf("baba"))?.neededHours).toBeGreaterThan(0);
    expect((await baba.client.put(path, { ...weekdays, windows: [], largestPackageHours: null })).status).toBe(200);
    expect(await fitOf("baba")).toBeDefined();
  });

  it("lets the engineer set it on their availability page, and names the field when it is wrong", async () => {
    const baba = engineers.baba as { id: string; client: Client };
    const form = await getPage(baba.client, "/my-availability");
    expect(form.html).toContain("希望するパッケージの大きさ");
    const fields = {
      _csrf: csrfTokenIn(form.html),
      timeZone: "Asia/Tokyo",
      windowDay: "mon",
      windowStart: "",
      windowEnd: "",
    };
    const saved = await postForm(baba.client, "/my-availability", { ...fields, largestPackageHours: "24.5" });
    expect(saved.status).toBe(303);
    const path = `/api/v1/engineers/${baba.id}/availability`;
    expect((await (await baba.client.get(path)).json()).largestPackageHours).toBe(24.5);
    expect((await getPage(baba.client, "/my-availability")).html).toContain('value="24.5"');
    const bad = await postForm(baba.client, "/my-availability", { ...fields, largestPackageHours: "たくさん" });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain("largestPackageHours");
    expect(bad.html).toContain("0 より大きく");
    expect((await (await baba.client.get(path)).json()).largestPackageHours).toBe(24.5);
    const cleared = await postForm(baba.client, "/my-availability", { ...fields, largestPackageHours: "" });
    expect(cleared.status).toBe(303);
    expect((await (await baba.client.get(path)).json()).largestPackageHours).toBeNull();
  });
});
