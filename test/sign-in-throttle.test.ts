// Sign-in attempts are limited per client address, counted in the database: every process on one database
// shares the count, and the window slides (an attempt counts for exactly a minute).
import { rmSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createSignInThrottle } from "../src/domain/accounts/sign-in-throttle.ts";
import { dialects } from "./support/databases.ts";
import { startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { keyFile, run, sshArgs, sshHome } from "./support/ssh-client.ts";

const attempt = async (t: TestAzusa) =>
  (await t.anonymous().post("/api/auth/sign-in/email", { email: "root@office.example", password: "nope-nope-nope" }))
    .status;

describe.each(dialects)("sign-in throttling on %s", (dialect) => {
  it("answers 429 once an address has used up its attempts", async () => {
    const t = await startTestAzusa({ dialect, env: { AZUSA_SIGNIN_LIMIT: "3" } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push(await attempt(t));
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      const res = await t.anonymous().post("/api/auth/sign-in/email", { email: "root@office.example", password: "x" });
      expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(Number(res.headers.get("retry-after"))).toBeLessThanOrEqual(60);
      expect(await res.json()).toMatchObject({ error: { code: "RATE_LIMITED", requestId: expect.any(String) } });
      // A refusal is audited like any failed sign-in.
      const refusals = await t.running.azusa.db.kysely
        .selectFrom("audit_event")
        .select("details")
        .where("action", "=", "auth.sign_in_failed")
        .execute();
      expect(refusals.filter((e) => JSON.parse(e.details).status === 429)).toHaveLength(3);
    } finally {
      await t.stop();
    }
  });

  it("lets an attempt in again exactly a minute after the oldest one it counted, not at a clock minute", async () => {
    const t = await startTestAzusa({ dialect });
    try {
      let now = Date.UTC(2027, 0, 12, 3, 0, 30);
      const limit = createSignInThrottle({ db: t.running.azusa.db.kysely, now: () => now }).attempts("test", {
        limit: 2,
      });
      expect(await limit.admit("192.0.2.7")).toEqual({ ok: true });
      now += 20_000;
      expect(await limit.admit("192.0.2.7")).toEqual({ ok: true });
      now += 20_000; // 03:01:10: a new clock minute, but both attempts are under a minute old
      expect(await limit.admit("192.0.2.7")).toEqual({ ok: false, retryAfterSeconds: 20 });
      expect(await limit.admit("192.0.2.8")).toEqual({ ok: true });
      now += 20_000; // the first attempt is a minute old now
      expect(await limit.admit("192.0.2.7")).toEqual({ ok: true });
      expect(await limit.admit("192.0.2.7")).toEqual({ ok: false, retryAfterSeconds: 20 });
    } finally {
      await t.stop();
    }
  });

  it("locks a key out after too many failures within the window, for the lock's time", async () => {
    const t = await startTestAzusa({ dialect });
    try {
      let now = Date.UTC(2027, 0, 12, 3, 0, 0);
      const lockout = createSignInThrottle({ db: t.running.azusa.db.kysely, now: () => now }).lockout("test", {
        maxFailures: 3,
        windowMs: 60_000,
        lockMs: 120_000,
      });
      expect(await lockout.fail("a", "b")).toEqual([]);
      expect(await lockout.failedRecently("a")).toBe(true);
      await lockout.clear("b");
      expect(await lockout.failedRecently("b")).toBe(false);
      now += 61_000; // the first failure has left the window
      expect(await lockout.fail("a")).toEqual([]);
      expect(await lockout.fail("a")).toEqual([]);
      expect(await lockout.locked("a")).toBe(false);
      expect(await lockout.fail("a")).toEqual(["a"]);
      expect(await lockout.locked("a")).toBe(true);
      expect(await lockout.locked("b")).toBe(false);
      await lockout.clear("a"); // a success forgets failures, not a lock in force
      expect(await lockout.locked("a")).toBe(true);
      now += 120_000;
      expect(await lockout.locked("a")).toBe(false);
    } finally {
      await t.stop();
    }
  });
});

describe("several processes on one PostgreSQL", () => {
  it("count one address's sign-in attempts together", async () => {
    const a = await startTestAzusa({ dialect: "postgres", env: { AZUSA_SIGNIN_LIMIT: "3" } });
    const b = await startTestAzusa({ alongside: a, env: { AZUSA_SIGNIN_LIMIT: "3" } });
    try {
      const statuses = [await attempt(a), await attempt(b), await attempt(a), await attempt(b), await attempt(a)];
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
    } finally {
      await b.stop();
      await a.stop();
    }
  });

  it("count SSH login failures together: a package guessed at through both gateways is locked on either", async () => {
    const a = await startTestAzusa({ dialect: "postgres" });
    const b = await startTestAzusa({ alongside: a });
    const home = sshHome(a.running.azusa.sshGateway.hostPublicKey, a.running.sshPort);
    writeFileSync(home.knownHosts, `[127.0.0.1]:${b.running.sshPort} ${b.running.azusa.sshGateway.hostPublicKey}\n`, {
      flag: "a",
    });
    const stranger = keyFile(home.dir, "guesser");
    const login = (t: TestAzusa) =>
      run("ssh", [
        ...sshArgs({ port: t.running.sshPort, key: stranger.path, knownHosts: home.knownHosts, user: "pkg-guess" }, [
          "-o",
          "BindAddress=127.0.3.1",
        ]),
        "true",
      ]);
    const lastRefusal = async () => {
      const row = await a.running.azusa.db.kysely
        .selectFrom("audit_event")
        .select("details")
        .where("action", "=", "ssh.refused")
        .orderBy("seq", "desc")
        .executeTakeFirstOrThrow();
      return JSON.parse(row.details) as { code: string };
    };
    try {
      // five failures for the package, three through one gateway and two through the other
      for (const t of [a, b, a, b, a]) {
        expect((await login(t)).code).toBe(255);
        expect(await lastRefusal()).toMatchObject({ code: "unknown_key" });
      }
      expect((await login(b)).code).toBe(255);
      expect(await lastRefusal()).toMatchObject({ code: "locked" });
    } finally {
      await b.stop();
      await a.stop();
      rmSync(home.dir, { recursive: true, force: true });
    }
  });
});
