// Warm pool: workspaces created and started ahead of any assignment, one set per template on each workspace
// host that could take it, so that an assignment claims a running container on the host placement chose instead
// of waiting for create and start; refilled in the background.
import { randomBytes } from "node:crypto";
import type { Logger } from "../../logger.ts";
import { STORE_FOLDER, type WorkspaceDriver, type WorkspaceRef, type WorkspaceSpec } from "../../provisioner/driver.ts";
import type { WorkspaceTemplate } from "../../templates/templates.ts";
import { defaultHostId } from "../workspace-hosts/workspace-hosts.service.ts";

/** The spec a workspace of `template` is made from; `id`, tenant and package name who it is for. */
export function specFor(
  template: WorkspaceTemplate,
  who: { id: string; tenantId: string; packageId: string; pool?: string },
): WorkspaceSpec {
  return {
    ...who,
    image: template.image,
    user: template.remoteUser,
    env: template.containerEnv,
    resources: template.azusa.resources,
    readOnlyRootFs: template.azusa.readOnlyRootFs,
    workspaceFolder: template.azusa.workspaceFolder,
    egress: template.azusa.network.allow.length > 0,
    // A pooled workspace belongs to no package yet: its fork gets the whole history instead.
    ...(who.pool ? {} : { store: STORE_FOLDER }),
  };
}

/** A workspace host as the pool fills it. */
export interface PoolHost {
  id: string;
  driver: WorkspaceDriver;
}

/** Pre-created workspaces per template and host. */
export interface WarmPool {
  /**
   * A running pooled workspace of `template` on host `hostId` (default: the default host), taken out of the
   * pool, or undefined when none is ready there.
   */
  claim(template: string, hostId?: string): WorkspaceRef | undefined;
  /**
   * Tells the pool that a claimed workspace is now recorded on its row (reconcile may judge it from
   * there); the pool fills again shortly after, so that the refill does not compete with the first connection.
   */
  recorded(ref: WorkspaceRef): void;
  /** Tops every template up to the pool size; concurrent calls share one fill. */
  fill(): Promise<void>;
  /** Workspace ids (pool ids) that the pool holds, is making or has handed out but not yet seen recorded. */
  holds(): Set<string>;
  /** Waits for the fill in progress. */
  drain(): Promise<void>;
  /** At shutdown: waits for the fill, then destroys the workspaces nobody claimed. */
  empty(): Promise<void>;
}

/**
 * A pool of `size` workspaces per template on each host `hosts` names for it (0 turns it off; without `hosts`,
 * on the default host alone, through `driver`). Pool workspaces are hardened like every
 * other one (the same driver.create), carry the `io.azusa.pool` label and this instance's label, and
 * belong to nobody until claimed; reconcile removes those a previous run left.
 */
export function createWarmPool({
  driver,
  size,
  templates,
  logger,
  imageReady = async () => {},
  refillDelayMs = 1000,
  hosts,
}: {
  /** The default host's driver. */
  driver: WorkspaceDriver;
  /**
   * The hosts a pooled workspace of `template` may wait on: those placement could choose for it (active, with
   * the labels it asks for, able to give it its volume). Default: the default host.
   */
  hosts?: (template: WorkspaceTemplate) => Promise<PoolHost[]>;
  size: number;
  templates: () => Promise<Map<string, WorkspaceTemplate>>;
  logger: Logger;
  /** Resolves once the image can be used (it may be building); rejects when it cannot. */
  imageReady?: (image: string) => Promise<void>;
  /** Wait between a claim and the refill it causes; default 1 s. */
  refillDelayMs?: number;
}): WarmPool {
  /** Ready workspaces per host and template (`host\ntemplate`), with the driver of their host. */
  const ready = new Map<string, (WorkspaceRef & { driver: WorkspaceDriver })[]>();
  const keyOf = (hostId: string, template: string) => `${hostId}\n${template}`;
  const hostsOf = hosts ?? (async () => [{ id: defaultHostId, driver }]);
  const pending = new Set<string>();
  let filling: Promise<void> | undefined;
  let closed = false;

  async function makeOne(template: WorkspaceTemplate, host: PoolHost): Promise<void> {
    const id = `pool-${randomBytes(6).toString("hex")}`;
    pending.add(id);
    try {
      const ref = await host.driver.create(
        specFor(template, { id, tenantId: "pool", packageId: "pool", pool: template.name }),
      );
      await host.driver.start(ref);
      const key = keyOf(host.id, template.name);
      const list = ready.get(key) ?? [];
      list.push({ ...ref, driver: host.driver });
      ready.set(key, list);
    } finally {
      pending.delete(id);
    }
  }

  async function fillAll(): Promise<void> {
    if (size <= 0) return;
    for (const template of (await templates()).values()) {
      // A workspace that may reach the network gets a bridge and a proxy of its own at provisioning.
      if (template.azusa.network.allow.length > 0) continue;
      let eligible: PoolHost[];
      try {
        eligible = await hostsOf(template);
      } catch (err) {
        logger.warn({ template: template.name, err: (err as Error).message }, "warm pool could not list hosts");
        continue;
      }
      for (const host of eligible) {
        const short = () => !closed && (ready.get(keyOf(host.id, template.name))?.length ?? 0) < size;
        if (!short()) continue;
        try {
          // the default engine may still be building its image; another host's engine has it or fails here
          if (host.id === defaultHostId) await imageReady(template.image);
          // One at a time, so the pool fills in the background without crowding out assignments; the
          // count is read again each round, so that claims made during the fill are made up for too.
          while (short()) await makeOne(template, host);
        } catch (err) {
          logger.warn(
            { template: template.name, host: host.id, err: (err as Error).message },
            "warm pool could not fill",
          );
        }
      }
    }
  }

  return {
    claim(template, hostId = defaultHostId) {
      const found = ready.get(keyOf(hostId, template))?.shift();
      if (!found) return undefined;
      pending.add(found.id);
      const { driver: _driver, ...ref } = found;
      return ref;
    },
    recorded(ref) {
      pending.delete(ref.id);
      setTimeout(() => void this.fill(), refillDelayMs).unref();
    },
    fill() {
      if (closed) return Promise.resolve();
      filling ??= fillAll().finally(() => {
        filling = undefined;
      });
      return filling;
    },
    holds() {
      const ids = new Set(pending);
      for (const list of ready.values()) for (const ref of list) ids.add(ref.id);
      return ids;
    },
    async drain() {
      await filling;
    },
    async empty() {
      closed = true; // a refill timer that fires later finds the pool closed
      await filling;
      const left = [...ready.values()].flat();
      ready.clear();
      // reconcile removes what stays
      for (const { driver: on, ...ref } of left) await on.destroy(ref).catch(() => undefined);
    },
  };
}
