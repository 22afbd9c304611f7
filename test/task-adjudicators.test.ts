// Engineers deciding disputed task items, on both databases: a lead named on the contract grants an engineer the
// right for one batch or every batch of the contract, audited and revocable; the engineer then sees a dispute with
// both entries and decides it — never an item they keyed, never a my_number batch without a valid my_number
// vetting. An engineer without the grant, a contractor's or another tenant's lead, gets nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { individualNumberCheckDigit } from "../src/domain/tasks/field-values.ts";
import { dialects } from "./support/databases.ts";
import { sampleContract } from "./support/fixtures.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { vetForMyNumber } from "./support/workspace-setup.ts";

/** Made by the published algorithm, never a real person's. */
const number = (base: string) => `${base}${individualNumberCheckDigit(base)}`;

type Name = "sato" | "suzuki" | "tanaka" | "kato";

describe.each(dialects)("engineers deciding task disputes on %s", (dialect) => {
  let t: TestAzusa;
  let operator: Client;
  let contractor: Client;
  let lead: Client;
  let otherLead: Client;
  const ids = {} as Record<Name | "lead" | "lead2", string>;
  const as = {} as Record<Name, Client>;
  let contractId: string;
  let otherContractId: string;
  /** A batch with an individual-number field (needs my_number) and a plain one, on the same contract. */
  let secret: string;
  let plain: string;
  let otherBatch: string;
  /** Disputed items by batch, in order. */
  const disputed: Record<string, string[]> = {};

  const createBatch = async (on: Client, contract: string, title: string, withNumber: boolean) => {
    const res = await on.post(`/api/v1/contracts/${contract}/task-batches`, {
      title,
      retentionUntil: "2027-12-31",
      fields: [
        { name: "氏名", type: "text", required: true },
        withNumber ? { name: "個人番号", type: "individual_number", required: true } : { name: "金額", type: "yen" },
      ],
    });
    expect(res.status).toBe(201);
    return (await res.json()).id as string;
  };

  /** Two keyers key every item of the batch, differently: each item ends disputed. */
  const keyDisputes = async (on: Client, batchId: string, keyers: [Name, Name], withNumber: boolean) => {
    for (const name of keyers) {
      expect((await on.post(`/api/v1/task-batches/${batchId}/keyers`, { engineerId: ids[name] })).status).toBe(201);
    }
    disputed[batchId] = [];
    for (const [k, name] of keyers.entries()) {
      for (;;) {
        const taken = (await (await as[name].post(`/api/v1/task-batches/${batchId}/take`, {})).json()).item;
        if (!taken) break;
        if (k === 0) disputed[batchId]?.push(taken.id);
        const values = withNumber
          ? { 氏名: "山田花子", 個人番号: number(k === 0 ? "40506070809" : "40506070890") }
          : { 氏名: "山田花子", 金額: k === 0 ? "1200" : "1300" };
        expect((await as[name].put(`/api/v1/task-items/${taken.id}/entry`, { values })).status).toBe(200);
      }
    }
  };

  beforeAll(async () => {
    t = await startTestAzusa({ dialect });
    const tenant = await t.createTenant("東京システムインテグレーション");
    const other = await t.createTenant("大阪データサービス");
    await t.createUser("contractor", "buyer@tokyo-si.example", tenant.id);
    ids.lead = (await t.createUser("lead", "lead@tokyo-si.example", tenant.id)).id;
    ids.lead2 = (await t.createUser("lead", "lead2@tokyo-si.example", tenant.id)).id;
    await t.createUser("contractor", "buyer@osaka-data.example", other.id);
    const otherLeadId = (await t.createUser("lead", "lead@osaka-data.example", other.id)).id;
    for (const name of ["sato", "suzuki", "tanaka", "kato"] as const) {
      ids[name] = (await t.createUser("engineer", `${name}@north.example`)).id;
      as[name] = await t.signIn(`${name}@north.example`);
    }
    operator = await t.signIn("root@office.example");
    contractor = await t.signIn("buyer@tokyo-si.example");
    lead = await t.signIn("lead@tokyo-si.example");
    otherLead = await t.signIn("lead@osaka-data.example");
    const otherContractor = await t.signIn("buyer@osaka-data.example");
    await vetForMyNumber(operator, { engineers: [ids.sato, ids.suzuki, ids.tanaka], leads: [ids.lead] });
    await operator.put(`/api/v1/engineers/${ids.kato}`, { weeklyCapacityHours: 40, skills: [] });
    contractId = (
      await (await contractor.post("/api/v1/contracts", { ...sampleContract, leadIds: [ids.lead, ids.lead2] })).json()
    ).id;
    otherContractId = (
      await (await otherContractor.post("/api/v1/contracts", { ...sampleContract, leadIds: [otherLeadId] })).json()
    ).id;
    secret = await createBatch(contractor, contractId, "扶養控除等申告書の確認", true);
    plain = await createBatch(contractor, contractId, "領収書の入力", false);
    otherBatch = await createBatch(otherContractor, otherContractId, "請求書の入力", false);
    for (const [on, batchId, csv] of [
      [contractor, secret, "氏名\n山田花子\n田中一郎\n"],
      [contractor, plain, "氏名\n山田花子\n"],
      [otherContractor, otherBatch, "氏名\n山田花子\n"],
    ] as const) {
      expect((await on.post(`/api/v1/task-batches/${batchId}/items`, { csv })).status).toBe(201);
    }
    await keyDisputes(contractor, secret, ["sato", "suzuki"], true);
    // tanaka keys the plain batch: a grant for the whole contract must not let them decide their own item.
    await keyDisputes(contractor, plain, ["tanaka", "sato"], false);
    await keyDisputes(otherContractor, otherBatch, ["sato", "suzuki"], false);
  });
  afterAll(() => t?.stop());

  const grants = (on: Client, body: Record<string, unknown>, contract = contractId) =>
    on.post(`/api/v1/contracts/${contract}/task-adjudicators`, body);
  const decision = (itemId: string) => `/api/v1/task-items/${itemId}/adjudication`;
  const first = (batchId: string) => disputed[batchId]?.[0] as string;

  it("is granted by a lead named on the contract only, to an engineer holding the batch's vetting", async () => {
    const contractorTry = await grants(contractor, { engineerId: ids.tanaka, batchId: secret });
    expect(contractorTry.status).toBe(403);
    expect((await contractorTry.json()).error.code).toBe("FORBIDDEN");
    for (const who of [as.tanaka, otherLead]) {
      const res = await grants(who, { engineerId: ids.tanaka, batchId: secret });
      expect(res.status).toBe(404);
      expect((await res.json()).error.code).toBe("NOT_FOUND");
    }
    const notVetted = await grants(lead, { engineerId: ids.kato, batchId: secret });
    expect(notVetted.status).toBe(409);
    expect((await notVetted.json()).error.message).toContain("no my_number on record");
    const noEngineer = await grants(lead, { engineerId: ids.lead, batchId: secret });
    expect(noEngineer.status).toBe(400);
    expect(JSON.stringify((await noEngineer.json()).error)).toContain("engineerId");
    const foreignBatch = await grants(lead, { engineerId: ids.tanaka, batchId: otherBatch });
    expect(foreignBatch.status).toBe(400);
    expect(JSON.stringify((await foreignBatch.json()).error)).toContain("batchId");
    expect((await (await contractor.get(`/api/v1/contracts/${contractId}/task-adjudicators`)).json()).items).toEqual(
      [],
    );

    const granted = await grants(lead, { engineerId: ids.tanaka, batchId: secret });
    expect(granted.status).toBe(201);
    expect(await granted.json()).toMatchObject({
      contractId,
      batchId: secret,
      userId: ids.tanaka,
      name: "tanaka",
      grantedBy: ids.lead,
      revokedAt: null,
    });
    expect((await grants(lead, { engineerId: ids.tanaka, batchId: secret })).status).toBe(409);
    for (const who of [otherLead, as.tanaka]) {
      expect((await who.get(`/api/v1/contracts/${contractId}/task-adjudicators`)).status).toBe(404);
    }
  });

  it("shows the granted engineer a dispute with both entries in full, and takes their decision", async () => {
    const item = first(secret);
    // Without the grant: as for any foreign id.
    const kato = await as.kato.get(decision(item));
    expect(kato.status).toBe(404);
    const shown = await as.tanaka.get(decision(item));
    expect(shown.status).toBe(200);
    const body = await shown.json();
    expect(body.entries.map((e: { name: string }) => e.name)).toEqual(["sato", "suzuki"]);
    expect(body.entries[0].values.個人番号).toBe(number("40506070809"));
    expect(body.entries[1].values.個人番号).toBe(number("40506070890"));
    const bad = await as.tanaka.put(decision(item), { values: { 氏名: "山田花子", 個人番号: "123456789012" } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify((await bad.json()).error)).toContain("values.個人番号");
    const decided = await as.tanaka.put(decision(item), {
      values: { 氏名: "山田花子", 個人番号: number("40506070809") },
    });
    expect(decided.status).toBe(200);
    expect((await decided.json()).state).toBe("adjudicated");
    const again = await as.tanaka.put(decision(item), {
      values: { 氏名: "山田花子", 個人番号: number("40506070809") },
    });
    expect(again.status).toBe(409);
    // The grant is for this batch only.
    expect((await as.tanaka.get(decision(first(plain)))).status).toBe(404);
    // Another tenant's disputes stay unseen, whatever the engineer holds here.
    expect((await as.tanaka.get(decision(first(otherBatch)))).status).toBe(404);

    const events = (await (await contractor.get("/api/v1/audit-events?limit=200")).json()).items as {
      action: string;
      subject: string;
      actor: string;
      details: Record<string, unknown>;
    }[];
    expect(events.some((e) => e.action === "task_adjudicator.granted")).toBe(true);
    const viewed = events.filter((e) => e.action === "task_values.viewed" && e.subject === `task_item:${item}`);
    expect(viewed.map((e) => e.details)).toEqual([{ items: [item], purpose: "adjudication", masked: false }]);
    expect(events.filter((e) => e.action === "task_item.adjudicated").map((e) => e.subject)).toEqual([
      `task_item:${item}`,
    ]);
  });

  it("never lets an engineer decide an item they keyed, even with a grant for the whole contract", async () => {
    expect((await grants(lead, { engineerId: ids.tanaka })).status).toBe(201);
    const own = await as.tanaka.get(decision(first(plain)));
    expect(own.status).toBe(403);
    expect((await own.json()).error.message).toContain("you keyed this item");
    expect((await as.tanaka.put(decision(first(plain)), { values: { 氏名: "山田花子" } })).status).toBe(403);
    // suzuki holds the same grant and keyed nothing of this batch: they may.
    expect((await grants(lead, { engineerId: ids.suzuki })).status).toBe(201);
    expect((await as.suzuki.get(decision(first(plain)))).status).toBe(200);
    // …but not the items of the my_number batch they keyed.
    expect((await as.suzuki.get(decision(disputed[secret]?.[1] as string))).status).toBe(403);
  });

  it("refuses a granted engineer whose my_number vetting lapsed", async () => {
    await t.running.azusa.db.kysely
      .updateTable("vetting_record")
      .set({ expires_on: "2026-01-31", expired_at: new Date().toISOString() })
      .where("user_id", "=", ids.tanaka)
      .where("kind", "=", "my_number")
      .execute();
    const refused = await as.tanaka.get(decision(disputed[secret]?.[1] as string));
    expect(refused.status).toBe(403);
    expect((await refused.json()).error.message).toContain("my_number valid until 2026-01-31");
    // The plain batch needs no vetting.
    expect((await as.suzuki.get(decision(first(plain)))).status).toBe(200);
  });

  it("is revoked by a lead, audited, and from then on shows nothing", async () => {
    const list = (await (await lead.get(`/api/v1/contracts/${contractId}/task-adjudicators`)).json()).items as {
      id: string;
      userId: string;
      batchId: string | null;
    }[];
    const suzuki = list.find((g) => g.userId === ids.suzuki && g.batchId === null);
    expect(suzuki).toBeDefined();
    const path = `/api/v1/task-adjudicators/${suzuki?.id}`;
    expect((await contractor.delete(path)).status).toBe(403);
    expect((await otherLead.delete(path)).status).toBe(404);
    expect((await as.suzuki.delete(path)).status).toBe(404);
    const revoked = await lead.delete(path);
    expect(revoked.status).toBe(200);
    expect(await revoked.json()).toMatchObject({ revokedBy: ids.lead, revokedAt: expect.any(String) });
    expect((await lead.delete(path)).status).toBe(409);
    expect((await as.suzuki.get(decision(first(plain)))).status).toBe(404);
    const after = (await (await contractor.get(`/api/v1/contracts/${contractId}/task-adjudicators`)).json()).items;
    expect(after).toHaveLength(3);
    // Granting again after a revocation makes a new grant.
    expect((await grants(lead, { engineerId: ids.suzuki })).status).toBe(201);
    const events = (await (await contractor.get("/api/v1/audit-events?limit=200")).json()).items as {
      action: string;
      subject: string;
    }[];
    expect(events.filter((e) => e.action === "task_adjudicator.revoked").map((e) => e.subject)).toEqual([
      `task_adjudicator:${suzuki?.id}`,
    ]);
  });
  it("makes one grant when two leads grant the same engineer at once, the other told it exists", async () => {
    const lead2 = await t.signIn("lead2@tokyo-si.example");
    const inForce = async (batchId: string | null) =>
      (
        (await (await lead.get(`/api/v1/contracts/${contractId}/task-adjudicators`)).json()).items as {
          userId: string;
          batchId: string | null;
          revokedAt: string | null;
        }[]
      ).filter((g) => g.userId === ids.kato && g.batchId === batchId && g.revokedAt === null);
    // For one batch, then for the whole contract (no batch: the index treats it as one scope too).
    for (const batchId of [plain, null]) {
      const body = batchId ? { engineerId: ids.kato, batchId } : { engineerId: ids.kato };
      const answers = await Promise.all([grants(lead, body), grants(lead2, body)]);
      expect(answers.map((r) => r.status).sort()).toEqual([201, 409]);
      const refused = answers.filter((r) => r.status === 409).map((r) => r.json());
      expect((await refused[0]).error.message).toContain("kato");
      expect(await inForce(batchId)).toHaveLength(1);
    }
    const events = (await (await contractor.get("/api/v1/audit-events?limit=200")).json()).items as {
      action: string;
      details: { engineerId?: string };
    }[];
    expect(
      events.filter((e) => e.action === "task_adjudicator.granted" && e.details.engineerId === ids.kato),
    ).toHaveLength(2);
  });
});
