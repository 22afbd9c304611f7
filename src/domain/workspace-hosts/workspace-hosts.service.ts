// Workspace hosts: the Docker engines workspaces run on. Operators register them (a socket on this machine, or
// tcp:// with mutual TLS), label them (office, tenant, zone), state their capacity, drain them, mark them down
// and remove them once empty; each host's health, engine version, hardening and load are read live.
import { randomUUID } from "node:crypto";
import type Docker from "dockerode";
import type { Kysely } from "kysely";
import { type Sealer, sealContext } from "../../auth/sealed.ts";
import type { Database, WorkspaceHostTable } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import { fail, forbidden, invalidField, notFound } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";
import { createEngineClient, type EngineEndpoint } from "../../provisioner/docker-engine.ts";
import type { WorkspaceDriver } from "../../provisioner/driver.ts";
import { checkHardening, type HardeningReport } from "../../provisioner/hardening.ts";
import type { AuditService } from "../audit/audit.service.ts";

/** The id of the host that DOCKER_HOST names, present from the first start. */
export const defaultHostId = "local";

export type HostState = "active" | "draining" | "down";

/** What placement matches a contract's or template's requirements against. */
export interface HostLabels {
  office: string | null;
  tenant: string | null;
  zone: string | null;
}

export interface HostCapacity {
  cpus: number;
  memoryMiB: number;
  diskMiB: number;
  /** How many workspaces may be placed on it (any state but destroyed). */
  workspaces: number;
}

export interface WorkspaceHost {
  id: string;
  name: string;
  /** `default`: the engine DOCKER_HOST names; `socket`: a unix socket on this machine; `tls`: tcp:// with mutual TLS. */
  kind: "default" | "socket" | "tls";
  /** `tcp://host:port`, the socket's path, or `DOCKER_HOST` for the default host. Never a key. */
  address: string;
  labels: HostLabels;
  capacity: HostCapacity;
  /**
   * An engine over TLS cannot limit a volume's size: true when an operator lets it take workspaces of the default
   * size all the same (their volumes take what its disk has). Hosts that limit volumes ignore it.
   */
  unlimitedVolumes: boolean;
  state: HostState;
  stateReason: string;
  /** Workspaces placed on it that are not destroyed. */
  workspaces: number;
  createdAt: string;
  updatedAt: string;
}

/** What the engine said when asked just now. */
export interface HostHealth {
  reachable: boolean;
  /** Why it did not answer. */
  error: string | null;
  engineVersion: string | null;
  /** Containers of this Azusa running on it. */
  running: number | null;
  /** Placed workspaces over the capacity's workspaces. */
  load: number;
  hardening: HardeningReport | null;
  checkedAt: string;
}

export type WorkspaceHostWithHealth = WorkspaceHost & { health: HostHealth };

export type EndpointInput =
  | { kind: "socket"; path: string }
  | { kind: "tls"; url: string; ca: string; cert: string; key: string };

export interface HostInput {
  name: string;
  endpoint: EndpointInput;
  labels?: Partial<HostLabels>;
  capacity: HostCapacity;
  unlimitedVolumes?: boolean;
}

export type HostChange = Partial<{
  name: string;
  labels: Partial<HostLabels>;
  capacity: HostCapacity;
  unlimitedVolumes: boolean;
}>;

/** What a workspace asks of the host it is placed on. */
export interface PlacementNeeds {
  tenantId: string;
  /** A `restricted` contract's workspace runs only on a host labelled for its tenant. */
  restricted: boolean;
  /** Labels the template asks a host to carry (`customizations.azusa.hostLabels`); none by default. */
  labels?: { office?: string; zone?: string };
  /** Labels the workspace's contract asks a host to carry, besides the template's; none by default. */
  contractLabels?: { office?: string; zone?: string };
  /**
   * The template states its volume's size: a host that cannot limit a volume (over TLS) does not fit. Without it
   * the default size applies, and such a host fits only when an operator let it take unlimited volumes.
   */
  diskLimit?: boolean;
}

/** Why the workspaces on a host cannot be reached now: it is marked down, or its engine does not answer. */
export interface HostUnavailable {
  hostId: string;
  hostName: string;
  why: "down" | "unreachable";
  /** The operator's reason for marking it down, or the engine's error. */
  detail: string;
}

/** How long an engine's answer to a ping stands for the workspaces shown on it. */
const answerKeptMs = 10_000;

/** The chosen host, or why none could take the workspace now. */
export type Placement = { hostId: string } | { pending: string };

const toHost = (r: WorkspaceHostTable, workspaces: number): WorkspaceHost => ({
  id: r.id,
  name: r.name,
  kind: r.kind as WorkspaceHost["kind"],
  address:
    r.kind === "tls" ? `tcp://${r.address}:${r.port}` : r.kind === "socket" ? (r.socket_path ?? "") : "DOCKER_HOST",
  labels: { office: r.office, tenant: r.tenant_id, zone: r.zone },
  capacity: { cpus: r.cpus, memoryMiB: r.memory_mib, diskMiB: r.disk_mib, workspaces: r.max_workspaces },
  unlimitedVolumes: Number(r.unlimited_volumes ?? 0) === 1,
  state: r.state as HostState,
  stateReason: r.state_reason,
  workspaces,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const pemBlock = (label: string) => new RegExp(`-----BEGIN ${label}-----[\\s\\S]+?-----END ${label}-----`);

/** Checks a tls endpoint's parts and splits its URL; a problem names the field. */
function parseTls(input: Extract<EndpointInput, { kind: "tls" }>): { host: string; port: number } {
  const match = /^tcp:\/\/(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(input.url);
  const port = Number(match?.[2]);
  if (!match || !(port > 0 && port < 65536)) throw invalidField("endpoint.url", text("hosts.url"));
  if (!pemBlock("CERTIFICATE").test(input.ca)) throw invalidField("endpoint.ca", text("hosts.certificate"));
  if (!pemBlock("CERTIFICATE").test(input.cert)) throw invalidField("endpoint.cert", text("hosts.certificate"));
  if (!pemBlock("(?:EC |RSA )?PRIVATE KEY").test(input.key)) throw invalidField("endpoint.key", text("hosts.key"));
  return { host: (match[1] ?? "").replace(/^\[|\]$/g, ""), port };
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Resolves with `work`, or rejects after `ms` with a message saying so. */
async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function createWorkspaceHostService({
  db,
  audit,
  sealer,
  instance,
  defaultEngine,
  defaultDriver,
  makeDriver,
  probeTimeoutMs = 3000,
  exclusive = (_name, work) => work(),
  now = () => new Date(),
}: {
  db: Kysely<Database>;
  audit: AuditService;
  sealer: Sealer;
  /** This Azusa's instance label: the hardening check and the running count look at its containers only. */
  instance: string;
  /** The engine DOCKER_HOST names: the host `local`. */
  defaultEngine: Docker;
  /** The driver of the host `local` (with its egress networks and disks). */
  defaultDriver: WorkspaceDriver;
  /** The driver of a registered host's engine. */
  makeDriver: (docker: Docker, kind: "socket" | "tls", hostId: string) => WorkspaceDriver;
  /** How long a health probe waits for an engine; default 3000. */
  probeTimeoutMs?: number;
  /** Runs work while no other process on the database runs work of the same name (`Db.exclusive`). */
  exclusive?: <T>(name: string, work: () => Promise<T>) => Promise<T>;
  now?: () => Date;
}) {
  /** Clients and drivers per host, made again when the host's row changes. */
  const clients = new Map<string, { stamp: string; docker: Docker; driver: WorkspaceDriver }>();
  /** Each engine's last answer to a ping (null: it answered), for showing its workspaces unavailable. */
  const answers = new Map<string, { at: number; error: string | null }>();
  /**
   * Placements run one at a time here, and across processes under one database lock, so that workspaces placed
   * at once, through any process, spread by the counts the earlier ones left.
   */
  let placing: Promise<unknown> = Promise.resolve();
  const changed: (() => void)[] = [];
  const announce = () => {
    for (const listener of changed) listener();
  };

  function requireOperator(actor: Actor): void {
    if (actor.kind === "system") return;
    if (actor.role !== "operator") throw forbidden(text("hosts.operatorsOnly"));
  }

  async function placedCounts(): Promise<Map<string, number>> {
    const rows = await db
      .selectFrom("workspace")
      .select((eb) => ["host_id", eb.fn.countAll<number>().as("n")])
      .where("state", "<>", "destroyed")
      .groupBy("host_id")
      .execute();
    const counts = new Map<string, number>();
    for (const r of rows) {
      const host = r.host_id ?? defaultHostId;
      counts.set(host, (counts.get(host) ?? 0) + Number(r.n));
    }
    return counts;
  }

  async function row(id: string): Promise<WorkspaceHostTable> {
    const found = await db.selectFrom("workspace_host").selectAll().where("id", "=", id).executeTakeFirst();
    if (!found) throw notFound("workspace host");
    return found;
  }

  function endpointOf(r: WorkspaceHostTable): EngineEndpoint | null {
    if (r.kind === "socket") return { kind: "socket", path: r.socket_path ?? "" };
    if (r.kind !== "tls") return null;
    return {
      kind: "tls",
      host: r.address ?? "",
      port: r.port ?? 0,
      ca: r.ca ?? "",
      cert: r.cert ?? "",
      key: sealer.open(r.key_sealed ?? "", sealContext.workspaceHostKey(r.id)),
    };
  }

  /** The client and driver of a host's engine, kept while its row is unchanged. */
  function engineOf(r: WorkspaceHostTable): { docker: Docker; driver: WorkspaceDriver } {
    const kept = clients.get(r.id);
    if (kept?.stamp === r.updated_at) return kept;
    const endpoint = endpointOf(r);
    const made = endpoint
      ? (() => {
          const docker = createEngineClient(endpoint);
          return { docker, driver: makeDriver(docker, endpoint.kind, r.id) };
        })()
      : { docker: defaultEngine, driver: defaultDriver };
    clients.set(r.id, { stamp: r.updated_at, ...made });
    return made;
  }
  const clientOf = (r: WorkspaceHostTable) => engineOf(r).docker;

  /** Whether a host could take `needs`, or why not. */
  function unfit(r: WorkspaceHostTable, needs: PlacementNeeds, placed: number): string | null {
    if (r.state !== "active") return `${r.state}`;
    if (r.tenant_id !== null && r.tenant_id !== needs.tenantId) return "set aside for another tenant";
    if (needs.restricted && r.tenant_id !== needs.tenantId) return "not labelled for the tenant";
    if (needs.diskLimit && r.kind === "tls") return "cannot limit a volume's size there";
    if (r.kind === "tls" && Number(r.unlimited_volumes ?? 0) !== 1)
      return "cannot limit a volume's size there, and is not allowed unlimited volumes";
    for (const [label, value] of Object.entries(needs.labels ?? {}))
      if (value !== undefined && r[label as "office" | "zone"] !== value) return `not labelled ${label}=${value}`;
    for (const [label, value] of Object.entries(needs.contractLabels ?? {}))
      if (value !== undefined && r[label as "office" | "zone"] !== value)
        return `not labelled ${label}=${value}, as the contract asks`;
    if (placed >= r.max_workspaces) return "full";
    return null;
  }

  /** Chooses the least loaded host that fits `needs` and answers now, and records it; or says why none fits. */
  async function choose(needs: PlacementNeeds, record: (hostId: string) => Promise<void>): Promise<Placement> {
    const rows = await db.selectFrom("workspace_host").selectAll().orderBy("name").execute();
    const counts = await placedCounts();
    const refusals: string[] = [];
    const fitting = rows
      .map((r) => ({ r, placed: counts.get(r.id) ?? 0 }))
      .filter(({ r, placed }) => {
        const why = unfit(r, needs, placed);
        if (why) refusals.push(`${r.name}: ${why}`);
        return why === null;
      })
      .sort((a, b) => a.placed / a.r.max_workspaces - b.placed / b.r.max_workspaces || a.placed - b.placed);
    for (const { r } of fitting) {
      try {
        await within(probeTimeoutMs, clientOf(r).ping());
      } catch (err) {
        refusals.push(`${r.name}: does not answer (${message(err)})`);
        continue;
      }
      await record(r.id);
      return { hostId: r.id };
    }
    const what = needs.restricted ? "labelled for the tenant of this restricted contract" : "that fits";
    return { pending: `waiting for a workspace host ${what} (${refusals.join("; ") || "none registered"})` };
  }

  async function health(r: WorkspaceHostTable, placed: number): Promise<HostHealth> {
    const checkedAt = now().toISOString();
    const load = r.max_workspaces > 0 ? placed / r.max_workspaces : 0;
    const docker = clientOf(r);
    try {
      const version = await within(probeTimeoutMs, docker.version());
      const [hardening, running] = await within(
        probeTimeoutMs * 3,
        Promise.all([
          checkHardening(docker, instance),
          docker.listContainers({ filters: { label: [`io.azusa.instance=${instance}`], status: ["running"] } }),
        ]),
      );
      return {
        reachable: true,
        error: null,
        engineVersion: version.Version,
        running: running.length,
        load,
        hardening,
        checkedAt,
      };
    } catch (err) {
      return {
        reachable: false,
        error: message(err),
        engineVersion: null,
        running: null,
        load,
        hardening: null,
        checkedAt,
      };
    }
  }

  async function withHealth(r: WorkspaceHostTable, counts: Map<string, number>): Promise<WorkspaceHostWithHealth> {
    const placed = counts.get(r.id) ?? 0;
    return { ...toHost(r, placed), health: await health(r, placed) };
  }

  async function nameFree(name: string, except = ""): Promise<void> {
    const other = await db
      .selectFrom("workspace_host")
      .select("id")
      .where("name", "=", name)
      .where("id", "<>", except)
      .executeTakeFirst();
    if (other) throw fail("CONFLICT", text("hosts.nameTaken", { name }));
  }

  async function tenantExists(tenantId: string | null | undefined): Promise<void> {
    if (!tenantId) return;
    const t = await db.selectFrom("tenant").select("id").where("id", "=", tenantId).executeTakeFirst();
    if (!t) throw invalidField("labels.tenant", text("hosts.noTenant"));
  }

  async function setState(actor: Actor, id: string, state: HostState, reason: string, action: string) {
    requireOperator(actor);
    const r = await row(id);
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable("workspace_host")
        .set({ state, state_reason: reason, updated_at: now().toISOString() })
        .where("id", "=", id)
        .execute();
      await audit.record(actor, action, `workspace_host:${id}`, { name: r.name, from: r.state, reason }, { trx });
    });
    if (state === "active") announce();
    return get(actor, id);
  }

  async function get(actor: Actor, id: string): Promise<WorkspaceHostWithHealth> {
    requireOperator(actor);
    return withHealth(await row(id), await placedCounts());
  }

  return {
    get,

    /** Calls `listener` after a host is registered, changed or activated: pending workspaces may fit now. */
    onChange(listener: () => void): void {
      changed.push(listener);
    },

    /**
     * Chooses the least loaded host that fits `needs` and answers now, and hands it to `record` (which writes it
     * on the workspace) before the next placement begins, in this process or another on the database; or says why
     * none fits.
     */
    place(needs: PlacementNeeds, record: (hostId: string) => Promise<void>): Promise<Placement> {
      const run = placing.then(() => exclusive("workspace-placement", () => choose(needs, record)));
      placing = run.catch(() => undefined);
      return run;
    },

    /**
     * Of `hostIds`, the hosts whose workspaces cannot be reached now, with why: marked down, or not answering a
     * ping (an answer is kept for ten seconds, so that listing many workspaces asks each engine once).
     */
    async unavailable(hostIds: string[]): Promise<Map<string, HostUnavailable>> {
      const found = new Map<string, HostUnavailable>();
      const ids = [...new Set(hostIds)];
      if (ids.length === 0) return found;
      const rows = await db.selectFrom("workspace_host").selectAll().where("id", "in", ids).execute();
      await Promise.all(
        rows.map(async (r) => {
          if (r.state === "down") {
            found.set(r.id, { hostId: r.id, hostName: r.name, why: "down", detail: r.state_reason });
            return;
          }
          let answer = answers.get(r.id);
          if (!answer || Date.now() - answer.at > answerKeptMs) {
            const error = await within(probeTimeoutMs, clientOf(r).ping()).then(
              () => null,
              (err: unknown) => message(err),
            );
            answer = { at: Date.now(), error };
            answers.set(r.id, answer);
          }
          if (answer.error !== null)
            found.set(r.id, { hostId: r.id, hostName: r.name, why: "unreachable", detail: answer.error });
        }),
      );
      return found;
    },

    /**
     * Why the host `hostId` cannot take a workspace moved to it that asks `needs` (its state, its tenant or labels,
     * no room, its engine silent), or null when it can; VALIDATION naming `hostId` when there is no such host.
     */
    async refusal(hostId: string, needs: PlacementNeeds): Promise<string | null> {
      const r = await db.selectFrom("workspace_host").selectAll().where("id", "=", hostId).executeTakeFirst();
      if (!r) throw invalidField("hostId", text("hosts.noSuchHost"));
      const why = unfit(r, needs, (await placedCounts()).get(r.id) ?? 0);
      if (why) return `${r.name}: ${why}`;
      try {
        await within(probeTimeoutMs, clientOf(r).ping());
      } catch (err) {
        return `${r.name}: does not answer (${message(err)})`;
      }
      return null;
    },

    /** Why the engine of host `hostId` does not answer a ping now (asked now, within the probe's time), or null. */
    async silence(hostId: string): Promise<string | null> {
      try {
        await within(probeTimeoutMs, clientOf(await row(hostId)).ping());
        return null;
      } catch (err) {
        return message(err);
      }
    },

    /** Every host's id, name and state, without asking any engine: for choosing one. */
    async names(actor: Actor): Promise<{ id: string; name: string; state: HostState }[]> {
      requireOperator(actor);
      const rows = await db.selectFrom("workspace_host").select(["id", "name", "state"]).orderBy("name").execute();
      return rows.map((r) => ({ id: r.id, name: r.name, state: r.state as HostState }));
    },

    /** The driver of a host's engine; the default host's when `hostId` is null (a workspace made before hosts). */
    async driverOf(hostId: string | null): Promise<WorkspaceDriver> {
      if (hostId === null || hostId === defaultHostId) return defaultDriver;
      return engineOf(await row(hostId)).driver;
    },

    /**
     * The hosts a warm pool's workspace of a template asking for `needs` may wait on: every active host placement
     * could choose for such a template, whatever the tenant (a host set aside for one gets only its workspaces
     * placed, and so claiming), room aside (pooled workspaces are not placed ones).
     */
    async poolHosts(
      needs: Pick<PlacementNeeds, "labels" | "diskLimit">,
    ): Promise<{ id: string; driver: WorkspaceDriver }[]> {
      const rows = await db.selectFrom("workspace_host").selectAll().orderBy("name").execute();
      return rows
        .filter((r) => unfit(r, { ...needs, tenantId: r.tenant_id ?? "", restricted: false }, 0) === null)
        .map((r) => ({ id: r.id, driver: engineOf(r).driver }));
    },

    /** Every host with its driver, for reconcile, which passes over each host that answers. */
    async drivers(): Promise<{ id: string; name: string; driver: WorkspaceDriver }[]> {
      const rows = await db.selectFrom("workspace_host").selectAll().orderBy("name").execute();
      return rows.map((r) => ({ id: r.id, name: r.name, driver: engineOf(r).driver }));
    },

    /** Every host with its health, asked of every engine at once. */
    async list(actor: Actor): Promise<WorkspaceHostWithHealth[]> {
      requireOperator(actor);
      const rows = await db.selectFrom("workspace_host").selectAll().orderBy("created_at").orderBy("name").execute();
      const counts = await placedCounts();
      return Promise.all(rows.map((r) => withHealth(r, counts)));
    },

    /**
     * Registers a host after its engine has answered through the given endpoint (a typo, a wrong CA or a
     * certificate the engine refuses is said now, not at the first placement). The client key is stored sealed.
     */
    async register(actor: Actor, input: HostInput): Promise<WorkspaceHostWithHealth> {
      requireOperator(actor);
      await tenantExists(input.labels?.tenant);
      const id = randomUUID();
      const e = input.endpoint;
      let endpoint: EngineEndpoint;
      if (e.kind === "tls") {
        endpoint = { kind: "tls", ...parseTls(e), ca: e.ca, cert: e.cert, key: e.key };
      } else {
        if (!e.path.startsWith("/")) throw invalidField("endpoint.path", text("hosts.absolutePath"));
        endpoint = { kind: "socket", path: e.path };
      }
      await nameFree(input.name);
      try {
        await within(probeTimeoutMs, createEngineClient(endpoint).ping());
      } catch (err) {
        const address = endpoint.kind === "tls" ? `tcp://${endpoint.host}:${endpoint.port}` : endpoint.path;
        throw invalidField("endpoint", text("hosts.noAnswer", { address, message: message(err) }));
      }
      const at = now().toISOString();
      const r: WorkspaceHostTable = {
        id,
        name: input.name,
        kind: endpoint.kind,
        socket_path: endpoint.kind === "socket" ? endpoint.path : null,
        address: endpoint.kind === "tls" ? endpoint.host : null,
        port: endpoint.kind === "tls" ? endpoint.port : null,
        ca: endpoint.kind === "tls" ? endpoint.ca : null,
        cert: endpoint.kind === "tls" ? endpoint.cert : null,
        key_sealed: endpoint.kind === "tls" ? sealer.seal(endpoint.key, sealContext.workspaceHostKey(id)) : null,
        office: input.labels?.office ?? null,
        tenant_id: input.labels?.tenant ?? null,
        zone: input.labels?.zone ?? null,
        cpus: input.capacity.cpus,
        memory_mib: input.capacity.memoryMiB,
        disk_mib: input.capacity.diskMiB,
        max_workspaces: input.capacity.workspaces,
        unlimited_volumes: input.unlimitedVolumes ? 1 : 0,
        state: "active",
        state_reason: "registered",
        created_at: at,
        updated_at: at,
      };
      await db.transaction().execute(async (trx) => {
        await trx.insertInto("workspace_host").values(r).execute();
        const host = toHost(r, 0);
        await audit.record(
          actor,
          "workspace_host.registered",
          `workspace_host:${id}`,
          {
            name: host.name,
            address: host.address,
            labels: host.labels,
            capacity: host.capacity,
            unlimitedVolumes: host.unlimitedVolumes,
          },
          { trx },
        );
      });
      announce();
      return get(actor, id);
    },

    /** Changes a host's name, labels or capacity; its endpoint stays (register the engine again to move it). */
    async update(actor: Actor, id: string, change: HostChange): Promise<WorkspaceHostWithHealth> {
      requireOperator(actor);
      const r = await row(id);
      if (change.name !== undefined) await nameFree(change.name, id);
      await tenantExists(change.labels?.tenant);
      const labels = change.labels ?? {};
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable("workspace_host")
          .set({
            name: change.name ?? r.name,
            ...("office" in labels ? { office: labels.office ?? null } : {}),
            ...("tenant" in labels ? { tenant_id: labels.tenant ?? null } : {}),
            ...("zone" in labels ? { zone: labels.zone ?? null } : {}),
            ...(change.capacity
              ? {
                  cpus: change.capacity.cpus,
                  memory_mib: change.capacity.memoryMiB,
                  disk_mib: change.capacity.diskMiB,
                  max_workspaces: change.capacity.workspaces,
                }
              : {}),
            ...(change.unlimitedVolumes !== undefined ? { unlimited_volumes: change.unlimitedVolumes ? 1 : 0 } : {}),
            updated_at: now().toISOString(),
          })
          .where("id", "=", id)
          .execute();
        await audit.record(actor, "workspace_host.updated", `workspace_host:${id}`, { ...change }, { trx });
      });
      announce();
      return get(actor, id);
    },

    /** No new workspace is placed on a draining host; those there go on running. */
    drain: (actor: Actor, id: string, reason = "drained by an operator") =>
      setState(actor, id, "draining", reason, "workspace_host.drained"),

    /** A host marked down takes no new workspace, and its workspaces are shown unavailable with the reason. */
    markDown: (actor: Actor, id: string, reason = "marked down by an operator") =>
      setState(actor, id, "down", reason, "workspace_host.marked_down"),

    /** Takes new workspaces again. */
    activate: (actor: Actor, id: string, reason = "activated by an operator") =>
      setState(actor, id, "active", reason, "workspace_host.activated"),

    /** Removes a host that has no workspace left (destroyed ones aside); the default host stays. */
    async remove(actor: Actor, id: string): Promise<void> {
      requireOperator(actor);
      const r = await row(id);
      if (r.kind === "default") throw fail("CONFLICT", text("hosts.defaultStays"));
      await db.transaction().execute(async (trx) => {
        const left = await trx
          .selectFrom("workspace")
          .select((eb) => eb.fn.countAll<number>().as("n"))
          .where("host_id", "=", id)
          .where("state", "<>", "destroyed")
          .executeTakeFirstOrThrow();
        if (Number(left.n) > 0) {
          throw fail("CONFLICT", text("hosts.notEmpty", { n: Number(left.n), name: r.name }));
        }
        await trx.deleteFrom("workspace_host").where("id", "=", id).execute();
        await audit.record(actor, "workspace_host.removed", `workspace_host:${id}`, { name: r.name }, { trx });
      });
      clients.delete(id);
    },
  };
}

export type WorkspaceHostService = ReturnType<typeof createWorkspaceHostService>;
