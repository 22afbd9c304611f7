// SSH gateway benchmark: throughput (output, and input with the contract's input recording on) and
// connect-and-run latency through the gateway against `docker exec` of the same command in the same
// workspace, then 200 concurrent sessions over 50 workspaces with the gateway's peak memory. Azusa runs in this process, so its resident memory is the gateway's;
// the bulk bytes (200 MiB out, 50 MiB in) go from a file to the client and from the client to `wc -c` on both sides, never through it.
// Beside the ratios, the CPU per MiB of each side's own parts (the gateway's process and the OpenSSH client, the `docker`
// client): on a machine shared with other work these say more than MiB/s, which follow whatever core each process gets.
import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { assignedWorkspaces, templatesFolder } from "../test/support/gateway-world.ts";
import { startTestAzusa } from "../test/support/harness.ts";
import { ensureTestImage } from "../test/support/images.ts";
import { sshArgs, sshHome } from "../test/support/ssh-client.ts";

const WORKSPACES = 50;
const ENGINEERS = 10;
const CONCURRENT = 200;
const BYTES = 200 * 1024 * 1024;
const LATENCY_RUNS = 15;
const THROUGHPUT_PAIRS = 5;
const THROUGHPUT_TARGET = 1.0;
const STDIN_BYTES = 50 * 1024 * 1024;
const STDIN_PAIRS = 3;
const STDIN_RECORDED_TARGET = 0.66;
const LATENCY_TARGET = 1.2;

const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/** Runs a command with no input, counting its output bytes; resolves with the byte count, the exit code, the milliseconds. */
function timed(cmd: string, args: string[]): Promise<{ bytes: number; code: number | null; ms: number; out: string }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(cmd, args, { stdio: "pipe" });
    // The command reads end of input at once, as from /dev/null.
    child.stdin.on("error", () => undefined);
    child.stdin.end();
    let bytes = 0;
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      bytes += d.length;
      if (out.length < 200) out += d.toString();
    });
    child.stderr.on("data", () => undefined);
    child.on("error", reject);
    child.on("close", (code) => resolve({ bytes, code, ms: performance.now() - start, out }));
  });
}

/** What one bulk transfer took: its bytes and time, and the CPU milliseconds of the client and of this process. */
interface Bulk {
  bytes: number;
  code: number | null;
  ms: number;
  /** CPU (user and system) of the client (`ssh` or `docker`), as its shell's `times` reports it. */
  clientCpuMs: number;
  /** CPU of this process (Azusa and its gateway, its threads included) while the transfer ran. */
  gatewayCpuMs: number;
}

/** The CPU milliseconds of a shell's children from the second line `times` prints ("0m1.234s 0m0.567s"). */
function childrenCpuMs(times: string): number {
  const line = times.trim().split("\n")[1] ?? "";
  const parts = [...line.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60_000 + Number(m[2]) * 1000);
  return parts.length === 2 ? (parts[0] as number) + (parts[1] as number) : Number.NaN;
}

/**
 * Runs a client moving bulk data, its output counted by `wc -c` and its input (if any) read from `inputFile`: the
 * bytes go from file to client to counter without passing through this process, which is also the gateway's.
 * Read here, they would take the gateway's thread on the SSH side only (the `docker exec` side has it to itself).
 * The client runs under a shell whose `times` (on a fourth descriptor) gives its CPU; this process's own CPU over
 * the same span is the gateway's. On a machine shared with other work, CPU per MiB says more than MiB/s.
 */
function bulk(cmd: string, args: string[], inputFile?: string): Promise<Bulk> {
  return new Promise((resolve, reject) => {
    const counter = spawn("wc", ["-c"], { stdio: ["pipe", "pipe", "ignore"] });
    let counted = "";
    counter.stdout.on("data", (d: Buffer) => {
      counted += d.toString();
    });
    const counterClosed = new Promise<void>((done) => counter.on("close", () => done()));
    const input = inputFile ? openSync(inputFile, "r") : "ignore";
    const start = performance.now();
    const cpu = process.cpuUsage();
    const child = spawn("bash", ["-c", '"$@"; status=$?; times >&3; exit $status', "bulk", cmd, ...args], {
      stdio: [input, counter.stdin, "ignore", "pipe"],
    });
    let times = "";
    child.stdio[3]?.on("data", (d: Buffer) => {
      times += d.toString();
    });
    // The client holds both ends now: the counter sees end of input when the client exits.
    if (typeof input === "number") closeSync(input);
    counter.stdin.destroy();
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = performance.now() - start;
      const used = process.cpuUsage(cpu);
      const gatewayCpuMs = (used.user + used.system) / 1000;
      void counterClosed.then(() =>
        resolve({ bytes: Number(counted.trim()), code, ms, clientCpuMs: childrenCpuMs(times), gatewayCpuMs }),
      );
    });
  });
}

/**
 * CPU milliseconds per MiB moved, medians over the runs of one kind: the gateway's process and the OpenSSH client
 * on the SSH side, the `docker` client on the other (the engine and the command are the same on both sides).
 */
function cpuPerMiB(bytes: number) {
  const mib = bytes / 2 ** 20;
  const gateway: number[] = [];
  const sshClient: number[] = [];
  const dockerClient: number[] = [];
  const figures = (prefix: string) => ({
    [`${prefix}_gateway_cpu_ms_per_mib`]: round(median(gateway), 2),
    [`${prefix}_ssh_client_cpu_ms_per_mib`]: round(median(sshClient), 2),
    [`${prefix}_docker_client_cpu_ms_per_mib`]: round(median(dockerClient), 2),
  });
  return {
    add(ssh: Bulk, docker: Bulk) {
      gateway.push(ssh.gatewayCpuMs / mib);
      sshClient.push(ssh.clientCpuMs / mib);
      dockerClient.push(docker.clientCpuMs / mib);
    },
    figures,
    said: () =>
      `gateway ${round(median(gateway), 2)} ms + ssh client ${round(median(sshClient), 2)} ms, docker exec client ${round(median(dockerClient), 2)} ms (medians)`,
  };
}

let tenantId = "none";

async function main() {
  const docker = new Docker();
  const image = await ensureTestImage(docker);
  const templatesDir = templatesFolder(image);
  const dir = mkdtempSync(join(tmpdir(), "azusa-bench-ssh-"));
  const t = await startTestAzusa({
    env: { AZUSA_TEMPLATES_DIR: templatesDir, AZUSA_SCHEDULES: "off", AZUSA_LOG_LEVEL: "warn" },
  });
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 50);
  try {
    console.log(`provisioning ${WORKSPACES} workspaces…`);
    const world = await assignedWorkspaces(t, dir, { workspaces: WORKSPACES, engineers: ENGINEERS });
    tenantId = world.tenantId;
    const targets = world.targets;
    const home = sshHome(t.running.azusa.sshGateway.hostPublicKey, t.running.sshPort);
    const first = targets[0] as (typeof targets)[number];
    const sshCommand = (target: (typeof targets)[number], command: string) => [
      ...sshArgs({
        port: t.running.sshPort,
        key: target.key,
        knownHosts: home.knownHosts,
        user: `pkg-${target.packageId}`,
      }),
      command,
    ];
    const ssh = (target: (typeof targets)[number], command: string) => timed("ssh", sshCommand(target, command));
    const dockerCommand = (command: string, input: boolean) => [
      "exec",
      ...(input ? ["-i"] : []),
      "-u",
      "azusa",
      first.containerId,
      "/bin/sh",
      "-c",
      command,
    ];
    const dockerExec = (command: string) => timed("docker", dockerCommand(command, false));
    // Bulk transfers: the same client arguments, the bytes kept out of this process (see bulk).
    const sshBulk = (command: string, inputFile?: string) => bulk("ssh", sshCommand(first, command), inputFile);
    const dockerBulk = (command: string, inputFile?: string) =>
      bulk("docker", dockerCommand(command, inputFile !== undefined), inputFile);

    // Throughput: the same command both ways, in pairs (the order turning each pair); the ratio is the median
    // pair's, so that a burst of other work on the machine lands on one pair rather than on one side's best.
    const stream = `yes 0123456789abcdef | head -c ${BYTES}`;
    const viaSsh: number[] = [];
    const viaDocker: number[] = [];
    const pairRatios: number[] = [];
    const outCpu = cpuPerMiB(BYTES);
    for (let i = 0; i < THROUGHPUT_PAIRS; i++) {
      const [d, s] =
        i % 2 === 0
          ? [await dockerBulk(stream), await sshBulk(stream)]
          : await sshBulk(stream).then(async (s) => [await dockerBulk(stream), s] as const);
      if (d.bytes !== BYTES || s.bytes !== BYTES) throw new Error(`short output: docker ${d.bytes}, ssh ${s.bytes}`);
      viaDocker.push(BYTES / 2 ** 20 / (d.ms / 1000));
      viaSsh.push(BYTES / 2 ** 20 / (s.ms / 1000));
      pairRatios.push(d.ms / s.ms);
      outCpu.add(s, d);
    }
    const sshMBps = median(viaSsh);
    const dockerMBps = median(viaDocker);
    const throughputRatio = round(median(pairRatios), 2);
    console.log(
      `throughput  ssh ${round(sshMBps)} MiB/s, docker exec ${round(dockerMBps)} MiB/s (medians of ${THROUGHPUT_PAIRS}): ${throughputRatio}× (median pair; target ≥ ${THROUGHPUT_TARGET})`,
    );
    console.log(`            CPU per MiB: ${outCpu.said()}`);

    // Input with the contract's recordInput on (every byte typed is recorded): 50 MiB into `cat`, in pairs.
    const recorded = await world.contractor.request("PATCH", `/api/v1/contracts/${world.contractId}`, {
      recordInput: true,
    });
    if (recorded.status !== 200) throw new Error(`recordInput could not be set: ${recorded.status}`);
    const typed = join(dir, "typed");
    writeFileSync(typed, Buffer.alloc(STDIN_BYTES, "0123456789abcdef\n"));
    const sink = `cat > /dev/null; echo ${STDIN_BYTES}`;
    const stdinPairs: number[] = [];
    const stdinSsh: number[] = [];
    const stdinDocker: number[] = [];
    const inCpu = cpuPerMiB(STDIN_BYTES);
    for (let i = 0; i < STDIN_PAIRS; i++) {
      const d = await dockerBulk(sink, typed);
      const s = await sshBulk(sink, typed);
      if (d.code !== 0 || s.code !== 0) throw new Error(`stdin failed: docker ${d.code}, ssh ${s.code}`);
      stdinDocker.push(STDIN_BYTES / 2 ** 20 / (d.ms / 1000));
      stdinSsh.push(STDIN_BYTES / 2 ** 20 / (s.ms / 1000));
      stdinPairs.push(d.ms / s.ms);
      inCpu.add(s, d);
    }
    await world.contractor.request("PATCH", `/api/v1/contracts/${world.contractId}`, { recordInput: false });
    const stdinRatio = round(median(stdinPairs), 2);
    console.log(
      `stdin       ssh ${round(median(stdinSsh))} MiB/s with input recorded, docker exec ${round(median(stdinDocker))} MiB/s (medians of ${STDIN_PAIRS}): ${stdinRatio}× (median pair; target ≥ ${STDIN_RECORDED_TARGET})`,
    );
    console.log(`            CPU per MiB: ${inCpu.said()}`);

    // Latency: connect, authenticate, run `true`, exit, against `docker exec … true`.
    const sshMs: number[] = [];
    const dockerMs: number[] = [];
    for (let i = 0; i < LATENCY_RUNS; i++) {
      const d = await dockerExec("true");
      const s = await ssh(first, "true");
      if (d.code !== 0 || s.code !== 0) throw new Error(`true failed: docker ${d.code}, ssh ${s.code}`);
      dockerMs.push(d.ms);
      sshMs.push(s.ms);
    }
    const latencyRatio = round(median(sshMs) / median(dockerMs), 2);
    console.log(
      `latency     ssh ${round(median(sshMs))} ms, docker exec ${round(median(dockerMs))} ms (medians of ${LATENCY_RUNS}): ${latencyRatio}× (target ≤ ${LATENCY_TARGET})`,
    );

    // 200 sessions at once over 50 workspaces, each printing its number after a second.
    peakRss = process.memoryUsage().rss;
    const start = performance.now();
    const results = await Promise.all(
      Array.from({ length: CONCURRENT }, (_, i) =>
        ssh(targets[i % targets.length] as (typeof targets)[number], `sleep 1; echo ok-${i}`),
      ),
    );
    const failed = results.filter((r, i) => r.code !== 0 || r.out !== `ok-${i}\n`).length;
    const concurrentS = round((performance.now() - start) / 1000, 1);
    const peakMiB = round(peakRss / 2 ** 20, 0);
    console.log(
      `concurrent  ${CONCURRENT} sessions over ${targets.length} workspaces: ${failed} failed, ${concurrentS} s, gateway peak RSS ${peakMiB} MiB`,
    );
    console.log(
      JSON.stringify({
        bench: "ssh",
        throughput_ssh_mib_s: round(sshMBps),
        throughput_docker_mib_s: round(dockerMBps),
        throughput_ratio: throughputRatio,
        throughput_ratio_target: THROUGHPUT_TARGET,
        ...outCpu.figures("output"),
        stdin_recorded_ssh_mib_s: round(median(stdinSsh)),
        stdin_docker_mib_s: round(median(stdinDocker)),
        stdin_recorded_ratio: stdinRatio,
        stdin_recorded_ratio_target: STDIN_RECORDED_TARGET,
        ...inCpu.figures("stdin_recorded"),
        latency_ssh_ms: round(median(sshMs)),
        latency_docker_ms: round(median(dockerMs)),
        latency_ratio: latencyRatio,
        latency_ratio_target: LATENCY_TARGET,
        concurrent_sessions: CONCURRENT,
        concurrent_workspaces: targets.length,
        concurrent_failed: failed,
        concurrent_failed_target: 0,
        peak_rss_mib: peakMiB,
      }),
    );
  } finally {
    clearInterval(sampler);
    await t.stop();
    // This run's workspaces only: their tenant exists in no other Azusa.
    for (const c of await docker.listContainers({ all: true, filters: { label: [`io.azusa.tenant=${tenantId}`] } }))
      await docker.getContainer(c.Id).remove({ force: true, v: true });
    for (const v of (await docker.listVolumes({ filters: { label: [`io.azusa.tenant=${tenantId}`] } })).Volumes ?? [])
      await docker
        .getVolume(v.Name)
        .remove()
        .catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    rmSync(templatesDir, { recursive: true, force: true });
  }
}

await main();
