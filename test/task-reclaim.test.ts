// Items taken and never sent go back to the batch after the hold (AZUSA_TASK_HOLD_MINUTES, 30 by default), on
// both databases: before it nothing moves, a sent entry is never touched, another keyer then takes the item,
// and the first keyer's late send is refused with the reason. Each giving back is audited.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { system } from "../src/kernel/actor.ts";
import { dialects } from "./support/databases.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { contractWithBatch, importItems } from "./support/task-batches.ts";

const MINUTE = 60_000;

describe.each(dialects)("giving back items held too long on %s", (dialect) => {
  let t: TestAzusa;
  let contractor: Client;
  const as: Record<string, Client> = {};
  let batchId: string;
  const item: Record<number, string> = {};

  beforeAll(async () => {
    t = await startTestAzusa({ dialect });
    const tenant = await t.createTenant("東京システムインテグレーション");
    await t.createUser("contractor", "buyer@tokyo-si.example", tenant.id);
    contractor = await t.signIn("buyer@tokyo-si.example");
    ({ batchId } = await contractWithBatch(contractor, {
      title: "領収書の入力",
      retentionUntil: "2027-12-31",
      fields: [
        { name: "氏名", type: "text", required: true },
        { name: "金額", type: "yen", required: true },
      ],
    }));
    Object.assign(item, await importItems(contractor, batchId, "氏名\n山田花子\n田中一郎\n"));
    for (const name of ["sato", "suzuki", "tanaka", "kato"]) {
      const { id } = await t.createUser("engineer", `${name}@north.example`);
      as[name] = await t.signIn(`${name}@north.example`);
      expect((await contractor.post(`/api/v1/task-batches/${batchId}/keyers`, { engineerId: id })).status).toBe(201);
    }
  });
  afterAll(() => t?.stop());

  const take = async (who: string) =>
    (await (await (as[who] as Client).post(`/api/v1/task-batches/${batchId}/take`, {})).json()).item?.id;
  const send = (who: string, itemId: string, 金額: string) =>
    (as[who] as Client).put(`/api/v1/task-items/${itemId}/entry`, { values: { 氏名: "山田花子", 金額 } });
  const reclaim = (afterMinutes: number) =>
    t.running.azusa.taskEntries.reclaimOverdue(system("test"), new Date(Date.now() + afterMinutes * MINUTE));

  it("runs every minute on the schedule", () => {
    expect(t.running.azusa.schedules.find((s) => s.name === "tasks.reclaim")?.cron).toBe("* * * * *");
  });

  it("gives back only items held past the hold and never a sent entry", async () => {
    expect(await take("sato")).toBe(item[1]);
    expect(await take("suzuki")).toBe(item[1]);
    expect(await take("tanaka")).toBe(item[2]);
    expect((await send("sato", item[1] as string, "1200")).status).toBe(200);
    // Item 1 has its two keyers, item 2 one: kato is given item 2.
    expect(await take("kato")).toBe(item[2]);
    expect(await reclaim(29)).toBe(0);
    // suzuki's, tanaka's and kato's held entries; sato's sent one stays.
    expect(await reclaim(31)).toBe(3);
    expect(await reclaim(31)).toBe(0);
    const events = (await (await contractor.get("/api/v1/audit-events?limit=100")).json()).items as {
      action: string;
      subject: string;
      details: Record<string, unknown>;
    }[];
    const reclaimed = events.filter((e) => e.action === "task_item.reclaimed");
    expect(reclaimed.map((e) => e.subject).sort()).toEqual(
      [`task_item:${item[1]}`, `task_item:${item[2]}`, `task_item:${item[2]}`].sort(),
    );
    expect(reclaimed[0]?.details).toMatchObject({ batchId, keyerId: expect.any(String), takenAt: expect.any(String) });
  });

  it("lets another keyer take the item and refuses the first keyer's late send with the reason", async () => {
    const late = await send("suzuki", item[1] as string, "1200");
    expect(late.status).toBe(409);
    const error = (await late.json()).error;
    expect(error.code).toBe("CONFLICT");
    expect(error.message).toContain("given back after 30 minutes without a send");
    // Giving it back by hand is no more possible than sending it.
    expect((await (as.suzuki as Client).delete(`/api/v1/task-items/${item[1]}/entry`)).status).toBe(404);
    // The free place of item 1 goes to a keyer without an entry of it; suzuki moves on to item 2.
    expect(await take("kato")).toBe(item[1]);
    expect(await take("suzuki")).toBe(item[2]);
    const sent = await send("kato", item[1] as string, "1200");
    expect((await sent.json()).state).toBe("agreed");
  });
});
