// The SSH gateway with the real OpenSSH client (and plink) against real workspaces on the Docker engine:
// commands, terminals, streams, every refusal, revocation, recordings and the evidence sessions leave.
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sampleContract } from "./support/fixtures.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { ensureTestImage } from "./support/images.ts";
import { type KeyFile, keyFile, run, sshArgs, sshHome } from "./support/ssh-client.ts";
import { SAMPLE_WBS_ROWS, utf8Csv } from "./support/wbs-files.ts";

describe("SSH gateway", () => {
  const docker = new Docker();
  let templatesDir: string;
  let t: TestAzusa;
  let operator: Client;
  let lead: Client;
  let contractor: Client;
  let contractId: string;
  let pkg: Record<string, { id: string }>;
  let home: { dir: string; knownHosts: string };
  const engineers: Record<string, { id: string; client: Client; key: KeyFile; keyId: string }> = {};

  const pkgId = (wbs: string) => pkg[wbs]?.id as string;
  const ssh = (who: string, wbs: string, command: string[], input?: Buffer | string | Readable, extra: string[] = []) =>
    run(
      "ssh",
      [
        ...sshArgs(
          {
            port: t.running.sshPort,
            key: engineers[who]?.key.path as string,
            knownHosts: home.knownHosts,
            user: `pkg-${pkgId(wbs)}`,
          },
          extra,
        ),
        ...command,
      ],
      input,
    );

  const addEngineer = async (name: string) => {
    const id = (await t.createUser("engineer", `${name}@matsumoto.example`)).id;
    const client = await t.signIn(`${name}@matsumoto.example`);
    await operator.put(`/api/v1/engineers/${id}`, {
      weeklyCapacityHours: 40,
      skills: ["java", "spring", "oracle"].map((skill) => ({ skill, level: 5 })),
    });
    for (const kind of ["nda", "background_check", "security_training"]) {
      await operator.post(`/api/v1/engineers/${id}/vetting`, { kind, issuedOn: "2026-01-01", expiresOn: "2028-01-01" });
    }
    const key = keyFile(home.dir, name);
    const added = await client.post(`/api/v1/engineers/${id}/ssh-keys`, { publicKey: key.publicKey });
    expect(added.status).toBe(201);
    engineers[name] = { id, client, key, keyId: (await added.json()).id };
  };

  const assign = async (wbs: string, who: string) => {
    const id = pkgId(wbs);
    expect((await lead.post(`/api/v1/packages/${id}/open`)).status).toBe(200);
    const offer = await (await lead.post(`/api/v1/packages/${id}/offers`, { engineerId: engineers[who]?.id })).json();
    expect((await engineers[who]?.client.post(`/api/v1/offers/${offer.id}/accept`))?.status).toBe(200);
    const ws = await (await lead.get(`/api/v1/packages/${id}/workspace`)).json();
    await t.running.azusa.workspaces.settled(ws.id);
    return (await (await lead.get(`/api/v1/packages/${id}/workspace`)).json()) as { id: string; state: string };
  };

  const refusals = async () =>
    (await (await operator.get("/api/v1/audit-events?limit=50")).json()).items.filter(
      (e: { action: string }) => e.action === "ssh.refused",
    ) as { details: { code: string; user: string } }[];

  beforeAll(async () => {
    const image = await ensureTestImage(docker);
    templatesDir = mkdtempSync(join(tmpdir(), "azusa-templates-"));
    writeFileSync(
      join(templatesDir, "default.devcontainer.json"),
      JSON.stringify({
        image,
        remoteUser: "azusa",
        customizations: { azusa: { resources: { cpus: 1, memoryMiB: 256, pids: 128 }, workspaceFolder: "/workspace" } },
      }),
    );
    t = await startTestAzusa({ env: { AZUSA_TEMPLATES_DIR: templatesDir, AZUSA_SCHEDULES: "off" } });
    home = sshHome(t.running.azusa.sshGateway.hostPublicKey, t.running.sshPort);
    const tokyo = await t.createTenant("東京SI");
    await t.createUser("contractor", "buyer@tokyo-si.example", tokyo.id);
    const leadId = (await t.createUser("lead", "lead@tokyo-si.example", tokyo.id)).id;
    operator = await t.signIn("root@office.example");
    contractor = await t.signIn("buyer@tokyo-si.example");
    lead = await t.signIn("lead@tokyo-si.example");
    for (const name of ["sato", "ito", "kato"]) await addEngineer(name);
    contractId = (await (await contractor.post("/api/v1/contracts", { ...sampleContract, leadIds: [leadId] })).json())
      .id;
    await contractor.request("POST", `/api/v1/contracts/${contractId}/wbs`, utf8Csv(SAMPLE_WBS_ROWS), {
      "content-type": "text/csv",
    });
    const items = (await (await lead.get(`/api/v1/contracts/${contractId}/packages`)).json()).items;
    pkg = Object.fromEntries(items.map((p: { wbsId: string }) => [p.wbsId, p]));
    expect((await assign("2.3", "sato")).state).toBe("running");
  }, 120_000);

  afterAll(async () => {
    await t?.stop();
    for (const c of await docker.listContainers({ all: true, filters: { label: ["io.azusa.package"] } })) {
      if (Object.values(pkg ?? {}).some((p) => p.id === c.Labels["io.azusa.package"]))
        await docker.getContainer(c.Id).remove({ force: true, v: true });
    }
    rmSync(templatesDir, { recursive: true, force: true });
    if (home) rmSync(home.dir, { recursive: true, force: true });
  });

  it("runs a command: its output comes back and so does exit code 3", async () => {
    const res = await ssh("sato", "2.3", ["echo hello from $(pwd) as $(id -un); echo oops >&2; exit 3"]);
    expect(res.stdout.toString()).toBe("hello from /workspace as azusa\n");
    expect(res.stderr).toBe("oops\n");
    expect(res.code).toBe(3);
  });

  it("moves the package to in_progress at the first session", async () => {
    const p = await (await lead.get(`/api/v1/packages/${pkgId("2.3")}`)).json();
    expect(p.state).toBe("in_progress");
  });

  it("gives piped input to the command, then end of input", async () => {
    const res = await ssh("sato", "2.3", ["cat; echo after-eof"], "line one\nline two\n");
    expect(res.stdout.toString()).toBe("line one\nline two\nafter-eof\n");
    expect(res.code).toBe(0);
  });

  it("gives a pty session its terminal size, and the new one when it changes", async () => {
    // `script` gives ssh a terminal of 100x30; a moment later the terminal becomes 132x43.
    // Docker before API 1.42 sizes an exec's terminal just after the command starts: wait for a size.
    const remote = [
      'while [ -z "$(stty size 2>/dev/null)" ]; do sleep 0.05; done; stty size;',
      'while [ "$(stty size 2>/dev/null)" = "30 100" ]; do sleep 0.05; done; stty size; exit 7',
    ].join(" ");
    const inner = [
      "T=$(tty); stty -F $T cols 100 rows 30;",
      "(sleep 1; stty -F $T cols 132 rows 43) &",
      `ssh ${sshArgs({ port: t.running.sshPort, key: engineers.sato?.key.path as string, knownHosts: home.knownHosts, user: `pkg-${pkgId("2.3")}` }, ["-tt"]).join(" ")} '${remote}'`,
    ].join(" ");
    // script's input stays open: at its end, script would type ^D into the terminal.
    const res = await run("script", ["-qefc", inner, "/dev/null"], new PassThrough());
    expect(res.stdout.toString().replace(/\r/g, "")).toContain("30 100\n43 132\n");
    expect(res.code).toBe(7);
  });

  it("carries 100 MB out and 100 MB in intact", async () => {
    const size = 100 * 1024 * 1024;
    const out = await ssh("sato", "2.3", [`yes 0123456789abcdef | head -c ${size}`]);
    const expected = createHash("sha256").update(Buffer.alloc(size, "0123456789abcdef\n")).digest("hex");
    expect(out.stdout.length).toBe(size);
    expect(createHash("sha256").update(out.stdout).digest("hex")).toBe(expected);

    const data = randomBytes(size);
    const back = await ssh(
      "sato",
      "2.3",
      ["cat"],
      Readable.from([data.subarray(0, size / 2), data.subarray(size / 2)]),
    );
    expect(back.stdout.length).toBe(size);
    expect(createHash("sha256").update(back.stdout).digest("hex")).toBe(
      createHash("sha256").update(data).digest("hex"),
    );
  }, 120_000);
});
