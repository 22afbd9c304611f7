import { executionAsyncResource } from "node:async_hooks";
import {
  getRequestStateAsyncLocalStorage,
  runWithEndpointContext,
  runWithRequestState,
} from "@better-auth/core/context";
import { describe, expect, it } from "vitest";
import { quietAuthStorages } from "./quiet-storage.ts";

// With promise hooks on, the code after an await runs as the promise's own async resource; with them off it
// does not: the cost this module removes shows as this flag.
const promiseHooksOn = async () => {
  await null;
  return executionAsyncResource() instanceof Promise;
};

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("quietAuthStorages", () => {
  it("turns the promise hooks off once no run of better-auth's storages is pending, and on for the next", async () => {
    await quietAuthStorages();
    expect(await promiseHooksOn()).toBe(false);

    const seen = await runWithRequestState(new WeakMap(), async () => {
      await tick();
      return promiseHooksOn();
    });
    expect(seen).toBe(true);
    expect(await promiseHooksOn()).toBe(false);

    await runWithRequestState(new WeakMap(), async () => tick());
    expect(await promiseHooksOn()).toBe(false);
  });

  it("keeps a pending run's store while another run settles", async () => {
    await quietAuthStorages();
    const storage = await getRequestStateAsyncLocalStorage();
    const slow = new WeakMap();
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const pending = runWithRequestState(slow, async () => {
      await gate;
      await tick();
      return storage.getStore();
    });
    // A short call, nested the way better-auth nests its endpoint context, comes and goes meanwhile.
    await runWithRequestState(new WeakMap(), () => runWithEndpointContext({} as never, async () => tick()));
    release();
    expect(await pending).toBe(slow);
    expect(await promiseHooksOn()).toBe(false);
  });

  it("counts a run whose callback throws as settled", async () => {
    await quietAuthStorages();
    await expect(
      runWithRequestState(new WeakMap(), () => {
        throw new Error("refused");
      }),
    ).rejects.toThrow("refused");
    await expect(
      runWithRequestState(new WeakMap(), async () => {
        await tick();
        throw new Error("refused later");
      }),
    ).rejects.toThrow("refused later");
    expect(await promiseHooksOn()).toBe(false);
  });
});
