// The SSH gateway with the real OpenSSH client (and plink, dbclient) against real workspaces on the Docker engine:
// commands, terminals, streams, every refusal, revocation, recordings and the evidence sessions leave.
import { execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialects } from "./support/databases.ts";
import { sampleContract } from "./support/fixtures.ts";
import { templatesFolder } from "./support/gateway-world.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { ensureTestImage } from "./support/images.ts";
import { type KeyFile, keyFile, run, sshArgs, sshHome } from "./support/ssh-client.ts";
import { SAMPLE_WBS_ROWS, utf8Csv } from "./support/wbs-files.ts";

describe.each(dialects)("SSH gateway on %s", (dialect) => {
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

  /** An ssh session running `sleep`, resolved once its first output has arrived. */
  const liveSession = async (who: string, wbs: string) => {
    const child = spawn("ssh", [
      ...sshArgs({
        port: t.running.sshPort,
        key: engineers[who]?.key.path as string,
        knownHosts: home.knownHosts,
        user: `pkg-${pkgId(wbs)}`,
      }),
      "echo started; sleep 600",
    ]);
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes("started")) resolve();
      });
      void exited.then((code) => reject(new Error(`ssh ended (${code}) before the session started: ${stderr}`)));
    });
    return { exited, stdout: () => stdout, stderr: () => stderr };
  };

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

  const refusalEvents = async () =>
    (await (await operator.get("/api/v1/audit-events?limit=50")).json()).items.filter(
      (e: { action: string }) => e.action === "ssh.refused",
    ) as { subject: string; details: { code: string; user: string; key: string | null; reason: string } }[];
  const refusals = async () =>
    (await (await operator.get("/api/v1/audit-events?limit=50")).json()).items.filter(
      (e: { action: string }) => e.action === "ssh.refused",
    ) as { details: { code: string; user: string } }[];

  beforeAll(async () => {
    const image = await ensureTestImage(docker);
    templatesDir = templatesFolder(image, 256);
    t = await startTestAzusa({ dialect, env: { AZUSA_TEMPLATES_DIR: templatesDir, AZUSA_SCHEDULES: "off" } });
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

  it("returns exit codes 129–158 as exit codes, not as signals", async () => {
    // Reported as an exit-signal, OpenSSH would exit 255 and plink print "unrecognised signal".
    for (const code of [130, 143]) {
      const res = await ssh("sato", "2.3", [`echo before; exit ${code}`], undefined, ["-o", "LogLevel=INFO"]);
      expect(res.stdout.toString()).toBe("before\n");
      expect(res.stderr).not.toMatch(/signal/i);
      expect(res.code).toBe(code);
    }
    // The engine reports a command that killed itself the same way (128 + n), so it ends the same way,
    // as a shell prints it; a signal the client sends comes back as an exit-signal (gateway-forwarding).
    expect((await ssh("sato", "2.3", ["kill -TERM $$"])).code).toBe(143);
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
      // stty on the client may set columns and rows one at a time: wait (at most 10 s) for both.
      'i=0; while [ "$(stty size 2>/dev/null)" != "43 132" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done;',
      "stty size; exit 7",
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

  it("starts a stopped workspace on connect, saying so on standard error", async () => {
    const ws = await (await lead.get(`/api/v1/packages/${pkgId("2.3")}/workspace`)).json();
    expect((await engineers.sato?.client.post(`/api/v1/workspaces/${ws.id}/stop`))?.status).toBe(200);
    const res = await ssh("sato", "2.3", ["echo back"]);
    expect(res.stdout.toString()).toBe("back\n");
    expect(res.stderr).toMatch(
      /^azusa: ワークスペースを起動しています…\r\nazusa: ワークスペースが起動しました（[\d.]+ 秒）\r\n$/,
    );
    expect((await (await lead.get(`/api/v1/packages/${pkgId("2.3")}/workspace`)).json()).state).toBe("running");
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

  it("records activity in 5-minute buckets and marks the workspace in use", async () => {
    const db = t.running.azusa.db.kysely;
    const sessions = await db
      .selectFrom("workspace_session")
      .selectAll()
      .where("package_id", "=", pkgId("2.3"))
      .execute();
    expect(sessions.length).toBeGreaterThanOrEqual(4);
    const first = sessions.find((s) => s.kind === "exec" && s.exit_code === 3);
    expect(first).toMatchObject({ channel: "ssh", source_address: "127.0.0.1", end_reason: "exited" });
    expect(first?.ended_at).toBeTruthy();
    const buckets = await db
      .selectFrom("session_activity")
      .selectAll()
      .where("session_id", "=", first?.id as string)
      .execute();
    expect(buckets.length).toBeGreaterThanOrEqual(1);
    expect(Number(buckets[0]?.bytes_out)).toBe("hello from /workspace as azusa\n".length + "oops\n".length);
    expect(new Date(buckets[0]?.bucket_start as string).getTime() % (5 * 60_000)).toBe(0);
    const ws = await (await lead.get(`/api/v1/packages/${pkgId("2.3")}/workspace`)).json();
    expect(ws.lastActivity).toBe("ssh exec");
  });

  it("lets the contract's lead and operators play recordings back, and nobody else", async () => {
    const list = await lead.get(`/api/v1/packages/${pkgId("2.3")}/sessions`);
    expect(list.status).toBe(200);
    const items = (await list.json()).items as {
      id: string;
      exitCode: number | null;
      recorded: boolean;
      kind: string;
      command: string | null;
    }[];
    const session = items.find((s) => s.exitCode === 3);
    expect(session?.recorded).toBe(true);
    // The exact command line is kept: in the session list, the audit event and the recording's title.
    const command = "echo hello from $(pwd) as $(id -un); echo oops >&2; exit 3";
    expect(session).toMatchObject({ kind: "exec", command });
    const started = await t.running.azusa.db.kysely
      .selectFrom("audit_event")
      .select("details")
      .where("subject", "=", `session:${session?.id}`)
      .where("action", "=", "session.started")
      .executeTakeFirstOrThrow();
    expect(JSON.parse(started.details)).toMatchObject({ kind: "exec", command });
    const res = await lead.get(`/api/v1/sessions/${session?.id}/recording`);
    expect(res.status).toBe(200);
    const file = join(home.dir, "session.cast");
    const cast = Buffer.from(await res.arrayBuffer());
    writeFileSync(file, cast);
    expect(JSON.parse(cast.toString("utf8").split("\n")[0] as string)).toMatchObject({
      title: `exec ${command}`,
      command,
    });
    // asciinema opens /dev/tty even for `cat`: give it a terminal.
    const played = (
      await run("script", ["-qec", `asciinema cat ${file}`, "/dev/null"], new PassThrough())
    ).stdout.toString();
    expect(played).toContain("hello from /workspace as azusa");
    expect(played).toContain("oops");
    expect((await operator.get(`/api/v1/sessions/${session?.id}/recording`)).status).toBe(200);
    for (const other of [contractor, engineers.sato?.client as Client]) {
      expect((await other.get(`/api/v1/sessions/${session?.id}/recording`)).status).toBe(404);
      expect((await other.get(`/api/v1/packages/${pkgId("2.3")}/sessions`)).status).toBe(404);
    }
  });

  it("records what the engineer types when the contract says so", async () => {
    const patched = await contractor.request("PATCH", `/api/v1/contracts/${contractId}`, { recordInput: true });
    expect(patched.status).toBe(200);
    const res = await ssh("sato", "2.3", ["cat > /dev/null; echo stored"], "typed by sato\n");
    expect(res.stdout.toString()).toBe("stored\n");
    const items = (await (await lead.get(`/api/v1/packages/${pkgId("2.3")}/sessions`)).json()).items;
    const cast = await (await lead.get(`/api/v1/sessions/${items[0].id}/recording`)).text();
    expect(cast).toContain('"i","typed by sato\\n"]');
    await contractor.request("PATCH", `/api/v1/contracts/${contractId}`, { recordInput: false });
  });

  it("refuses a key nobody registered", async () => {
    const stranger = keyFile(home.dir, "stranger");
    const res = await run("ssh", [
      ...sshArgs(
        {
          port: t.running.sshPort,
          key: stranger.path,
          knownHosts: home.knownHosts,
          user: `pkg-${pkgId("2.3")}`,
        },
        ["-o", "BindAddress=127.0.1.5"],
      ),
      "echo in",
    ]);
    expect(res.code).toBe(255);
    expect(res.stderr).toContain("Permission denied (publickey)");
    expect(res.stdout.toString()).toBe("");
    // Audited with the address and the key's fingerprint, as ssh-keygen -l shows it.
    const fingerprint = execFileSync("ssh-keygen", ["-lf", `${stranger.path}.pub`], { encoding: "utf8" }).split(" ")[1];
    expect((await refusalEvents())[0]).toMatchObject({
      subject: "ssh:127.0.1.5",
      details: { code: "unknown_key", key: fingerprint, user: `pkg-${pkgId("2.3")}` },
    });
  });

  it("refuses an engineer the package is not assigned to", async () => {
    const res = await ssh("ito", "2.3", ["echo in"], undefined, ["-o", "BindAddress=127.0.1.1"]);
    expect(res.code).toBe(255);
    expect(res.stderr).toContain("Permission denied");
    expect((await refusals())[0]?.details).toMatchObject({ code: "not_assigned", user: `pkg-${pkgId("2.3")}` });
  });

  it("refuses an engineer whose vetting has lapsed, telling them why in the language they chose", async () => {
    expect((await assign("2.2", "kato")).state).toBe("running");
    expect((await ssh("kato", "2.2", ["true"])).code).toBe(0);
    await t.running.azusa.db.kysely
      .updateTable("vetting_record")
      .set({ expires_on: "2026-02-01" })
      .where("user_id", "=", engineers.kato?.id as string)
      .execute();
    // As a person runs ssh: the default log level (which prints the server's banner), a UTF-8 terminal.
    const asPerson = () =>
      run(
        "ssh",
        [
          ...sshArgs(
            {
              port: t.running.sshPort,
              key: engineers.kato?.key.path as string,
              knownHosts: home.knownHosts,
              user: `pkg-${pkgId("2.2")}`,
            },
            ["-o", "BindAddress=127.0.1.2"],
          ).map((arg) => (arg === "LogLevel=ERROR" ? "LogLevel=INFO" : arg)),
          "echo in",
        ],
        undefined,
        { ...process.env, LC_ALL: "C.UTF-8" },
      );
    const res = await asPerson();
    expect(res.code).toBe(255);
    expect(res.stdout.toString()).toBe("");
    expect(res.stderr).toMatch(/^azusa: 審査（[^）]*秘密保持契約[^）]*）が期限切れか未登録です\r?$/m);
    expect(res.stderr).not.toContain("vetting lapsed");
    expect((await refusals())[0]?.details).toMatchObject({ code: "vetting" });
    // Who chose English in their settings is told in English.
    expect((await engineers.kato?.client.put("/api/v1/me/settings", { language: "en" }))?.status).toBe(200);
    const english = await asPerson();
    expect(english.code).toBe(255);
    expect(english.stderr).toMatch(/^azusa: vetting lapsed or missing: .*nda/m);
    expect(english.stderr).not.toContain("審査");
  });

  it("refuses a destroyed workspace", async () => {
    const ws = await assign("1.2.2", "sato");
    expect((await lead.post(`/api/v1/workspaces/${ws.id}/destroy`, { reason: "作業中止" })).status).toBe(200);
    const res = await ssh("sato", "1.2.2", ["echo in"], undefined, ["-o", "BindAddress=127.0.1.3"]);
    expect(res.code).toBe(255);
    expect((await refusals())[0]?.details).toMatchObject({ code: "no_workspace" });
  });

  it("refuses a source address outside the contract's allowed networks", async () => {
    const bad = await contractor.request("PATCH", `/api/v1/contracts/${contractId}`, {
      allowedNetworks: ["10.0.0.0/33"],
    });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toContain("allowedNetworks.0");
    const ok = await contractor.request("PATCH", `/api/v1/contracts/${contractId}`, {
      allowedNetworks: ["127.0.0.2/32"],
    });
    expect((await ok.json()).allowedNetworks).toEqual(["127.0.0.2/32"]);
    const outside = await ssh("sato", "2.3", ["echo in"], undefined, ["-o", "BindAddress=127.0.1.4"]);
    expect(outside.code).toBe(255);
    expect((await refusals())[0]?.details).toMatchObject({ code: "network" });
    const inside = await ssh("sato", "2.3", ["echo in"], undefined, ["-o", "BindAddress=127.0.0.2"]);
    expect(inside.stdout.toString()).toBe("in\n");
    await contractor.request("PATCH", `/api/v1/contracts/${contractId}`, { allowedNetworks: [] });
  });

  it("locks out an address after 20 failures, and only that address", async () => {
    const stranger = keyFile(home.dir, "prober");
    for (let i = 0; i < 20; i++) {
      const res = await run("ssh", [
        ...sshArgs({ port: t.running.sshPort, key: stranger.path, knownHosts: home.knownHosts, user: "pkg-guess" }, [
          "-o",
          "BindAddress=127.0.0.9",
        ]),
        "true",
      ]);
      expect(res.code).toBe(255);
    }
    const locked = await ssh("sato", "2.3", ["echo in"], undefined, ["-o", "BindAddress=127.0.0.9"]);
    expect(locked.code).toBe(255);
    expect((await refusals())[0]?.details).toMatchObject({ code: "locked" });
    expect((await ssh("sato", "2.3", ["echo in"])).stdout.toString()).toBe("in\n");
  });

  it("locks out a package after 5 failures for the addresses that failed, by either spelling of its name", async () => {
    expect((await assign("2.1", "ito")).state).toBe("running");
    const stranger = keyFile(home.dir, "guesser");
    for (let i = 0; i < 5; i++) {
      // Both spellings name one package: pkg-<id> and the bare id count together.
      const user = i % 2 ? pkgId("2.1") : `pkg-${pkgId("2.1")}`;
      const res = await run("ssh", [
        ...sshArgs({ port: t.running.sshPort, key: stranger.path, knownHosts: home.knownHosts, user }, [
          "-o",
          `BindAddress=127.0.2.${i + 1}`,
        ]),
        "true",
      ]);
      expect(res.code).toBe(255);
    }
    // From an address that failed, even the right key is locked out, whichever spelling it uses.
    for (const user of [`pkg-${pkgId("2.1")}`, pkgId("2.1")]) {
      const locked = await run("ssh", [
        ...sshArgs(
          { port: t.running.sshPort, key: engineers.ito?.key.path as string, knownHosts: home.knownHosts, user },
          ["-o", "BindAddress=127.0.2.1"],
        ),
        "echo in",
      ]);
      expect(locked.code).toBe(255);
      expect((await refusals())[0]?.details).toMatchObject({ code: "locked", user });
    }
    // The right key from an address that has not failed is never locked out by guesses made elsewhere.
    const fresh = await ssh("ito", "2.1", ["echo in"], undefined, ["-o", "BindAddress=127.0.2.100"]);
    expect(fresh.stdout.toString()).toBe("in\n");
  });

  it("counts every key one connection offers, and closes it past six", async () => {
    // A login forgets the package's earlier failures, so that this connection's keys are all that count.
    expect((await ssh("sato", "2.3", ["true"])).code).toBe(0);
    const keys = Array.from({ length: 8 }, (_, i) => keyFile(home.dir, `many-${i}`));
    const res = await run("ssh", [
      ...sshArgs(
        {
          port: t.running.sshPort,
          key: keys[0]?.path as string,
          knownHosts: home.knownHosts,
          user: `pkg-${pkgId("2.3")}`,
        },
        ["-o", "BindAddress=127.0.3.1", ...keys.slice(1).flatMap((k) => ["-i", k.path])],
      ),
      "true",
    ]);
    expect(res.code).toBe(255);
    const mine = (await refusalEvents()).filter((e) => e.subject === "ssh:127.0.3.1");
    // Newest first: five unknown keys (the fifth locks the package for this address), one refused as
    // locked, and the seventh ends the connection; keys sent after it are not even looked at.
    expect(mine.map((e) => e.details.code)).toEqual(["too_many_keys", "locked", ...Array(5).fill("unknown_key")]);
    expect(new Set(mine.map((e) => e.details.key)).size).toBe(7);
  });

  it("refuses SHA-1 RSA signatures and takes rsa-sha2-512 alone, as server-sig-algs says", async () => {
    const rsa = join(home.dir, "sato-rsa");
    execFileSync("ssh-keygen", ["-q", "-t", "rsa", "-b", "3072", "-N", "", "-C", "sato-rsa", "-f", rsa]);
    const publicKey = execFileSync("ssh-keygen", ["-y", "-f", rsa], { encoding: "utf8" }).trim();
    const sato = engineers.sato as (typeof engineers)[string];
    expect((await sato.client.post(`/api/v1/engineers/${sato.id}/ssh-keys`, { publicKey })).status).toBe(201);
    const login = (algorithms: string, address: string) =>
      run("ssh", [
        ...sshArgs({ port: t.running.sshPort, key: rsa, knownHosts: home.knownHosts, user: `pkg-${pkgId("2.3")}` }, [
          "-o",
          `PubkeyAcceptedAlgorithms=${algorithms}`,
          "-o",
          `BindAddress=${address}`,
        ]),
        "echo in",
      ]);
    // A client that offers only rsa-sha2-512 relies on the server-sig-algs list being well formed.
    expect((await login("rsa-sha2-512", "127.0.3.2")).stdout.toString()).toBe("in\n");
    // A client held to SHA-1 (ssh-rsa) finds it nowhere in the list and cannot log in with the key.
    const sha1 = await login("ssh-rsa", "127.0.3.3");
    expect(sha1.code).toBe(255);
    expect(sha1.stderr).toContain("Permission denied (publickey)");
    // The list as the client read it: well formed, no SHA-1 RSA, no DSA.
    const verbose = await run("ssh", [
      ...sshArgs({ port: t.running.sshPort, key: rsa, knownHosts: home.knownHosts, user: `pkg-${pkgId("2.3")}` }, [
        "-v",
        "-o",
        "BindAddress=127.0.3.4",
      ]),
      "true",
    ]);
    const list = /server-sig-algs=<([^>]*)>/.exec(verbose.stderr)?.[1]?.split(",");
    expect(list).toEqual([
      "ssh-ed25519",
      "ecdsa-sha2-nistp256",
      "ecdsa-sha2-nistp384",
      "ecdsa-sha2-nistp521",
      "rsa-sha2-512",
      "rsa-sha2-256",
    ]);
  });

  it("works with dropbear's dbclient (its first key exchange packet sent on a guess), what it types reaching the command whole", async () => {
    const sato = engineers.sato as (typeof engineers)[string];
    const key = join(home.dir, "sato.dropbear");
    execFileSync("dropbearconvert", ["openssh", "dropbear", sato.key.path, key], { stdio: "ignore" });
    // dbclient checks the host key against $HOME/.ssh/known_hosts, where it names a host without its port.
    const dbHome = join(home.dir, "dbhome");
    mkdirSync(join(dbHome, ".ssh"), { recursive: true });
    writeFileSync(join(dbHome, ".ssh", "known_hosts"), `127.0.0.1 ${t.running.azusa.sshGateway.hostPublicKey}\n`);
    // What it types goes through the exec's input writer whole, and its end of input ends the command's input.
    const typed = Buffer.from(randomBytes(2 * 1024 * 1024).toString("hex"));
    const res = await run(
      "dbclient",
      [
        "-i",
        key,
        "-p",
        String(t.running.sshPort),
        `pkg-${pkgId("2.3")}@127.0.0.1`,
        "echo from dropbear; sha256sum; exit 4",
      ],
      typed,
      { ...process.env, HOME: dbHome },
    );
    expect(res.stdout.toString()).toBe(`from dropbear\n${createHash("sha256").update(typed).digest("hex")}  -\n`);
    expect(res.code).toBe(4);
  }, 20_000);

  it("refuses port forwarding and SFTP the template does not allow", async () => {
    const forward = await ssh("sato", "2.3", [], undefined, ["-W", "127.0.0.1:22"]);
    expect(forward.code).toBe(255);
    expect(forward.stderr).toContain("stdio forwarding failed");
    const remote = await ssh("sato", "2.3", ["true"], undefined, [
      "-o",
      "ExitOnForwardFailure=yes",
      "-R",
      "0:127.0.0.1:22",
    ]);
    expect(remote.code).toBe(255);
    expect(remote.stderr).toContain("remote port forwarding failed");
    const sftp = await run(
      "sftp",
      [
        "-b",
        "-",
        ...sshArgs({
          port: t.running.sshPort,
          key: engineers.sato?.key.path as string,
          knownHosts: home.knownHosts,
          user: `pkg-${pkgId("2.3")}`,
        }).map((a) => (a === "-p" ? "-P" : a)),
      ],
      "ls\n",
    );
    expect(sftp.code).not.toBe(0);
    expect(sftp.stderr).toMatch(/subsystem request failed|Connection closed/);
  });

  it("works with PuTTY's plink, what it types reaching the command whole", async () => {
    const ppk = join(home.dir, "sato.ppk");
    execFileSync("puttygen", [engineers.sato?.key.path as string, "-O", "private", "-o", ppk]);
    const hostPub = join(home.dir, "host.pub");
    writeFileSync(hostPub, `${t.running.azusa.sshGateway.hostPublicKey}\n`);
    const fingerprint = execFileSync("ssh-keygen", ["-lf", hostPub], { encoding: "utf8" }).split(" ")[1] as string;
    // What it types goes through the exec's input writer whole, and its end of input ends the command's input.
    const typed = Buffer.from(randomBytes(2 * 1024 * 1024).toString("hex"));
    const res = await run(
      "plink",
      [
        "-batch",
        "-ssh",
        "-P",
        String(t.running.sshPort),
        "-i",
        ppk,
        "-hostkey",
        fingerprint,
        `pkg-${pkgId("2.3")}@127.0.0.1`,
        "echo from plink; sha256sum; exit 3",
      ],
      typed,
    );
    expect(res.stdout.toString()).toBe(`from plink\n${createHash("sha256").update(typed).digest("hex")}  -\n`);
    expect(res.code).toBe(3);
  });

  it("ends a live session within moments of its key being removed", async () => {
    const live = await liveSession("sato", "2.3");
    const removed = await engineers.sato?.client.delete(
      `/api/v1/engineers/${engineers.sato.id}/ssh-keys/${engineers.sato.keyId}`,
    );
    expect(removed?.status).toBe(204);
    expect(await live.exited).toBe(255);
    expect(live.stdout()).toBe("started\n");
    // Said in the engineer's language (Japanese: they chose nothing else).
    expect(live.stderr()).toContain(
      "azusa: アクセスが取り消されたため、セッションを終了しました: SSH 鍵が削除されました",
    );
  }, 20_000);

  it("closes a connection carrying no session (a ControlMaster master) within moments of its key being removed", async () => {
    const sato = engineers.sato as (typeof engineers)[string];
    const key = keyFile(home.dir, "sato-master");
    const added = await sato.client.post(`/api/v1/engineers/${sato.id}/ssh-keys`, { publicKey: key.publicKey });
    expect(added.status).toBe(201);
    const socket = join(home.dir, "master");
    const login = { port: t.running.sshPort, key: key.path, knownHosts: home.knownHosts, user: `pkg-${pkgId("2.3")}` };
    const master = spawn("ssh", sshArgs(login, ["-M", "-S", socket, "-N"]), { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    master.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => master.on("close", resolve));
    try {
      for (let i = 0; (await run("ssh", ["-S", socket, "-O", "check", "x"])).code !== 0; i++) {
        expect(i, `the master did not come up: ${stderr}`).toBeLessThan(100);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const removed = await sato.client.delete(`/api/v1/engineers/${sato.id}/ssh-keys/${(await added.json()).id}`);
      expect(removed.status).toBe(204);
      const t0 = Date.now();
      // A new session through the master, at once (within the seconds after its login): refused, never run.
      const next = await run("ssh", ["-S", socket, "x", "echo ran-after-removal"]);
      expect(next.stdout.toString()).not.toContain("ran-after-removal");
      expect(next.code).not.toBe(0);
      expect(await exited).toBe(255);
      expect(Date.now() - t0).toBeLessThan(2500);
      expect(stderr).toContain("azusa: access revoked: the SSH key was removed");
    } finally {
      master.kill();
    }
  }, 20_000);

  it("ends a live session within moments of the package being cancelled, which ends the assignment", async () => {
    const key = keyFile(home.dir, "sato-new");
    const sato = engineers.sato as (typeof engineers)[string];
    expect((await sato.client.post(`/api/v1/engineers/${sato.id}/ssh-keys`, { publicKey: key.publicKey })).status).toBe(
      201,
    );
    sato.key = key;
    const live = await liveSession("sato", "2.3");
    const cancelled = await lead.post(`/api/v1/packages/${pkgId("2.3")}/cancel`, { reason: "体制変更" });
    expect(cancelled.status).toBe(200);
    expect(await live.exited).toBe(255);
    expect(live.stderr()).toMatch(
      /アクセスが取り消されたため、セッションを終了しました: このパッケージは(あなたにアサインされていません|取り消されました)/,
    );
  }, 20_000);
});
