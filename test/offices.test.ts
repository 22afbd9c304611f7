// Satellite offices over HTTP and as pages: who creates and changes them, who belongs where, and who may see it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialects } from "./support/databases.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { officeInput as office } from "./support/offices.ts";
import { csrfTokenIn, getPage, postForm } from "./support/pages.ts";

describe.each(dialects)("offices on %s", (dialect) => {
  let t: TestAzusa;
  let as: Record<"root" | "operator" | "engineer" | "contractor" | "lead", Client>;
  let ids: Record<"operator" | "engineer" | "otherEngineer" | "contractor" | "secondOperator", string>;
  let northId: string;
  let southId: string;

  beforeAll(async () => {
    t = await startTestAzusa({ dialect });
    const tenant = await t.createTenant("東京システムインテグレーション");
    ids = {
      operator: (await t.createUser("operator", "ops@north.example")).id,
      secondOperator: (await t.createUser("operator", "ops@south.example")).id,
      engineer: (await t.createUser("engineer", "sato@north.example")).id,
      otherEngineer: (await t.createUser("engineer", "suzuki@south.example")).id,
      contractor: (await t.createUser("contractor", "buyer@tokyo-si.example", tenant.id)).id,
    };
    await t.createUser("lead", "lead@tokyo-si.example", tenant.id);
    as = {
      root: await t.signIn("root@office.example"),
      operator: await t.signIn("ops@north.example"),
      engineer: await t.signIn("sato@north.example"),
      contractor: await t.signIn("buyer@tokyo-si.example"),
      lead: await t.signIn("lead@tokyo-si.example"),
    };
    const north = await as.root.post("/api/v1/offices", office("北オフィス", "北町"));
    expect(north.status).toBe(201);
    northId = (await north.json()).id;
    southId = (await (await as.root.post("/api/v1/offices", office("南オフィス", "南町"))).json()).id;
    expect((await as.root.put(`/api/v1/offices/${northId}/members/${ids.operator}`)).status).toBe(200);
    expect((await as.root.put(`/api/v1/offices/${southId}/members/${ids.otherEngineer}`)).status).toBe(200);
  });
  afterAll(() => t?.stop());

  it("lets the first operator create an office, records it, and shows it to every role", async () => {
    const created = await as.root.post("/api/v1/offices", office("西オフィス", "西町"));
    expect(created.status).toBe(201);
    const body = await created.json();
    expect(body).toMatchObject(office("西オフィス", "西町"));
    const audit = await (await as.root.get("/api/v1/audit-events?limit=1")).json();
    expect(audit.items[0]).toMatchObject({ action: "office.created", subject: `office:${body.id}` });
    for (const client of Object.values(as)) {
      const res = await client.get(`/api/v1/offices/${body.id}`);
      expect(res.status).toBe(200);
      expect((await res.json()).name).toBe("西オフィス");
    }
  });

  it("refuses office creation to anyone but an office admin", async () => {
    for (const client of [as.operator, as.engineer, as.contractor, as.lead]) {
      const res = await client.post("/api/v1/offices", office("東オフィス", "東町"));
      expect(res.status).toBe(403);
      expect((await res.json()).error).toMatchObject({ code: "FORBIDDEN", requestId: expect.any(String) });
    }
    const names = (await (await as.root.get("/api/v1/offices")).json()).items.map((o: { name: string }) => o.name);
    expect(names).not.toContain("東オフィス");
  });

  it("names each wrong field and refuses a second office of the same name", async () => {
    const res = await as.root.post("/api/v1/offices", {
      ...office("誤りオフィス", "誤町"),
      timeZone: "Asia/Matsumoto",
      prefecture: " ",
      extra: 1,
    });
    expect(res.status).toBe(400);
    const paths = (await res.json()).error.fields.map((f: { path: string }) => f.path).sort();
    expect(paths).toEqual(["extra", "prefecture", "timeZone"]);
    const again = await as.root.post("/api/v1/offices", office("北オフィス", "北町"));
    expect(again.status).toBe(409);
  });

  it("lets an office's operator change their own office, not another", async () => {
    const own = await as.operator.put(`/api/v1/offices/${northId}`, {
      ...office("北オフィス", "北町"),
      contact: "0263-00-0000",
    });
    expect(own.status).toBe(200);
    expect((await own.json()).contact).toBe("0263-00-0000");
    const other = await as.operator.put(`/api/v1/offices/${southId}`, office("南オフィス", "乗っ取り町"));
    expect(other.status).toBe(403);
    expect((await (await as.root.get(`/api/v1/offices/${southId}`)).json()).town).toBe("南町");
    for (const client of [as.engineer, as.contractor, as.lead]) {
      expect((await client.put(`/api/v1/offices/${northId}`, office("北オフィス", "北町"))).status).toBe(403);
    }
  });

  it("lets an office's operator bring in an engineer who belongs nowhere, but not take one from another office", async () => {
    const added = await as.operator.put(`/api/v1/offices/${northId}/members/${ids.engineer}`);
    expect(added.status).toBe(200);
    expect(await added.json()).toMatchObject({ userId: ids.engineer, role: "engineer" });
    const members = await (await as.operator.get(`/api/v1/offices/${northId}/members`)).json();
    expect(members.items.map((m: { email: string }) => m.email)).toEqual(["ops@north.example", "sato@north.example"]);

    const poached = await as.operator.put(`/api/v1/offices/${northId}/members/${ids.otherEngineer}`);
    expect(poached.status).toBe(403);
    const south = await (await as.root.get(`/api/v1/offices/${southId}/members`)).json();
    expect(south.items.map((m: { userId: string }) => m.userId)).toEqual([ids.otherEngineer]);

    const mine = await (await as.engineer.get("/api/v1/offices/mine")).json();
    expect(mine).toMatchObject({ office: { id: northId }, managesAll: false });
  });

  it("keeps tenant staff out of offices and members out of other offices' rosters", async () => {
    const contractor = await as.root.put(`/api/v1/offices/${northId}/members/${ids.contractor}`);
    expect(contractor.status).toBe(400);
    expect((await contractor.json()).error.fields).toEqual([{ path: "userId", message: expect.any(String) }]);
    expect((await as.operator.get(`/api/v1/offices/${southId}/members`)).status).toBe(403);
    for (const client of [as.engineer, as.contractor, as.lead]) {
      expect((await client.get(`/api/v1/offices/${northId}/members`)).status).toBe(403);
    }
    expect((await as.root.get("/api/v1/offices/no-such-office/members")).status).toBe(404);
  });

  it("lets an office admin grant the capability, after which that operator manages every office", async () => {
    expect((await as.operator.put(`/api/v1/office-admins/${ids.secondOperator}`)).status).toBe(403);
    expect((await as.root.put(`/api/v1/office-admins/${ids.engineer}`)).status).toBe(400);
    expect((await as.root.put(`/api/v1/office-admins/${ids.secondOperator}`)).status).toBe(204);
    const second = await t.signIn("ops@south.example");
    expect(await (await second.get("/api/v1/offices/mine")).json()).toMatchObject({ office: null, managesAll: true });
    const moved = await second.put(`/api/v1/offices/${northId}/members/${ids.otherEngineer}`);
    expect(moved.status).toBe(200);
    const audit = await (await as.root.get("/api/v1/audit-events?limit=1")).json();
    expect(audit.items[0]).toMatchObject({ action: "office.member_added", details: { from: southId } });
  });

  it("shows operators the offices page, creates and edits an office from it, and hides it from other roles", async () => {
    const list = await getPage(as.root, "/offices");
    expect(list.status).toBe(200);
    expect(list.html).toContain("北オフィス");
    const created = await postForm(as.root, "/offices", {
      _csrf: csrfTokenIn(list.html),
      ...office("ページオフィス", "頁町"),
    });
    expect(created.status).toBe(303);
    const detail = await getPage(as.root, created.location ?? "");
    expect(detail.html).toContain("頁町中央1-1-1");

    const bad = await postForm(as.root, "/offices", {
      _csrf: csrfTokenIn(list.html),
      ...office("悪いオフィス", "悪町"),
      timeZone: "Mars/Olympus",
    });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain("timeZone");
    // The refusals read in the page's language, as every other form's do.
    expect(bad.html).toContain("タイムゾーン名として読めません");
    expect(bad.html).not.toContain("not a known time zone");
    const taken = await postForm(as.root, "/offices", {
      _csrf: csrfTokenIn(list.html),
      ...office("北オフィス", "北町"),
    });
    expect(taken.status).toBe(400);
    expect(taken.html).toContain("「北オフィス」という名前のオフィスはすでにあります");

    const own = await getPage(as.operator, `/offices/${northId}`);
    expect(own.html).toContain("sato@north.example");
    const edited = await postForm(as.operator, `/offices/${northId}`, {
      _csrf: csrfTokenIn(own.html),
      ...office("北オフィス", "北町"),
      description: "駅から徒歩五分。",
    });
    expect(edited.status).toBe(303);
    expect((await getPage(as.operator, edited.location ?? "")).html).toContain("駅から徒歩五分。");
    const foreign = await getPage(as.operator, `/offices/${southId}`);
    expect(foreign.html).not.toContain('action="/offices/');
    for (const client of [as.engineer, as.contractor, as.lead]) {
      expect((await getPage(client, "/offices")).status).toBe(404);
    }
  });
});

describe("the brand line", () => {
  it("names no town unless configured, and shows what AZUSA_BRAND_LINE says", async () => {
    const plain = await startTestAzusa();
    try {
      for (const lang of ["ja", "en"]) {
        const page = await getPage(plain.anonymous(), `/sign-in?lang=${lang}`);
        expect(page.html).toMatch(/id="brand-line">[^<]+</);
        expect(page.html).not.toMatch(/松本|Matsumoto/);
      }
    } finally {
      await plain.stop();
    }
    const branded = await startTestAzusa({ env: { AZUSA_BRAND_LINE: "東京の仕事を、上田で" } });
    try {
      expect((await getPage(branded.anonymous(), "/sign-in")).html).toContain("東京の仕事を、上田で");
    } finally {
      await branded.stop();
    }
  });
});
