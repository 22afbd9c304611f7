// Task work benchmark: a batch of 100,000 CSV items imported through Azusa (two files of 50,000, the most one
// import takes) against inserting the same rows in one raw better-sqlite3 transaction, in the same run; then
// 20 keyers taking items at once, each take timed (p50 and p99 over 1,000 takes) and each item sent, so that the
// second entry of an item compares the two. Comparison happens as the second entry arrives: there is no
// whole-batch pass, so the figure reported for it is the time of a second entry (which compares), p50.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import { loadConfig } from "../src/config.ts";
import { type Actor, system } from "../src/kernel/actor.ts";
import { createLogger } from "../src/logger.ts";
import { buildAzusa } from "../src/server.ts";
import { benchContractor } from "../test/support/fixtures.ts";

const ITEMS = 100_000;
const PER_FILE = 50_000;
const WORKERS = 20;
const TAKES = 1000;
const IMPORT_TARGET_MS = 5000;
const RATIO_TARGET = 3;
const NEXT_P50_TARGET_MS = 20;
const NEXT_P99_TARGET_MS = 100;

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
};

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), "azusa-bench-tasks-"));
  try {
    const azusa = buildAzusa(loadConfig({ AZUSA_DATA_DIR: dataDir }), { logger: createLogger({ level: "silent" }) });
    await azusa.migrate();
    const tenant = await azusa.tenants.create(system("bench"), { name: "bench tenant" });
    const contractor = benchContractor(tenant.id);
    const contract = await azusa.contracts.create(contractor, {
      client: "bench",
      title: "task work",
      type: "ukeoi",
      confidentiality: "internal",
      periodStart: "2027-01-01",
      periodEnd: "2027-12-31",
    });
    const newBatch = () =>
      azusa.tasks.create(contractor, contract.id, {
        title: "bench",
        retentionUntil: "2027-12-31",
        fields: [
          { name: "氏名", type: "text", required: true },
          { name: "金額", type: "yen", required: false },
        ],
      });
    const rows = Array.from({ length: PER_FILE }, (_, i) => `利用者${i},${(i * 37) % 100_000}`);
    const csv = `氏名,金額\n${rows.join("\n")}\n`;
    console.log(`tasks: ${ITEMS} items in two CSV files of ${(csv.length / 1024).toFixed(0)} KiB`);

    const batch = await newBatch();
    const importStart = performance.now();
    for (let i = 0; i < ITEMS / PER_FILE; i++) await azusa.tasks.importCsv(contractor, batch.id, csv);
    const importMs = performance.now() - importStart;

    // Keyers: engineers named on the batch (rows written directly: the bench times taking, not inviting).
    const db = azusa.db.kysely;
    const keyers: Actor[] = [];
    for (let i = 0; i < WORKERS; i++) {
      const userId = `bench-keyer-${i}`;
      await db
        .insertInto("task_keyer")
        .values({ batch_id: batch.id, user_id: userId, added_by: "bench", added_at: new Date().toISOString() })
        .execute();
      keyers.push({
        kind: "user",
        userId,
        email: `${userId}@example.com`,
        role: "engineer",
        tenantId: null,
        via: "session",
      });
    }
    const takeMs: number[] = [];
    const secondMs: number[] = [];
    let taken = 0;
    await Promise.all(
      keyers.map(async (keyer, k) => {
        while (taken < TAKES) {
          taken++;
          const start = performance.now();
          const next = await azusa.taskEntries.take(keyer, batch.id);
          takeMs.push(performance.now() - start);
          if (!next.item) return;
          // One keyer in ten keys a different amount, so that some items are disputed.
          const amount = k % 10 === 0 ? "1" : (next.item.source.金額 ?? "");
          const sendStart = performance.now();
          const sent = await azusa.taskEntries.submit(keyer, next.item.id, {
            氏名: next.item.source.氏名 ?? "",
            金額: amount,
          });
          if (sent.state !== "open") secondMs.push(performance.now() - sendStart);
        }
      }),
    );
    // The cost of one take and one send on their own: a keyer alone after the others, 200 items taken and sent in
    // turn, so that what the concurrent figures add is the wait for the other keyers' turns on the connection.
    const alone: Actor = { ...(keyers[0] as Actor & { kind: "user" }), userId: "bench-keyer-alone" };
    await db
      .insertInto("task_keyer")
      .values({
        batch_id: batch.id,
        user_id: "bench-keyer-alone",
        added_by: "bench",
        added_at: new Date().toISOString(),
      })
      .execute();
    const aloneTakeMs: number[] = [];
    const aloneSendMs: number[] = [];
    for (let i = 0; i < 200; i++) {
      const start = performance.now();
      const next = await azusa.taskEntries.take(alone, batch.id);
      aloneTakeMs.push(performance.now() - start);
      if (!next.item) break;
      const sendStart = performance.now();
      await azusa.taskEntries.submit(alone, next.item.id, {
        氏名: next.item.source.氏名 ?? "",
        金額: next.item.source.金額 ?? "",
      });
      aloneSendMs.push(performance.now() - sendStart);
    }
    const aloneTakeP50 = round(quantile(aloneTakeMs, 0.5), 2);
    const aloneSendP50 = round(quantile(aloneSendMs, 0.5), 2);
    const nextP50 = round(quantile(takeMs, 0.5), 2);
    const nextP99 = round(quantile(takeMs, 0.99), 2);
    const compareP50 = round(quantile(secondMs, 0.5), 2);
    await azusa.close();

    // Floor: the same rows into task_item of another batch, one raw transaction of a prepared statement.
    const raw = new SQLite(join(dataDir, "azusa.sqlite"));
    raw.pragma("journal_mode = WAL");
    const floorBatch = randomUUID();
    const now = new Date().toISOString();
    raw
      .prepare(
        "insert into task_batch (id, tenant_id, contract_id, title, fields, unit_price_yen, retention_until, created_by, created_at, updated_at) select ?, tenant_id, contract_id, title, fields, unit_price_yen, retention_until, created_by, created_at, updated_at from task_batch where id = ?",
      )
      .run(floorBatch, batch.id);
    const insert = raw.prepare("insert into task_item (id, batch_id, seq, source, created_at) values (?, ?, ?, ?, ?)");
    const floorStart = performance.now();
    raw.transaction(() => {
      for (let i = 0; i < ITEMS; i++) {
        const [name, amount] = (rows[i % PER_FILE] as string).split(",");
        insert.run(randomUUID(), floorBatch, i + 1, JSON.stringify({ 氏名: name, 金額: amount }), now);
      }
    })();
    const floorMs = performance.now() - floorStart;
    raw.close();

    const ratio = round(importMs / floorMs, 2);
    const meets = (ok: boolean) => (ok ? "meets" : "ABOVE");
    console.log(
      `import            ${round(importMs)} ms (${meets(importMs < IMPORT_TARGET_MS)} target ${IMPORT_TARGET_MS} ms)`,
    );
    console.log(
      `raw transaction   ${round(floorMs)} ms; ratio ${ratio} (${meets(ratio <= RATIO_TARGET)} target ${RATIO_TARGET})`,
    );
    console.log(
      `next item         p50 ${nextP50} ms (${meets(nextP50 <= NEXT_P50_TARGET_MS)} target ${NEXT_P50_TARGET_MS}), p99 ${nextP99} ms (${meets(nextP99 <= NEXT_P99_TARGET_MS)} target ${NEXT_P99_TARGET_MS}) over ${takeMs.length} takes by ${WORKERS} keyers at once`,
    );
    console.log(`second entry      p50 ${compareP50} ms over ${secondMs.length} comparisons`);
    console.log(`alone             take p50 ${aloneTakeP50} ms, send p50 ${aloneSendP50} ms (one keyer, nobody else)`);
    console.log(
      JSON.stringify({
        bench: "tasks",
        items: ITEMS,
        import_ms: round(importMs),
        import_ms_target: IMPORT_TARGET_MS,
        floor_ms: round(floorMs),
        ratio,
        ratio_target: RATIO_TARGET,
        takes: takeMs.length,
        workers: WORKERS,
        next_p50_ms: nextP50,
        next_p50_ms_target: NEXT_P50_TARGET_MS,
        next_p99_ms: nextP99,
        next_p99_ms_target: NEXT_P99_TARGET_MS,
        compare_p50_ms: compareP50,
        alone_take_p50_ms: aloneTakeP50,
        alone_send_p50_ms: aloneSendP50,
      }),
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
