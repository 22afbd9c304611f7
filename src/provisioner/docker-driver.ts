// The Docker workspace driver: one hardened container and one named volume per workspace, through dockerode.
import { readlink } from "node:fs/promises";
import type { Socket } from "node:net";
import { PassThrough, Writable } from "node:stream";
import type Docker from "dockerode";
import { AppError, fail, invalidWith } from "../kernel/errors.ts";
import { text } from "../kernel/messages.ts";
import { createDemuxer, createRelay, deliver, demuxBuffer } from "./docker-stream.ts";
import {
  checkEnv,
  checkUser,
  checkWorkspaceSpec,
  type ExecSession,
  type ExecSignal,
  type ListedWorkspace,
  labelKeys,
  type OwnedObject,
  type SignalOutcome,
  type WorkspaceDriver,
  type WorkspaceRef,
  type WorkspaceSpec,
  type WorkspaceStatus,
  workspaceLabels,
} from "./driver.ts";
import { machineAddressList } from "./egress-address.ts";
import type { HostSideEgressNetworks } from "./egress-host-side.ts";
import type { EgressNetwork, EgressNetworks } from "./egress-network.ts";
import type { LoopDisks } from "./loop-disks.ts";

/** The part of dockerode the driver uses. */
export type DockerApi = Pick<
  Docker,
  "createContainer" | "getContainer" | "listContainers" | "createVolume" | "getVolume" | "listVolumes" | "getImage"
>;

/** Tells the workspace container from the short-lived container that prepares its volume. */
export const roleLabel = "io.azusa.role";

/** Options of the Docker driver. */
export interface DockerDriverOptions {
  docker: DockerApi;
  /** This Azusa's instance id, on every object's `io.azusa.instance` label; list and inventory see only these. */
  instance: string;
  /** Seconds a stopping workspace gets between SIGTERM and SIGKILL; default 5. */
  stopTimeoutSeconds?: number;
  /** Prefix of container and volume names; default `azusa-ws-`. */
  namePrefix?: string;
  /** Networks for workspaces whose spec asks for egress; without them such a spec is refused. */
  egress?: EgressNetworks;
  /**
   * True when the engine runs on this host (a unix socket): a command's process id is then one of
   * ours, and signals go to it directly. Default true; a remote engine cannot signal a command.
   */
  localEngine?: boolean;
  /**
   * Where volumes of a spec with `resources.diskMiB` get their size-limited disk; the engine must run on
   * this host. Without it `diskMiB` cannot be honoured and such a spec is refused.
   */
  disks?: LoopDisks;
}

interface EngineError {
  statusCode?: number;
  code?: string;
  json?: { message?: string } | null;
  message?: string;
}

function engineMessage(err: unknown): string {
  const e = err as EngineError;
  return e.json?.message ?? e.message ?? String(err);
}

/**
 * Turns an engine failure into an AppError whose message is safe to show; the engine's own words
 * stay in `details.engine` for the log. `what` names the object, `action` the attempted step.
 */
function engineError(err: unknown, action: string, what: string): Error {
  if (err instanceof AppError) return err;
  const e = err as EngineError;
  const details = { engine: engineMessage(err), statusCode: e.statusCode };
  const wrap = (error: AppError) => Object.assign(error, { cause: err });
  if (e.code === "ECONNREFUSED" || e.code === "ENOENT" || e.code === "EACCES") {
    return wrap(fail("UNAVAILABLE", text("engine.unreachable", { action }), details));
  }
  switch (e.statusCode) {
    case 404:
      return wrap(fail("NOT_FOUND", text("engine.notFound", { what }), details));
    case 409:
      return wrap(fail("CONFLICT", text("engine.conflict", { action, what }), details));
    case 400:
      return wrap(fail("VALIDATION", text("engine.refused", { action }), details));
    default:
      return new Error(`Docker engine: ${action} failed: ${details.engine}`, { cause: err });
  }
}

const statusOf = (err: unknown) => (err as EngineError).statusCode;

/** Reads one regular file out of the tar stream that `getArchive` returns; undefined if the entry is not one. */
async function readSingleFile(tar: NodeJS.ReadableStream): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of tar) chunks.push(Buffer.from(chunk));
  const buf = Buffer.concat(chunks);
  let offset = 0;
  while (offset + 512 <= buf.length) {
    const header = buf.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) return undefined;
    const size = Number.parseInt(header.subarray(124, 136).toString("latin1").replace(/\0.*$/, "").trim() || "0", 8);
    const type = String.fromCharCode(header[156] ?? 0);
    const data = buf.subarray(offset + 512, offset + 512 + size);
    if (type === "0" || type === "\0") return data.toString("utf8");
    if (type !== "x" && type !== "g") return undefined; // a link or a directory: not something we resolve
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return undefined;
}

/** Owner and mode of the first entry of a `getArchive` tar stream (the directory itself); reads only its header. */
async function readEntryOwner(
  tar: NodeJS.ReadableStream,
): Promise<{ uid: number; gid: number; mode: number; dir: boolean } | undefined> {
  let buf = Buffer.alloc(0);
  for await (const chunk of tar) {
    buf = Buffer.concat([buf, Buffer.from(chunk)]);
    if (buf.length < 512) continue;
    const header = buf.subarray(0, 512);
    const type = String.fromCharCode(header[156] ?? 0);
    if (type === "x" || type === "g") {
      // a pax header first: skip it and its data, then read the entry itself
      const size = Number.parseInt(header.subarray(124, 136).toString("latin1").replace(/\0.*$/, "").trim() || "0", 8);
      const next = 512 + Math.ceil(size / 512) * 512;
      if (buf.length < next + 512) continue;
      buf = buf.subarray(next);
      continue;
    }
    const octal = (from: number, to: number) =>
      Number.parseInt(header.subarray(from, to).toString("latin1").replace(/\0.*$/, "").trim() || "0", 8);
    (tar as unknown as { destroy?: () => void }).destroy?.();
    return { mode: octal(100, 108), uid: octal(108, 116), gid: octal(116, 124), dir: type === "5" };
  }
  return undefined;
}

async function readImageFile(container: Docker.Container, path: string): Promise<string | undefined> {
  try {
    return await readSingleFile(await container.getArchive({ path }));
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw engineError(err, `reading ${path}`, "container");
  }
}

/** Numeric ids a user string stands for, and the home directory /etc/passwd gives it. */
export interface Identity {
  uid: number;
  gid: number;
  home: string | undefined;
}

const numeric = (s: string) => /^\d+$/.test(s);

/**
 * Resolves `user` (name, uid, name:group, uid:gid) against an image's /etc/passwd and /etc/group,
 * and refuses uid 0 however it is spelt. Unlike the engine, a uid without an entry gets its own
 * number as group rather than root's group 0.
 */
export function resolveIdentity(user: string, passwd: string | undefined, group: string | undefined): Identity {
  const [userPart = "", groupPart] = user.split(":");
  const entries = (passwd ?? "")
    .split("\n")
    .map((line) => line.split(":"))
    .filter((f) => f.length >= 7);
  const entry = entries.find((f) => (numeric(userPart) ? f[2] === String(Number(userPart)) : f[0] === userPart));
  if (!numeric(userPart) && !entry) {
    throw invalidWith(text("engine.unknownUser", { user: userPart }), "user", text("engine.unknownUserField"));
  }
  const uid = numeric(userPart) ? Number(userPart) : Number(entry?.[2]);
  if (uid === 0) {
    throw invalidWith(text("engine.root"), "user", text("engine.rootField"));
  }
  let gid: number;
  if (groupPart === undefined) {
    gid = entry ? Number(entry[3]) : uid;
  } else if (numeric(groupPart)) {
    gid = Number(groupPart);
  } else {
    const g = (group ?? "")
      .split("\n")
      .map((line) => line.split(":"))
      .find((f) => f[0] === groupPart && f.length >= 3);
    if (!g) {
      throw invalidWith(text("engine.unknownGroup", { group: groupPart }), "user", text("engine.unknownGroupField"));
    }
    gid = Number(g[2]);
  }
  return { uid, gid, home: entry?.[5] || undefined };
}

/** Resolves `user` inside `container`'s image (which need not be running). */
async function identityIn(container: Docker.Container, user: string): Promise<Identity> {
  const groupPart = user.split(":")[1];
  // even a bare uid needs /etc/passwd: it gives the default group and the home directory
  const [passwd, group] = await Promise.all([
    readImageFile(container, "/etc/passwd"),
    groupPart !== undefined && !numeric(groupPart) ? readImageFile(container, "/etc/group") : undefined,
  ]);
  return resolveIdentity(user, passwd, group);
}

function envList(env: Record<string, string> | undefined): string[] | undefined {
  return env ? Object.entries(env).map(([k, v]) => `${k}=${v}`) : undefined;
}

/** The one place that says how a workspace container is confined; see the hardening test. */
function hardenedHostConfig(
  spec: WorkspaceSpec,
  identity: Identity,
  volume: string,
  labels: Record<string, string>,
  copyUp: boolean,
  network?: EgressNetwork,
  store?: { name: string; labels: Record<string, string> },
): Docker.HostConfig {
  const bytes = spec.resources.memoryMiB * 1024 * 1024;
  const tmpfs: Record<string, string> = {};
  if (spec.readOnlyRootFs) {
    // /tmp keeps exec: compilers and test runners (go test, node-gyp) run binaries from there, and
    // the user can execute from the workspace volume anyway. Tmpfs pages count against Memory.
    // The engine adds noexec to every tmpfs unless told "exec".
    tmpfs["/tmp"] = "rw,exec,nosuid,nodev,mode=1777";
    tmpfs["/run"] = "rw,noexec,nosuid,nodev,mode=755,size=16m";
    const home = identity.home;
    const folder = spec.workspaceFolder;
    if (home && home !== "/" && !(home in tmpfs) && home !== folder && !home.startsWith(`${folder}/`)) {
      tmpfs[home] = `rw,exec,nosuid,nodev,mode=700,uid=${identity.uid},gid=${identity.gid}`;
    }
  }
  return {
    Init: true,
    CapDrop: ["ALL"],
    SecurityOpt: ["no-new-privileges:true"],
    Privileged: false,
    PidsLimit: spec.resources.pids,
    Memory: bytes,
    MemorySwap: bytes,
    NanoCpus: Math.round(spec.resources.cpus * 1e9),
    // Its own bridge when the template names destinations (fenced so that only the proxy answers), else none.
    // Names are resolved by the proxy; the engine's resolver is pointed at the gateway, where the fence refuses it.
    NetworkMode: network?.name ?? "none",
    ...(network ? { Dns: [network.gateway] } : {}),
    ReadonlyRootfs: spec.readOnlyRootFs,
    ...(spec.readOnlyRootFs ? { Tmpfs: tmpfs } : {}),
    // The engine copies the image's directory, content and owner, into a still-empty volume at first
    // mount. When the image's folder already belongs to the user that copy-up is all the volume needs;
    // otherwise NoCopy, or the copied root owner would undo prepareVolume (which did the copy-up itself).
    Mounts: [
      {
        Type: "volume",
        Source: volume,
        Target: spec.workspaceFolder,
        ReadOnly: false,
        VolumeOptions: { NoCopy: !copyUp, Labels: labels, DriverConfig: { Name: "local", Options: {} } },
      },
      // The package's object store, made by the engine at the first mount; read-only here, filled by fillStore.
      ...(spec.store && store
        ? [
            {
              Type: "volume" as const,
              Source: store.name,
              Target: spec.store,
              ReadOnly: true,
              VolumeOptions: { NoCopy: true, Labels: store.labels, DriverConfig: { Name: "local", Options: {} } },
            },
          ]
        : []),
    ],
    RestartPolicy: { Name: "no" },
  };
}

/** Whether the store mounted at `folder` in `container` (running or not) holds the file `path`. */
async function storeHolds(container: Docker.Container, folder: string, path: string): Promise<boolean> {
  if (path.split("/").some((part) => part === ".." || part === "")) throw new Error(`not a path in the store: ${path}`);
  try {
    await container.infoArchive({ path: `${folder}/${path}` });
    return true;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    throw err;
  }
}

/** Polls the finished exec for its status: the stream can end a moment before the engine records it. */
async function exitStatus(exec: Docker.Exec): Promise<{ code: number | null; signal: string | null }> {
  const deadline = Date.now() + 10_000;
  for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
    try {
      const info = await exec.inspect();
      if (!info.Running) return { code: info.ExitCode, signal: null };
    } catch {
      return { code: null, signal: null };
    }
    if (Date.now() > deadline) return { code: null, signal: null };
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

const notDelivered = (reason: string): SignalOutcome => ({ delivered: false, reason });

/**
 * Signals an exec's process from the host: the engine's exec API has no signal call, but it reports
 * the process id in the host's PID namespace. The id is used only when it sits in the workspace's own
 * PID namespace (not ours): so a reused id, or an engine in another namespace, never signals a stranger.
 */
async function signalExec(
  exec: Docker.Exec,
  containerPid: (containerId: string) => Promise<number>,
  name: ExecSignal,
): Promise<SignalOutcome> {
  let pid: number;
  let containerId: string;
  try {
    // The engine can report a command that has started writing as not running yet: asked again shortly.
    let info = await exec.inspect();
    for (let delay = 5; !(info.Running && info.Pid) && info.ExitCode === null && delay < 500; delay *= 2) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      info = await exec.inspect();
    }
    if (!info.Running || !info.Pid) return notDelivered("the command is not running");
    pid = info.Pid;
    containerId = info.ContainerID;
  } catch {
    return notDelivered("the command is gone");
  }
  const namespace = (p: number | "self") => readlink(`/proc/${p}/ns/pid`).catch(() => null);
  const [own, workspace, target] = await Promise.all([
    namespace("self"),
    containerPid(containerId).then(namespace, () => null),
    namespace(pid),
  ]);
  if (!target) return notDelivered("the process is not visible from here");
  if (target === own || target !== workspace) return notDelivered("the process is not in the workspace");
  try {
    process.kill(pid, `SIG${name}`);
    return { delivered: true };
  } catch (err) {
    return notDelivered((err as NodeJS.ErrnoException).code === "ESRCH" ? "the process is gone" : String(err));
  }
}

/** Input a command's writer may hand over before it is told to wait (its socket's own buffer comes on top). */
export const STDIN_BUFFER = 256 * 1024;

function openSession(
  exec: Docker.Exec,
  socket: Socket,
  tty: boolean,
  containerPid: ((containerId: string) => Promise<number>) | null,
): ExecSession {
  const stdout = new PassThrough({ highWaterMark: 64 * 1024 });
  const stderr = tty ? null : new PassThrough({ highWaterMark: 64 * 1024 });
  const sink = stderr ? createDemuxer(stdout, stderr) : createRelay(stdout);
  let ended = false;
  // A command that stopped reading its input must not make the writer fail: input is dropped.
  socket.on("error", () => undefined);
  // Input goes to the engine's socket as fast as the socket takes it: a chunk is done once the socket has it (not
  // once it reached the kernel), and the writer waits only while the socket is full. Waiting for each write to
  // complete, with the default 16 KiB mark, made every SSH packet (32 KiB) pause the channel feeding it.
  const stdin = new Writable({
    highWaterMark: STDIN_BUFFER,
    write(chunk: Buffer, _encoding, callback) {
      if (!socket.writable) return callback();
      deliver(socket, chunk).then(() => callback());
    },
    final(callback) {
      // Without a tty, a half-close gives the command end of input. With one, the engine would answer
      // a half-close by dropping all further output; a terminal's end of input is ^D, typed, not this.
      if (!tty && socket.writable) socket.end();
      callback();
    },
  });
  const streamEnded = new Promise<void>((resolve) => {
    socket.on("close", () => {
      // pipe() ends the sink on a clean end; after an error it has not, and the reader must still see the end
      if (!sink.writableEnded) sink.end();
      resolve();
    });
  });
  const outputHandedOver = new Promise<void>((resolve) => sink.on("finish", resolve));
  socket.pipe(sink);
  const exit = Promise.all([streamEnded, outputHandedOver]).then(() => {
    ended = true;
    return exitStatus(exec);
  });
  return {
    stdin,
    stdout,
    stderr,
    exit,
    async signal(name) {
      if (!containerPid) return notDelivered("the engine is remote");
      if (ended) return notDelivered("the command has ended");
      return signalExec(exec, containerPid, name);
    },
    async resize(cols, rows) {
      if (!tty || ended) return;
      try {
        await exec.resize({ h: rows, w: cols });
      } catch (err) {
        if (ended) return;
        throw engineError(err, "resizing the terminal", "command");
      }
    },
  };
}

/**
 * The engine answers the upgrade before the command runs, and refuses to resize a command that has
 * not started yet; the docker CLI retries for the same reason.
 */
async function initialSize(session: ExecSession, cols: number, rows: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await session.resize(cols, rows);
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt));
    }
  }
}

/** A WorkspaceDriver on one Docker engine. */
export function createDockerDriver({
  docker,
  instance,
  stopTimeoutSeconds = 5,
  namePrefix = "azusa-ws-",
  egress,
  localEngine = true,
  disks,
}: DockerDriverOptions): WorkspaceDriver {
  const isolated = { NetworkMode: "none", CapDrop: ["ALL"], SecurityOpt: ["no-new-privileges:true"] };
  const containerPid = async (containerId: string) => (await docker.getContainer(containerId).inspect()).State.Pid;
  const labelsOf = (spec: WorkspaceSpec) => workspaceLabels(spec, instance);
  const mine = `${labelKeys.instance}=${instance}`;
  const storePrefix = `${namePrefix}store-`;
  /** The volume holding a package's object store on this engine. */
  const storeVolume = (packageId: string) => `${storePrefix}${packageId}`;
  /** The workspace's own volume among a container's mounts (not its package's store). */
  const ownVolume = (mounts: { Type: string; Name?: string }[], id: string) =>
    mounts.find((m) => m.Type === "volume" && !m.Name?.startsWith(storePrefix))?.Name ?? `${namePrefix}${id}`;
  /** What create learnt about an image, per image id (a rebuilt tag is another id): reading it costs a container. */
  const imageFacts = new Map<string, Promise<{ identity: Identity; folderOwned: boolean }>>();

  async function removeContainer(id: string): Promise<void> {
    try {
      await docker.getContainer(id).remove({ force: true });
    } catch (err) {
      // 409: a removal is already under way, which ends the same way
      const status = statusOf(err);
      if (status !== 404 && status !== 409) throw engineError(err, "removing a container", "container");
    }
  }

  async function removeVolume(name: string): Promise<void> {
    try {
      await docker.getVolume(name).remove();
    } catch (err) {
      if (statusOf(err) !== 404) throw engineError(err, "removing the volume", `volume ${name}`);
    }
    await disks?.remove(name);
  }

  /** Every container carrying the workspace's label: the workspace itself and any helper left by a crash. */
  async function containersOf(id: string): Promise<string[]> {
    try {
      const found = await docker.listContainers({
        all: true,
        filters: { label: [mine, `${labelKeys.workspace}=${id}`] },
      });
      return found.map((c) => c.Id);
    } catch (err) {
      throw engineError(err, "listing workspaces", "workspace");
    }
  }

  async function imageId(image: string): Promise<string> {
    try {
      return (await docker.getImage(image).inspect()).Id;
    } catch (err) {
      throw engineError(err, "reading the image", `image ${image}`);
    }
  }

  /**
   * The user's numeric ids and home, and whether the image's workspace folder already belongs to
   * that user, read through a container that is never started; remembered per image id.
   */
  function lookUpImage(spec: WorkspaceSpec, id: string): Promise<{ identity: Identity; folderOwned: boolean }> {
    const key = `${id}\0${spec.user}\0${spec.workspaceFolder}`;
    let facts = imageFacts.get(key);
    if (!facts) {
      facts = readImage(spec);
      imageFacts.set(key, facts);
      facts.catch(() => imageFacts.delete(key)); // a failure is not remembered
    }
    return facts;
  }

  async function readImage(spec: WorkspaceSpec): Promise<{ identity: Identity; folderOwned: boolean }> {
    let probe: Docker.Container;
    try {
      probe = await docker.createContainer({
        Image: spec.image,
        Entrypoint: ["true"],
        Labels: { ...labelsOf(spec), [roleLabel]: "probe" },
        HostConfig: { ...isolated },
      });
    } catch (err) {
      throw engineError(err, "reading the image's users", `image ${spec.image}`);
    }
    try {
      const identity = await identityIn(probe, spec.user);
      let folderOwned = false;
      try {
        const owner = await readEntryOwner(await probe.getArchive({ path: spec.workspaceFolder }));
        folderOwned =
          owner?.dir === true &&
          owner.uid === identity.uid &&
          owner.gid === identity.gid &&
          (owner.mode & 0o700) === 0o700;
      } catch (err) {
        if (statusOf(err) !== 404) throw engineError(err, "reading the workspace folder", `image ${spec.image}`);
      }
      return { identity, folderOwned };
    } finally {
      await removeContainer(probe.id);
    }
  }

  /**
   * A fresh named volume is root-owned; a one-shot container hands it to the workspace user. It runs
   * as root but may only chown (CAP_CHOWN), has no network and sees nothing but the volume.
   */
  async function prepareVolume(spec: WorkspaceSpec, identity: Identity, volume: string): Promise<void> {
    const mib64 = 64 * 1024 * 1024;
    let helper: Docker.Container;
    try {
      helper = await docker.createContainer({
        Image: spec.image,
        User: "0:0",
        Entrypoint: ["chown"],
        Cmd: ["-R", `${identity.uid}:${identity.gid}`, spec.workspaceFolder],
        Labels: { ...labelsOf(spec), [roleLabel]: "prepare" },
        HostConfig: {
          ...isolated,
          CapAdd: ["CHOWN"],
          PidsLimit: 8,
          Memory: mib64,
          MemorySwap: mib64,
          NanoCpus: 1e9,
          Mounts: [{ Type: "volume", Source: volume, Target: spec.workspaceFolder, ReadOnly: false }],
        },
      });
    } catch (err) {
      throw engineError(err, "preparing the workspace volume", `image ${spec.image}`);
    }
    let result: { StatusCode?: number };
    let logs: { stdout: string; stderr: string } = { stdout: "", stderr: "" };
    try {
      await helper.start();
      result = (await helper.wait()) as { StatusCode?: number };
      if (result.StatusCode !== 0) {
        logs = demuxBuffer((await helper.logs({ stdout: true, stderr: true })) as unknown as Buffer);
      }
    } catch (err) {
      throw engineError(err, "preparing the workspace volume", "container");
    } finally {
      await removeContainer(helper.id);
    }
    if (result.StatusCode !== 0) {
      const said = (logs.stderr || logs.stdout).trim();
      throw new Error(`preparing the volume of workspace ${spec.id}: chown exited ${result.StatusCode}: ${said}`);
    }
  }

  async function volumeExists(name: string): Promise<boolean> {
    try {
      await docker.getVolume(name).inspect();
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw engineError(err, "checking the volume", `volume ${name}`);
    }
  }

  async function inspect(ref: WorkspaceRef): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
      return await docker.getContainer(ref.containerId).inspect();
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw engineError(err, "reading the workspace's state", `workspace ${ref.id}`);
    }
  }

  /** A loop device does not outlive a reboot; the volume mounts whatever its link names. */
  async function attachDisk(ref: WorkspaceRef): Promise<void> {
    try {
      await disks?.attach(ref.volume);
    } catch (err) {
      throw new Error(`attaching the disk of workspace ${ref.id}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The stopped workspace container of `ref` and where its volume is mounted, its disk attached: for its files. */
  async function stoppedVolume(ref: WorkspaceRef): Promise<{ info: Docker.ContainerInspectInfo; folder: string }> {
    const info = await inspect(ref);
    const folder = info?.Mounts.find((m) => m.Type === "volume" && m.Name === ref.volume)?.Destination;
    if (!info || !folder) throw fail("INVALID_STATE", text("engine.noVolume", { id: ref.id }));
    if (info.State.Running) throw fail("INVALID_STATE", text("engine.runningFiles", { id: ref.id }));
    await attachDisk(ref);
    return { info, folder };
  }

  const driver: WorkspaceDriver = {
    async create(spec) {
      checkWorkspaceSpec(spec);
      const name = `${namePrefix}${spec.id}`;
      const labels = labelsOf(spec);
      const { identity, folderOwned } = await lookUpImage(spec, await imageId(spec.image));
      // createVolume would quietly hand back an existing volume, with someone else's files in it
      if (await volumeExists(name)) throw fail("CONFLICT", text("engine.hasVolume", { id: spec.id }));
      const { diskMiB } = spec.resources;
      if (diskMiB !== undefined && !disks) {
        throw fail("UNAVAILABLE", text("engine.noDiskLimit"));
      }
      let disk: string | undefined;
      try {
        // the disk's root is made the user's own, so it needs no preparing
        if (diskMiB !== undefined) disk = await disks?.make(name, diskMiB, identity);
        await docker.createVolume({
          Name: name,
          Driver: "local",
          Labels: labels,
          ...(disk ? { DriverOpts: { type: "ext4", device: disk, o: "nodev,nosuid,discard" } } : {}),
        });
      } catch (err) {
        if (disk) await disks?.remove(name).catch(() => undefined);
        throw engineError(err, "creating the volume", `volume ${name}`);
      }
      let network: EgressNetwork | undefined;
      try {
        if (!folderOwned && !disk) await prepareVolume(spec, identity, name);
        if (spec.egress) {
          if (!egress) throw fail("UNAVAILABLE", text("engine.noEgress"));
          network = await egress.create(spec);
        }
        const container = await docker.createContainer({
          name,
          Image: spec.image,
          User: `${identity.uid}:${identity.gid}`,
          Entrypoint: ["sleep"],
          Cmd: ["infinity"],
          Env: envList({ ...spec.env, ...(network && egress ? egress.proxyEnv(network) : {}) }),
          WorkingDir: spec.workspaceFolder,
          Labels: { ...labels, [roleLabel]: "workspace" },
          HostConfig: hardenedHostConfig(spec, identity, name, labels, folderOwned, network, {
            name: storeVolume(spec.packageId),
            // No instance label: the store outlives any one Azusa's workspaces and reconcile leaves it alone.
            labels: {
              [labelKeys.managed]: "true",
              [labelKeys.tenant]: spec.tenantId,
              [labelKeys.package]: spec.packageId,
              [roleLabel]: "store",
            },
          }),
        });
        return { id: spec.id, containerId: container.id, volume: name };
      } catch (err) {
        // The volume and network are ours (made above); the helpers remove themselves. Containers found
        // by label are left alone: one may be an older workspace with this id that made createContainer fail.
        await removeVolume(name).catch(() => undefined);
        if (network) await egress?.remove(spec.id).catch(() => undefined);
        if (statusOf(err) === 409) throw fail("CONFLICT", text("engine.exists", { id: spec.id }));
        throw engineError(err, "creating the workspace container", `image ${spec.image}`);
      }
    },

    async start(ref) {
      await attachDisk(ref);
      try {
        await docker.getContainer(ref.containerId).start();
      } catch (err) {
        if (statusOf(err) !== 304) throw engineError(err, "starting the workspace", `workspace ${ref.id}`);
      }
    },

    async stop(ref) {
      try {
        await docker.getContainer(ref.containerId).stop({ t: stopTimeoutSeconds });
      } catch (err) {
        const status = statusOf(err);
        if (status !== 304 && status !== 404) throw engineError(err, "stopping the workspace", `workspace ${ref.id}`);
      }
    },

    async status(ref) {
      const info = await inspect(ref);
      if (!info) return "missing";
      return info.State.Running && !info.State.Paused ? "running" : "stopped";
    },

    async exec(ref, req) {
      if (req.cmd.length === 0) {
        throw invalidWith(text("engine.noProgram"), "cmd", text("engine.noProgramField"));
      }
      if (req.env) checkEnv(req.env, "env");
      const container = docker.getContainer(ref.containerId);
      let user: string | undefined;
      if (req.user !== undefined) {
        checkUser(req.user, "user");
        const identity = await identityIn(container, req.user);
        user = `${identity.uid}:${identity.gid}`;
      }
      let exec: Docker.Exec;
      let socket: Socket;
      try {
        exec = await container.exec({
          Cmd: req.cmd,
          AttachStdin: true,
          AttachStdout: true,
          AttachStderr: true,
          Tty: req.tty,
          Env: envList(req.env),
          User: user,
          WorkingDir: req.workingDir,
        });
        socket = (await exec.start({ hijack: true, stdin: true, Tty: req.tty })) as Socket;
      } catch (err) {
        if (statusOf(err) === 409) throw fail("INVALID_STATE", text("engine.notRunning", { id: ref.id }));
        throw engineError(err, "running a command", `workspace ${ref.id}`);
      }
      const session = openSession(exec, socket, req.tty, localEngine ? containerPid : null);
      if (req.tty && req.cols && req.rows) await initialSize(session, req.cols, req.rows);
      return session;
    },

    async fillStore(ref, files, opts = {}) {
      const info = await inspect(ref);
      const store = info?.Mounts.find((m) => m.Type === "volume" && m.Name?.startsWith(storePrefix));
      if (!info || !store?.Name) throw fail("INVALID_STATE", text("engine.noStore", { id: ref.id }));
      // Asked of the workspace's own container, which mounts the store: no filler is made for a filled store.
      try {
        if (
          opts.unless !== undefined &&
          (await storeHolds(docker.getContainer(info.Id), store.Destination, opts.unless))
        )
          return false;
      } catch (err) {
        throw engineError(err, "filling the package's object store", `workspace ${ref.id}`);
      }
      let filler: Docker.Container;
      try {
        // Never started: the engine writes the files into the volume itself (the archive API).
        filler = await docker.createContainer({
          Image: info.Image,
          Entrypoint: ["true"],
          Labels: { ...info.Config.Labels, [roleLabel]: "store" },
          HostConfig: {
            ...isolated,
            Mounts: [
              {
                Type: "volume",
                Source: store.Name,
                Target: "/store",
                ReadOnly: false,
                VolumeOptions: { NoCopy: true, Labels: {}, DriverConfig: { Name: "local", Options: {} } },
              },
            ],
          },
        });
      } catch (err) {
        throw engineError(err, "filling the package's object store", `workspace ${ref.id}`);
      }
      try {
        await filler.putArchive(files(), { path: "/store" });
        return true;
      } catch (err) {
        throw engineError(err, "filling the package's object store", `workspace ${ref.id}`);
      } finally {
        await removeContainer(filler.id);
      }
    },

    async exportFiles(ref) {
      const { info, folder } = await stoppedVolume(ref);
      try {
        // `/.`: the folder's contents, named from `./`, so that they land in any folder of the other end
        return await docker.getContainer(info.Id).getArchive({ path: `${folder}/.` });
      } catch (err) {
        throw engineError(err, "reading the workspace's files", `workspace ${ref.id}`);
      }
    },

    async importFiles(ref, files) {
      const { info, folder } = await stoppedVolume(ref);
      try {
        // The engine unpacks it into the volume, owners as the stream has them (no copyUIDGID: that would make
        // every file the container user's), while the container stays stopped.
        await docker.getContainer(info.Id).putArchive(files, { path: folder });
      } catch (err) {
        throw engineError(err, "writing the workspace's files", `workspace ${ref.id}`);
      }
    },

    async destroy(ref) {
      const store = (await inspect(ref))?.Mounts.find((m) => m.Type === "volume" && m.Name?.startsWith(storePrefix));
      const ids = new Set([ref.containerId, ...(await containersOf(ref.id))]);
      for (const id of ids) await removeContainer(id);
      await removeVolume(ref.volume);
      await egress?.remove(ref.id);
      if (store?.Name) {
        // Another workspace of the package still mounting it keeps it (409).
        try {
          await docker.getVolume(store.Name).remove();
        } catch (err) {
          const status = statusOf(err);
          if (status !== 404 && status !== 409)
            throw engineError(err, "removing the object store", `volume ${store.Name}`);
        }
      }
    },

    async list(labels = {}) {
      const filters = [mine, `${roleLabel}=workspace`];
      for (const [k, v] of Object.entries(labels)) filters.push(`${k}=${v}`);
      let found: Docker.ContainerInfo[];
      try {
        found = await docker.listContainers({ all: true, filters: { label: filters } });
      } catch (err) {
        throw engineError(err, "listing workspaces", "workspace");
      }
      return found.map((c): ListedWorkspace => {
        const id = c.Labels[labelKeys.workspace] ?? "";
        const volume = ownVolume(c.Mounts, id);
        const status: WorkspaceStatus = c.State === "running" ? "running" : "stopped";
        return { id, containerId: c.Id, volume, labels: c.Labels, status };
      });
    },

    async inventory() {
      let containers: Docker.ContainerInfo[];
      let volumes: Docker.VolumeInspectInfo[];
      try {
        [containers, volumes] = await Promise.all([
          docker.listContainers({ all: true, filters: { label: [mine] } }),
          docker.listVolumes({ filters: { label: [mine] } }).then((r) => r.Volumes ?? []),
        ]);
      } catch (err) {
        throw engineError(err, "listing this instance's objects", "workspace");
      }
      const owned: OwnedObject[] = containers.map((c) => ({
        kind: "container",
        id: c.Id,
        workspaceId: c.Labels[labelKeys.workspace] ?? "",
        role: c.Labels[roleLabel] ?? "",
        ...(c.Labels[labelKeys.pool] ? { pool: c.Labels[labelKeys.pool] } : {}),
        status: c.State === "running" ? "running" : "stopped",
        ...(c.Labels[roleLabel] === "workspace"
          ? {
              volume: ownVolume(c.Mounts, c.Labels[labelKeys.workspace] ?? ""),
            }
          : {}),
      }));
      for (const v of volumes) {
        const labels = v.Labels ?? {};
        owned.push({
          kind: "volume",
          id: v.Name,
          workspaceId: labels[labelKeys.workspace] ?? "",
          role: "volume",
          ...(labels[labelKeys.pool] ? { pool: labels[labelKeys.pool] } : {}),
        });
      }
      return owned;
    },

    async discard(object) {
      if (object.kind === "container") await removeContainer(object.id);
      else await removeVolume(object.id);
    },

    async egressProxy(workspaceId) {
      if (!egress || !("proxyContainer" in egress)) return undefined;
      const network = await egress.find(workspaceId);
      if (!network) return undefined;
      const proxy = {
        id: workspaceId,
        containerId: (egress as HostSideEgressNetworks).proxyContainer(workspaceId),
        volume: "",
      };
      // The engine's host as this machine reaches it: the address (or name) of a TLS endpoint; this machine for a socket.
      const endpoint = (docker as { modem?: { host?: string } }).modem?.host;
      const hostAddresses = endpoint ? [endpoint] : machineAddressList();
      return { network, hostAddresses, exec: (req) => driver.exec(proxy, req) };
    },
  };
  return driver;
}
