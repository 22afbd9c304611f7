// Account changes made through better-auth land with their audit event or not at all: when the database refuses
// the event (a trigger here), the API key, its revocation or the accepted invitation's account is not written.
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialects } from "./support/databases.ts";
import { type Client, PASSWORD, startTestAzusa, type TestAzusa } from "./support/harness.ts";

describe.each(dialects)("audit events in the change's transaction on %s", (dialect) => {
  let t: TestAzusa;
  let contractor: Client;
  let tenantId: string;

  beforeAll(async () => {
    t = await startTestAzusa({ dialect });
    const db = t.running.azusa.db.kysely;
    // The actions listed in refused_action cannot be audited: inserting their event fails.
    await sql`create table refused_action (action text primary key)`.execute(db);
    if (dialect === "sqlite") {
      await sql`create trigger refuse_audit before insert on audit_event
        when new.action in (select action from refused_action)
        begin select raise(abort, 'audit event refused'); end`.execute(db);
    } else {
      await sql`create function refuse_audit() returns trigger language plpgsql as $$
        begin
          if exists (select 1 from refused_action where action = new.action) then
            raise exception 'audit event refused';
          end if;
          return new;
        end $$`.execute(db);
      await sql`create trigger refuse_audit before insert on audit_event
        for each row execute function refuse_audit()`.execute(db);
    }
    tenantId = (await t.createTenant("東京システムインテグレーション")).id;
    await t.createUser("contractor", "buyer@tokyo-si.example", tenantId);
    contractor = await t.signIn("buyer@tokyo-si.example");
  });
  afterAll(() => t?.stop());

  const refuse = (action: string) => sql`insert into refused_action (action) values (${action})`.execute(db());
  const allow = (action: string) => sql`delete from refused_action where action = ${action}`.execute(db());
  const db = () => t.running.azusa.db.kysely;
  const apiKeys = async () =>
    (await sql<{ id: string }>`select id from apikey`.execute(db())).rows.map((r) => r.id).sort();
  const asScript = (key: string) => t.anonymous().request("GET", "/api/v1/me", undefined, { "x-api-key": key });

  it("creates no API key when its audit event cannot be written", async () => {
    const before = await apiKeys();
    await refuse("api_key.created");
    const res = await contractor.post("/api/v1/api-keys", { name: "nightly export" });
    await allow("api_key.created");
    expect(res.status).toBe(500);
    expect(await apiKeys()).toEqual(before);
    // once the event can be written, the same request makes a key that works
    const made = await contractor.post("/api/v1/api-keys", { name: "nightly export" });
    expect(made.status).toBe(201);
    const key = await made.json();
    expect((await asScript(key.key)).status).toBe(200);
    expect(await apiKeys()).toEqual([...before, key.id].sort());
  });

  it("keeps an API key working when its revocation cannot be audited", async () => {
    const key = await (await contractor.post("/api/v1/api-keys", { name: "billing export" })).json();
    expect((await asScript(key.key)).status).toBe(200);
    await refuse("api_key.revoked");
    const res = await contractor.delete(`/api/v1/api-keys/${key.id}`);
    await allow("api_key.revoked");
    expect(res.status).toBe(500);
    expect(await apiKeys()).toContain(key.id);
    expect((await asScript(key.key)).status).toBe(200);
    expect((await contractor.delete(`/api/v1/api-keys/${key.id}`)).status).toBe(204);
    expect((await asScript(key.key)).status).toBe(401);
  });

  it("makes no account and keeps the invitation open when its acceptance cannot be audited", async () => {
    const operator = await t.signIn("root@office.example");
    const invited = await operator.post("/api/v1/invitations", { email: "sato@matsumoto.example", role: "engineer" });
    expect(invited.status).toBe(201);
    const { token } = await invited.json();
    await refuse("invitation.accepted");
    const accept = { token, name: "佐藤", password: PASSWORD };
    const refused = await t.anonymous().post("/api/v1/invitations/accept", accept);
    await allow("invitation.accepted");
    expect(refused.status).toBe(500);
    const users = await sql`select id from "user" where email = 'sato@matsumoto.example'`.execute(db());
    expect(users.rows).toEqual([]);
    const listed = (await (await operator.get("/api/v1/invitations")).json()).items;
    expect(listed.find((i: { email: string }) => i.email === "sato@matsumoto.example").status).toBe("pending");
    // the same token works once the event can be written
    const accepted = await t.anonymous().post("/api/v1/invitations/accept", accept);
    expect(accepted.status).toBe(201);
    expect((await accepted.json()).email).toBe("sato@matsumoto.example");
    expect((await t.signIn("sato@matsumoto.example")).cookie).not.toBe("");
  });

  it("leaves the audit chain intact through the refusals", async () => {
    expect(await t.running.azusa.audit.verify()).toMatchObject({ ok: true });
  });
});
