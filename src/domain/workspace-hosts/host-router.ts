// One WorkspaceDriver over every workspace host: each call goes to the engine of the host the workspace was
// placed on (its row's host_id; the default host for a row made before hosts, or an id no row has, such as a
// warm-pool workspace's). Everything that works a workspace (exec for SSH, the browser terminal, the IDE,
// checkouts, stop, destroy) goes through it and so reaches the right engine.
import type { Kysely } from "kysely";
import type { Database } from "../../db/schema.ts";
import type { OwnedObject, WorkspaceDriver, WorkspaceRef, WorkspaceSpec } from "../../provisioner/driver.ts";

export interface HostDrivers {
  driverOf(hostId: string | null): Promise<WorkspaceDriver>;
  drivers(): Promise<{ id: string; driver: WorkspaceDriver }[]>;
}

/** The host router: a WorkspaceDriver, and where a container made on a host not yet on its row is to be found. */
export type HostRouter = WorkspaceDriver & {
  /**
   * Sends the calls naming `containerId` to `hostId`'s engine before any row says so: a moved workspace's new
   * container, worked on (its store filled, its files written) while its row still names the old host.
   */
  pin(containerId: string, hostId: string): void;
};

/** A driver that routes by workspace id to the driver of the workspace's host. */
export function createHostRouter({ db, hosts }: { db: Kysely<Database>; hosts: HostDrivers }): HostRouter {
  /**
   * Containers' hosts: a container lives on one engine for good, while a workspace moves (its row then names
   * another host and another container), so what is kept is by container, never by workspace.
   */
  const placed = new Map<string, string>();
  const owners = new WeakMap<OwnedObject, WorkspaceDriver>();

  async function hostOf(workspaceId: string, containerId?: string): Promise<string | null> {
    const known = containerId ? placed.get(containerId) : undefined;
    if (known) return known;
    const row = await db
      .selectFrom("workspace")
      .select(["host_id", "container_id"])
      .where("id", "=", workspaceId)
      .executeTakeFirst();
    if (row?.host_id && containerId && row.container_id === containerId) placed.set(containerId, row.host_id);
    return row?.host_id ?? null;
  }

  const driverFor = async (workspaceId: string, containerId?: string) =>
    hosts.driverOf(await hostOf(workspaceId, containerId));
  const driverOfRef = (ref: WorkspaceRef) => driverFor(ref.id, ref.containerId);

  return {
    pin(containerId: string, hostId: string) {
      placed.set(containerId, hostId);
    },
    async egressProxy(workspaceId: string) {
      return (await driverFor(workspaceId)).egressProxy?.(workspaceId);
    },
    async create(spec: WorkspaceSpec) {
      return (await driverFor(spec.id)).create(spec);
    },
    async start(ref: WorkspaceRef) {
      return (await driverOfRef(ref)).start(ref);
    },
    async stop(ref: WorkspaceRef) {
      return (await driverOfRef(ref)).stop(ref);
    },
    async status(ref: WorkspaceRef) {
      return (await driverOfRef(ref)).status(ref);
    },
    async exec(ref, req) {
      return (await driverOfRef(ref)).exec(ref, req);
    },
    async fillStore(ref, files, opts) {
      return (await driverOfRef(ref)).fillStore(ref, files, opts);
    },
    async exportFiles(ref) {
      return (await driverOfRef(ref)).exportFiles(ref);
    },
    async importFiles(ref, files) {
      return (await driverOfRef(ref)).importFiles(ref, files);
    },
    async destroy(ref: WorkspaceRef) {
      return (await driverOfRef(ref)).destroy(ref);
    },
    async list(labels) {
      const all = await hosts.drivers();
      return (await Promise.all(all.map(({ driver }) => driver.list(labels)))).flat();
    },
    async inventory() {
      const all = await hosts.drivers();
      const found = await Promise.all(
        all.map(async ({ driver }) => {
          const objects = await driver.inventory();
          for (const o of objects) owners.set(o, driver);
          return objects;
        }),
      );
      return found.flat();
    },
    async discard(object: OwnedObject) {
      const driver = owners.get(object) ?? (await driverFor(object.workspaceId));
      return driver.discard(object);
    },
  };
}
