// Hours over HTTP: engineers' own time entries (overlaps refused, zones and Tokyo weeks, rounding kept
// beside raw time), the weekly timesheet flow with locking, session evidence, the 準委任 month against
// its band, and the month's hours as CSV for Excel.
import { parse } from "csv-parse/sync";
import ExcelJS from "exceljs";
import type { KyselyPlugin } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createReminderService } from "../src/domain/notifications/reminders.service.ts";
import { SETTLEMENT_HEADERS } from "../src/domain/timesheets/settlement-export.ts";
import { CSV_HEADERS, createSettlementService } from "../src/domain/timesheets/settlements.service.ts";
import { weekOf } from "../src/domain/timesheets/time.ts";
import { dialects } from "./support/databases.ts";
import { BAND, type HoursWorld, startHoursWorld } from "./support/hours-world.ts";
import { csrfTokenIn, getPage, postForm } from "./support/pages.ts";

describe.each(dialects)("hours on %s", (dialect) => {
  let w: HoursWorld;
  let sato: HoursWorld["engineers"][string];

  /** The engineer's sheet of one week on the 準委任 contract. */
  const sheetOf = async (who: HoursWorld["engineers"][string], week: string) => {
    const res = await who.client.get(`/api/v1/timesheets?week=${week}`);
    expect(res.status).toBe(200);
    return (await res.json()).items.find((s: { contractId: string }) => s.contractId === w.juninin.id);
  };
  const record = (who: HoursWorld["engineers"][string], body: Record<string, unknown>) =>
    who.client.post("/api/v1/time-entries", { packageId: w.juninin.packages["2.1"], timeZone: "Asia/Tokyo", ...body });
  /** Records a duration on the package, then the engineer submits the week and the lead approves it. */
  const approvedWeek = async (who: HoursWorld["engineers"][string], wbs: string, date: string, minutes: number) => {
    expect((await record(who, { packageId: w.juninin.packages[wbs], date, minutes })).status).toBe(201);
    const week = await sheetOf(who, weekOf(date));
    expect((await who.client.post(`/api/v1/timesheets/${week.id}/submit`)).status).toBe(200);
    expect((await w.lead.post(`/api/v1/timesheets/${week.id}/approve`)).status).toBe(200);
    return week as { id: string };
  };

  beforeAll(async () => {
    w = await startHoursWorld(dialect);
    sato = w.engineers.sato as HoursWorld["engineers"][string];
    await w.assign(w.juninin.packages["2.1"] as string, "sato");
    await w.assign(w.juninin.packages["2.2"] as string, "ito");
    await w.assign(w.juninin.packages["2.3"] as string, "kato");
  });
  afterAll(() => w?.stop());

  it("reminds on Monday each engineer who held an assignment last week and recorded nothing, once", async () => {
    const azusa = w.t.running.azusa;
    // A Monday morning in Tokyo whose last week nobody has recorded anything in.
    const reminders = createReminderService({
      db: azusa.db.kysely,
      notifications: azusa.notifications,
      now: () => new Date("2027-01-04T00:30:00Z"),
    });
    expect(await reminders.timesheets()).toBe(3);
    // Run again (a second instance, a restart): everyone was told already, so nobody is told now.
    expect(await reminders.timesheets()).toBe(0);
    for (const name of ["sato", "ito", "kato"]) {
      const who = w.engineers[name] as HoursWorld["engineers"][string];
      const told = (await (await who.client.get("/api/v1/notifications")).json()).items.filter((n: { title: string }) =>
        n.title.startsWith("2026-12-28 の週"),
      );
      expect(told).toEqual([
        expect.objectContaining({
          kind: "timesheet.reminder",
          body: "この週の作業時間がまだ記録されていません。",
          title: expect.stringContaining("（"),
        }),
      ]);
    }
    // The week before the assignments began is nobody's to fill.
    const before = createReminderService({
      db: azusa.db.kysely,
      notifications: azusa.notifications,
      now: () => new Date("2026-11-09T00:30:00Z"),
    });
    expect(await before.timesheets()).toBe(0);
  });

  it("refuses an entry that overlaps one of the engineer's own, naming it", async () => {
    const first = await record(sato, { start: "2026-11-02T09:00", end: "2026-11-02T12:00" });
    expect(first.status).toBe(201);
    const { id } = await first.json();
    const overlapping = await record(sato, { start: "2026-11-02T11:30", end: "2026-11-02T13:00" });
    expect(overlapping.status).toBe(409);
    const body = await overlapping.json();
    expect(body.error.code).toBe("CONFLICT");
    expect(body.error.message).toContain(id);
    // The times are the reader's (Tokyo), not UTC.
    expect(body.error.message).toContain("2026-11-02 09:00 (Asia/Tokyo) to 2026-11-02 12:00 (Asia/Tokyo)");
    // Asked in Japanese, the same refusal speaks Japanese, with the same code and field path.
    const inJapanese = await sato.client.request(
      "POST",
      "/api/v1/time-entries",
      {
        packageId: w.juninin.packages["2.1"],
        timeZone: "Asia/Tokyo",
        start: "2026-11-02T11:30",
        end: "2026-11-02T13:00",
      },
      { "accept-language": "ja,en;q=0.8" },
    );
    expect(inJapanese.status).toBe(409);
    expect(inJapanese.headers.get("content-language")).toBe("ja");
    const ja = (await inJapanese.json()).error;
    expect(ja.code).toBe("CONFLICT");
    expect(ja.message).toBe(
      `2026-11-02 09:00 (Asia/Tokyo)〜2026-11-02 12:00 (Asia/Tokyo) の記録（${id}）と時間が重なっています`,
    );
    expect(ja.fields).toEqual([{ path: "start", message: `記録 ${id} と重なっています` }]);
    // Giving times in another zone, the engineer reads the overlap in that zone (09:00 JST is 00:00 in London).
    const london = await record(sato, {
      start: "2026-11-02T00:30",
      end: "2026-11-02T00:45",
      timeZone: "Europe/London",
    });
    expect(london.status).toBe(409);
    expect((await london.json()).error.message).toContain(
      "2026-11-02 00:00 (Europe/London) to 2026-11-02 03:00 (Europe/London)",
    );
    // Touching is not overlapping.
    expect((await record(sato, { start: "2026-11-02T12:00", end: "2026-11-02T13:00" })).status).toBe(201);
  });

  it("refuses hours from anyone but an engineer assigned to the package, and bad times by field", async () => {
    const ito = w.engineers.ito as HoursWorld["engineers"][string];
    expect((await record(ito, { start: "2026-11-03T09:00", end: "2026-11-03T10:00" })).status).toBe(404);
    const byLead = await w.lead.post("/api/v1/time-entries", {
      packageId: w.juninin.packages["2.1"],
      start: "2026-11-03T09:00",
      end: "2026-11-03T10:00",
    });
    expect(byLead.status).toBe(403);
    const backwards = await record(sato, { start: "2026-11-03T10:00", end: "2026-11-03T09:00" });
    expect(backwards.status).toBe(400);
    expect((await backwards.json()).error.fields).toEqual([{ path: "end", message: "must be after start" }]);
    const badZone = await record(sato, {
      start: "2026-11-03T09:00",
      end: "2026-11-03T10:00",
      timeZone: "Asia/Matsumoto",
    });
    expect((await badZone.json()).error.fields[0].path).toBe("timeZone");
    const future = await record(sato, { start: "2099-01-05T09:00", end: "2099-01-05T10:00" });
    expect((await future.json()).error.fields[0].path).toBe("end");
    // A duration has no times to overlap, but a Tokyo day holds 24 hours of entries at most.
    expect((await record(sato, { start: "2026-11-04T09:00", end: "2026-11-04T17:00" })).status).toBe(201);
    expect((await record(sato, { date: "2026-11-04", minutes: 960 })).status).toBe(201);
    const overfull = await record(sato, { date: "2026-11-04", minutes: 1 });
    expect(overfull.status).toBe(409);
    expect((await overfull.json()).error.message).toMatch(/2026-11-04 would hold 24\.02 hours/);
    // The contract runs from 2026-04-01: a day before it is no work done for it.
    const early = await record(sato, { start: "2026-03-31T23:00", end: "2026-04-01T01:00" });
    expect(early.status).toBe(400);
    expect((await early.json()).error.fields[0]).toMatchObject({
      path: "start",
      message: expect.stringMatching(/2026-03-31 is outside/),
    });
    const fraction = await record(sato, { date: "2026-11-03", minutes: 0.5 });
    expect(fraction.status).toBe(400);
    expect((await fraction.json()).error.fields[0].path).toBe("minutes");
  });

  it("reads times in the engineer's zone and splits an entry across Sunday midnight in Tokyo between two weeks", async () => {
    // 15:30–17:30 in Berlin (UTC+1 in November) is Sunday 23:30 to Monday 01:30 in Tokyo.
    const res = await record(sato, { start: "2026-11-08T15:30", end: "2026-11-08T17:30", timeZone: "Europe/Berlin" });
    expect(res.status).toBe(201);
    const entry = await res.json();
    expect(entry).toMatchObject({
      start: "2026-11-08T14:30:00.000Z",
      end: "2026-11-08T16:30:00.000Z",
      startGiven: "2026-11-08T15:30",
      timeZone: "Europe/Berlin",
      rawMinutes: 120,
    });
    expect(entry.days).toEqual([
      { day: "2026-11-08", week: "2026-11-02", rawMinutes: 30, roundedMinutes: 30 },
      { day: "2026-11-09", week: "2026-11-09", rawMinutes: 90, roundedMinutes: 90 },
    ]);
    const before = await sheetOf(sato, "2026-11-02");
    const after = await sheetOf(sato, "2026-11-09");
    expect(before.entries.find((e: { id: string }) => e.id === entry.id).days).toHaveLength(1);
    expect(after.entries.map((e: { id: string }) => e.id)).toEqual([entry.id]);
    expect(after.rawMinutes).toBe(90);
    expect((await w.lead.get("/api/v1/timesheets?week=2026-11-10")).status).toBe(400); // not a Monday
  });

  it("keeps the rounded figure beside the raw time, which stays as given", async () => {
    const res = await record(sato, { start: "2026-11-10T10:00+09:00", end: "2026-11-10T10:52+09:00" });
    const entry = await res.json();
    expect(entry).toMatchObject({ rawMinutes: 52, roundedMinutes: 45, roundingRule: "15min-nearest" });
    expect(entry.startGiven).toBe("2026-11-10T10:00+09:00");
    const sheet = await sheetOf(sato, "2026-11-09");
    const seen = sheet.entries.find((e: { id: string }) => e.id === entry.id);
    expect(seen).toMatchObject({ start: "2026-11-10T01:00:00.000Z", end: "2026-11-10T01:52:00.000Z", rawMinutes: 52 });
    expect(seen.days[0]).toMatchObject({ rawMinutes: 52, roundedMinutes: 45 });
    expect(sheet.rawMinutes).toBe(90 + 52);
    expect(sheet.roundedMinutes).toBe(90 + 45);
  });

  it("shows an engineer's week to that engineer and the contract's people only; only its lead decides it", async () => {
    const entry = await record(sato, { start: "2026-10-19T09:00", end: "2026-10-19T12:00" });
    expect(entry.status).toBe(201);
    const sheet = await sheetOf(sato, "2026-10-19");
    const url = `/api/v1/timesheets/${sheet.id}`;
    const ito = w.engineers.ito as HoursWorld["engineers"][string];
    expect((await ito.client.get(url)).status).toBe(404);
    expect((await ito.client.delete(`/api/v1/time-entries/${(await entry.json()).id}`)).status).toBe(404);
    expect((await ito.client.post(`${url}/submit`)).status).toBe(404);
    expect((await w.otherLead.get(url)).status).toBe(404);
    const othersWeek = await w.otherLead.get(`/api/v1/timesheets?week=2026-10-19&engineerId=${sato.id}`);
    expect((await othersWeek.json()).items).toEqual([]);
    expect((await w.operator.get(url)).status).toBe(404);
    expect((await w.contractor.get(url)).status).toBe(200);

    expect((await sato.client.post(`${url}/submit`)).status).toBe(200);
    expect((await w.contractor.post(`${url}/approve`)).status).toBe(403);
    expect((await w.otherLead.post(`${url}/approve`)).status).toBe(404);
    expect((await ito.client.post(`${url}/approve`)).status).toBe(404);
    expect((await (await w.lead.get(url)).json()).state).toBe("submitted");
  });

  it("submits, rejects with a reason, resubmits, approves and locks, and reopens with an audited reason", async () => {
    expect((await record(sato, { start: "2026-10-26T09:00", end: "2026-10-26T17:00" })).status).toBe(201);
    const sheet = await sheetOf(sato, "2026-10-26");
    expect(sheet.state).toBe("draft");
    const url = `/api/v1/timesheets/${sheet.id}`;

    expect((await w.lead.post(`${url}/approve`)).status).toBe(409); // nothing submitted yet
    expect((await sato.client.post(`${url}/submit`)).status).toBe(200);
    const locked = await record(sato, { start: "2026-10-27T09:00", end: "2026-10-27T10:00" });
    expect(locked.status).toBe(409);
    expect((await locked.json()).error.message).toMatch(/week of 2026-10-26 is submitted/);

    const noReason = await w.lead.post(`${url}/reject`, {});
    expect(noReason.status).toBe(400);
    expect((await noReason.json()).error.fields[0].path).toBe("reason");
    expect((await w.otherLead.post(`${url}/reject`, { reason: "x" })).status).toBe(404); // not their contract
    const rejected = await w.lead.post(`${url}/reject`, { reason: "火曜の作業が抜けています" });
    expect(await rejected.json()).toMatchObject({ state: "rejected", reason: "火曜の作業が抜けています" });
    const told = (await (await sato.client.get("/api/v1/notifications")).json()).items;
    expect(told[0]).toMatchObject({ kind: "timesheet.rejected", body: "理由: 火曜の作業が抜けています" });

    expect((await record(sato, { start: "2026-10-27T09:00", end: "2026-10-27T17:00" })).status).toBe(201);
    expect((await sato.client.post(`${url}/submit`)).status).toBe(200);
    expect((await sato.client.post(`${url}/approve`)).status).toBe(403); // engineers do not approve
    const approved = await w.lead.post(`${url}/approve`);
    expect(await approved.json()).toMatchObject({ state: "approved", rawMinutes: 960 });

    const entryId = sheet.entries[0].id;
    expect((await sato.client.delete(`/api/v1/time-entries/${entryId}`)).status).toBe(409);
    expect((await w.lead.post(`${url}/reopen`, { reason: " " })).status).toBe(400);
    const reopened = await w.lead.post(`${url}/reopen`, { reason: "客先指摘により工数を再確認" });
    expect(await reopened.json()).toMatchObject({ state: "draft", reason: "客先指摘により工数を再確認" });
    expect((await sato.client.delete(`/api/v1/time-entries/${entryId}`)).status).toBe(204);

    const events = (await (await w.contractor.get("/api/v1/audit-events")).json()).items;
    const reopenEvent = events.find((e: { action: string }) => e.action === "timesheet.reopened");
    expect(reopenEvent).toMatchObject({
      subject: `timesheet:${sheet.id}`,
      details: { reason: "客先指摘により工数を再確認" },
    });
    expect(events.some((e: { action: string }) => e.action === "time_entry.removed")).toBe(true);
  });

  it("shows the overlapping session activity and a corroboration figure without touching the reported times", async () => {
    const entry = await (await record(sato, { start: "2026-11-17T09:00", end: "2026-11-17T10:00" })).json();
    const db = w.t.running.azusa.db.kysely;
    const session = (id: string, engineerId: string) => ({
      id,
      workspace_id: "ws-evidence",
      package_id: w.juninin.packages["2.1"] as string,
      tenant_id: "t",
      engineer_id: engineerId,
      channel: "ssh",
      kind: "shell",
      source_address: "127.0.0.1",
      started_at: "2026-11-16T23:55:00.000Z",
      ended_at: "2026-11-17T00:40:00.000Z",
      end_reason: "closed",
      exit_code: 0,
      recording: null,
    });
    await db
      .insertInto("workspace_session")
      .values([
        session(`s-${dialect}-sato`, sato.id),
        session(`s-${dialect}-ito`, (w.engineers.ito as { id: string }).id),
      ])
      .execute();
    const bucket = (minutes: number) => new Date(Date.parse("2026-11-17T00:00:00Z") + minutes * 60_000).toISOString();
    await db
      .insertInto("session_activity")
      .values([
        // Six of the entry's twelve buckets show activity; a bucket with no bytes and one before it do not count.
        ...[0, 5, 10, 15, 20, 25].map((m) => ({
          session_id: `s-${dialect}-sato`,
          bucket_start: bucket(m),
          bytes_in: 40,
          bytes_out: 900,
        })),
        { session_id: `s-${dialect}-sato`, bucket_start: bucket(30), bytes_in: 0, bytes_out: 0 },
        { session_id: `s-${dialect}-sato`, bucket_start: bucket(-5), bytes_in: 10, bytes_out: 10 },
        // Another engineer's activity is not evidence for sato.
        ...[35, 40, 45].map((m) => ({
          session_id: `s-${dialect}-ito`,
          bucket_start: bucket(m),
          bytes_in: 5,
          bytes_out: 5,
        })),
      ])
      .execute();
    const sheet = await sheetOf(sato, "2026-11-16");
    const seen = sheet.entries.find((e: { id: string }) => e.id === entry.id);
    expect(seen.evidence).toMatchObject({ buckets: 12, activeBuckets: 6, corroboration: 0.5 });
    expect(seen.evidence.sessions.map((s: { id: string }) => s.id)).toEqual([`s-${dialect}-sato`]);
    expect(seen).toMatchObject({ start: "2026-11-17T00:00:00.000Z", end: "2026-11-17T01:00:00.000Z", rawMinutes: 60 });
    // The lead sees the same evidence and cannot set the engineer's times.
    const asLead = (await (await w.lead.get(`/api/v1/timesheets?week=2026-11-16&engineerId=${sato.id}`)).json()).items;
    expect(asLead[0].entries[0].evidence.corroboration).toBe(0.5);
    expect((await w.lead.request("PATCH", `/api/v1/time-entries/${entry.id}`, { start: "x" })).status).toBe(404);
  });

  it("settles a 準委任 month under, inside and over the band from approved weeks only", async () => {
    const days = (n: number) => Array.from({ length: n }, (_, i) => `2026-09-${String(i + 1).padStart(2, "0")}`);
    const plan: [string, string, number][] = [
      ["sato", "2.1", 13], // 130 h: under
      ["ito", "2.2", 16], // 160 h: inside
      ["kato", "2.3", 19], // 190 h: over
    ];
    for (const [name, wbs, n] of plan) {
      const who = w.engineers[name] as HoursWorld["engineers"][string];
      for (const date of days(n)) {
        const res = await who.client.post("/api/v1/time-entries", {
          packageId: w.juninin.packages[wbs],
          date,
          minutes: 600,
        });
        expect(res.status).toBe(201);
      }
      for (const week of ["2026-08-31", "2026-09-07", "2026-09-14"]) {
        const sheet = await sheetOf(who, week);
        if (!sheet) continue; // sato worked no day of that week
        expect((await who.client.post(`/api/v1/timesheets/${sheet.id}/submit`)).status).toBe(200);
        expect((await w.lead.post(`/api/v1/timesheets/${sheet.id}/approve`)).status).toBe(200);
      }
    }
    // Sato's last entry of the month sits in a week nobody approved: it is pending, not paid.
    await record(sato, { date: "2026-09-29", minutes: 480 });

    const res = await w.contractor.get(`/api/v1/contracts/${w.juninin.id}/settlements?month=2026-09`);
    expect(res.status).toBe(200);
    const byName = Object.fromEntries(
      (await res.json()).items.map((s: { engineerName: string }) => [s.engineerName, s]),
    );
    expect(byName.sato).toMatchObject({ approvedHours: 130, pendingHours: 8, basis: "under", amountYen: 740_000 });
    expect(byName.ito).toMatchObject({ approvedHours: 160, basis: "within", amountYen: BAND.monthlyFeeYen });
    expect(byName.kato).toMatchObject({ approvedHours: 190, basis: "over", amountYen: 850_000 });

    const kato = w.engineers.kato as { id: string };
    const unexplained = await w.contractor.post(`/api/v1/contracts/${w.juninin.id}/settlements/adjustments`, {
      engineerId: kato.id,
      month: "2026-09",
      amountYen: -20_000,
    });
    expect((await unexplained.json()).error.fields[0].path).toBe("reason");
    expect(
      (
        await w.lead.post(`/api/v1/contracts/${w.juninin.id}/settlements/adjustments`, {
          engineerId: kato.id,
          month: "2026-09",
          amountYen: -20_000,
          reason: "x",
        })
      ).status,
    ).toBe(403);
    const adjusted = await w.contractor.post(`/api/v1/contracts/${w.juninin.id}/settlements/adjustments`, {
      engineerId: kato.id,
      month: "2026-09",
      amountYen: -20_000,
      reason: "9/18 の作業は別契約で精算済み",
    });
    expect(adjusted.status).toBe(201);
    const katoNow = (await adjusted.json()).items.find((s: { engineerName: string }) => s.engineerName === "kato");
    expect(katoNow).toMatchObject({ baseAmountYen: 850_000, amountYen: 830_000 });
    expect(katoNow.adjustments[0]).toMatchObject({ amountYen: -20_000, reason: "9/18 の作業は別契約で精算済み" });
    const events = (await (await w.contractor.get("/api/v1/audit-events")).json()).items;
    expect(events.find((e: { action: string }) => e.action === "settlement.adjusted").details).toMatchObject({
      amountYen: -20_000,
      reason: "9/18 の作業は別契約で精算済み",
    });
    // A 請負 contract is not settled by hours.
    expect((await w.contractor.get(`/api/v1/contracts/${w.ukeoi.id}/settlements?month=2026-09`)).status).toBe(409);
  });

  it("closes a month once every hour in it is approved, and then keeps its figures as billed", async () => {
    const base = `/api/v1/contracts/${w.juninin.id}/settlements`;
    const stillPending = await w.contractor.post(`${base}/close`, { month: "2026-09" });
    expect(stillPending.status).toBe(409);
    expect((await stillPending.json()).error.message).toBe("hours of 2026-09 are not approved yet: sato (8 h)");
    const lastWeek = await sheetOf(sato, "2026-09-28");
    expect((await sato.client.post(`/api/v1/timesheets/${lastWeek.id}/submit`)).status).toBe(200);
    expect((await w.lead.post(`/api/v1/timesheets/${lastWeek.id}/approve`)).status).toBe(200);

    expect((await w.lead.post(`${base}/close`, { month: "2026-09" })).status).toBe(403);
    const early = await w.contractor.post(`${base}/close`, { month: "2099-01" });
    expect((await early.json()).error).toMatchObject({ code: "INVALID_STATE", message: "2099-01 is not over yet" });
    const earlyJa = await w.contractor.request(
      "POST",
      `${base}/close`,
      { month: "2099-01" },
      {
        "accept-language": "ja",
      },
    );
    expect((await earlyJa.json()).error).toMatchObject({
      code: "INVALID_STATE",
      message: "2099-01 はまだ終わっていません",
    });
    const closed = await w.contractor.post(`${base}/close`, { month: "2026-09" });
    expect(closed.status).toBe(201);
    const month = await closed.json();
    expect(month.closed).toMatchObject({ by: expect.any(String), at: expect.any(String) });
    const amounts = Object.fromEntries(
      month.items.map((i: { engineerName: string; amountYen: number }) => [i.engineerName, i.amountYen]),
    );
    expect(amounts).toEqual({ ito: BAND.monthlyFeeYen, kato: 830_000, sato: 788_000 });
    expect(await (await w.contractor.get(`${base}?month=2026-09`)).json()).toEqual(month);
    expect((await w.contractor.post(`${base}/close`, { month: "2026-09" })).status).toBe(409);

    // Closed: nothing in it changes, neither an amount nor an approved week.
    const kato = w.engineers.kato as { id: string };
    const adjust = { engineerId: kato.id, month: "2026-09", amountYen: 1_000, reason: "交通費" };
    expect((await w.contractor.post(`${base}/adjustments`, adjust)).status).toBe(409);
    const reopenWeek = await w.lead.post(`/api/v1/timesheets/${lastWeek.id}/reopen`, { reason: "確認のため" });
    expect((await reopenWeek.json()).error.message).toBe("2026-09 is closed: the contractor reopens the month first");

    expect((await w.contractor.post(`${base}/reopen`, { month: "2026-09" })).status).toBe(400); // no reason
    const reopened = await w.contractor.post(`${base}/reopen`, { month: "2026-09", reason: "交通費の計上漏れ" });
    expect(reopened.status).toBe(200);
    expect((await reopened.json()).closed).toBeNull();
    expect((await w.contractor.post(`${base}/adjustments`, adjust)).status).toBe(201);
    const events = (await (await w.contractor.get("/api/v1/audit-events")).json()).items as { action: string }[];
    expect(events.map((e) => e.action)).toEqual(expect.arrayContaining(["settlement.closed", "settlement.reopened"]));
  });

  it("keeps a closed month still: no hours land in it, and reopening it keeps what was billed", async () => {
    const base = `/api/v1/contracts/${w.juninin.id}/settlements`;
    const closed = await w.contractor.post(`${base}/close`, { month: "2026-09" });
    expect(closed.status).toBe(201);
    const billed = (await closed.json()).items;
    const ito = w.engineers.ito as HoursWorld["engineers"][string];
    const kato = w.engineers.kato as HoursWorld["engineers"][string];
    const closedMessage = "2026-09 is closed: the contractor reopens the month first";

    // A new entry in the closed month, in a week nobody has submitted, is refused, naming the month.
    const late = await record(ito, { packageId: w.juninin.packages["2.2"], date: "2026-09-22", minutes: 60 });
    expect(late.status).toBe(409);
    expect((await late.json()).error).toMatchObject({ code: "INVALID_STATE", message: closedMessage });

    // Hours of the closed month that got into a week anyway (written before this guard) are not submitted.
    const db = w.t.running.azusa.db.kysely;
    const { tenant_id } = await db
      .selectFrom("contract")
      .select("tenant_id")
      .where("id", "=", w.juninin.id)
      .executeTakeFirstOrThrow();
    const at = new Date().toISOString();
    await db
      .insertInto("time_entry")
      .values({
        id: `entry-closed-${dialect}`,
        engineer_id: ito.id,
        package_id: w.juninin.packages["2.2"] as string,
        contract_id: w.juninin.id,
        tenant_id,
        start_at: null,
        end_at: null,
        time_zone: "Asia/Tokyo",
        start_given: null,
        end_given: null,
        work_date: "2026-09-23",
        raw_minutes: 60,
        rounded_minutes: 60,
        rounding_rule: "15min-nearest",
        note: "",
        created_at: at,
      })
      .execute();
    await db
      .insertInto("timesheet")
      .values({
        id: `sheet-closed-${dialect}`,
        engineer_id: ito.id,
        contract_id: w.juninin.id,
        tenant_id,
        week_start: "2026-09-21",
        state: "draft",
        reason: null,
        submitted_at: null,
        decided_at: null,
        decided_by: null,
        updated_at: at,
      })
      .execute();
    const submitted = await ito.client.post(`/api/v1/timesheets/sheet-closed-${dialect}/submit`);
    expect(submitted.status).toBe(409);
    expect((await submitted.json()).error.message).toBe(closedMessage);

    // A week across the month's end whose hours all fall in October goes ahead.
    await approvedWeek(kato, "2.3", "2026-10-01", 120);
    expect(await (await w.contractor.get(`${base}?month=2026-09`)).json()).toMatchObject({ items: billed });

    // The page's forms: a malformed month and an empty reason are the contractor's mistakes, named.
    const page = await getPage(w.contractor, "/hours?month=2026-09");
    expect(page.html).toContain('action="/hours/reopen"');
    const _csrf = csrfTokenIn(page.html);
    const form = { _csrf, contractId: w.juninin.id };
    for (const path of ["/hours/close", "/hours/reopen"]) {
      const malformed = await postForm(w.contractor, path, { ...form, month: "2025-9", reason: "確認" });
      expect(malformed.status).toBe(400);
      expect(malformed.html).toContain("月: YYYY-MM（月は 01〜12）で入力してください");
    }
    const noReason = await postForm(w.contractor, "/hours/reopen", { ...form, month: "2026-09", reason: " " });
    expect(noReason.status).toBe(400);
    expect(noReason.html).toContain("理由: 月を再開する理由を書いてください");
    expect((await w.contractor.get(`${base}?month=2026-09`)).status).toBe(200);
    expect((await (await w.contractor.get(`${base}?month=2026-09`)).json()).closed).not.toBeNull();

    const reopened = await postForm(w.contractor, "/hours/reopen", {
      ...form,
      month: "2026-09",
      reason: "請求書の再発行",
    });
    expect(reopened.location).toBe("/hours?month=2026-09&notice=reopened");
    const events = (await (await w.contractor.get("/api/v1/audit-events")).json()).items as {
      action: string;
      details: Record<string, unknown>;
    }[];
    const reopenedEvent = events.find(
      (e) => e.action === "settlement.reopened" && e.details.reason === "請求書の再発行",
    );
    expect(reopenedEvent?.details).toMatchObject({
      month: "2026-09",
      settlements: billed,
      closedAt: expect.any(String),
    });
    // Open again, the month takes the hours it refused.
    expect((await ito.client.post(`/api/v1/timesheets/sheet-closed-${dialect}/submit`)).status).toBe(200);
  });

  it("closes a month and reopens one of its weeks or adjusts it one after the other, never at once", async () => {
    const kato = w.engineers.kato as HoursWorld["engineers"][string];
    const week = await approvedWeek(kato, "2.3", "2026-06-03", 480);

    // A close that stops halfway through reading the month's figures, until `release` opens.
    const azusa = w.t.running.azusa;
    let paused = () => {};
    const reached = new Promise<void>((resolve) => {
      paused = resolve;
    });
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = new Set<unknown>();
    const pause: KyselyPlugin = {
      transformQuery: ({ node, queryId }) => {
        if (node.kind === "SelectQueryNode" && JSON.stringify(node).includes('"settlement_adjustment"'))
          slow.add(queryId);
        return node;
      },
      transformResult: async ({ result, queryId }) => {
        if (slow.has(queryId)) {
          paused();
          await released;
        }
        return result;
      },
    };
    const settlements = createSettlementService({ db: azusa.db.kysely.withPlugin(pause), audit: azusa.audit });
    const buyer = await azusa.db.kysely
      .selectFrom("user")
      .select(["id", "tenantId"])
      .where("email", "=", "buyer@tokyo-si.example")
      .executeTakeFirstOrThrow();
    const contractor = {
      kind: "user",
      userId: buyer.id,
      email: "buyer@tokyo-si.example",
      role: "contractor",
      tenantId: buyer.tenantId,
      via: "session",
    } as const;
    const closing = settlements.close(contractor, w.juninin.id, "2026-06");
    await reached;
    // The lead reopens the week and the contractor adjusts the month while the close is at work: each waits
    // for the close, then finds the month closed.
    const reopening = w.lead.post(`/api/v1/timesheets/${week.id}/reopen`, { reason: "確認のため" });
    const adjusting = w.contractor.post(`/api/v1/contracts/${w.juninin.id}/settlements/adjustments`, {
      engineerId: kato.id,
      month: "2026-06",
      amountYen: 5_000,
      reason: "交通費",
    });
    await Promise.race([Promise.all([reopening, adjusting]), new Promise((resolve) => setTimeout(resolve, 300))]);
    release();
    const closed = await closing;
    expect(closed.items).toEqual([
      expect.objectContaining({ engineerName: "kato", approvedHours: 8, pendingHours: 0 }),
    ]);
    const reopened = await reopening;
    expect(reopened.status).toBe(409);
    expect((await reopened.json()).error.message).toBe("2026-06 is closed: the contractor reopens the month first");
    expect((await sheetOf(kato, "2026-06-01")).state).toBe("approved");
    const adjusted = await adjusting;
    expect(adjusted.status).toBe(409);
    expect((await adjusted.json()).error.message).toBe("2026-06 is closed: reopen the month to adjust it");
    const month = await (await w.contractor.get(`/api/v1/contracts/${w.juninin.id}/settlements?month=2026-06`)).json();
    expect(month.items[0]).toMatchObject({ adjustments: [], amountYen: closed.items[0]?.amountYen });
  });

  it("exports a month as CSV that Excel opens: BOM, CRLF, Japanese headers and text intact", async () => {
    await record(sato, { start: "2026-08-03T09:00", end: "2026-08-03T12:10", note: "顧客打合せ, 議事録「第2版」" });
    await record(sato, { start: "2026-07-31T23:00", end: "2026-08-01T00:30" }); // the month starts in the middle
    const formula = '=HYPERLINK("http://attacker.example","請求書")';
    await record(sato, { start: "2026-08-04T09:00", end: "2026-08-04T10:00", note: formula });
    const res = await w.contractor.get(`/api/v1/contracts/${w.juninin.id}/hours.csv?month=2026-08`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/csv");
    const bytes = Buffer.from(await res.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.toString("utf8");
    expect(text.split("\r\n").length).toBeGreaterThan(2);
    expect(text.replaceAll("\r\n", "")).not.toContain("\n");
    const rows = parse(text, { bom: true, record_delimiter: "\r\n" }) as string[][];
    expect(rows[0]).toEqual([...CSV_HEADERS]);
    expect(rows[0]?.slice(0, 5)).toEqual(["氏名", "作業日", "週（月曜）", "WBS番号", "作業名"]);
    expect(rows.slice(1)).toEqual([
      [
        "sato",
        "2026-08-01",
        "2026-07-27",
        "2.1",
        "受注管理機能",
        "00:00",
        "00:30",
        "Asia/Tokyo",
        "30",
        "30",
        "15min-nearest",
        "下書き",
        "",
      ],
      [
        "sato",
        "2026-08-03",
        "2026-08-03",
        "2.1",
        "受注管理機能",
        "09:00",
        "12:10",
        "Asia/Tokyo",
        "190",
        "195",
        "15min-nearest",
        "下書き",
        "顧客打合せ, 議事録「第2版」",
      ],
      // Excel would run a cell that starts with "=": the CSV carries it as text.
      [
        "sato",
        "2026-08-04",
        "2026-08-03",
        "2.1",
        "受注管理機能",
        "09:00",
        "10:00",
        "Asia/Tokyo",
        "60",
        "60",
        "15min-nearest",
        "下書き",
        `'${formula}`,
      ],
    ]);
    const json = (await (await w.lead.get(`/api/v1/contracts/${w.juninin.id}/hours?month=2026-08`)).json()).items;
    expect(json.map((r: { rawMinutes: number }) => r.rawMinutes)).toEqual([30, 190, 60]);
    expect(json[2].note).toBe(formula); // the JSON keeps what the engineer wrote
    // Another tenant's people, and engineers, do not read it.
    expect((await sato.client.get(`/api/v1/contracts/${w.juninin.id}/hours.csv?month=2026-08`)).status).toBe(404);
  });
  it("exports the month's settlement per engineer as CSV and xlsx, named with contract and month, rounding stated in Japanese", async () => {
    const ito = w.engineers.ito as HoursWorld["engineers"][string];
    await approvedWeek(sato, "2.1", "2026-05-11", 600);
    await approvedWeek(ito, "2.2", "2026-05-12", 420);
    const adjusted = await w.contractor.post(`/api/v1/contracts/${w.juninin.id}/settlements/adjustments`, {
      engineerId: ito.id,
      month: "2026-05",
      amountYen: 10_000,
      reason: "交通費",
    });
    expect(adjusted.status).toBe(201);
    const named = (res: Response, kind: string, ext: string) => {
      const disposition = res.headers.get("content-disposition") ?? "";
      expect(disposition).toContain(`filename="${kind}-${w.juninin.id.slice(0, 8)}-2026-05.${ext}"`);
      const star = /filename\*=UTF-8''(.+)$/.exec(disposition)?.[1] ?? "";
      return decodeURIComponent(star);
    };

    const csv = await w.contractor.get(`/api/v1/contracts/${w.juninin.id}/settlements.csv?month=2026-05`);
    expect(csv.status).toBe(200);
    expect(named(csv, "settlement", "csv")).toBe("精算_勘定系保守（準委任）_2026-05.csv");
    const rows = parse(await csv.text(), {
      bom: true,
      record_delimiter: "\r\n",
      relax_column_count: true,
    }) as string[][];
    expect(rows[0]).toEqual([...SETTLEMENT_HEADERS]);
    // 140–180 h for 800,000 yen, 6,000 yen less an hour under 140: 10 h leaves 20,000 yen, 7 h 2,000 yen.
    expect(rows[1]).toEqual([
      "ito",
      "2026-05",
      "7",
      "0",
      "140",
      "180",
      "800000",
      "下限未満（控除）",
      "133",
      "6000",
      "2000",
      "10000",
      "交通費（+10000円）",
      "12000",
    ]);
    expect(rows[2]).toEqual([
      "sato",
      "2026-05",
      "10",
      "0",
      "140",
      "180",
      "800000",
      "下限未満（控除）",
      "130",
      "6000",
      "20000",
      "0",
      "",
      "20000",
    ]);
    const notes = rows.slice(3).flat().join("\n");
    expect(notes).toContain("各申告（1 日分）を15 分単位で四捨五入");
    expect(notes).toContain("1 円未満を四捨五入");

    const xlsx = await w.contractor.get(`/api/v1/contracts/${w.juninin.id}/settlements.xlsx?month=2026-05`);
    expect(xlsx.status).toBe(200);
    expect(xlsx.headers.get("content-type")).toBe("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    expect(named(xlsx, "settlement", "xlsx")).toBe("精算_勘定系保守（準委任）_2026-05.xlsx");
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(Buffer.from(await xlsx.arrayBuffer()) as unknown as ArrayBuffer);
    const sheet = book.getWorksheet("精算");
    expect(sheet?.getRow(2).getCell(1).value).toBe("氏名");
    expect(sheet?.getRow(3).values).toEqual([
      undefined,
      "ito",
      "2026-05",
      7,
      0,
      140,
      180,
      800000,
      "下限未満（控除）",
      133,
      6000,
      2000,
      10000,
      "交通費（+10000円）",
      12000,
    ]);
    expect(String(sheet?.getRow(6).getCell(1).value)).toContain("15 分単位で四捨五入");

    // The hours CSV is named with the contract too; engineers read neither.
    const hoursCsv = await w.contractor.get(`/api/v1/contracts/${w.juninin.id}/hours.csv?month=2026-05`);
    expect(named(hoursCsv, "hours", "csv")).toBe("工数_勘定系保守（準委任）_2026-05.csv");
    expect((await sato.client.get(`/api/v1/contracts/${w.juninin.id}/settlements.xlsx?month=2026-05`)).status).toBe(
      404,
    );
    // A 請負 contract's file has only the task lines (none here).
    const ukeoi = await w.lead.get(`/api/v1/contracts/${w.ukeoi.id}/settlements.csv?month=2026-05`);
    expect(ukeoi.status).toBe(200);
    expect(await ukeoi.text()).not.toContain("承認済み時間");
  });

  it("lets an engineer whose assignment ended record hours for past weeks only", async () => {
    const ito = w.engineers.ito as HoursWorld["engineers"][string];
    const pkg = w.juninin.packages["2.2"];
    const withdrawn = await w.lead.post(`/api/v1/packages/${pkg}/withdraw`, { reason: "体制変更" });
    expect(withdrawn.status).toBe(204);
    const late = await record(ito, { packageId: pkg, start: "2026-10-05T09:00", end: "2026-10-05T12:00" });
    expect(late.status).toBe(201);
    // A minute ago is this week (unless the test runs in the first two minutes of a Tokyo Monday).
    const now = Date.now();
    const current = await record(ito, {
      packageId: pkg,
      start: new Date(now - 120_000).toISOString(),
      end: new Date(now - 60_000).toISOString(),
    });
    expect(current.status).toBe(403);
    expect((await current.json()).error.message).toMatch(/assignment to this package has ended/);
  });
});
