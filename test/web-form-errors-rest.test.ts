// The forms the walk of every page does not reach, refused in Japanese: they show only once something has happened
// (a task batch with items to key and a disputed item, an approved week, a closed month, an interest registered,
// a workspace to move). Each is opened where it shows, in Debian's Chromium, as the one who may use it, and
// submitted empty and then with values of the wrong kind, the browser's own checks off; forms with nothing to fill
// in are sent as they are, and once more after what they do was done behind the page's back (a second tab, another
// person). Each answer must be an answer (no 5xx) and hold no English sentence.
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { individualNumberCheckDigit } from "../src/domain/tasks/field-values.ts";
import { tokyoDay, weekOf } from "../src/domain/timesheets/time.ts";
import { launchBrowser, signInPage } from "./support/browser.ts";
import { englishIn } from "./support/english.ts";
import { formKey, formsOn, submitWrong } from "./support/form-walk.ts";
import { PASSWORD } from "./support/harness.ts";
import { type HoursWorld, startWalkWorld, WALKERS } from "./support/hours-world.ts";
import { officeInput } from "./support/offices.ts";
import { addKeyers, contractWithBatch, dependantsBatch, importItems } from "./support/task-batches.ts";
import { vetForMyNumber } from "./support/workspace-setup.ts";

const ARTIFACTS = join(import.meta.dirname, "..", "test-artifacts");
/** Made by the published algorithm, never a real person's. */
const number = (base: string) => `${base}${individualNumberCheckDigit(base)}`;

/**
 * Posts `values` to `action` from the page open now, with its CSRF token, as a script sends a form the page does not
 * show (or no longer would); resolves with the answer's status, or null when it went nowhere.
 */
async function post(page: Page, action: string, values: Record<string, string>): Promise<number | null> {
  const navigated = page.waitForNavigation({ timeout: 20_000 }).catch(() => null);
  await page.evaluate(`(() => {
    const form = document.createElement("form");
    form.method = "post";
    form.action = ${JSON.stringify(action)};
    const values = { _csrf: document.querySelector('input[name="_csrf"]').value, ...${JSON.stringify(values)} };
    for (const [name, value] of Object.entries(values)) {
      const input = document.createElement("input");
      input.name = name;
      input.value = value;
      form.append(input);
    }
    document.body.append(form);
    form.submit();
  })()`);
  return (await navigated)?.status() ?? null;
}

describe("the forms that show only once something has happened, refused in Japanese", () => {
  let w: HoursWorld;
  let browser: Browser;
  let batchId = "";
  let officeId = "";
  let workspaceId = "";
  let waitingSheet = "";
  const closedMonth = tokyoDay(Date.now() - 40 * 86_400_000).slice(0, 7);
  /** A month still open: its close form shows, and the month is closed behind the page's back. */
  const openMonth = tokyoDay(Date.now() - 100 * 86_400_000).slice(0, 7);

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    w = await startWalkWorld();
    const sato = w.engineers.sato as HoursWorld["engineers"][string];
    const ito = w.engineers.ito as HoursWorld["engineers"][string];
    const leadId = (await (await w.lead.get("/api/v1/me")).json()).id as string;
    // A task batch keyed by sato and ito: the first item keyed differently by each (a dispute for the lead), the
    // rest left for sato's entry form.
    await vetForMyNumber(w.operator, { engineers: [sato.id, ito.id], leads: [leadId] });
    ({ batchId } = await contractWithBatch(w.contractor, dependantsBatch, [leadId]));
    await importItems(w.contractor, batchId, "氏名\n山田花子\n田中一郎\n鈴木次郎\n");
    await addKeyers(w.contractor, batchId, [sato.id, ito.id]);
    for (const [who, base] of [
      [sato, "51627384950"],
      [ito, "51627384905"],
    ] as const) {
      const taken = await (await who.client.post(`/api/v1/task-batches/${batchId}/take`, {})).json();
      const values = { 氏名: "山田花子", 個人番号: number(base), 金額: "1200" };
      expect((await who.client.put(`/api/v1/task-items/${taken.item.id}/entry`, { values })).status).toBe(200);
    }
    // A week the lead approved, which the lead may reopen with a reason.
    const day = tokyoDay(Date.now() - 8 * 86_400_000);
    const hours = w.juninin.packages["2.1"] as string;
    await sato.client.post("/api/v1/time-entries", { packageId: hours, date: day, minutes: 90, note: "設計" });
    const [sheet] = (await (await sato.client.get(`/api/v1/timesheets?week=${weekOf(day)}`)).json()).items;
    expect((await sato.client.post(`/api/v1/timesheets/${sheet.id}/submit`)).status).toBe(200);
    expect((await w.lead.post(`/api/v1/timesheets/${sheet.id}/approve`)).status).toBe(200);
    // A week waiting for the lead, approved behind the page's back.
    const waiting = tokyoDay(Date.now() - 15 * 86_400_000);
    await sato.client.post("/api/v1/time-entries", { packageId: hours, date: waiting, minutes: 60, note: "試験" });
    waitingSheet = (await (await sato.client.get(`/api/v1/timesheets?week=${weekOf(waiting)}`)).json()).items[0].id;
    expect((await sato.client.post(`/api/v1/timesheets/${waitingSheet}/submit`)).status).toBe(200);
    // A month the contractor closed, which the contractor may reopen with a reason.
    const close = await w.contractor.post(`/api/v1/contracts/${w.juninin.id}/settlements/close`, {
      month: closedMonth,
    });
    expect(close.status).toBe(201);
    // An office with two interests: one from someone new, one from an address that already has an account.
    const office = await w.operator.post("/api/v1/offices", officeInput("北オフィス", "北町"));
    expect(office.status).toBe(201);
    officeId = (await office.json()).id;
    for (const [name, email] of [
      ["山本 翔", "yamamoto@example.jp"],
      ["佐藤 健", "sato@matsumoto.example"],
    ] as const) {
      const interest = { name, email, skills: [], movingWhen: "来年の春", consent: true as const };
      await w.t.running.azusa.interests.register(officeId, interest, "同意します");
    }
    // A workspace: its move is refused while it is not stopped, and so is a move without a host or a reason.
    workspaceId = (await w.t.running.azusa.db.kysely.selectFrom("workspace").select("id").executeTakeFirstOrThrow()).id;
    browser = await launchBrowser();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await w?.stop();
  });

  /** Checks the answer open now: an answer, in Japanese, with no English sentence; returns whether it refused. */
  const problems: Record<string, string[] | number | null> = {};
  async function judge(page: Page, label: string, status: number | null): Promise<boolean> {
    if (status === null || status >= 500) {
      problems[label] = status;
      return false;
    }
    expect(await page.getAttribute("html", "lang"), label).toBe("ja");
    const found = await englishIn(page);
    if (found.length) {
      problems[label] = found;
      await page.screenshot({ path: join(ARTIFACTS, `web-form-errors-rest-${Object.keys(problems).length}.png`) });
    }
    return status >= 400;
  }

  /** Every kind of form with something to fill in on `path` (as `role`), submitted empty and wrong: the kinds tried. */
  async function fillable(
    role: string,
    path: () => string,
    wanted: RegExp,
    { wrongRefused = false } = {},
  ): Promise<string[]> {
    const page = await signInPage(browser, w.t.base, WALKERS[role] as string, PASSWORD);
    page.on("dialog", (d) => void d.accept());
    const tried: string[] = [];
    try {
      await page.goto(`${w.t.base}${path()}`);
      for (const form of await formsOn(page)) {
        if (!form.fields.length || !wanted.test(form.action) || tried.includes(formKey(form))) continue;
        tried.push(formKey(form));
        for (const how of ["missing", "wrong"] as const) {
          await page.goto(`${w.t.base}${path()}`);
          const status = await submitWrong(page, form.index, how);
          const refused = await judge(page, `${role} ${formKey(form)} ${how}`, status);
          // Left empty, every one of these forms is refused; a value of the wrong kind may be free text it takes.
          if (how === "missing" || wrongRefused) expect(refused, `${formKey(form)} ${how}`).toBe(true);
        }
      }
    } finally {
      await page.context().close();
    }
    return tried;
  }

  const stale: Record<string, number | null> = {};
  /**
   * Opens `path` as `role`, lets `meanwhile` change things, then sends `action` as the page has it (with `fill`
   * over its values): the answer is judged and kept in `stale`.
   */
  const again = async (
    role: string,
    path: string,
    action: RegExp,
    meanwhile: (page: Page) => Promise<void>,
    fill: Record<string, string> = {},
  ) => {
    const page = await signInPage(browser, w.t.base, WALKERS[role] as string, PASSWORD);
    try {
      await page.goto(`${w.t.base}${path}`);
      const form = (await formsOn(page)).find((f) => action.test(f.action));
      expect(form, `${role} ${path} ${action}`).toBeDefined();
      const values = await page.evaluate(
        `Object.fromEntries([...new FormData(document.forms[${form?.index}])].filter(([k]) => k !== "_csrf"))`,
      );
      await meanwhile(page);
      const status = await post(page, form?.action as string, { ...(values as Record<string, string>), ...fill });
      stale[`${role} ${form?.action}`] = status;
      await judge(page, `${role} ${form?.action} again`, status);
    } finally {
      await page.context().close();
    }
  };

  it("refuses the keyer's entry form in Japanese", async () => {
    const entry = await fillable("engineer", () => `/tasks/${batchId}/entry`, /\/entry$/, { wrongRefused: true });
    expect(entry).toHaveLength(1);
    expect(problems).toEqual({});
  }, 300_000);

  it("refuses the lead's decision on a disputed item and the reopening of an approved week in Japanese", async () => {
    const decide = await fillable("lead", () => `/task-disputes/${batchId}`, /^\/task-disputes\//, {
      wrongRefused: true,
    });
    expect(decide).toHaveLength(1);
    expect(await fillable("lead", () => "/timesheets", /\/reopen$/)).toHaveLength(1);
    expect(problems).toEqual({});
  }, 300_000);

  it("refuses the reopening of a closed month in Japanese", async () => {
    expect(await fillable("contractor", () => `/hours?month=${closedMonth}`, /^\/hours\/reopen$/)).toHaveLength(1);
    expect(problems).toEqual({});
  }, 300_000);

  it("answers each invitation from the interests list in Japanese", async () => {
    const page = await signInPage(browser, w.t.base, WALKERS.operator as string, PASSWORD);
    const path = `${w.t.base}/offices/${officeId}/interests`;
    const answers: number[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        await page.goto(path);
        const invite = (await formsOn(page)).filter((f) => /\/invite$/.test(f.action))[i] ?? null;
        if (!invite) break;
        // One invitation is sent; the other's address already has an account (refused, the row kept for now).
        const status = await submitWrong(page, invite.index, "missing");
        await judge(page, `invite ${i}`, status);
        answers.push(status ?? 0);
      }
    } finally {
      await page.context().close();
    }
    expect(answers.sort()).toEqual([200, 409]);
    expect(problems).toEqual({});
  }, 300_000);

  it("refuses a workspace's move without a host or a reason, with a reason too long, or while it runs, in Japanese", async () => {
    const page = await signInPage(browser, w.t.base, WALKERS.operator as string, PASSWORD);
    const refused: (number | null)[] = [];
    try {
      for (const [hostId, reason] of [
        ["", ""],
        ["not-offered", "\u0007"],
        ["", "ホストの保守のため"],
        ["not-offered", "保守".repeat(501)],
      ] as const) {
        await page.goto(`${w.t.base}/workspaces`);
        // The form shows only for a stopped workspace; the same request, as a script sends it, for a running one.
        const status = await post(page, `/workspaces/${workspaceId}/move`, { hostId, reason });
        refused.push(status);
        expect(await judge(page, `move ${hostId || "(no host)"} ${reason ? "reason" : "(no reason)"}`, status)).toBe(
          true,
        );
        // A reason too long is named as such, not as missing.
        if (reason.length > 1000) expect(await page.textContent("body")).toContain("1000 文字以内");
      }
    } finally {
      await page.context().close();
    }
    expect(refused).toHaveLength(4);
    expect(problems).toEqual({});
  }, 300_000);

  it("refuses a stopped workspace's move form, left empty or given a host not offered, in Japanese", async () => {
    // Another workspace, stopped, and a second host to move it to, as the operator's list shows them.
    const db = w.t.running.azusa.db.kysely;
    const other = await db.selectFrom("workspace").selectAll().where("id", "!=", workspaceId).executeTakeFirstOrThrow();
    await db.updateTable("workspace").set({ state: "stopped" }).where("id", "=", other.id).execute();
    const host = await db.selectFrom("workspace_host").selectAll().executeTakeFirstOrThrow();
    const at = new Date().toISOString();
    await db
      .insertInto("workspace_host")
      .values({ ...host, id: randomUUID(), name: "second-host", state: "active", created_at: at, updated_at: at })
      .execute();
    expect(await fillable("operator", () => "/workspaces", /\/move$/, { wrongRefused: true })).toHaveLength(1);
    expect(problems).toEqual({});
  }, 300_000);

  it("refuses in Japanese a form with nothing to fill in that is sent once too often", async () => {
    // The keyer gives back an item already given back; the lead approves a week approved meanwhile; the contractor
    // closes a month closed meanwhile; the operator invites the same person twice and deletes a registration twice.
    await again("engineer", `/tasks/${batchId}/entry`, /\/release$/, async (page) => {
      const itemId = await page.inputValue('form[action$="/release"] input[name="itemId"]');
      const sato = w.engineers.sato as HoursWorld["engineers"][string];
      expect((await sato.client.delete(`/api/v1/task-items/${itemId}/entry`)).status).toBe(204);
    });
    await again("lead", "/timesheets", new RegExp(`/timesheets/${waitingSheet}/approve$`), async () => {
      expect((await w.lead.post(`/api/v1/timesheets/${waitingSheet}/approve`)).status).toBe(200);
    });
    await again("contractor", `/hours?month=${openMonth}`, /^\/hours\/close$/, async () => {
      const closed = await w.contractor.post(`/api/v1/contracts/${w.juninin.id}/settlements/close`, {
        month: openMonth,
      });
      expect(closed.status).toBe(201);
    });
    await w.t.running.azusa.interests.register(
      officeId,
      { name: "中村 葵", email: "nakamura@example.jp", skills: [], movingWhen: "", consent: true },
      "同意します",
    );
    await again("operator", `/offices/${officeId}/interests`, /\/invite$/, async (page) => {
      const action = await page.getAttribute('form[action$="/invite"]', "action");
      expect(await post(page, action as string, {})).toBe(200);
    });
    await again("operator", `/offices/${officeId}/interests`, /\/delete$/, async (page) => {
      const action = await page.getAttribute('form[action$="/delete"]', "action");
      expect(await post(page, action as string, {})).toBe(200);
    });
    expect(Object.values(stale).map((s) => (s ?? 0) >= 400 && (s ?? 0) < 500)).toEqual([true, true, true, true, true]);
    expect(problems).toEqual({});
  }, 300_000);

  it("refuses in Japanese the forms of a week changed behind the page's back", async () => {
    const sato = w.engineers.sato as HoursWorld["engineers"][string];
    const day = tokyoDay(Date.now() - 22 * 86_400_000);
    const entries: string[] = [];
    for (const note of ["設計", "試験"]) {
      const entry = await sato.client.post("/api/v1/time-entries", {
        packageId: w.juninin.packages["2.1"],
        date: day,
        minutes: 30,
        note,
      });
      expect(entry.status).toBe(201);
      entries.push((await entry.json()).id);
    }
    const sheet = (await (await sato.client.get(`/api/v1/timesheets?week=${weekOf(day)}`)).json()).items[0].id;
    for (const key of Object.keys(stale)) delete stale[key];
    // An entry removed in another tab, then the week submitted there; the lead rejects a week approved meanwhile.
    await again(
      "engineer",
      `/my-hours?week=${weekOf(day)}`,
      new RegExp(`/time-entries/${entries[0]}/remove$`),
      async () => {
        expect((await sato.client.delete(`/api/v1/time-entries/${entries[0]}`)).status).toBeLessThan(300);
      },
    );
    await again("engineer", `/my-hours?week=${weekOf(day)}`, /\/submit$/, async () => {
      expect((await sato.client.post(`/api/v1/timesheets/${sheet}/submit`)).status).toBe(200);
    });
    await again(
      "lead",
      "/timesheets",
      new RegExp(`/timesheets/${sheet}/reject$`),
      async () => {
        expect((await w.lead.post(`/api/v1/timesheets/${sheet}/approve`)).status).toBe(200);
      },
      { reason: "時間が合いません" },
    );
    expect(Object.values(stale).map((s) => (s ?? 0) >= 400 && (s ?? 0) < 500)).toEqual([true, true, true]);
    expect(problems).toEqual({});
  }, 300_000);
});
