// WBS import benchmark: a generated 5,000-item WBS through Azusa's import (parse, check, plan, insert,
// audit) against inserting the same rows in one raw better-sqlite3 transaction, in the same run; then a
// 50,000-item import, its rows per second, how its time per row grows over the 5,000-item one's, and the longest
// the event loop waited while it ran. With DATABASE_URL set the imports run on that PostgreSQL database (a new, empty
// one) and the raw floor, which is SQLite's, is left out.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import { loadConfig } from "../src/config.ts";
import { parseWbs } from "../src/domain/wbs/wbs-parse.ts";
import { structure } from "../src/domain/wbs/wbs-prepare.ts";
import { system } from "../src/kernel/actor.ts";
import { createLogger } from "../src/logger.ts";
import { buildAzusa } from "../src/server.ts";
import { benchContractor } from "../test/support/fixtures.ts";
import { generatedWbs, utf8Csv } from "../test/support/wbs-files.ts";

const ITEMS = 5000;
const LARGE_ITEMS = 50_000;
const GROWTH_TARGET = 1.5;
const STALL_TARGET_MS = 100;
const RUNS = 5;
const RATIO_TARGET = 3;
const MS_TARGET = 1000;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/** The raw floor's runs: the 5,000 items inserted in one raw transaction into each contract the imports made. */
async function floorRuns(dataDir: string, csv: Uint8Array, tenantId: string): Promise<number[]> {
  // Floor: the same rows into the same tables, one raw transaction of prepared statements.
  const parsed = await parseWbs({ bytes: csv, contentType: "text/csv" });
  if (!parsed.ok) throw new Error(`generated WBS did not parse: ${parsed.problems[0]?.message}`);
  const { leaves, groups, dependsOn } = structure(parsed.items);
  const raw = new SQLite(join(dataDir, "azusa.sqlite"));
  raw.pragma("journal_mode = WAL");
  const insertPackage = raw.prepare(
    "insert into work_package (id, contract_id, tenant_id, wbs_id, title, parent_wbs_id, skills, estimate_hours, acceptance_criteria, template, state, state_reason, source_row, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const insertGroup = raw.prepare(
    "insert into wbs_group (id, contract_id, wbs_id, title, parent_wbs_id) values (?, ?, ?, ?, ?)",
  );
  const insertDependency = raw.prepare("insert into package_dependency (package_id, depends_on_id) values (?, ?)");
  const contractIds = (raw.prepare("select id from contract").all() as { id: string }[]).map((r) => r.id);
  const floorMs: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const contractId = contractIds[i] as string;
    raw.prepare("delete from work_package where contract_id = ?").run(contractId);
    raw.prepare("delete from wbs_group where contract_id = ?").run(contractId);
    const now = new Date().toISOString();
    const ids = new Map(leaves.map((l) => [l.wbsId, randomUUID()]));
    const start = performance.now();
    raw.transaction(() => {
      for (const g of groups) insertGroup.run(randomUUID(), contractId, g.wbsId, g.title, g.parentId);
      for (const l of leaves) {
        insertPackage.run(
          ids.get(l.wbsId),
          contractId,
          tenantId,
          l.wbsId,
          l.title,
          l.parentId,
          JSON.stringify(l.skills),
          l.estimateHours,
          l.acceptanceCriteria,
          "default",
          "draft",
          null,
          l.row,
          now,
          now,
        );
      }
      for (const l of leaves)
        for (const d of dependsOn.get(l.wbsId) ?? []) insertDependency.run(ids.get(l.wbsId), ids.get(d));
    })();
    const ms = performance.now() - start;
    if (i > 0) floorMs.push(ms);
  }
  raw.close();

  return floorMs;
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), "azusa-bench-wbs-"));
  try {
    const databaseUrl = process.env.DATABASE_URL;
    const config = loadConfig({ AZUSA_DATA_DIR: dataDir, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) });
    const azusa = buildAzusa(config, { logger: createLogger({ level: "silent" }) });
    await azusa.migrate();
    const tenant = await azusa.tenants.create(system("bench"), { name: "bench tenant" });
    const contractor = benchContractor(tenant.id);
    const newContract = async () =>
      (
        await azusa.contracts.create(contractor, {
          client: "bench",
          title: "5,000 items",
          type: "ukeoi",
          confidentiality: "internal",
          periodStart: "2027-01-01",
          periodEnd: "2027-12-31",
        })
      ).id;

    const csv = utf8Csv(generatedWbs(ITEMS));
    console.log(`WBS: ${ITEMS} items, ${(csv.length / 1024).toFixed(0)} KiB of CSV`);

    // Azusa: the whole import as the API runs it.
    const importMs: number[] = [];
    let packages = 0;
    for (let i = 0; i <= RUNS; i++) {
      const contractId = await newContract();
      const start = performance.now();
      const result = await azusa.wbs.import(contractor, contractId, { bytes: csv, contentType: "text/csv" });
      const ms = performance.now() - start;
      if (i > 0) importMs.push(ms); // the first run warms up the code paths
      packages = result.packages.length;
    }

    // Large: 50,000 items once, the event loop watched meanwhile (a stall there stalls every other request).
    const largeCsv = utf8Csv(generatedWbs(LARGE_ITEMS));
    const largeContract = await newContract();
    // A timer due every 5 ms: how much later than that it ran is how long the loop was kept from it.
    let lastTick = performance.now();
    let longestStall = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      longestStall = Math.max(longestStall, now - lastTick - 5);
      lastTick = now;
    }, 5);
    const largeStart = performance.now();
    await azusa.wbs.import(contractor, largeContract, { bytes: largeCsv, contentType: "text/csv" });
    const largeMs = performance.now() - largeStart;
    longestStall = Math.max(longestStall, performance.now() - lastTick - 5);
    clearInterval(ticker);
    const maxStallMs = round(longestStall);

    await azusa.close();
    const floorMs = databaseUrl ? [] : await floorRuns(dataDir, csv, tenant.id);
    const importMedian = median(importMs);
    const floorMedian = floorMs.length ? median(floorMs) : undefined;
    const ratio = floorMedian === undefined ? undefined : round(importMedian / floorMedian, 2);
    console.log(`azusa import      ${round(importMedian)} ms (median of ${RUNS}; ${packages} packages)`);
    if (floorMedian !== undefined && ratio !== undefined) {
      console.log(`raw transaction   ${round(floorMedian)} ms (median of ${RUNS})`);
      console.log(`ratio ${ratio} (${ratio <= RATIO_TARGET ? "meets" : "ABOVE"} target ${RATIO_TARGET})`);
    } else console.log("raw transaction   left out (PostgreSQL)");
    console.log(`${round(importMedian)} ms (${importMedian < MS_TARGET ? "meets" : "ABOVE"} target ${MS_TARGET} ms)`);
    const largeRowsPerS = Math.round(LARGE_ITEMS / (largeMs / 1000));
    const growth = round(largeMs / LARGE_ITEMS / (importMedian / ITEMS), 2);
    console.log(
      `large import      ${round(largeMs)} ms for ${LARGE_ITEMS} items: ${largeRowsPerS} rows/s; growth ${growth} (${growth <= GROWTH_TARGET ? "meets" : "ABOVE"} target ${GROWTH_TARGET}); longest event-loop stall ${maxStallMs} ms (${maxStallMs <= STALL_TARGET_MS ? "meets" : "ABOVE"} target ${STALL_TARGET_MS})`,
    );
    console.log(
      JSON.stringify({
        bench: "wbs",
        database: config.database.dialect,
        items: ITEMS,
        import_ms: round(importMedian),
        import_ms_target: MS_TARGET,
        ...(floorMedian === undefined ? {} : { floor_ms: round(floorMedian), ratio, ratio_target: RATIO_TARGET }),
        large_items: LARGE_ITEMS,
        large_ms: round(largeMs),
        large_rows_per_s: largeRowsPerS,
        growth,
        growth_target: GROWTH_TARGET,
        max_stall_ms: maxStallMs,
        max_stall_ms_target: STALL_TARGET_MS,
      }),
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
