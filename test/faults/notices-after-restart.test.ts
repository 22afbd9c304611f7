// The notices between processes survive PostgreSQL restarting: the listening connection comes back by itself,
// and a revocation made through one process after the restart still reaches the other at once. The second
// process remembers credentials for ten minutes, so only a notice heard after the restart can refuse in time.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "../support/cli.ts";
import { Client, startTestAzusa, type TestAzusa } from "../support/harness.ts";
import { type PrivatePostgres, privatePostgres } from "../support/private-postgres.ts";

const slowFallbacks = { credentialCacheMs: 10 * 60_000, sessionRecheckMs: 10 * 60_000 };

describe("notices after PostgreSQL restarts", () => {
  let pg: PrivatePostgres;
  let a: TestAzusa;
  let b: TestAzusa;

  beforeAll(async () => {
    pg = await privatePostgres();
    const env = { DATABASE_URL: pg.url, AZUSA_SCHEDULES: "off" };
    a = await startTestAzusa({ env });
    b = await startTestAzusa({ alongside: a, env, tuning: slowFallbacks });
  });

  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await pg?.remove();
  });

  it("a sign-out made after the restart through one process is refused by the other", async () => {
    await a.createUser("operator", "ops@office.example");
    const heardAgain = () => b.logs.filter((l) => l.includes("the notice connection to PostgreSQL is back")).length;
    expect(heardAgain()).toBe(0);

    await pg.stop();
    await pg.start();
    await until("B to listen again", async () => (heardAgain() > 0 ? true : undefined), 60_000);
    await until(
      "A to answer again",
      async () => ((await fetch(`${a.base}/readyz`)).status === 200 ? true : undefined),
      60_000,
    );

    const onA = await a.signIn("ops@office.example");
    const onB = Object.assign(new Client(b.base, { origin: new URL(b.base).origin }), { cookie: onA.cookie });
    expect((await onB.get("/api/v1/me")).status).toBe(200); // remembered by B for ten minutes from now on
    expect((await onA.post("/api/auth/sign-out")).status).toBe(200);
    await until("B to refuse", async () => ((await onB.get("/api/v1/me")).status === 401 ? true : undefined), 30_000);
  }, 180_000);
});
