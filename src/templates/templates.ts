// Workspace templates: the subset of devcontainer.json that Azusa can honour without weakening a
// workspace's isolation, validated strictly so that every mistake is reported, none is ignored.
import { readdir, readFile } from "node:fs/promises";
import { BlockList, isIP } from "node:net";
import { hostname, networkInterfaces } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { isPrivateAddress } from "../provisioner/egress-address.ts";

/** A validated template: what the provisioner, the SSH gateway and the egress proxy enforce. */
export interface WorkspaceTemplate {
  /** The file name before ".devcontainer.json"; work packages refer to it. */
  name: string;
  /** Docker image reference, e.g. "azusa/workspace-base:bookworm". Never built, never pulled by a template. */
  image: string;
  /** User that sessions run as; default "azusa"; root is refused. */
  remoteUser: string;
  containerEnv: Record<string, string>;
  /** Ports an IDE may reach through Azusa's proxy; informational, never published on the host. */
  forwardPorts: number[];
  /** Argument vector run once after the container is created; a string becomes ["/bin/sh", "-c", string]. */
  postCreateCommand: string[] | null;
  /** What a Docker host needs to run the workspace; defaults to the workspace's own resources. */
  hostRequirements: { cpus: number; memoryMiB: number; storageGiB: number | null };
  azusa: {
    /**
     * Defaults 2 CPUs, 4096 MiB, 512 processes; `diskMiB`, the size of the workspace volume, defaults to
     * the setting AZUSA_WORKSPACE_DISK_MIB (10240).
     */
    resources: { cpus: number; memoryMiB: number; pids: number; diskMiB: number };
    /**
     * Whether the template states `diskMiB` itself: then its volume must be limited to that size, and a host that
     * cannot limit a volume (an engine over TLS) does not take its workspaces. The default size is kept where
     * it can be.
     */
    diskLimitRequired: boolean;
    /** Default true: the root file system is read-only and scratch space lives on tmpfs. */
    readOnlyRootFs: boolean;
    /** Destinations the egress proxy lets through; default none, i.e. no network at all. */
    network: { allow: Destination[] };
    /**
     * What may cross the SSH boundary besides an interactive terminal; all refused by default.
     * `fileTransfer`: SFTP, scp in both modes, rsync (`sftp: true` is read as the same); `git`: Git over
     * SSH from outside (clone, fetch, push of the workspace's repositories).
     */
    ssh: {
      fileTransfer: boolean;
      git: boolean;
      portForwarding: Destination[];
      agentForwarding: boolean;
      x11: boolean;
      /** Ports on the workspace's 127.0.0.1 that `ssh -R` may listen on; default none. */
      remoteForwarding: number[];
    };
    /** Default 60; between 5 and 1440. */
    idleTimeoutMinutes: number;
    /** Port of an IDE server (code-server, openvscode-server) inside the image; default null. */
    idePort: number | null;
    /**
     * What starts that IDE when nothing listens on `idePort` yet (run in the workspace folder as the
     * session user, in the background); a string becomes ["/bin/sh", "-c", string]. Null: the image starts it.
     */
    ideCommand: string[] | null;
    /** Where the repository is checked out; default "/workspace". */
    workspaceFolder: string;
    /**
     * Long-running services a session may leave running: process names as `ps -o comm` shows them (at most
     * 15 characters, e.g. "postgres"). Every other process a session started ends with it; default none.
     */
    services: string[];
    /**
     * Labels a workspace host must carry to take this template's workspaces (e.g. `{ "zone": "nagano-1" }`, a
     * client whose code must stay in one office or zone); default none: any host that fits otherwise.
     */
    hostLabels: { office?: string; zone?: string };
  };
}

/** A host (DNS name or IP literal, lower-cased) and port. */
export interface Destination {
  host: string;
  port: number;
  /**
   * On an egress allow-list entry only: the name may lead to a private address (10/8, 172.16/12, 192.168/16,
   * 100.64/10, fc00::/7), as a client's internal registry has. Absent: such an address is refused when dialled.
   */
  privateNetwork?: boolean;
}

/** One thing wrong with a template; `path` is dotted ("customizations.azusa.resources.pids"), "" for the whole file. */
export interface TemplateProblem {
  path: string;
  message: string;
}

/** The template, or every problem found in it. */
export type TemplateResult = { ok: true; template: WorkspaceTemplate } | { ok: false; problems: TemplateProblem[] };

/** Raised by `loadTemplates` when any file is bad; `problems` lists every problem of every bad file. */
export class TemplateError extends Error {
  constructor(
    readonly dir: string,
    readonly problems: (TemplateProblem & { file: string })[],
  ) {
    const files = [...new Set(problems.map((p) => p.file))];
    const lines = files.flatMap((file) => [
      `  ${file}:`,
      ...problems.filter((p) => p.file === file).map((p) => `    - ${p.path ? `${p.path}: ` : ""}${p.message}`),
    ]);
    super(`invalid workspace templates in ${dir}:\n${lines.join("\n")}`);
    this.name = "TemplateError";
  }
}

/** The directory of the templates shipped with Azusa (this folder). */
export const defaultTemplateDir: string = dirname(fileURLToPath(import.meta.url));

const suffix = ".devcontainer.json";

const isolation = "it could weaken the workspace's isolation";

/** devcontainer.json keys refused outright, with why where the reason is not obvious. */
const refusedKeys = new Map<string, string>([
  ["runArgs", isolation],
  ["privileged", isolation],
  ["mounts", isolation],
  ["capAdd", isolation],
  ["securityOpt", isolation],
  ["appPort", `${isolation} (ports are never published; list IDE ports in forwardPorts)`],
  ["workspaceMount", `${isolation} (Azusa mounts the workspace volume itself)`],
  ["workspaceFolder", `${isolation} (Azusa mounts the workspace; set customizations.azusa.workspaceFolder)`],
  ["dockerComposeFile", `${isolation} (compose files start containers outside Azusa's control)`],
  ["service", `${isolation} (compose files start containers outside Azusa's control)`],
  ["runServices", `${isolation} (compose files start containers outside Azusa's control)`],
  ["build", `${isolation} (templates name a prebuilt image; no image builds from templates)`],
  ["dockerFile", `${isolation} (templates name a prebuilt image; no image builds from templates)`],
  ["context", `${isolation} (templates name a prebuilt image; no image builds from templates)`],
  ["initializeCommand", `${isolation} (it runs on the Docker host)`],
  ["shutdownAction", `${isolation} (Azusa decides when a workspace stops)`],
  ["overrideCommand", `${isolation} (Azusa decides what the container runs)`],
  ["features", `${isolation} (features are pulled from registries)`],
  ["overrideFeatureInstallOrder", `${isolation} (features are pulled from registries)`],
]);

/**
 * devcontainer.json keys accepted and ignored: editor hints, lifecycle hooks Azusa does not run,
 * and `init` (harmless, but Azusa's driver decides PID 1 itself). `containerUser` is ignored too,
 * once checked not to be root.
 */
const ignoredKeys = new Set([
  "$schema",
  "name",
  "init",
  "containerUser",
  "remoteEnv",
  "userEnvProbe",
  "updateRemoteUserUID",
  "waitFor",
  "onCreateCommand",
  "updateContentCommand",
  "postStartCommand",
  "postAttachCommand",
  "portsAttributes",
  "otherPortsAttributes",
  "secrets",
]);

const port = z.int().min(1).max(65535);

// A user name or uid; root (by name or uid 0) would undo the container's unprivileged default.
const user = z
  .string()
  .regex(/^(?:[a-z_][a-z0-9_-]{0,31}|\d{1,10})$/, "must be a user name or a numeric uid")
  .refine((u) => u !== "root" && !/^0+$/.test(u), "must not be root: workspaces run as an unprivileged user");

// Docker's reference grammar: [registry[:port]/]path[:tag][@digest], lower-case path components.
const imageRef =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::\w[\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

const dnsLabel = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

/** Why `host` cannot be an allow-list entry, or undefined when it can: the proxy matches exact names and addresses. */
function hostProblem(host: string): string | undefined {
  if (host.includes("*")) return "wildcards are not allowed: name each host";
  if (host.includes("/")) return "address ranges (CIDR) are not allowed: name each address";
  if (isIP(host)) return undefined;
  if (/^[\d.]+$/.test(host)) return "is not a valid IP address";
  if (host.length <= 253 && host.split(".").every((label) => dnsLabel.test(label))) return undefined;
  return "must be a DNS name or an IP address";
}

const host = z
  .string()
  .superRefine((h, ctx) => {
    const why = hostProblem(h);
    if (why) ctx.addIssue({ code: "custom", message: why });
  })
  .transform((h) => h.toLowerCase());

// Operators write "registry.example.com:443" more often than an object; both mean the same.
const destinationOf = <T extends z.ZodType>(entry: T) =>
  z.preprocess((value, ctx) => {
    if (typeof value !== "string") return value;
    const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
    if (m) return { host: m[1] ?? m[2], port: Number(m[3]) };
    ctx.issues.push({
      code: "custom",
      message: 'must be "host:port" ("[address]:port" for IPv6) or { "host": …, "port": … }',
      input: value,
    });
    return value;
  }, entry);

const destination = destinationOf(z.strictObject({ host, port }));
// An allow-list entry may also let its name lead to a private address, in its object form only.
const allowEntry = destinationOf(z.strictObject({ host, port, privateNetwork: z.boolean().optional() }));

const folder = z
  .string()
  .regex(/^(?:\/[\w.-]+)+$/, 'must be an absolute path such as "/workspace"')
  .refine((p) => !p.split("/").some((s) => s === "." || s === ".."), 'must not contain "." or ".."');

/** A workspace host's label as operators give it (office, zone). */
const hostLabel = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_.:-]+$/, "letters, digits, '_', '.', ':' and '-' only");

const azusa = z
  .strictObject({
    resources: z
      .strictObject({
        cpus: z.number().min(0.1).max(16).default(2),
        memoryMiB: z.int().min(64).default(4096),
        pids: z.int().min(64).max(4096).default(512),
        diskMiB: z
          .int()
          .min(64)
          .max(16 * 1024 * 1024)
          .optional(),
      })
      .prefault({}),
    readOnlyRootFs: z.boolean().default(true),
    network: z.strictObject({ allow: z.array(allowEntry).default([]) }).prefault({}),
    ssh: z
      .strictObject({
        fileTransfer: z.boolean().default(false),
        // the older spelling of fileTransfer, which never covered scp and rsync: read as the same switch
        sftp: z.boolean().default(false),
        git: z.boolean().default(false),
        portForwarding: z.array(destination).default([]),
        agentForwarding: z.boolean().default(false),
        x11: z.boolean().default(false),
        remoteForwarding: z.array(port).default([]),
      })
      .prefault({}),
    idleTimeoutMinutes: z.int().min(5).max(1440).default(60),
    idePort: port.nullable().default(null),
    ideCommand: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
        error: "must be a command string or a non-empty array of arguments",
      })
      .nullable()
      .default(null)
      .transform((c) => (typeof c === "string" ? ["/bin/sh", "-c", c] : c)),
    workspaceFolder: folder.default("/workspace"),
    services: z
      .array(z.string().regex(/^[^\s/]{1,15}$/, 'must be a process name as "ps -o comm" shows it, such as "postgres"'))
      .default([]),
    hostLabels: z.strictObject({ office: hostLabel.optional(), zone: hostLabel.optional() }).default({}),
  })
  .prefault({});

const sizeUnits: Record<string, number> = { "": 1, kb: 2 ** 10, mb: 2 ** 20, gb: 2 ** 30, tb: 2 ** 40 };

// devcontainer sizes are "8gb", "512mb" or plain bytes.
const size = z
  .string()
  .regex(/^\d+(?:[kmgt]b)?$/i, 'must be a size such as "8gb" or "512mb"')
  .transform((s) => {
    const [, digits = "0", unit = ""] = /^(\d+)([a-z]*)$/i.exec(s) ?? [];
    return Number(digits) * (sizeUnits[unit.toLowerCase()] ?? 1);
  });

const devcontainer = z.object({
  image: z.string().regex(imageRef, 'must be a Docker image reference such as "busybox:latest"'),
  remoteUser: user.default("azusa"),
  containerUser: user.optional(),
  containerEnv: z
    .record(
      z
        .string()
        .regex(
          /^[A-Za-z_][A-Za-z0-9_]*$/,
          "is not a valid environment variable name (letters, digits and _, not starting with a digit)",
        ),
      z.string(),
    )
    .default({}),
  forwardPorts: z.array(port).default([]),
  postCreateCommand: z
    .union([z.string().min(1), z.array(z.string()).min(1)], {
      error: "must be a command string or a non-empty array of arguments",
    })
    .optional(),
  hostRequirements: z
    .strictObject({
      cpus: z.int().min(1).optional(),
      memory: size.optional(),
      storage: size.optional(),
      gpu: z.never({ error: "GPUs are not offered: workspaces get no host devices" }).optional(),
    })
    .optional(),
  customizations: z.strictObject({ azusa, vscode: z.unknown().optional() }).prefault({}),
});

const articles: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "an object",
  array: "an array",
  record: "an object",
};

/** zod's default messages, said the way an operator reads them next to a dotted path. */
function plainMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type":
      return issue.input === undefined ? "is required" : `must be ${articles[issue.expected] ?? issue.expected}`;
    case "too_small":
      if (issue.origin === "array") return `must have at least ${issue.minimum} item(s)`;
      if (issue.origin === "string") return "must not be empty";
      return `must be at least ${issue.minimum}`;
    case "too_big":
      return `must be at most ${issue.maximum}`;
    case "invalid_key":
      return issue.issues[0]?.message;
    default:
      return undefined;
  }
}

function problemsOf(issue: z.core.$ZodIssue): TemplateProblem[] {
  const at = (path: PropertyKey[]) => path.map(String).join(".");
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({ path: at([...issue.path, key]), message: `unknown key "${key}"` }));
  }
  return [{ path: at(issue.path), message: issue.message }];
}

/** Index of the closing quote of the string that opens at `i`. */
function endOfString(chars: string[], i: number): number {
  for (i++; i < chars.length && chars[i] !== '"'; i++) if (chars[i] === "\\") i++;
  return i;
}

/**
 * Turns devcontainer.json's JSON-with-comments into JSON: comments and trailing commas become
 * spaces, so that every offset JSON.parse reports still points into the operator's file.
 */
function stripJsonc(text: string): string {
  const chars = text.split("");
  for (let i = 0; i < chars.length; i++) {
    if (chars[i] === '"') i = endOfString(chars, i);
    else if (chars[i] === "/" && chars[i + 1] === "/") {
      for (; i < chars.length && chars[i] !== "\n"; i++) chars[i] = " ";
    } else if (chars[i] === "/" && chars[i + 1] === "*") {
      const start = i;
      let end = i + 2;
      while (end < chars.length && !(chars[end] === "*" && chars[end + 1] === "/")) end++;
      if (end >= chars.length) throw new SyntaxError(`unterminated /* comment at ${lineColumn(text, start)}`);
      for (; i <= end + 1; i++) if (chars[i] !== "\n") chars[i] = " ";
      i--;
    }
  }
  for (let i = 0; i < chars.length; i++) {
    if (chars[i] === '"') i = endOfString(chars, i);
    else if (chars[i] === ",") {
      let next = i + 1;
      while (next < chars.length && /\s/.test(chars[next] ?? "")) next++;
      if (chars[next] === "}" || chars[next] === "]") chars[i] = " ";
    }
  }
  return chars.join("");
}

function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split("\n");
  return `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

function parseJsonc(file: string): { ok: true; value: unknown } | { ok: false; message: string } {
  const text = file.replace(/^\uFEFF/, ""); // editors on Windows save a BOM that JSON.parse rejects
  try {
    return { ok: true, value: JSON.parse(stripJsonc(text)) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const position = /at position (\d+)/.exec(message)?.[1];
    const where = position === undefined ? "" : ` (${lineColumn(text, Number(position))})`;
    return { ok: false, message: `not valid JSON with comments: ${message}${where}` };
  }
}

/** What a template is checked against beyond its own text: Azusa's settings and the machine it runs on. */
export interface TemplateDefaults {
  /** Size of a workspace volume whose template names none (AZUSA_WORKSPACE_DISK_MIB). */
  diskMiB: number;
  /** This machine's own addresses and names, which no allow-list may name; default: read from the machine. */
  ownHosts?: string[];
}

const builtInDefaults: TemplateDefaults = { diskMiB: 10240 };

/** This machine's addresses (every interface) and its host name, lower-cased. */
export function machineHosts(): string[] {
  const addresses = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address));
  return [...new Set([...addresses, hostname()].map((h) => h.toLowerCase().replace(/%.*$/, "")))];
}

/** Addresses that reach this machine, or link-local and metadata services, whatever the host's interfaces. */
const neverAllowed = new BlockList();
neverAllowed.addSubnet("0.0.0.0", 8, "ipv4"); // "this network": 0.0.0.0 reaches the machine's own services
neverAllowed.addSubnet("127.0.0.0", 8, "ipv4");
neverAllowed.addSubnet("169.254.0.0", 16, "ipv4"); // link-local, with cloud metadata at 169.254.169.254
neverAllowed.addAddress("::", "ipv6");
neverAllowed.addAddress("::1", "ipv6");
neverAllowed.addSubnet("fe80::", 10, "ipv6");

/** Why an allow-list may not name `host` (a valid name or address), or undefined when it may. */
function reachesMachine(host: string, own: Set<string>): string | undefined {
  const family = isIP(host);
  if (family !== 0) {
    const literal = host.toLowerCase();
    if (neverAllowed.check(literal, family === 4 ? "ipv4" : "ipv6")) {
      return "names this machine or a link-local or metadata address, which a workspace may never reach";
    }
    if (own.has(literal)) return "is an address of this machine, which a workspace may never reach";
    return undefined;
  }
  const name = host.toLowerCase().replace(/\.$/, "");
  if (name === "localhost" || name.endsWith(".localhost")) {
    return "names this machine (localhost), which a workspace may never reach";
  }
  if (own.has(name)) return "is this machine's own name, which a workspace may never reach";
  return undefined;
}

/**
 * Validates one template's text (JSON with comments and trailing commas, as devcontainer.json
 * allows). Returns the template with every default filled in, or every problem found.
 */
export function parseTemplate(
  name: string,
  text: string,
  defaults: TemplateDefaults = builtInDefaults,
): TemplateResult {
  const problems: TemplateProblem[] = [];
  // The name ends up in container names and labels, which allow only these characters.
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(name)) {
    problems.push({ path: "", message: `template name "${name}" must be letters, digits, ".", "_" or "-"` });
  }
  const json = parseJsonc(text);
  if (!json.ok) return { ok: false, problems: [...problems, { path: "", message: json.message }] };
  const raw = json.value;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return { ok: false, problems: [...problems, { path: "", message: "must be a JSON object" }] };
  }

  for (const key of Object.keys(raw)) {
    const refused = refusedKeys.get(key);
    if (refused) problems.push({ path: key, message: `"${key}" is not allowed: ${refused}` });
    else if (!Object.hasOwn(devcontainer.shape, key) && !ignoredKeys.has(key)) {
      problems.push({ path: key, message: `unknown key "${key}": not a devcontainer.json property Azusa accepts` });
    }
  }

  const parsed = devcontainer.safeParse(raw, { error: plainMessage });
  if (!parsed.success) problems.push(...parsed.error.issues.flatMap(problemsOf));
  if (!parsed.success || problems.length > 0) return { ok: false, problems };

  const t = parsed.data;
  if (t.customizations.azusa.ideCommand && t.customizations.azusa.idePort === null) {
    const path = "customizations.azusa.ideCommand";
    return {
      ok: false,
      problems: [{ path, message: "needs customizations.azusa.idePort: the port the IDE listens on" }],
    };
  }
  const own = new Set((defaults.ownHosts ?? machineHosts()).map((h) => h.toLowerCase()));
  const reaching = t.customizations.azusa.network.allow.flatMap((d, i) => {
    const why =
      reachesMachine(d.host, own) ??
      (isIP(d.host) && isPrivateAddress(d.host) && !d.privateNetwork
        ? 'is a private address: say "privateNetwork": true in its entry to allow it'
        : undefined);
    return why ? [{ path: `customizations.azusa.network.allow.${i}`, message: `"${d.host}" ${why}` }] : [];
  });
  if (reaching.length > 0) return { ok: false, problems: reaching };
  const { resources } = t.customizations.azusa;
  const { sftp, ...ssh } = t.customizations.azusa.ssh;
  const mib = 2 ** 20;
  const gib = 2 ** 30;
  return {
    ok: true,
    template: {
      name,
      image: t.image,
      remoteUser: t.remoteUser,
      containerEnv: t.containerEnv,
      forwardPorts: t.forwardPorts,
      postCreateCommand:
        typeof t.postCreateCommand === "string"
          ? ["/bin/sh", "-c", t.postCreateCommand]
          : (t.postCreateCommand ?? null),
      hostRequirements: {
        cpus: t.hostRequirements?.cpus ?? Math.ceil(resources.cpus),
        memoryMiB:
          t.hostRequirements?.memory === undefined ? resources.memoryMiB : Math.ceil(t.hostRequirements.memory / mib),
        storageGiB: t.hostRequirements?.storage === undefined ? null : Math.ceil(t.hostRequirements.storage / gib),
      },
      azusa: {
        ...t.customizations.azusa,
        resources: { ...resources, diskMiB: resources.diskMiB ?? defaults.diskMiB },
        diskLimitRequired: resources.diskMiB !== undefined,
        ssh: { ...ssh, fileTransfer: ssh.fileTransfer || sftp },
      },
    },
  };
}

/**
 * Loads every `*.devcontainer.json` in `dir`, each named after its file. Throws a TemplateError
 * naming every problem of every bad file, so that an operator fixes them all in one go.
 */
export async function loadTemplates(
  dir: string,
  defaults: TemplateDefaults = builtInDefaults,
): Promise<Map<string, WorkspaceTemplate>> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(suffix)).sort();
  const templates = new Map<string, WorkspaceTemplate>();
  const problems: (TemplateProblem & { file: string })[] = [];
  const settings = { ...defaults, ownHosts: defaults.ownHosts ?? machineHosts() };
  for (const file of files) {
    const result = parseTemplate(file.slice(0, -suffix.length), await readFile(join(dir, file), "utf8"), settings);
    if (result.ok) templates.set(result.template.name, result.template);
    else problems.push(...result.problems.map((p) => ({ file, ...p })));
  }
  if (problems.length > 0) throw new TemplateError(dir, problems);
  return templates;
}

/**
 * The templates of `dir`, loaded at the first call and the same map after: every part of one process that
 * reads templates (egress proxies, warm pool, forge, workspaces) shares one catalogue.
 */
export function templateCatalog(
  dir: string,
  defaults: TemplateDefaults = builtInDefaults,
): () => Promise<Map<string, WorkspaceTemplate>> {
  let loaded: Promise<Map<string, WorkspaceTemplate>> | undefined;
  return () => {
    loaded ??= loadTemplates(dir, defaults);
    return loaded;
  };
}
