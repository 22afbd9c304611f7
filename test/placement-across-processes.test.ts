// Two Azusa processes on one PostgreSQL place workspaces one at a time between them: a placement in one waits
// while the other's is still recording its choice, so that each sees the counts the other left.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "./support/cli.ts";
import { startTestAzusa, type TestAzusa } from "./support/harness.ts";

const needs = { tenantId: "any", restricted: false, egress: false };

describe("placement across processes on one PostgreSQL", () => {
  let a: TestAzusa;
  let b: TestAzusa;

  beforeAll(async () => {
    a = await startTestAzusa({ dialect: "postgres", env: { AZUSA_SCHEDULES: "off" } });
    b = await startTestAzusa({ alongside: a, env: { AZUSA_SCHEDULES: "off" } });
  });

  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  it("a placement in one process waits until the other's has recorded its host", async () => {
    const order: string[] = [];
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = a.running.azusa.workspaceHosts.place(needs, async () => {
      order.push("first choosing");
      await held;
      order.push("first recorded");
    });
    await until("the first placement to be recording", async () => (order.length > 0 ? true : undefined));
    const second = b.running.azusa.workspaceHosts.place(needs, async () => {
      order.push("second recorded");
    });
    // Without one lock between the processes the second records at once; with it, it waits for the first.
    await Promise.race([second, new Promise((resolve) => setTimeout(resolve, 2_000))]);
    release();
    expect(await first).toEqual({ hostId: "local" });
    expect(await second).toEqual({ hostId: "local" });
    expect(order).toEqual(["first choosing", "first recorded", "second recorded"]);
  });
});
