// An office's life guide over HTTP and as pages: who writes it, who reads it, how it is shown safely, and the
// notice to the office's operators when a section has not been reviewed for a year.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialects } from "./support/databases.ts";
import { startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { type OfficePeople, twoOffices } from "./support/offices.ts";
import { csrfTokenIn, getPage, postForm } from "./support/pages.ts";

describe.each(dialects)("office life guides on %s", (dialect) => {
  let t: TestAzusa;
  let as: OfficePeople;
  let northId: string;

  beforeAll(async () => {
    t = await startTestAzusa({ dialect });
    ({ as, northId } = await twoOffices(t));
  });
  afterAll(() => t?.stop());

  it("lets the office's operator write a section, records it, and shows it to every signed-in role", async () => {
    const res = await as.operator.put(`/api/v1/offices/${northId}/guide/housing`, {
      bodyJa: "## 賃貸\n\n駅の近くに**市営住宅**があります。",
      bodyEn: "Municipal housing near the station.",
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ section: "housing", stale: false, bodyEn: expect.any(String) });
    const audit = await (await as.root.get("/api/v1/audit-events?limit=1")).json();
    expect(audit.items[0]).toMatchObject({
      action: "office.guide_updated",
      subject: `office:${northId}`,
      details: { section: "housing", english: true },
    });
    for (const client of Object.values(as)) {
      const guide = await client.get(`/api/v1/offices/${northId}/guide`);
      expect(guide.status).toBe(200);
      expect((await guide.json()).items.map((s: { section: string }) => s.section)).toEqual(["housing"]);
    }
  });

  it("refuses the guide to operators of another office and to every other role", async () => {
    for (const client of [as.southOperator, as.engineer, as.contractor, as.lead]) {
      const res = await client.put(`/api/v1/offices/${northId}/guide/medical`, { bodyJa: "病院" });
      expect(res.status).toBe(403);
      expect((await res.json()).error).toMatchObject({ code: "FORBIDDEN", requestId: expect.any(String) });
      expect((await client.post(`/api/v1/offices/${northId}/guide/housing/reviewed`)).status).toBe(403);
      expect((await client.delete(`/api/v1/offices/${northId}/guide/housing`)).status).toBe(403);
    }
    const guide = await (await as.root.get(`/api/v1/offices/${northId}/guide`)).json();
    expect(guide.items.map((s: { section: string }) => s.section)).toEqual(["housing"]);
    expect((await t.anonymous().get(`/api/v1/offices/${northId}/guide`)).status).toBe(401);
  });

  it("names the wrong field, an unknown section and an unknown office", async () => {
    const empty = await as.operator.put(`/api/v1/offices/${northId}/guide/medical`, { bodyJa: "  " });
    expect(empty.status).toBe(400);
    expect((await empty.json()).error.fields.map((f: { path: string }) => f.path)).toEqual(["bodyJa"]);
    const long = await as.operator.put(`/api/v1/offices/${northId}/guide/medical`, {
      bodyJa: "医療",
      bodyEn: "x".repeat(20_001),
    });
    expect(long.status).toBe(400);
    expect((await long.json()).error.fields.map((f: { path: string }) => f.path)).toEqual(["bodyEn"]);
    const section = await as.operator.put(`/api/v1/offices/${northId}/guide/nightlife`, { bodyJa: "居酒屋" });
    expect(section.status).toBe(400);
    expect((await section.json()).error.fields.map((f: { path: string }) => f.path)).toEqual(["section"]);
    expect((await as.root.put("/api/v1/offices/no-such-office/guide/medical", { bodyJa: "病院" })).status).toBe(404);
    expect((await as.operator.post(`/api/v1/offices/${northId}/guide/coworking/reviewed`)).status).toBe(404);
    const guide = await (await as.root.get(`/api/v1/offices/${northId}/guide`)).json();
    expect(guide.items.map((s: { section: string }) => s.section)).toEqual(["housing"]);
  });

  it("shows the guide on the office's public page without sign-in, with HTML escaped and links marked external", async () => {
    expect(
      (
        await as.operator.put(`/api/v1/offices/${northId}/guide/transport`, {
          bodyJa:
            '特急で約2時間半。[時刻表](https://train.example.jp/timetable)\n\n<script>alert("x")</script>\n\n[危険](javascript:alert(1))',
        })
      ).status,
    ).toBe(200);
    const page = await getPage(t.anonymous(), `/office-guide/${northId}`);
    expect(page.status).toBe(200);
    expect(page.html).toContain("北町のサテライトオフィスです。");
    expect(page.html).toContain("<h4>賃貸</h4>");
    expect(page.html).toContain("<strong>市営住宅</strong>");
    expect(page.html).toContain(
      '<a href="https://train.example.jp/timetable" rel="external nofollow noopener noreferrer" target="_blank" class="external">時刻表</a>',
    );
    expect(page.html).not.toContain('<script>alert("x")');
    expect(page.html).toContain("&lt;script&gt;");
    expect(page.html).not.toContain('href="javascript:');
    // The order of the guide, not of writing: housing before transport.
    expect(page.html.indexOf("guide-housing")).toBeLessThan(page.html.indexOf("guide-transport"));

    const english = await getPage(t.anonymous(), `/office-guide/${northId}?lang=en`);
    expect(english.html).toContain("Municipal housing near the station.");
    expect(english.html).toContain("This section is only in Japanese.");
    expect((await getPage(t.anonymous(), "/office-guide/no-such-office")).status).toBe(404);
    // Only the office pages are public: the operators' editor still asks for a sign-in.
    expect((await getPage(t.anonymous(), `/offices/${northId}/guide`)).status).toBe(303);
  });

  it("lets the office's operator write and review sections from the editor page, and no one else", async () => {
    const editor = await getPage(as.operator, `/offices/${northId}/guide`);
    expect(editor.status).toBe(200);
    const saved = await postForm(as.operator, `/offices/${northId}/guide/coworking`, {
      _csrf: csrfTokenIn(editor.html),
      bodyJa: "駅前にコワーキングスペースがあります。",
      bodyEn: "",
    });
    expect(saved.status).toBe(303);
    const after = await getPage(as.operator, saved.location ?? "");
    expect(after.html).toContain("「コワーキング」を保存しました。");
    const coworking = (await (await as.root.get(`/api/v1/offices/${northId}/guide`)).json()).items.find(
      (s: { section: string }) => s.section === "coworking",
    );
    expect(coworking).toMatchObject({ bodyJa: "駅前にコワーキングスペースがあります。", bodyEn: null });

    const blank = await postForm(as.operator, `/offices/${northId}/guide/medical`, {
      _csrf: csrfTokenIn(editor.html),
      bodyJa: "",
      bodyEn: "Hospital",
    });
    expect(blank.status).toBe(400);
    expect(blank.html).toContain("入力してください");

    expect((await getPage(as.southOperator, `/offices/${northId}/guide`)).status).toBe(403);
    for (const client of [as.engineer, as.contractor, as.lead]) {
      expect((await getPage(client, `/offices/${northId}/guide`)).status).toBe(404);
    }
  });

  it("tells the office's own operators once when a section is a year past its review, until it is reviewed", async () => {
    await as.operator.put(`/api/v1/offices/${northId}/guide/support`, { bodyJa: "移住支援金の窓口: 市役所" });
    const longAgo = new Date(Date.now() - 400 * 86_400_000).toISOString();
    await t.running.azusa.db.kysely
      .updateTable("office_guide_section")
      .set({ reviewed_at: longAgo })
      .where("office_id", "=", northId)
      .where("section", "=", "support")
      .execute();
    const guide = await (await as.operator.get(`/api/v1/offices/${northId}/guide`)).json();
    expect(guide.items.find((s: { section: string }) => s.section === "support").stale).toBe(true);
    expect((await getPage(as.operator, `/offices/${northId}/guide`)).html).toContain(
      "1年以上見直していない項目があります: 支援制度・相談窓口",
    );

    const remind = t.running.azusa.schedules.find((s) => s.name === "guides.remind");
    expect(remind).toBeDefined();
    expect(await remind?.run()).toBe(1);
    expect(await remind?.run()).toBe(0);
    const told = (await (await as.operator.get("/api/v1/notifications")).json()).items;
    expect(told).toEqual([
      expect.objectContaining({ kind: "guide.stale", title: expect.stringContaining("支援制度・相談窓口") }),
    ]);
    const south = (await (await as.southOperator.get("/api/v1/notifications")).json()).items;
    expect(south.filter((n: { kind: string }) => n.kind === "guide.stale")).toEqual([]);

    const reviewed = await as.operator.post(`/api/v1/offices/${northId}/guide/support/reviewed`);
    expect(reviewed.status).toBe(200);
    expect(await reviewed.json()).toMatchObject({ stale: false, bodyJa: "移住支援金の窓口: 市役所" });
    const audit = await (await as.root.get("/api/v1/audit-events?limit=1")).json();
    expect(audit.items[0]).toMatchObject({ action: "office.guide_reviewed", details: { section: "support" } });
    expect(await remind?.run()).toBe(0);
  });

  it("lets the operator take a section out of the guide, recorded", async () => {
    expect((await as.operator.delete(`/api/v1/offices/${northId}/guide/coworking`)).status).toBe(204);
    expect((await as.operator.delete(`/api/v1/offices/${northId}/guide/coworking`)).status).toBe(404);
    const audit = await (await as.root.get("/api/v1/audit-events?limit=1")).json();
    expect(audit.items[0]).toMatchObject({ action: "office.guide_removed", details: { section: "coworking" } });
    const page = await getPage(t.anonymous(), `/office-guide/${northId}`);
    expect(page.html).not.toContain("guide-coworking");
  });
});
