// The vetting task batches need, on both databases: a batch with an individual-number field needs `my_number`
// of every keyer and of the lead deciding its disputes, a batch may name more; an engineer without it is not
// named a keyer (409 with the reason), one whose vetting lapsed is refused at the next take or send (403 with
// the reason) and shown with that reason in the keyers list; a lead without it does not see or decide
// disputes. Leads' `my_number` vetting is recorded by operators, and only that kind.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { individualNumberCheckDigit } from "../src/domain/tasks/field-values.ts";
import { dialects } from "./support/databases.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { contractWithBatch, importItems } from "./support/task-batches.ts";
import { vetForMyNumber } from "./support/workspace-setup.ts";

/** Made by the published algorithm, never a real person's. */
const number = (base: string) => `${base}${individualNumberCheckDigit(base)}`;
const VALID = { issuedOn: "2026-01-01", expiresOn: "2028-01-01" };

describe.each(dialects)("vetting for task batches on %s", (dialect) => {
  let t: TestAzusa;
  let operator: Client;
  let contractor: Client;
  let lead: Client;
  const ids: Record<"lead" | "sato" | "suzuki" | "kato", string> = { lead: "", sato: "", suzuki: "", kato: "" };
  const as: Partial<Record<"sato" | "suzuki" | "kato", Client>> = {};
  let contractId: string;
  let batchId: string;

  beforeAll(async () => {
    t = await startTestAzusa({ dialect });
    const tenant = await t.createTenant("東京システムインテグレーション");
    await t.createUser("contractor", "buyer@tokyo-si.example", tenant.id);
    ids.lead = (await t.createUser("lead", "lead@tokyo-si.example", tenant.id)).id;
    for (const name of ["sato", "suzuki", "kato"] as const) {
      ids[name] = (await t.createUser("engineer", `${name}@north.example`)).id;
      as[name] = await t.signIn(`${name}@north.example`);
    }
    operator = await t.signIn("root@office.example");
    contractor = await t.signIn("buyer@tokyo-si.example");
    lead = await t.signIn("lead@tokyo-si.example");
    const made = await contractWithBatch(
      contractor,
      {
        title: "扶養控除等申告書の確認",
        retentionUntil: "2027-12-31",
        fields: [
          { name: "氏名", type: "text", required: true },
          { name: "個人番号", type: "individual_number", required: true },
        ],
      },
      [ids.lead],
    );
    expect(made.created.vetting).toEqual(["my_number"]);
    ({ contractId, batchId } = made);
    await importItems(contractor, batchId, "氏名\n山田花子\n");
    await vetForMyNumber(operator, { engineers: [ids.sato, ids.suzuki] });
    await operator.put(`/api/v1/engineers/${ids.kato}`, { weeklyCapacityHours: 40, skills: [] });
  });
  afterAll(() => t?.stop());

  const addKeyer = (id: string) => contractor.post(`/api/v1/task-batches/${batchId}/keyers`, { engineerId: id });
  const lapse = async (userId: string) => {
    // What the daily expiry finds the day after the last valid one.
    await t.running.azusa.db.kysely
      .updateTable("vetting_record")
      .set({ expires_on: "2026-01-31", expired_at: new Date().toISOString() })
      .where("user_id", "=", userId)
      .where("kind", "=", "my_number")
      .execute();
  };

  it("names as keyers only engineers holding my_number, and says why not", async () => {
    const refused = await addKeyer(ids.kato);
    expect(refused.status).toBe(409);
    const error = (await refused.json()).error;
    expect(error.message).toContain("kato");
    expect(error.message).toContain("my_number");
    expect(error.message).toContain("no my_number on record");
    // An NDA is not enough, and nothing was written.
    expect((await operator.post(`/api/v1/engineers/${ids.kato}/vetting`, { kind: "nda", ...VALID })).status).toBe(201);
    expect((await addKeyer(ids.kato)).status).toBe(409);
    const keyers = (await (await contractor.get(`/api/v1/task-batches/${batchId}/keyers`)).json()).items;
    expect(keyers).toEqual([]);
    for (const name of ["sato", "suzuki"] as const) expect((await addKeyer(ids[name])).status).toBe(201);
  });

  it("refuses a keyer whose vetting lapsed at the next take and send, and shows why in the keyers list", async () => {
    const taken = await (await (as.sato as Client).post(`/api/v1/task-batches/${batchId}/take`, {})).json();
    await (as.suzuki as Client).post(`/api/v1/task-batches/${batchId}/take`, {});
    await lapse(ids.sato);
    const take = await (as.sato as Client).post(`/api/v1/task-batches/${batchId}/take`, {});
    expect(take.status).toBe(403);
    const error = (await take.json()).error;
    expect(error.message).toContain("my_number");
    expect(error.message).toContain("my_number valid until 2026-01-31");
    const send = await (as.sato as Client).put(`/api/v1/task-items/${taken.item.id}/entry`, {
      values: { 氏名: "山田花子", 個人番号: number("40506070809") },
    });
    expect(send.status).toBe(403);
    const keyers = (await (await lead.get(`/api/v1/task-batches/${batchId}/keyers`)).json()).items;
    expect(keyers).toEqual([
      { userId: ids.sato, name: "sato", why: [expect.stringContaining("my_number")] },
      { userId: ids.suzuki, name: "suzuki", why: [] },
    ]);
  });

  it("lets a lead decide disputes only with my_number, recorded by operators for leads and only that kind", async () => {
    // A dispute: sato's vetting is renewed, the two send different numbers.
    expect((await operator.post(`/api/v1/engineers/${ids.sato}/vetting`, { kind: "my_number", ...VALID })).status).toBe(
      201,
    );
    const item = (await (await (as.sato as Client).post(`/api/v1/task-batches/${batchId}/take`, {})).json()).item.id;
    for (const [name, base] of [
      ["sato", "40506070809"],
      ["suzuki", "40506070890"],
    ] as const) {
      const res = await (as[name] as Client).put(`/api/v1/task-items/${item}/entry`, {
        values: { 氏名: "山田花子", 個人番号: number(base) },
      });
      expect(res.status).toBe(200);
    }
    const path = `/api/v1/task-items/${item}/adjudication`;
    const shown = await lead.get(path);
    expect(shown.status).toBe(403);
    expect((await shown.json()).error.message).toContain("my_number");
    const decided = await lead.put(path, { values: { 氏名: "山田花子", 個人番号: number("40506070809") } });
    expect(decided.status).toBe(403);

    const leadVetting = `/api/v1/leads/${ids.lead}/vetting`;
    expect((await lead.post(leadVetting, { kind: "my_number", ...VALID })).status).toBe(403);
    const nda = await operator.post(leadVetting, { kind: "nda", ...VALID });
    expect(nda.status).toBe(400);
    expect(JSON.stringify((await nda.json()).error)).toContain("kind");
    expect((await operator.post(`/api/v1/leads/${ids.sato}/vetting`, { kind: "my_number", ...VALID })).status).toBe(
      404,
    );
    const recorded = await operator.post(leadVetting, { kind: "my_number", ...VALID });
    expect(recorded.status).toBe(201);
    expect((await recorded.json()).items).toEqual([
      expect.objectContaining({ kind: "my_number", expiresOn: "2028-01-01", expiredAt: null }),
    ]);
    expect((await lead.get(path)).status).toBe(200);
    expect((await lead.put(path, { values: { 氏名: "山田花子", 個人番号: number("40506070809") } })).status).toBe(200);
  });

  it("needs the vetting a batch names even without individual numbers", async () => {
    const created = await contractor.post(`/api/v1/contracts/${contractId}/task-batches`, {
      title: "領収書の入力",
      retentionUntil: "2027-12-31",
      vetting: ["security_training", "nda"],
      fields: [{ name: "金額", type: "yen", required: true }],
    });
    const body = await created.json();
    expect(body.vetting).toEqual(["nda", "security_training"]);
    const refused = await contractor.post(`/api/v1/task-batches/${body.id}/keyers`, { engineerId: ids.kato });
    expect(refused.status).toBe(409);
    const message = (await refused.json()).error.message;
    expect(message).toContain("no security_training on record");
    expect(message).not.toContain("nda");
    const plain = await contractor.post(`/api/v1/contracts/${contractId}/task-batches`, {
      title: "伝票の入力",
      retentionUntil: "2027-12-31",
      fields: [{ name: "金額", type: "yen", required: true }],
    });
    const plainId = (await plain.json()).id;
    expect((await contractor.post(`/api/v1/task-batches/${plainId}/keyers`, { engineerId: ids.kato })).status).toBe(
      201,
    );
  });
});
