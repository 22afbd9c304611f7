// A tenant with one contract of generated packages, each assigned to one of a few engineers with a
// registered key and a running workspace: what the gateway's limit tests and its benchmark start from.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";
import ssh2 from "ssh2";
import type { BuildOptions } from "../../src/server.ts";
import { sampleContract } from "./fixtures.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./harness.ts";
import { ensureTestImage } from "./images.ts";
import { keyFile, sshArgs, sshHome } from "./ssh-client.ts";
import { utf8Csv } from "./wbs-files.ts";

/**
 * A new folder holding a "default" template on `image` with small resources; returns its path.
 * `azusa` adds to its `customizations.azusa` (e.g. `ssh: { portForwarding: [...] }`).
 */
export function templatesFolder(image: string, memoryMiB = 128, azusa: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "azusa-templates-"));
  const resources = { cpus: 1, memoryMiB, pids: 128 };
  const template = {
    image,
    remoteUser: "azusa",
    customizations: { azusa: { resources, workspaceFolder: "/workspace", ...azusa } },
  };
  writeFileSync(join(dir, "default.devcontainer.json"), JSON.stringify(template));
  return dir;
}

/** A package with a running workspace, and the private key file of its engineer. */
export interface Target {
  packageId: string;
  key: string;
  containerId: string;
}

/** What setting up a world needs of an office: tenants, users made by invitation, and signing in. */
export type Office = Pick<TestAzusa, "createTenant" | "createUser" | "signIn">;

/** A tenant with one contract whose packages are assigned to engineers (their workspaces provisioning). */
export interface AssignedPackages {
  tenantId: string;
  lead: Client;
  contractor: Client;
  contractId: string;
  /** Each package with the private key file of its engineer, in the contract's order. */
  packages: { packageId: string; key: string }[];
  /** `performance.now()` when the first acceptance was sent. */
  acceptingAt: number;
}

/**
 * Sets up `workspaces` packages over `engineers` engineers (keys written into `dir`), each offer accepted through
 * `office`, so that the process behind it provisions the workspaces; does not wait for them. `together`: every
 * offer is made first, then all are accepted at once (the workspaces provisioned at once).
 */
export async function assignPackages(
  office: Office,
  dir: string,
  {
    workspaces,
    engineers: engineerCount,
    together = false,
  }: { workspaces: number; engineers: number; together?: boolean },
): Promise<AssignedPackages> {
  const tenant = await office.createTenant("東京SI");
  await office.createUser("contractor", "buyer@tokyo-si.example", tenant.id);
  const leadId = (await office.createUser("lead", "lead@tokyo-si.example", tenant.id)).id;
  const operator = await office.signIn("root@office.example");
  const contractor = await office.signIn("buyer@tokyo-si.example");
  const lead = await office.signIn("lead@tokyo-si.example");
  const engineers: { id: string; client: Client; key: string }[] = [];
  for (let i = 0; i < engineerCount; i++) {
    const email = `se${i}@matsumoto.example`;
    const id = (await office.createUser("engineer", email)).id;
    const client = await office.signIn(email);
    await operator.put(`/api/v1/engineers/${id}`, { weeklyCapacityHours: 40, skills: [] });
    await operator.post(`/api/v1/engineers/${id}/vetting`, {
      kind: "nda",
      issuedOn: "2026-01-01",
      expiresOn: "2028-01-01",
    });
    const key = keyFile(dir, `se${i}`);
    await client.post(`/api/v1/engineers/${id}/ssh-keys`, { publicKey: key.publicKey });
    engineers.push({ id, client, key: key.path });
  }
  const contract = await (
    await contractor.post("/api/v1/contracts", { ...sampleContract, confidentiality: "internal", leadIds: [leadId] })
  ).json();
  const rows = [["id", "title", "parent", "skills", "estimate", "depends on", "acceptance criteria"]];
  for (let i = 1; i <= workspaces; i++) rows.push([`P${i}`, `package ${i}`, "", "", "8", "", "done"]);
  await contractor.request("POST", `/api/v1/contracts/${contract.id}/wbs`, utf8Csv(rows), {
    "content-type": "text/csv",
  });
  const items = (await (await lead.get(`/api/v1/contracts/${contract.id}/packages`)).json()).items as { id: string }[];
  const offers: { packageId: string; offerId: string; engineer: (typeof engineers)[number] }[] = [];
  let acceptingAt = 0;
  const accept = async (o: (typeof offers)[number]) => {
    acceptingAt ||= performance.now();
    const accepted = await o.engineer.client.post(`/api/v1/offers/${o.offerId}/accept`);
    if (accepted.status !== 200) throw new Error(`accepting the offer of ${o.packageId}: ${accepted.status}`);
  };
  for (const [i, p] of items.entries()) {
    const engineer = engineers[i % engineerCount] as (typeof engineers)[number];
    await lead.post(`/api/v1/packages/${p.id}/open`);
    const offer = await (await lead.post(`/api/v1/packages/${p.id}/offers`, { engineerId: engineer.id })).json();
    offers.push({ packageId: p.id, offerId: offer.id, engineer });
    if (!together) await accept(offers[i] as (typeof offers)[number]);
  }
  if (together) await Promise.all(offers.map(accept));
  const packages = offers.map((o) => ({ packageId: o.packageId, key: o.engineer.key }));
  return { tenantId: tenant.id, lead, contractor, contractId: contract.id, packages, acceptingAt };
}

/** Sets up `workspaces` packages over `engineers` engineers (keys written into `dir`), provisioned and running. */
export async function assignedWorkspaces(
  t: TestAzusa,
  dir: string,
  counts: { workspaces: number; engineers: number },
): Promise<{ tenantId: string; lead: Client; contractor: Client; contractId: string; targets: Target[] }> {
  const { packages, ...world } = await assignPackages(t, dir, counts);
  await t.running.azusa.workspaces.drain();
  const targets: Target[] = [];
  for (const p of packages) {
    const row = await t.running.azusa.db.kysely
      .selectFrom("workspace")
      .select(["container_id", "state"])
      .where("package_id", "=", p.packageId)
      .executeTakeFirstOrThrow();
    if (row.state !== "running" || !row.container_id) throw new Error(`workspace of ${p.packageId} is ${row.state}`);
    targets.push({ ...p, containerId: row.container_id });
  }
  return { ...world, targets };
}

/** One Azusa with one engineer's running workspace, and the OpenSSH arguments to log into it. */
export interface GatewayWorld {
  t: TestAzusa;
  target: Target;
  tenantId: string;
  contractor: Client;
  contractId: string;
  lead: Client;
  home: { dir: string; knownHosts: string };
  /** `ssh` arguments for the engineer's login to the package; `extra` go before the destination. */
  args(extra?: string[]): string[];
  /** Stops Azusa and removes the tenant's containers, volumes and the files written. */
  stop(): Promise<void>;
}

/**
 * Starts Azusa with `env` on a busybox template (or `image`, e.g. the Debian base image; plus `azusa`
 * customizations) and one assigned workspace.
 */
export async function oneWorkspaceWorld(
  docker: Docker,
  {
    env = {},
    azusa = {},
    image: chosen,
    tuning = {},
  }: {
    env?: Record<string, string>;
    azusa?: Record<string, unknown>;
    image?: string;
    /** Build options of the Azusa started (test-only parts such as a slow recording disk). */
    tuning?: Omit<BuildOptions, "logger">;
  } = {},
): Promise<GatewayWorld> {
  const image = chosen ?? (await ensureTestImage(docker));
  const dir = templatesFolder(image, 128, azusa);
  const t = await startTestAzusa({ env: { AZUSA_TEMPLATES_DIR: dir, AZUSA_SCHEDULES: "off", ...env }, tuning });
  const home = sshHome(t.running.azusa.sshGateway.hostPublicKey, t.running.sshPort);
  const world = await assignedWorkspaces(t, dir, { workspaces: 1, engineers: 1 });
  const target = world.targets[0] as Target;
  return {
    t,
    target,
    tenantId: world.tenantId,
    contractor: world.contractor,
    contractId: world.contractId,
    lead: world.lead,
    home,
    args: (extra = []) =>
      sshArgs(
        { port: t.running.sshPort, key: target.key, knownHosts: home.knownHosts, user: `pkg-${target.packageId}` },
        extra,
      ),
    async stop() {
      await t.stop();
      const label = `io.azusa.tenant=${world.tenantId}`;
      for (const c of await docker.listContainers({ all: true, filters: { label: [label] } }))
        await docker.getContainer(c.Id).remove({ force: true, v: true });
      rmSync(dir, { recursive: true, force: true });
      rmSync(home.dir, { recursive: true, force: true });
    },
  };
}

/** ssh2's client logged into the world's package: beside OpenSSH, for requests its command line cannot make. */
export async function ssh2Login(world: GatewayWorld): Promise<ssh2.Client> {
  const client = new ssh2.Client();
  await new Promise<void>((resolve, reject) => {
    client.once("ready", () => resolve());
    client.once("error", reject);
    client.connect({
      host: "127.0.0.1",
      port: world.t.running.sshPort,
      username: `pkg-${world.target.packageId}`,
      privateKey: readFileSync(world.target.key),
    });
  });
  return client;
}

/** An `ssh.forward` audit event as the audit API shows it (local forwards have no `kind`). */
export interface ForwardEvent {
  action: string;
  details: {
    kind?: string;
    destination: string;
    outcome: string;
    code?: string;
    reason?: string;
    bytesIn?: number;
    bytesOut?: number;
  };
}

/**
 * Polls the audit log (as `operator`) until an `ssh.forward` event matches: forwards and their
 * connections are audited once they are over, which the client does not wait for.
 */
export async function forwardEvent(operator: Client, match: (e: ForwardEvent) => boolean): Promise<ForwardEvent> {
  for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
    const page = (await (await operator.get("/api/v1/audit-events?limit=200")).json()).items as ForwardEvent[];
    const found = page.find((e) => e.action === "ssh.forward" && match(e));
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
