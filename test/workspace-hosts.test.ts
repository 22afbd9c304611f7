// Workspace hosts over HTTP against a second, real Docker engine reached over mutual TLS: registering it,
// its health, engine version, hardening and load, draining, marking down and removing; who may do it; and
// that the client key is kept sealed and never shown, logged or audited.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialects } from "./support/databases.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { csrfTokenIn, getPage, postForm } from "./support/pages.ts";
import { secondEngineForTests } from "./support/second-engine.ts";

/** A CA of its own and a client certificate it signed: an engine that trusts another CA refuses it. */
function strangerCredentials(): { ca: string; cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), "azusa-stranger-"));
  try {
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    const run = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    run(["req", "-x509", ...ec, "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "1", "-subj", "/CN=stranger"]);
    run(["req", ...ec, "-keyout", "key.pem", "-out", "c.csr", "-subj", "/CN=stranger-client"]);
    run([
      "x509",
      "-req",
      "-in",
      "c.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca-key.pem",
      "-CAcreateserial",
      "-out",
      "cert.pem",
    ]);
    const read = (name: string) => readFileSync(join(dir, name), "utf8");
    return { ca: read("ca.pem"), cert: read("cert.pem"), key: read("key.pem") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The middle of a PEM key: what must never appear outside the sealed column. */
const keyBody = (pem: string) => pem.split("\n").slice(1, -2).join("");

const engine = secondEngineForTests();

describe.each(dialects)("workspace hosts on %s", (dialect) => {
  const instance = `hosts-${randomBytes(5).toString("hex")}`;
  let t: TestAzusa;
  let root: Client;
  let engineer: Client;
  let contractor: Client;
  let tenantId: string;

  const tls = () => ({ kind: "tls", url: engine().url, ...engine().credentials });
  const capacity = { cpus: 2, memoryMiB: 4096, diskMiB: 20480, workspaces: 8 };

  beforeAll(async () => {
    t = await startTestAzusa({ dialect, env: { AZUSA_INSTANCE_ID: instance } });
    tenantId = (await t.createTenant("東京システムインテグレーション")).id;
    await t.createUser("engineer", "sato@matsumoto.example");
    await t.createUser("contractor", "buyer@tokyo-si.example", tenantId);
    root = await t.signIn("root@office.example");
    engineer = await t.signIn("sato@matsumoto.example");
    contractor = await t.signIn("buyer@tokyo-si.example");
  });
  afterAll(() => t?.stop());

  it("lists the engine DOCKER_HOST names as the host `local`, reachable", async () => {
    const res = await root.get("/api/v1/workspace-hosts");
    expect(res.status).toBe(200);
    const local = (await res.json()).items.find((h: { id: string }) => h.id === "local");
    expect(local).toMatchObject({ kind: "default", address: "DOCKER_HOST", state: "active" });
    expect(local.health).toMatchObject({ reachable: true, error: null });
    expect(local.health.engineVersion).toMatch(/^\d+\./);
  });

  it("registers an engine over mutual TLS with its labels and capacity; the key is sealed and never shown", async () => {
    const res = await root.post("/api/v1/workspace-hosts", {
      name: `tls-${dialect}`,
      endpoint: tls(),
      labels: { office: "matsumoto", tenant: tenantId, zone: "nagano-1" },
      capacity,
    });
    const text = await res.text();
    expect(res.status, text).toBe(201);
    const host = JSON.parse(text);
    expect(host).toMatchObject({
      kind: "tls",
      address: engine().url,
      labels: { office: "matsumoto", tenant: tenantId, zone: "nagano-1" },
      capacity,
      state: "active",
      workspaces: 0,
    });
    const remote = await engine().docker.version();
    expect(host.health).toMatchObject({ reachable: true, engineVersion: remote.Version, running: 0, load: 0 });
    expect(host.health.hardening).toMatchObject({ ok: true, problems: [] });
    const body = keyBody(engine().credentials.key);
    expect(text).not.toContain(body);
    const listed = await (await root.get("/api/v1/workspace-hosts")).text();
    expect(listed).not.toContain(body);
    const row = await t.running.azusa.db.kysely
      .selectFrom("workspace_host")
      .select("key_sealed")
      .where("id", "=", host.id)
      .executeTakeFirstOrThrow();
    expect(row.key_sealed).toMatch(/^sealed:v1:/);
    expect(row.key_sealed).not.toContain(body);
    const audit = await (await root.get("/api/v1/audit-events?limit=5")).json();
    expect(audit.items[0]).toMatchObject({ action: "workspace_host.registered", subject: `workspace_host:${host.id}` });
    expect(JSON.stringify(audit)).not.toContain(body);
    expect(t.logs.join("")).not.toContain(body);
  });

  it("refuses an engine that does not trust the client's certificate, naming the endpoint, and keeps nothing", async () => {
    const before = (await (await root.get("/api/v1/workspace-hosts")).json()).items.length;
    const res = await root.post("/api/v1/workspace-hosts", {
      name: `stranger-${dialect}`,
      endpoint: { kind: "tls", url: engine().url, ...strangerCredentials() },
      capacity,
    });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error).toMatchObject({ code: "VALIDATION" });
    expect(body.error.message).toContain(`the engine at ${engine().url} did not answer`);
    expect((await (await root.get("/api/v1/workspace-hosts")).json()).items).toHaveLength(before);
  });

  it("names the field of a malformed registration", async () => {
    const cases: [unknown, string][] = [
      [{ name: "x", endpoint: { ...tls(), url: "https://example:2376" }, capacity }, "endpoint.url"],
      [{ name: "x", endpoint: { ...tls(), key: "not a key" }, capacity }, "endpoint.key"],
      [{ name: "x", endpoint: { ...tls(), ca: "nothing" }, capacity }, "endpoint.ca"],
      [{ name: "x", endpoint: tls(), capacity: { ...capacity, workspaces: 0 } }, "capacity.workspaces"],
      [{ name: "x", endpoint: tls(), capacity, labels: { tenant: "no-such-tenant" } }, "labels.tenant"],
      [{ name: "x", endpoint: { kind: "socket", path: "relative.sock" }, capacity }, "endpoint.path"],
    ];
    for (const [input, field] of cases) {
      const res = await root.post("/api/v1/workspace-hosts", input);
      expect(res.status, field).toBe(400);
      expect((await res.json()).error.message, field).toContain(field);
    }
  });

  it("is for operators only", async () => {
    for (const client of [engineer, contractor]) {
      expect((await client.get("/api/v1/workspace-hosts")).status).toBe(403);
      expect((await client.post("/api/v1/workspace-hosts", { name: "x", endpoint: tls(), capacity })).status).toBe(403);
    }
    expect((await t.anonymous().get("/api/v1/workspace-hosts")).status).toBe(401);
  });

  it("drains, marks down and activates a host, each change audited with its reason", async () => {
    const host = await (
      await root.post("/api/v1/workspace-hosts", { name: `states-${dialect}`, endpoint: tls(), capacity })
    ).json();
    const drained = await root.post(`/api/v1/workspace-hosts/${host.id}/drain`, { reason: "kernel update" });
    expect(await drained.json()).toMatchObject({ state: "draining", stateReason: "kernel update" });
    expect(await (await root.post(`/api/v1/workspace-hosts/${host.id}/down`)).json()).toMatchObject({
      state: "down",
      stateReason: "marked down by an operator",
    });
    expect((await (await root.post(`/api/v1/workspace-hosts/${host.id}/activate`)).json()).state).toBe("active");
    const audit = await (await root.get("/api/v1/audit-events?limit=3")).json();
    expect(audit.items.map((e: { action: string }) => e.action)).toEqual([
      "workspace_host.activated",
      "workspace_host.marked_down",
      "workspace_host.drained",
    ]);
  });

  it("changes labels and capacity", async () => {
    const host = await (
      await root.post("/api/v1/workspace-hosts", { name: `labels-${dialect}`, endpoint: tls(), capacity })
    ).json();
    const res = await root.patch(`/api/v1/workspace-hosts/${host.id}`, {
      labels: { zone: "tokyo-2" },
      capacity: { ...capacity, workspaces: 2 },
    });
    expect(await res.json()).toMatchObject({ labels: { zone: "tokyo-2", office: null }, capacity: { workspaces: 2 } });
  });

  it("removes an empty host, but never the default one", async () => {
    const host = await (
      await root.post("/api/v1/workspace-hosts", { name: `gone-${dialect}`, endpoint: tls(), capacity })
    ).json();
    expect((await root.delete(`/api/v1/workspace-hosts/${host.id}`)).status).toBe(204);
    expect((await root.get(`/api/v1/workspace-hosts/${host.id}`)).status).toBe(404);
    const local = await root.delete("/api/v1/workspace-hosts/local");
    expect(local.status).toBe(409);
  });

  it("the operators' page shows each host's health and drains one from a button", async () => {
    const host = await (
      await root.post("/api/v1/workspace-hosts", { name: `page-${dialect}`, endpoint: tls(), capacity })
    ).json();
    const page = await getPage(root, "/workspace-hosts?lang=en");
    expect(page.status).toBe(200);
    expect(page.html).toContain(`page-${dialect}`);
    expect(page.html).toContain(`Docker ${(await engine().docker.version()).Version}`);
    expect(page.html).not.toContain(keyBody(engine().credentials.key));
    const drained = await postForm(root, `/workspace-hosts/${host.id}/drain`, { _csrf: csrfTokenIn(page.html) });
    expect(drained.status).toBe(303);
    expect((await (await root.get(`/api/v1/workspace-hosts/${host.id}`)).json()).state).toBe("draining");
    expect((await getPage(engineer, "/workspace-hosts")).status).toBe(404); // pages not theirs do not exist for them
  });

  it("the hardening check names a container under Azusa's labels that is not confined", async () => {
    const host = await (
      await root.post("/api/v1/workspace-hosts", { name: `hardening-${dialect}`, endpoint: tls(), capacity })
    ).json();
    const loose = await engine().docker.createContainer({
      Image: engine().images[0],
      Cmd: ["true"],
      Labels: { "io.azusa.instance": instance, "io.azusa.role": "workspace", "io.azusa.workspace": "loose-one" },
      HostConfig: { CapAdd: ["NET_ADMIN"], NetworkMode: "none" },
    });
    try {
      const { health } = await (await root.get(`/api/v1/workspace-hosts/${host.id}`)).json();
      expect(health.hardening.ok).toBe(false);
      expect(health.hardening.problems).toEqual(
        expect.arrayContaining(["loose-one: capabilities are not all dropped", "loose-one: capabilities are added"]),
      );
      expect(health.hardening.problems).toContain("loose-one: new privileges are allowed");
    } finally {
      await loose.remove({ force: true });
    }
  });
});
