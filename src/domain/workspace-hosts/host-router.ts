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

/** A driver that routes by workspace id to the driver of the workspace's host. */
export function createHostRouter({ db, hosts }: { db: Kysely<Database>; hosts: HostDrivers }): WorkspaceDriver {
  /** Placed workspaces' hosts; a workspace's host never changes once placed (a move makes a new placement). */
  const placed = new Map<string, string>();
  const owners = new WeakMap<OwnedObject, WorkspaceDriver>();

  async function hostOf(workspaceId: string): Promise<string | null> {
    const known = placed.get(workspaceId);
    if (known) return known;
    const row = await db.selectFrom("workspace").select("host_id").where("id", "=", workspaceId).executeTakeFirst();
    if (row?.host_id) placed.set(workspaceId, row.host_id);
    return row?.host_id ?? null;
  }

  const driverFor = async (workspaceId: string) => hosts.driverOf(await hostOf(workspaceId));

  return {
    async egressProxy(workspaceId: string) {
      return (await driverFor(workspaceId)).egressProxy?.(workspaceId);
    },
    async create(spec: WorkspaceSpec) {
      return (await driverFor(spec.id)).create(spec);
    },
    async start(ref: WorkspaceRef) {
      return (await driverFor(ref.id)).start(ref);
    },
    async stop(ref: WorkspaceRef) {
      return (await driverFor(ref.id)).stop(ref);
    },
    async status(ref: WorkspaceRef) {
      return (await driverFor(ref.id)).status(ref);
    },
    async exec(ref, req) {
      return (await driverFor(ref.id)).exec(ref, req);
    },
    async fillStore(ref, files, opts) {
      return (await driverFor(ref.id)).fillStore(ref, files, opts);
    },
    async destroy(ref: WorkspaceRef) {
      return (await driverFor(ref.id)).destroy(ref);
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
