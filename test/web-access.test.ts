// Who may open which page, over plain HTTP: a page a role may not see answers 404, another tenant's
// contract too; strangers are sent to sign in; every form needs the session's token and Azusa's origin.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialects } from "./support/databases.ts";
import { sampleContract } from "./support/fixtures.ts";
import { type Client, PASSWORD, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { csrfTokenIn, getPage, postForm } from "./support/pages.ts";
import { pullRequestOn } from "./support/pull-requests.ts";
import { SAMPLE_WBS_ROWS, utf8Csv } from "./support/wbs-files.ts";

type Who = "operator" | "contractor" | "lead" | "engineer";

describe.each(dialects)("pages and who may see them on %s", (dialect) => {
  let t: TestAzusa;
  const as = {} as Record<Who | "otherContractor" | "otherLead", Client>;
  let contractId: string;
  let packageId: string;
  let engineerId: string;
  let pullId: string;
  let sessionId: string;

  beforeAll(async () => {
    t = await startTestAzusa({ dialect, env: { AZUSA_SCHEDULES: "off" } });
    const tokyo = await t.createTenant("東京システムインテグレーション");
    const osaka = await t.createTenant("大阪データサービス");
    await t.createUser("contractor", "buyer@tokyo-si.example", tokyo.id);
    const leadId = (await t.createUser("lead", "lead@tokyo-si.example", tokyo.id)).id;
    await t.createUser("lead", "other-lead@tokyo-si.example", tokyo.id);
    await t.createUser("contractor", "buyer@osaka-ds.example", osaka.id);
    engineerId = (await t.createUser("engineer", "sato@matsumoto.example")).id;
    as.operator = await t.signIn("root@office.example");
    as.contractor = await t.signIn("buyer@tokyo-si.example");
    as.lead = await t.signIn("lead@tokyo-si.example");
    as.otherLead = await t.signIn("other-lead@tokyo-si.example");
    as.otherContractor = await t.signIn("buyer@osaka-ds.example");
    as.engineer = await t.signIn("sato@matsumoto.example");
    await as.operator.put(`/api/v1/engineers/${engineerId}`, {
      weeklyCapacityHours: 40,
      skills: [{ skill: "java", level: 4 }],
    });
    const contract = await as.contractor.post("/api/v1/contracts", { ...sampleContract, leadIds: [leadId] });
    contractId = (await contract.json()).id;
    await as.contractor.request("POST", `/api/v1/contracts/${contractId}/wbs`, utf8Csv(SAMPLE_WBS_ROWS), {
      "content-type": "text/csv",
    });
    const items = (await (await as.lead.get(`/api/v1/contracts/${contractId}/packages`)).json()).items;
    packageId = items.find((p: { wbsId: string }) => p.wbsId === "2.1").id;
    pullId = (await pullRequestOn(t, packageId, { title: "受注画面", files: { "order.txt": "受注\n" } })).id;
    // A past session of the package, as the gateway leaves it (the player page needs no recording to answer).
    sessionId = "session-web-access";
    await t.running.azusa.db.kysely
      .insertInto("workspace_session")
      .values({
        id: sessionId,
        workspace_id: "workspace-web-access",
        package_id: packageId,
        tenant_id: tokyo.id,
        engineer_id: engineerId,
        channel: "ssh",
        kind: "shell",
        source_address: "127.0.0.1",
        started_at: "2026-11-20T01:00:00.000Z",
        ended_at: "2026-11-20T01:05:00.000Z",
        end_reason: "exit",
        exit_code: 0,
        recording: null,
      })
      .execute();
  });
  afterAll(() => t?.stop());

  const allowed: Record<string, Who[]> = {
    "/contracts": ["contractor", "lead"],
    "/contracts/new": ["contractor"],
    "/contracts/:contract": ["contractor", "lead"],
    "/board": ["lead"],
    "/packages/:package": ["contractor", "lead"],
    "/offers": ["engineer"],
    "/my-packages": ["engineer"],
    "/engineers": ["operator"],
    "/engineers/:engineer": ["operator"],
    "/workspaces": ["operator"],
    "/workspace-hosts": ["operator"],
    "/audit": ["operator"],
    "/invitations": ["operator", "contractor"],
    "/reviews": ["lead"],
    "/packages/:package/pulls": ["lead"],
    "/pulls/:pull": ["lead"],
    "/timesheets": ["lead"],
    "/my-pulls": ["engineer"],
    "/my-hours": ["engineer"],
    "/deliveries": ["contractor"],
    "/hours": ["contractor"],
    "/notifications": ["operator", "contractor", "lead", "engineer"],
    "/recordings": ["operator"],
    "/packages/:package/recordings": ["lead"],
    "/recordings/:session": ["operator", "lead"],
    "/templates": ["operator"],
  };
  const pathOf = (pattern: string) =>
    pattern
      .replace(":contract", contractId)
      .replace(":package", packageId)
      .replace(":engineer", engineerId)
      .replace(":pull", pullId)
      .replace(":session", sessionId);

  it("answers each role 200 on its own pages and 404 on every other page", async () => {
    const seen: Record<string, Record<Who, number>> = {};
    const expected: Record<string, Record<Who, number>> = {};
    for (const [pattern, roles] of Object.entries(allowed)) {
      seen[pattern] = {} as Record<Who, number>;
      expected[pattern] = {} as Record<Who, number>;
      for (const who of ["operator", "contractor", "lead", "engineer"] as const) {
        seen[pattern][who] = (await getPage(as[who], pathOf(pattern))).status;
        expected[pattern][who] = roles.includes(who) ? 200 : 404;
      }
    }
    expect(seen).toEqual(expected);
  });

  it("shows a hidden page as a plain 'not found' page, with no hint of what is there", async () => {
    const page = await getPage(as.engineer, "/audit");
    expect(page.status).toBe(404);
    expect(page.html).toContain("ページが見つかりません");
    expect(page.html).not.toContain("auth.sign_in");
    const missing = await getPage(as.engineer, "/no-such-page");
    expect(missing.status).toBe(404);
    // The same page body as for a page that exists but may not be seen, but for the request id.
    const body = (html: string) => /<main[^>]*>(.*)<\/main>/s.exec(html)?.[1]?.replace(/問い合わせ番号: [\w-]+/, "");
    expect(body(missing.html)).toBeTruthy();
    expect(body(missing.html)).toBe(body(page.html));
  });

  it("answers 404 for another tenant's contract and package, and for a lead not on the contract", async () => {
    for (const client of [as.otherContractor, as.otherLead]) {
      expect((await getPage(client, `/contracts/${contractId}`)).status).toBe(404);
      expect((await getPage(client, `/packages/${packageId}`)).status).toBe(404);
    }
    expect((await getPage(as.otherContractor, "/contracts")).html).not.toContain(sampleContract.title);
    // A lead not on the contract sees neither the pull request nor the package's list of them.
    expect((await getPage(as.otherLead, `/pulls/${pullId}`)).status).toBe(404);
    expect((await getPage(as.otherLead, `/packages/${packageId}/pulls`)).status).toBe(404);
    expect((await getPage(as.otherLead, "/reviews")).html).not.toContain("受注画面");
    expect((await getPage(as.otherContractor, "/hours")).html).not.toContain(sampleContract.title);
    // Nor the package's sessions, nor a session's player.
    expect((await getPage(as.otherLead, `/packages/${packageId}/recordings`)).status).toBe(404);
    expect((await getPage(as.otherLead, `/recordings/${sessionId}`)).status).toBe(404);
    expect((await getPage(as.lead, `/packages/${packageId}/recordings`)).html).toContain("127.0.0.1");
  });

  it("answers 404 to review, hours and inspection forms from people who may not use them, and changes nothing", async () => {
    const post = async (who: Client, path: string, fields: Record<string, string> = {}) => {
      const _csrf = csrfTokenIn((await getPage(who, "/notifications")).html);
      return (await postForm(who, path, { _csrf, ...fields })).status;
    };
    expect(await post(as.engineer, `/packages/${packageId}/pulls`, { branch: "feature/x", title: "x" })).toBe(404);
    expect(await post(as.otherLead, `/pulls/${pullId}/reviews`, { verdict: "approve" })).toBe(404);
    expect(await post(as.otherLead, `/pulls/${pullId}/merge`)).toBe(404);
    expect(await post(as.contractor, `/pulls/${pullId}/reviews`, { verdict: "approve" })).toBe(404);
    expect(await post(as.otherContractor, `/packages/${packageId}/accept-delivery`)).toBe(404);
    expect(await post(as.lead, `/packages/${packageId}/accept-delivery`)).toBe(404);
    expect(await post(as.engineer, "/timesheets/no-such-sheet/approve")).toBe(404);
    expect(await post(as.lead, "/timesheets/no-such-sheet/approve")).toBe(404);
    expect(await post(as.contractor, "/notifications/no-such-notification/read")).toBe(404);
    const pr = await (await as.lead.get(`/api/v1/pulls/${pullId}`)).json();
    expect(pr).toMatchObject({ state: "open", reviews: [] });
  });

  it("refuses overlong text from a form as the API does, naming the field, and records nothing", async () => {
    const _csrf = csrfTokenIn((await getPage(as.lead, "/notifications")).html);
    const review = await postForm(as.lead, `/pulls/${pullId}/reviews`, {
      _csrf,
      verdict: "comment",
      body: "長".repeat(20_001),
    });
    expect(review.status).toBe(400);
    expect(review.html).toContain("20000 文字以内で入力してください");
    const pr = await (await as.lead.get(`/api/v1/pulls/${pullId}`)).json();
    expect(pr.reviews).toEqual([]);
  });

  it("sends a stranger to sign in and back to the page afterwards", async () => {
    const page = await getPage(t.anonymous(), `/contracts/${contractId}`);
    expect(page.status).toBe(303);
    expect(page.location).toBe(`/sign-in?next=${encodeURIComponent(`/contracts/${contractId}`)}`);
    const stale = t.anonymous();
    stale.cookie = "better-auth.session_token=ended.session";
    const expired = await getPage(stale, "/board");
    expect(expired.location).toContain("expired=1");
    expect((await getPage(stale, expired.location ?? "")).html).toContain("セッションが切れました");
  });

  it("signs in with the form, lands on the role's first page, and records the sign-in", async () => {
    const browser = t.anonymous();
    const wrong = await postForm(browser, "/sign-in", { email: "lead@tokyo-si.example", password: "not-it-at-all" });
    expect(wrong.status).toBe(401);
    expect(wrong.html).toContain("メールアドレスまたはパスワードが違います");
    const res = await fetch(`${t.base}/sign-in`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: t.base },
      body: new URLSearchParams({ email: "lead@tokyo-si.example", password: PASSWORD, next: "/" }),
    });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/board");
    // Only a path on this site may follow sign-in.
    const away = await fetch(`${t.base}/sign-in`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: t.base },
      body: new URLSearchParams({ email: "lead@tokyo-si.example", password: PASSWORD, next: "//evil.example/x" }),
    });
    expect(away.headers.get("location")).toBe("/board");
    browser.cookie = res.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
    expect((await getPage(browser, "/board")).status).toBe(200);
    const events = (await (await as.operator.get("/api/v1/audit-events?limit=20")).json()).items;
    expect(events.map((e: { action: string }) => e.action)).toEqual(
      expect.arrayContaining(["auth.sign_in", "auth.sign_in_failed"]),
    );
  });

  it("refuses a form without the session's token, or from another origin, and takes it with both", async () => {
    const path = `/packages/${packageId}/open`;
    expect((await postForm(as.lead, path, {})).status).toBe(403);
    expect((await postForm(as.lead, path, { _csrf: "forged" })).status).toBe(403);
    const token = csrfTokenIn((await getPage(as.lead, `/packages/${packageId}`)).html);
    expect(csrfTokenIn((await getPage(as.otherLead, "/board")).html)).not.toBe(token);
    expect((await postForm(as.lead, path, { _csrf: token }, { origin: "http://evil.example" })).status).toBe(403);
    expect((await (await as.lead.get(`/api/v1/packages/${packageId}`)).json()).state).toBe("draft");
    const done = await postForm(as.lead, path, { _csrf: token });
    expect(done.status).toBe(303);
    expect((await (await as.lead.get(`/api/v1/packages/${packageId}`)).json()).state).toBe("open");
  });

  it("speaks Japanese by default, whatever the browser asks for, and English once chosen", async () => {
    const ja = await getPage(as.contractor, "/contracts", { "accept-language": "en-US,en;q=0.9" });
    expect(ja.html).toContain('<html lang="ja">');
    expect(ja.html).toContain("契約一覧");
    const en = await fetch(`${t.base}/contracts?lang=en`, { headers: { cookie: as.contractor.cookie } });
    expect(await en.text()).toContain('<html lang="en">');
    const chosen = en.headers
      .getSetCookie()
      .find((c) => c.startsWith("lang="))
      ?.split(";")[0];
    expect(chosen).toBe("lang=en");
    const next = await getPage(as.contractor, `/contracts/${contractId}`, {
      cookie: `${as.contractor.cookie}; ${chosen}`,
    });
    expect(next.html).toContain("Critical path");
    expect(next.html).not.toContain("クリティカルパス");
  });

  it("refuses a contract form with a wrong field, naming it, and registers nothing", async () => {
    const token = csrfTokenIn((await getPage(as.contractor, "/contracts/new")).html);
    const before = (await (await as.contractor.get("/api/v1/contracts")).json()).items.length;
    const res = await postForm(as.contractor, "/contracts", {
      _csrf: token,
      title: "基幹システム保守",
      client: "株式会社松本精密",
      type: "juninin",
      confidentiality: "internal",
      periodStart: "2027-04-01",
      periodEnd: "2027-03-31",
      monthlyFeeYen: "1200000",
      minHours: "140",
      maxHours: "180",
      overRateYen: "7500",
      underRateYen: "7500",
    });
    expect(res.status).toBe(400);
    expect(res.html).toContain("periodEnd");
    expect((await (await as.contractor.get("/api/v1/contracts")).json()).items.length).toBe(before);
  });

  it("leaves the API as it was: JSON errors, and its own guard", async () => {
    const res = await t.anonymous().get("/api/v1/contracts");
    expect(res.status).toBe(401);
    expect((await res.json()).error.code).toBe("UNAUTHENTICATED");
    expect((await as.engineer.get("/api/v1/audit-events/verify")).status).toBe(403);
    const missing = await as.engineer.get("/api/v1/no-such-thing");
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe("NOT_FOUND");
  });
});
