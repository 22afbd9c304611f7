// What the domain needs from a workspace backend; every implementation passes driver.contract.ts.
import { type AppError, invalidField } from "../kernel/errors.ts";
import { type Text, text } from "../kernel/messages.ts";

/** What a workspace is made from. */
export interface WorkspaceSpec {
  /** Azusa's workspace id; used in object names and labels, so letters, digits, `_`, `.` and `-` only. */
  id: string;
  tenantId: string;
  packageId: string;
  image: string;
  /**
   * The user every process runs as: a name from the image's /etc/passwd (`azusa`), a uid (`1000`),
   * or either with a group (`azusa:azusa`, `1000:1000`). Anything that resolves to uid 0 is refused.
   * Without a group, the user's group from /etc/passwd is used, or the uid when the image has no entry.
   */
  user: string;
  env: Record<string, string>;
  /**
   * `diskMiB`: the size of the persistent volume, file system included; writing past it fails with
   * ENOSPC inside the workspace. Without it the volume takes what the engine's disk has.
   */
  resources: { cpus: number; memoryMiB: number; pids: number; diskMiB?: number };
  readOnlyRootFs: boolean;
  /** Absolute mount point of the persistent volume, e.g. /workspace; writable by `user` from the first start. */
  workspaceFolder: string;
  /**
   * True when the template names destinations: the workspace gets a network of its own on which it
   * reaches nothing but Azusa's egress proxy (told by HTTP_PROXY and friends). Otherwise no network.
   */
  egress?: boolean;
  /** Set for a warm-pool workspace made ahead of any assignment: the template it was made from. */
  pool?: string;
  /**
   * Where the package's object store is mounted, read-only (`STORE_FOLDER`): one per package and engine,
   * shared by the package's workspaces, filled by `fillStore`. None for a warm-pool workspace (no package yet).
   */
  store?: string;
}

/** Where a workspace sees its package's read-only object store (a git objects folder). */
export const STORE_FOLDER = "/opt/azusa/objects";

/** Enough to find a workspace's objects again. */
export interface WorkspaceRef {
  id: string;
  containerId: string;
  volume: string;
}

export type WorkspaceStatus = "running" | "stopped" | "missing";

/** One command to run inside a running workspace. */
export interface ExecRequest {
  cmd: string[];
  /** With a tty, output arrives raw on `stdout` and `stderr` is null. */
  tty: boolean;
  env?: Record<string, string>;
  /** Initial terminal size; only meaningful with a tty. */
  cols?: number;
  rows?: number;
  /** Another non-root user than the workspace's; uid 0 is refused like in WorkspaceSpec. */
  user?: string;
  workingDir?: string;
}

/** A running command. */
export interface ExecSession {
  /**
   * Ending it closes the command's standard input; with a tty it does nothing, as over SSH with a
   * pty: the user types ^D or exit, and output keeps flowing until the command ends.
   */
  stdin: NodeJS.WritableStream;
  stdout: NodeJS.ReadableStream;
  /** Null with a tty: the terminal carries both streams. */
  stderr: NodeJS.ReadableStream | null;
  /** Resizes the terminal; does nothing once the command has ended. */
  resize(cols: number, rows: number): Promise<void>;
  /**
   * Settles once all output has been handed to `stdout`/`stderr` (readers may still be consuming it)
   * and the exit status is known; it waits for a reader that stops reading. A bridge (SSH channel,
   * browser socket) pipes output with `{ end: false }` and closes only after both this and the end
   * of `stdout`, or the status is lost. `code` is null when the backend could not learn it; `signal`
   * is null when the backend does not report signals (Docker reports a killed process as 128 + n).
   */
  exit: Promise<{ code: number | null; signal: string | null }>;
  /**
   * Sends `name` to the command's process (not its children); absent when the backend cannot signal
   * at all. Resolves with why it was not delivered (remote engine, command gone); never throws.
   */
  signal?(name: ExecSignal): Promise<SignalOutcome>;
}

/** Signals a user may send to a command (RFC 4254 names, without "SIG"): the ones a terminal user means. */
export const execSignals = ["HUP", "INT", "QUIT", "KILL", "USR1", "USR2", "ALRM", "TERM"] as const;
export type ExecSignal = (typeof execSignals)[number];
export type SignalOutcome = { delivered: true } | { delivered: false; reason: string };

/** `name` as an allowed signal, or null; accepts "TERM" and "SIGTERM". */
export function execSignal(name: string): ExecSignal | null {
  const bare = name.toUpperCase().replace(/^SIG/, "");
  return (execSignals as readonly string[]).includes(bare) ? (bare as ExecSignal) : null;
}

/** A workspace's egress proxy container on its host, as Azusa drives it. */
export interface HostSideProxy {
  network: { name: string; gateway: string; subnet: string };
  /** The addresses (or names) of the host the engine runs on, as this machine knows them: never dialled there. */
  hostAddresses: string[];
  exec(req: ExecRequest): Promise<ExecSession>;
}

/** A backend that keeps workspaces: Docker now, Swarm later. */
export interface WorkspaceDriver {
  /** Makes the container and its named volume, labelled; does not start it. */
  create(spec: WorkspaceSpec): Promise<WorkspaceRef>;
  /**
   * Where the workspace's egress proxy has its end on the host's side, when the host is not this machine's
   * default engine: its network (`gateway` being the proxy container's address) and commands run in that
   * container. Undefined for a workspace without egress, or one whose proxy listens on this machine.
   */
  egressProxy?(workspaceId: string): Promise<HostSideProxy | undefined>;
  /** Idempotent: starting a running workspace resolves. */
  start(ref: WorkspaceRef): Promise<void>;
  /** Idempotent: stopping a stopped or missing workspace resolves. */
  stop(ref: WorkspaceRef): Promise<void>;
  status(ref: WorkspaceRef): Promise<WorkspaceStatus>;
  /** Runs a command in a running workspace; INVALID_STATE when it is stopped. */
  exec(ref: WorkspaceRef, req: ExecRequest): Promise<ExecSession>;
  /**
   * Adds files (a tar stream made when it is read, paths relative to the store's root) to the object store mounted read-only in
   * `ref` (its package's, on its engine), through a container that is never started; the workspace cannot
   * write there itself. A file already there is replaced, never rewritten in place. With `unless` (a path
   * relative to the store's root), nothing is written when that file is already there. Resolves whether it
   * wrote. Works on a workspace created but not yet started. INVALID_STATE when the workspace has no store.
   */
  fillStore(ref: WorkspaceRef, files: () => NodeJS.ReadableStream, opts?: { unless?: string }): Promise<boolean>;
  /**
   * The files of a stopped workspace's volume as a tar stream read from the engine while it is read (paths
   * relative to the workspace folder; owners, modes, links and odd names kept); INVALID_STATE when it is running
   * or has no volume. What `importFiles` takes, on this engine or another.
   */
  exportFiles(ref: WorkspaceRef): Promise<NodeJS.ReadableStream>;
  /**
   * Writes a tar stream `exportFiles` made into the volume of a workspace created and not started (its own
   * container, which writes nothing itself), owners and modes as the stream has them; resolves once all is written.
   */
  importFiles(ref: WorkspaceRef, files: NodeJS.ReadableStream): Promise<void>;
  /**
   * Removes the container and the volume, and the package's store once no other workspace mounts it;
   * idempotent: an already-gone workspace resolves.
   */
  destroy(ref: WorkspaceRef): Promise<void>;
  /** This instance's workspaces only, optionally narrowed to those carrying every label given. */
  list(labels?: Record<string, string>): Promise<ListedWorkspace[]>;
  /**
   * Every object this instance owns on the backend: workspaces, helpers a crash left behind, volumes;
   * what reconcile compares with the database. Other instances' objects never appear.
   */
  inventory(): Promise<OwnedObject[]>;
  /** Removes one object `inventory` returned; idempotent. */
  discard(object: OwnedObject): Promise<void>;
}

/** One container or volume of this instance, as reconcile sees it. */
export interface OwnedObject {
  kind: "container" | "volume";
  /** Container id or volume name. */
  id: string;
  /** The workspace id its labels carry (a pool id for a warm-pool workspace). */
  workspaceId: string;
  /** `workspace`, or a helper's role (`probe`, `prepare`); volumes have `volume`. */
  role: string;
  /** The template of a warm-pool object. */
  pool?: string;
  /** For a workspace container: its state and the volume mounted at the workspace folder. */
  status?: WorkspaceStatus;
  volume?: string;
}

export type ListedWorkspace = WorkspaceRef & { labels: Record<string, string>; status: WorkspaceStatus };

/** The labels on every object a driver makes. */
export const labelKeys = {
  managed: "io.azusa.managed",
  workspace: "io.azusa.workspace",
  tenant: "io.azusa.tenant",
  package: "io.azusa.package",
  /** Which Azusa made the object: many instances (parallel tests, other checkouts) share one engine. */
  instance: "io.azusa.instance",
  /** The template of a warm-pool workspace, made before any assignment claimed it. */
  pool: "io.azusa.pool",
} as const;

/** The labels a workspace's objects carry. */
export function workspaceLabels(
  spec: Pick<WorkspaceSpec, "id" | "tenantId" | "packageId" | "pool">,
  instance: string,
): Record<string, string> {
  return {
    [labelKeys.managed]: "true",
    [labelKeys.instance]: instance,
    [labelKeys.workspace]: spec.id,
    [labelKeys.tenant]: spec.tenantId,
    [labelKeys.package]: spec.packageId,
    ...(spec.pool ? { [labelKeys.pool]: spec.pool } : {}),
  };
}

const idPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;
const userPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/;

const invalid = (path: string, message: Text): AppError => invalidField(path, message);

/** Checks the parts of an environment map every backend passes to a process. */
export function checkEnv(env: Record<string, string>, path: string): void {
  for (const [name, value] of Object.entries(env)) {
    if (!envName.test(name)) throw invalid(`${path}.${name}`, text("engine.variableName"));
    if (value.includes("\0")) throw invalid(`${path}.${name}`, text("files.nul"));
  }
}

/** Checks a user string's shape and refuses the obvious spellings of root; backends resolve names themselves. */
export function checkUser(user: string, path: string): void {
  if (!userPattern.test(user)) throw invalid(path, text("engine.userForm"));
  const name = user.split(":")[0];
  if (name === "root" || (name !== undefined && /^0+$/.test(name))) throw invalid(path, text("engine.notRoot"));
}

/** Throws VALIDATION naming the first field of `spec` that no backend could honour. */
export function checkWorkspaceSpec(spec: WorkspaceSpec): void {
  if (!idPattern.test(spec.id)) throw invalid("id", text("engine.id"));
  for (const key of ["tenantId", "packageId", "image"] as const) {
    if (!spec[key] || /[\s\0]/.test(spec[key])) throw invalid(key, text("engine.noSpaces"));
  }
  checkUser(spec.user, "user");
  checkEnv(spec.env, "env");
  const { cpus, memoryMiB, pids } = spec.resources;
  if (!(cpus > 0 && cpus <= 256)) throw invalid("resources.cpus", text("engine.cpus"));
  if (!(Number.isInteger(memoryMiB) && memoryMiB >= 16)) throw invalid("resources.memoryMiB", text("engine.memory"));
  if (!(Number.isInteger(pids) && pids >= 8)) throw invalid("resources.pids", text("engine.pids"));
  const disk = spec.resources.diskMiB;
  if (disk !== undefined && !(Number.isInteger(disk) && disk >= 64)) {
    throw invalid("resources.diskMiB", text("engine.disk"));
  }
  const folder = spec.workspaceFolder;
  if (!folder.startsWith("/") || folder === "/" || folder.split("/").some((p) => p === "." || p === "..")) {
    throw invalid("workspaceFolder", text("engine.absoluteFolder"));
  }
  if (spec.store !== undefined && !(spec.store === STORE_FOLDER && !spec.pool && idPattern.test(spec.packageId))) {
    throw invalid("store", text("engine.storeFolder", { folder: STORE_FOLDER }));
  }
}

/**
 * `driver` for an engine on another machine, where no size-limited disk can be made for a volume: a spec's
 * `resources.diskMiB` is left out, and the volume takes what that engine's disk has.
 */
export function withoutDiskLimit(driver: WorkspaceDriver): WorkspaceDriver {
  return {
    ...driver,
    create(spec) {
      const { diskMiB: _ignored, ...resources } = spec.resources;
      return driver.create({ ...spec, resources });
    },
  };
}
