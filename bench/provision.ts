// Provisioning benchmark on the real engine, with the default image: a cold workspace (service call to
// the first exec output) against a bare dockerode create+start+exec of the same image, a workspace
// claimed from the warm pool, and 20 workspaces provisioned at once. A workspace is handed over before
// its code is checked out; when that checkout is done (what a session waits for) is reported beside.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { loadConfig } from "../src/config.ts";
import { system } from "../src/kernel/actor.ts";
import { createLogger } from "../src/logger.ts";
import type { WorkspaceDriver } from "../src/provisioner/driver.ts";
import { buildAzusa } from "../src/server.ts";
import { benchContractor, sampleContract } from "../test/support/fixtures.ts";
import { ensureBaseImage } from "../test/support/images.ts";

const RUNS = 7;
const WARM_RUNS = 9;
const CONCURRENT = 20;
const COLD_RATIO_TARGET = 1.25;
const WARM_P50_TARGET = 150;

const docker = new Docker();
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};
const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Reads a stream until `text` appears. */
function firstOutput(stream: NodeJS.ReadableStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = "";
    stream.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) resolve();
    });
    stream.once("end", () => reject(new Error(`no "${text}" in ${JSON.stringify(seen)}`)));
  });
}

/** Runs `echo ready` in the workspace; resolves with the time of its first output, after the command ended. */
async function execEcho(driver: WorkspaceDriver, ref: { id: string; containerId: string; volume: string }) {
  const session = await driver.exec(ref, { cmd: ["echo", "ready"], tty: false });
  session.stdin.end();
  session.stderr?.resume();
  await firstOutput(session.stdout, "ready");
  const at = performance.now();
  await session.exit;
  return at;
}

/** The baseline: what a hand-written dockerode call does for the same image, hardened, without a volume. */
async function bare(image: string, instance: string): Promise<number> {
  const started = performance.now();
  const container = await docker.createContainer({
    Image: image,
    User: "1000:1000",
    Entrypoint: ["sleep"],
    Cmd: ["infinity"],
    Labels: { "io.azusa.instance": instance },
    HostConfig: {
      NetworkMode: "none",
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges:true"],
      Init: true,
      ReadonlyRootfs: true,
      PidsLimit: 512,
      Memory: 4096 * 1024 * 1024,
      MemorySwap: 4096 * 1024 * 1024,
    },
  });
  await container.start();
  const exec = await container.exec({ Cmd: ["echo", "ready"], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  await firstOutput(stream, "ready");
  const ms = performance.now() - started;
  await container.remove({ force: true });
  return ms;
}

/** An Azusa (no HTTP) with the built-in templates and a package ready for `count` assignments. */
async function benchAzusa(name: string, pool: number) {
  const dataDir = mkdtempSync(join(tmpdir(), `azusa-bench-${name}-`));
  const instance = `bench-${name}-${randomUUID().slice(0, 8)}`;
  const azusa = buildAzusa(
    loadConfig({
      AZUSA_DATA_DIR: dataDir,
      AZUSA_INSTANCE_ID: instance,
      AZUSA_WARM_POOL: String(pool),
      AZUSA_IMAGE_BUILD: "off",
    }),
    { logger: createLogger({ level: "silent" }) },
  );
  await azusa.migrate();
  const db = azusa.db.kysely;
  const tenant = await azusa.tenants.create(system("bench"), { name: `bench ${name}` });
  const at = new Date().toISOString();
  const contractor = benchContractor(tenant.id);
  const contractId = (
    await azusa.contracts.create(contractor, {
      ...sampleContract,
      type: "ukeoi",
      confidentiality: "internal",
      leadIds: [],
    })
  ).id;
  /** A fresh assignment on its own package (the workspace service starts from an assignment). */
  async function assignment(): Promise<string> {
    const packageId = randomUUID();
    await db
      .insertInto("work_package")
      .values({
        id: packageId,
        contract_id: contractId,
        tenant_id: tenant.id,
        wbs_id: packageId.slice(0, 8),
        title: "bench",
        parent_wbs_id: null,
        skills: "[]",
        estimate_hours: 8,
        acceptance_criteria: "",
        template: "default",
        state: "assigned",
        state_reason: null,
        source_row: null,
        created_at: at,
        updated_at: at,
      })
      .execute();
    const id = randomUUID();
    await db
      .insertInto("assignment")
      .values({
        id,
        package_id: packageId,
        engineer_id: "bench-engineer",
        offer_id: randomUUID(),
        weekly_hours: 1,
        started_at: at,
        ended_at: null,
        end_reason: null,
      })
      .execute();
    return id;
  }
  /**
   * Service call to the first exec output of the new workspace (`ms`), and to its checked-out code
   * (`readyMs`, what an SSH session waits for); resolves only once both are done, so that no checkout
   * runs on in the background of the next measurement.
   */
  async function provision(): Promise<{ ms: number; readyMs: number; state: string }> {
    const assignmentId = await assignment();
    const started = performance.now();
    const ws = await azusa.workspaces.provisionForAssignment(assignmentId);
    const ready = azusa.workspaces.ready(ws.id).then((r) => ({ ...r, at: performance.now() }));
    await azusa.workspaces.handedOver(ws.id);
    const row = await db.selectFrom("workspace").selectAll().where("id", "=", ws.id).executeTakeFirstOrThrow();
    if (row.state !== "running" || !row.container_id || !row.volume) {
      await ready;
      return { ms: Number.NaN, readyMs: Number.NaN, state: `${row.state}: ${row.reason}` };
    }
    const output = await execEcho(azusa.driver, { id: row.id, containerId: row.container_id, volume: row.volume });
    const checkedOut = await ready;
    if (!checkedOut.ok) return { ms: Number.NaN, readyMs: Number.NaN, state: `not ready: ${checkedOut.reason}` };
    return { ms: output - started, readyMs: checkedOut.at - started, state: row.state };
  }
  async function close() {
    await azusa.pool.drain();
    for (const o of await azusa.driver.inventory()) await azusa.driver.discard(o);
    await azusa.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return { azusa, instance, provision, close };
}

async function main() {
  const image = await ensureBaseImage(docker);
  console.log(`image ${image}; ${RUNS} cold runs, ${WARM_RUNS} warm runs, ${CONCURRENT} at once`);

  const cold = await benchAzusa("cold", 0);
  const warm = await benchAzusa("warm", 1);
  try {
    // one of each first: the image's layers and the driver's per-image facts are read once per process
    await cold.provision();
    await bare(image, cold.instance);
    const coldMs: number[] = [];
    const coldReadyMs: number[] = [];
    const bareMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const c = await cold.provision();
      if (c.state !== "running") throw new Error(`a cold workspace did not run: ${c.state}`);
      coldMs.push(c.ms);
      coldReadyMs.push(c.readyMs);
      bareMs.push(await bare(image, cold.instance));
    }
    const coldMedian = median(coldMs);
    const bareMedian = median(bareMs);
    console.log(`cold workspace     ${round(coldMedian)} ms (median; service call to first exec output)`);
    console.log(`bare dockerode     ${round(bareMedian)} ms (median; create+start+exec, no volume)`);
    console.log(`cold, code ready   ${round(median(coldReadyMs))} ms (median; service call to checked-out code)`);

    const warmMs: number[] = [];
    const warmReadyMs: number[] = [];
    for (let i = 0; i < WARM_RUNS; i++) {
      await warm.azusa.pool.fill();
      const w = await warm.provision();
      if (w.state !== "running") throw new Error(`a warm workspace did not run: ${w.state}`);
      warmMs.push(w.ms);
      warmReadyMs.push(w.readyMs);
    }
    const warmP50 = median(warmMs);
    console.log(`warm-pool claim    ${round(warmP50)} ms (p50; service call to first exec output)`);
    console.log(`warm, code ready   ${round(median(warmReadyMs))} ms (p50; service call to checked-out code)`);

    const started = performance.now();
    const all = await Promise.all(Array.from({ length: CONCURRENT }, () => cold.provision()));
    const concurrentMs = performance.now() - started;
    const ok = all.filter((r) => r.state === "running").length;
    console.log(`${CONCURRENT} at once         ${round(concurrentMs)} ms, ${ok} of ${CONCURRENT} running`);

    const ratio = round(coldMedian / bareMedian, 2);
    console.log(
      `cold / bare        ${ratio}× (target ≤ ${COLD_RATIO_TARGET}×); warm p50 target < ${WARM_P50_TARGET} ms`,
    );
    console.log(
      JSON.stringify({
        bench: "provision",
        cold_ms: round(coldMedian),
        bare_ms: round(bareMedian),
        cold_ratio: ratio,
        cold_ratio_target: COLD_RATIO_TARGET,
        warm_p50_ms: round(warmP50),
        warm_p50_ms_target: WARM_P50_TARGET,
        cold_ready_ms: round(median(coldReadyMs)),
        warm_ready_p50_ms: round(median(warmReadyMs)),
        concurrent20_ms: round(concurrentMs),
        concurrent20_ok: ok,
        concurrent20_ok_target: CONCURRENT,
      }),
    );
  } finally {
    await cold.close();
    await warm.close();
  }
}

await main();
