// A second, real Docker engine for tests: its own dockerd (data root, exec root, pid file, containerd) in a
// network namespace of the test, reached only over mutual TLS with certificates made here by openssl.
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { afterAll, beforeAll } from "vitest";
import { ensureBaseImage } from "./images.ts";

const run = promisify(execFile);
const sh = (cmd: string, args: string[], cwd?: string) =>
  execFileSync(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] }).toString();

/** PEM texts a client presents to the engine, as an operator registers them. */
export interface EngineCredentials {
  ca: string;
  cert: string;
  key: string;
}

/** A running second engine. */
export interface SecondEngine {
  /** dockerode over mutual TLS to the engine. */
  docker: Docker;
  /** Where it listens: an address inside the test's network namespace, and the port. */
  host: string;
  port: number;
  /** `tcp://host:port`, as DOCKER_HOST spells it. */
  url: string;
  /** The network namespace the engine runs in (`/run/netns/<netns>`): a test's servers "on that host" run there. */
  netns: string;
  /** The CA that signed the engine's certificate, and a client certificate and key it accepts. */
  credentials: EngineCredentials;
  /** The images loaded into it, the default workspace image first. */
  images: string[];
  /** Takes the link to the namespace down (`false`), as a host lost to the network, or up again (`true`). */
  reachable(on: boolean): Promise<void>;
  /** Stops dockerd (and its containerd), removes the namespace and every file; safe to call twice. */
  stop(): Promise<void>;
}

/** Makes a CA, a server certificate for `address` and a client certificate, all EC P-256, in `dir`. */
function makeCertificates(dir: string, address: string): EngineCredentials {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  sh(
    "openssl",
    ["req", "-x509", ...ec, "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2", "-subj", "/CN=azusa-test-ca"],
    dir,
  );
  const sign = (name: string, extensions: string) => {
    sh("openssl", ["req", ...ec, "-keyout", `${name}-key.pem`, "-out", `${name}.csr`, "-subj", `/CN=${name}`], dir);
    writeFileSync(join(dir, `${name}.ext`), extensions);
    sh(
      "openssl",
      ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial"].concat([
        "-out",
        `${name}.pem`,
        "-days",
        "2",
        "-extfile",
        `${name}.ext`,
      ]),
      dir,
    );
  };
  sign("engine", `subjectAltName=IP:${address}\nextendedKeyUsage=serverAuth\n`);
  sign("client", "extendedKeyUsage=clientAuth\n");
  const read = (name: string) => readFileSync(join(dir, name), "utf8");
  return { ca: read("ca.pem"), cert: read("client.pem"), key: read("client-key.pem") };
}

/** Waits for dockerd to answer a ping, or fails with the end of its log when it exits or takes too long. */
async function waitForEngine(docker: Docker, daemon: ChildProcess, log: string): Promise<void> {
  const tail = () => readFileSync(log, "utf8").split("\n").slice(-15).join("\n");
  for (let attempt = 0; attempt < 240; attempt++) {
    if (daemon.exitCode !== null) throw new Error(`the second dockerd exited with ${daemon.exitCode}:\n${tail()}`);
    try {
      await docker.ping();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error(`the second dockerd did not answer within 60 s:\n${tail()}`);
}

/**
 * Starts another dockerd in a new network namespace reached through a veth pair (addresses in 198.18.0.0/15,
 * the range set aside for tests), listening only on `tcp://<address>:2376` with `--tlsverify`, and loads the
 * default workspace image into it with `docker save | docker load` (plus any `extraImages` of the local engine).
 * The namespace is entered with nsenter, not `ip netns exec`, which would mount a /sys without cgroups.
 */
export async function startSecondEngine(
  options: {
    extraImages?: string[];
    /** Let the engine keep its firewall (iptables in its namespace), as an engine on a machine of its own does. */
    firewall?: boolean;
  } = {},
): Promise<SecondEngine> {
  const local = new Docker();
  const images = [await ensureBaseImage(local), ...(options.extraImages ?? [])];
  const tag = randomBytes(3).toString("hex");
  const ns = `aze-${tag}`;
  const hostSide = `azev${tag}`;
  const nsSide = `azep${tag}`;
  const octets = randomBytes(2);
  const prefix = `198.19.${octets[0]}.${(octets[1] ?? 0) & 0xfc}`.split(".").map(Number) as number[];
  const at = (n: number) => `${prefix[0]}.${prefix[1]}.${prefix[2]}.${(prefix[3] ?? 0) + n}`;
  const host = at(2);
  const port = 2376;
  const dir = mkdtempSync(join(tmpdir(), "azusa-engine-"));
  let daemon: ChildProcess | undefined;
  let stopped = false;

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (daemon && daemon.exitCode === null && daemon.signalCode === null) {
      const exit = new Promise((resolve) => daemon?.once("exit", resolve));
      daemon.kill("SIGTERM");
      const timer = setTimeout(() => daemon?.kill("SIGKILL"), 30_000);
      await exit;
      clearTimeout(timer);
    }
    // a dockerd killed hard leaves its overlay and shm mounts behind; they would keep the folder busy
    const mounts = readFileSync("/proc/mounts", "utf8")
      .split("\n")
      .map((line) => line.split(" ")[1] ?? "")
      .filter((point) => point.startsWith(`${dir}/`))
      .reverse();
    for (const point of mounts) await run("umount", ["-l", point]).catch(() => undefined);
    await run("ip", ["netns", "del", ns]).catch(() => undefined);
    await run("ip", ["link", "del", hostSide]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const credentials = makeCertificates(dir, host);
    sh("ip", ["netns", "add", ns]);
    sh("ip", ["link", "add", hostSide, "type", "veth", "peer", "name", nsSide]);
    sh("ip", ["link", "set", nsSide, "netns", ns]);
    sh("ip", ["addr", "add", `${at(1)}/30`, "dev", hostSide]);
    sh("ip", ["link", "set", hostSide, "up"]);
    sh("ip", ["-n", ns, "addr", "add", `${host}/30`, "dev", nsSide]);
    sh("ip", ["-n", ns, "link", "set", nsSide, "up"]);
    sh("ip", ["-n", ns, "link", "set", "lo", "up"]);
    for (const sub of ["data", "exec"]) mkdirSync(join(dir, sub));
    const log = join(dir, "dockerd.log");
    const logFd = openSync(log, "w"); // dockerd logs to stderr; a file keeps it for a failure message
    daemon = spawn(
      "nsenter",
      [`--net=/run/netns/${ns}`, "dockerd", "--data-root", join(dir, "data"), "--exec-root", join(dir, "exec")]
        .concat(["--pidfile", join(dir, "dockerd.pid"), "-H", `tcp://${host}:${port}`, "--tlsverify"])
        .concat(["--tlscacert", join(dir, "ca.pem"), "--tlscert", join(dir, "engine.pem")])
        .concat([
          "--tlskey",
          join(dir, "engine-key.pem"),
          "--bridge=none",
          `--iptables=${options.firewall === true}`,
          "--ip6tables=false",
        ]),
      { stdio: ["ignore", logFd, logFd] },
    );
    closeSync(logFd);
    const docker = new Docker({ host, port, protocol: "https", ...credentials });
    await waitForEngine(docker, daemon, log);
    const tls = ["--host", `tcp://${host}:${port}`, "--tlsverify", "--tlscacert", join(dir, "ca.pem")]
      .concat(["--tlscert", join(dir, "client.pem"), "--tlskey", join(dir, "client-key.pem")])
      .join(" ");
    for (const image of images) {
      await run("bash", ["-c", `set -o pipefail; docker save "$1" | docker ${tls} load`, "load", image]);
    }
    const reachable = async (on: boolean) => {
      await run("ip", ["link", "set", hostSide, on ? "up" : "down"]);
    };
    return { docker, host, port, url: `tcp://${host}:${port}`, netns: ns, credentials, images, reachable, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A second engine for every test of a file: started before them, stopped after them; the getter reads it. */
export function secondEngineForTests(options: Parameters<typeof startSecondEngine>[0] = {}): () => SecondEngine {
  let engine: SecondEngine | undefined;
  beforeAll(async () => {
    engine = await startSecondEngine(options);
  }, 240_000);
  afterAll(async () => {
    await engine?.stop();
  });
  return () => {
    if (!engine) throw new Error("the second engine did not start; see the beforeAll failure");
    return engine;
  };
}
