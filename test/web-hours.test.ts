// The lead's timesheet page over HTTP on both databases: submitted and approved weeks of the lead's own
// contracts, with the engineer's name and entries, and none of another lead's.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tokyoDay, weekOf } from "../src/domain/timesheets/time.ts";
import { dialects } from "./support/databases.ts";
import { type HoursWorld, startHoursWorld } from "./support/hours-world.ts";
import { csrfTokenIn, getPage, postForm } from "./support/pages.ts";

describe.each(dialects)("the timesheet pages on %s", (dialect) => {
  let w: HoursWorld;
  const day = tokyoDay(Date.now() - 86_400_000);

  beforeAll(async () => {
    w = await startHoursWorld(dialect);
    await w.assign(w.juninin.packages["2.1"] as string, "sato");
  });
  afterAll(() => w?.stop());

  it("lists a submitted week for the contract's lead only, approves it and reopens it with a reason", async () => {
    const sato = w.engineers.sato as HoursWorld["engineers"][string];
    const entry = await sato.client.post("/api/v1/time-entries", {
      packageId: w.juninin.packages["2.1"],
      date: day,
      minutes: 150,
      note: "設計レビュー対応",
    });
    expect(entry.status).toBe(201);
    const mine = await getPage(sato.client, `/my-hours?week=${weekOf(day)}`);
    expect(mine.html).toContain("設計レビュー対応");
    expect(mine.html).toContain(">2:30<");
    expect(mine.html).not.toContain("2.5");
    expect((await getPage(w.lead, "/timesheets")).html).not.toContain("設計レビュー対応");

    const [sheet] = (await (await sato.client.get(`/api/v1/timesheets?week=${weekOf(day)}`)).json()).items;
    expect((await sato.client.post(`/api/v1/timesheets/${sheet.id}/submit`)).status).toBe(200);
    const lead = await getPage(w.lead, "/timesheets");
    expect(lead.status).toBe(200);
    expect(lead.html).toContain(`sato さん・${weekOf(day)} の週`);
    expect(lead.html).toContain("設計レビュー対応");
    expect(lead.html).toContain("時刻のない申告（照合なし）");
    expect(lead.html).toContain(`action="/timesheets/${sheet.id}/approve"`);
    const other = await getPage(w.otherLead, "/timesheets");
    expect(other.html).not.toContain("設計レビュー対応");
    expect(other.html).toContain("承認待ちのタイムシートはありません。");

    // Approve, then reopen: a reopening needs its reason, and the week goes back to the engineer as a draft.
    const _csrf = csrfTokenIn(lead.html);
    expect((await postForm(w.lead, `/timesheets/${sheet.id}/approve`, { _csrf })).location).toBe(
      "/timesheets?notice=approved",
    );
    const refused = await postForm(w.lead, `/timesheets/${sheet.id}/reopen`, { _csrf, reason: "" });
    expect(refused.status).toBe(400);
    expect(refused.html).toContain("再オープンの理由");
    const state = async () =>
      (await (await w.lead.get(`/api/v1/timesheets/${sheet.id}`)).json()) as { state: string; reason: string | null };
    expect((await state()).state).toBe("approved");
    const reopened = await postForm(w.lead, `/timesheets/${sheet.id}/reopen`, { _csrf, reason: "作業日の誤り" });
    expect(reopened.location).toBe("/timesheets?notice=reopened");
    expect(await state()).toMatchObject({ state: "draft", reason: "作業日の誤り" });
    expect((await getPage(sato.client, `/my-hours?week=${weekOf(day)}`)).html).toContain("この週を提出する");
  });
});
