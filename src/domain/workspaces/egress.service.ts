// Egress of workspaces whose template names destinations: one proxy per workspace on its gateway,
// the template's allow-list as its only policy, and every connection an audit event (written in batches).
import type { Kysely } from "kysely";
import type { Database } from "../../db/schema.ts";
import { system } from "../../kernel/actor.ts";
import { fail } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";
import type { Logger } from "../../logger.ts";
import { addressRefusal, machineAddresses } from "../../provisioner/egress-address.ts";
import type { EgressNetworks } from "../../provisioner/egress-network.ts";
import {
  type AddressGuard,
  createEgressProxyCore,
  type Dial,
  type EgressConnection,
  type EgressLookup,
  type EgressProxy,
  listenEgressProxy,
  type ProxyClient,
} from "../../provisioner/egress-proxy.ts";
import type { Destination, WorkspaceTemplate } from "../../templates/templates.ts";
import type { AuditService } from "../audit/audit.service.ts";

/** A workspace as egress needs to know it. */
export interface EgressWorkspace {
  id: string;
  tenantId: string;
  allow: readonly Destination[];
}

/**
 * A workspace's proxy end on its host's side, for a workspace on a host other than the default one: the proxy
 * container's address and the workspace's subnet there, how destinations are reached from there, and a listener
 * there handing each of the workspace's connections over (`listen` resolves once it listens, with its stop).
 */
export interface HostSideEnd {
  address: string;
  subnet: string;
  dial: Dial;
  listen(port: number, accept: (client: ProxyClient, source: string) => void): Promise<() => Promise<void>>;
}

/** Options of the egress service. */
export interface EgressServiceOptions {
  db: Kysely<Database>;
  audit: AuditService;
  networks: EgressNetworks;
  logger: Logger;
  /** The loaded templates, to find the allow-list of workspaces already there at start-up. */
  templates: () => Promise<Map<string, WorkspaceTemplate>>;
  /** Most events written in one transaction; default 200. */
  batchSize?: number;
  /** Attempts at writing a batch before its events go to the error log instead; default 5. */
  attempts?: number;
  /** The workspace's proxy end on its host's side, or undefined when its proxy listens on this machine. */
  hostSide?: (workspaceId: string) => Promise<HostSideEnd | undefined>;
  /** How names are resolved on this machine; default: the system's resolver. */
  lookup?: EgressLookup;
  /**
   * Which addresses are never dialled from this machine, given whether the entry allows private ones; default:
   * `addressRefusal` (the workspace networks, this machine's own addresses, loopback, link-local, unspecified,
   * multicast, and private ranges unless allowed).
   */
  guard?: (address: string, privateAllowed: boolean) => string | undefined;
}

/** The entry of `allow` that lets `host` on `port` through: exact names and addresses only, as templates promise. */
function entryFor(allow: readonly Destination[], host: string, port: number): Destination | undefined {
  const wanted = host.toLowerCase();
  return allow.find((d) => d.port === port && d.host === wanted);
}

/** Whether `allow` lets `host` on `port` through. */
export const allows = (allow: readonly Destination[], host: string, port: number): boolean =>
  entryFor(allow, host, port) !== undefined;

/** Whether the entry of `allow` for `host` on `port` lets the name lead to a private address. */
const privateAllowed = (allow: readonly Destination[], host: string, port: number): boolean =>
  entryFor(allow, host, port)?.privateNetwork === true;

type Pending = EgressConnection & { tenantId: string };

export function createEgressService({
  db,
  audit,
  networks,
  logger,
  templates,
  batchSize = 200,
  attempts = 5,
  hostSide,
  lookup,
  guard = (address, privateAllowed) =>
    addressRefusal(address, { pool: networks.pool, own: machineAddresses(), privateAllowed }),
}: EgressServiceOptions) {
  const proxies = new Map<string, Promise<EgressProxy>>();
  const actor = system("egress");
  const queue: Pending[] = [];
  let writing: Promise<void> | undefined;

  const detailsOf = (e: Pending): Record<string, unknown> => ({
    destination: e.destination,
    method: e.method,
    outcome: e.outcome,
    ...(e.reason ? { reason: e.reason } : {}),
    // One event for a second's refusals over the connection limit: how many it stands for.
    ...(e.refusedCount ? { refusedCount: e.refusedCount } : {}),
    source: e.source,
    bytesSent: e.bytesSent,
    bytesReceived: e.bytesReceived,
    startedAt: e.startedAt.toISOString(),
    endedAt: e.endedAt.toISOString(),
  });

  /** Writes what is queued, a batch per transaction; a batch that keeps failing is logged whole, not dropped. */
  async function drainQueue(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.splice(0, batchSize);
      for (let attempt = 1; ; attempt++) {
        try {
          await audit.recordMany(
            actor,
            batch.map((e) => ({
              action: "workspace.egress",
              subject: `workspace:${e.workspaceId}`,
              details: detailsOf(e),
              tenantId: e.tenantId,
            })),
          );
          break;
        } catch (err) {
          if (attempt >= attempts) {
            logger.error(
              { err, events: batch.map((e) => ({ workspace: e.workspaceId, ...detailsOf(e) })) },
              "egress audit events could not be written",
            );
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
        }
      }
    }
  }

  /** Starts a writer unless one runs; connections that end together share its transaction. */
  function kick(): void {
    if (writing || queue.length === 0) return;
    writing = new Promise<void>((resolve) => setImmediate(resolve)).then(drainQueue).finally(() => {
      writing = undefined;
      kick();
    });
  }

  function enqueue(event: Pending): void {
    queue.push(event);
    kick();
  }

  async function flush(): Promise<void> {
    while (writing) await writing;
  }

  const service = {
    /**
     * Starts the proxy on the workspace's gateway (idempotent). The workspace must have been created
     * with egress; INVALID_STATE when its network is missing.
     */
    async open(ws: EgressWorkspace): Promise<void> {
      const existing = proxies.get(ws.id);
      if (existing && (await existing.then(() => true).catch(() => false))) return;
      const policy = {
        workspaceId: ws.id,
        allowed: (host: string, port: number) => allows(ws.allow, host, port),
        privateAllowed: (host: string, port: number) => privateAllowed(ws.allow, host, port),
        forbidden: ((address, host, port) => guard(address, privateAllowed(ws.allow, host, port))) as AddressGuard,
        ...(lookup ? { lookup } : {}),
        onConnection: (event: EgressConnection) => enqueue({ ...event, tenantId: ws.tenantId }),
      };
      const started = (async (): Promise<EgressProxy> => {
        const end = await hostSide?.(ws.id);
        if (end) {
          // The same proxy, its connections carried from the host's side and its destinations dialled there.
          const core = createEgressProxyCore({ ...policy, subnet: end.subnet, dial: end.dial });
          const stop = await end.listen(networks.proxyPort, (client, source) => core.accept(client, source));
          return {
            workspaceId: ws.id,
            host: end.address,
            port: networks.proxyPort,
            idle: () => core.idle(),
            connections: async () => core.open,
            close: async () => {
              await stop();
              await core.close();
            },
          };
        }
        const network = await networks.find(ws.id);
        if (!network) throw fail("INVALID_STATE", text("egress.noNetwork", { id: ws.id }));
        return listenEgressProxy({
          ...policy,
          host: network.gateway,
          port: networks.proxyPort,
          subnet: network.subnet,
        });
      })();
      proxies.set(ws.id, started);
      try {
        await started;
      } catch (err) {
        proxies.delete(ws.id);
        throw err;
      }
    },

    /** Where the workspace's proxy listens, if it does. */
    async address(id: string): Promise<{ host: string; port: number } | undefined> {
      const proxy = await proxies.get(id)?.catch(() => undefined);
      return proxy && { host: proxy.host, port: proxy.port };
    },

    /** Stops the workspace's proxy; its connections are cut and still audited. */
    async close(id: string): Promise<void> {
      const proxy = proxies.get(id);
      proxies.delete(id);
      await (await proxy?.catch(() => undefined))?.close();
    },

    /** Starts the proxies of the workspaces that were there before this process (after a restart). */
    async resume(): Promise<void> {
      const rows = await db
        .selectFrom("workspace")
        .select(["id", "tenant_id", "template"])
        .where("state", "in", ["running", "stopped"])
        .where("container_id", "is not", null)
        .execute();
      const all = await templates();
      const fenced = rows.filter((row) => (all.get(row.template)?.azusa.network.allow.length ?? 0) > 0);
      // After a reboot the engine brings the bridges back but nobody the rules: they go up first.
      if (fenced.length > 0) await networks.fence();
      for (const row of fenced) {
        const allow = all.get(row.template)?.azusa.network.allow ?? [];
        if (allow.length === 0) continue;
        await service.open({ id: row.id, tenantId: row.tenant_id, allow }).catch((err: unknown) => {
          logger.warn({ workspace: row.id, err: err instanceof Error ? err.message : err }, "egress proxy not resumed");
        });
      }
    },

    /** Resolves once every connection open now has ended and its audit event is written. */
    async settled(): Promise<void> {
      const open = await Promise.all([...proxies.values()].map((p) => p.catch(() => undefined)));
      await Promise.all(open.map((p) => p?.idle()));
      await flush();
    },

    /** Stops every proxy and writes the last events (before the database closes). */
    async shutdown(): Promise<void> {
      await Promise.all([...proxies.keys()].map((id) => service.close(id)));
      await flush();
    },
  };
  return service;
}

export type EgressService = ReturnType<typeof createEgressService>;
