// Every form of the web UI refused, in Japanese: walked in a real browser (Debian's Chromium) as each role, every
// distinct form found on Azusa's pages is submitted twice with what a person gets wrong — everything left empty,
// then values of the wrong kind (a word for a number, a date that does not exist, a control character, a choice
// not offered) — with the browser's own checks off, as a script or an old browser sends it. Each answer must be
// an answer (no 5xx) and hold no English sentence: every refusal a form can produce comes from the catalogue.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tokyoDay, weekOf } from "../src/domain/timesheets/time.ts";
import { launchBrowser, signInPage } from "./support/browser.ts";
import { englishIn, outOfWalk, walkPages } from "./support/english.ts";
import { formKey, formsOn, submitWrong } from "./support/form-walk.ts";
import { PASSWORD } from "./support/harness.ts";
import { type HoursWorld, startWalkWorld, WALKERS } from "./support/hours-world.ts";
import { officeInput } from "./support/offices.ts";
import { pullRequestOn } from "./support/pull-requests.ts";

const ARTIFACTS = join(import.meta.dirname, "..", "test-artifacts");

/** Where a role's walk starts besides the home page. */
const STARTS: Record<string, string[]> = {
  operator: ["/offices", "/workspace-hosts", "/workspaces", "/hours", "/engineers", "/mail"],
  lead: ["/timesheets", "/hours", "/deliveries"],
  contractor: ["/deliveries", "/hours"],
  visitor: ["/invite?token=not-a-token"],
};

describe("every form of the web UI refused, in Japanese", () => {
  let w: HoursWorld;
  let browser: Browser;
  let officeId = "";

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    w = await startWalkWorld();
    const hours = w.juninin.packages["2.1"] as string;
    const review = w.ukeoi.packages["2.1"] as string;
    // What brings the other forms out: a week waiting for the lead, a delivery waiting for the contractor.
    const sato = w.engineers.sato as HoursWorld["engineers"][string];
    const day = tokyoDay(Date.now() - 86_400_000);
    await sato.client.post("/api/v1/time-entries", { packageId: hours, date: day, minutes: 90, note: "設計" });
    const [sheet] = (await (await sato.client.get(`/api/v1/timesheets?week=${weekOf(day)}`)).json()).items;
    expect((await sato.client.post(`/api/v1/timesheets/${sheet.id}/submit`)).status).toBe(200);
    // Two deliveries: one waiting for 検収 (its rejection asks for reasons), one accepted (its payment asks for a date).
    const [waiting, accepted] = Object.values(w.ukeoi.packages).filter((id) => id !== review) as [string, string];
    for (const id of [waiting, accepted]) {
      await w.assign(id, "sato");
      await w.move(id, "in_progress", "in_review");
      expect((await sato.client.post(`/api/v1/packages/${id}/deliver`, { note: "納品" })).status).toBe(201);
    }
    expect((await w.contractor.post(`/api/v1/packages/${accepted}/accept-delivery`)).status).toBe(200);
    // An office: its edit form, its guide's editor and report for the operator, its public page's registration.
    const office = await w.operator.post("/api/v1/offices", officeInput("北オフィス", "北町"));
    expect(office.status).toBe(201);
    officeId = (await office.json()).id;
    // A pull request waiting for the lead's review.
    await pullRequestOn(w.t, review, { title: "画面の修正", files: { "README.md": "修正\n" } });
    // An offer waiting for sato, who may decline it with a reason.
    const offered = Object.values(w.juninin.packages).find((id) => id !== hours) as string;
    expect((await w.lead.post(`/api/v1/packages/${offered}/open`)).status).toBe(200);
    expect((await w.lead.post(`/api/v1/packages/${offered}/offers`, { engineerId: sato.id })).status).toBe(201);
    browser = await launchBrowser();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await w?.stop();
  });

  // Someone not signed in too: the sign-in, the invitation and the public pages' forms.
  for (const [role, email] of [...Object.entries(WALKERS), ["visitor", ""]] as const) {
    it(`says every refusal of every form ${role} has in Japanese`, async () => {
      const page = email
        ? await signInPage(browser, w.t.base, email, PASSWORD)
        : await (await browser.newContext({ locale: "en-US" })).newPage();
      page.on("dialog", (d) => void d.accept());
      const origin = new URL(w.t.base).origin;
      const tried = new Set<string>();
      const english: Record<string, string[]> = {};
      const broken: Record<string, number | null> = {};
      let refused = 0;
      const visitedCount = await walkPages(
        page,
        origin,
        async (path) => {
          for (const form of await formsOn(page)) {
            const key = formKey(form);
            const target = new URL(form.action || path, `${origin}${path}`);
            // What is left alone: a form with nothing to fill in, leaving, switching language, the live terminal.
            if (!form.fields.length || tried.has(key) || outOfWalk(target)) continue;
            tried.add(key);
            for (const how of ["missing", "wrong"] as const) {
              await page.goto(`${origin}${path}`);
              const status = await submitWrong(page, form.index, how);
              if (status === null || status >= 500) {
                broken[`${key} ${how} (on ${path})`] = status;
                continue;
              }
              if (status >= 400) refused++;
              expect(await page.getAttribute("html", "lang"), `${key} ${how}`).toBe("ja");
              const found = await englishIn(page);
              if (found.length) {
                english[`${key} ${how} (on ${path})`] = found;
                const shot = `web-form-errors-${role}-${Object.keys(english).length}.png`;
                await page.screenshot({ path: join(ARTIFACTS, shot), fullPage: true });
              }
            }
          }
        },
        120,
        // Pages not linked from where the walk starts for everyone: an invitation's link, the operators' lists.
        ["/", ...(STARTS[role] ?? []), ...(role === "visitor" ? [`/office-guide/${officeId}`] : [])],
      );
      await page.context().close();
      console.log(`${role}: ${visitedCount} pages, ${tried.size} forms, ${refused} refusals\n${[...tried].join("\n")}`);
      expect(tried.size).toBeGreaterThan(0);
      expect(refused).toBeGreaterThan(0);
      expect(broken).toEqual({});
      expect(english).toEqual({});
    }, 600_000);
  }
});
