// better-auth keeps its request, endpoint and transaction context in AsyncLocalStorage. Under Node 20 a
// storage that has run once keeps promise hooks on for the whole process, which makes every `await` of
// every request dearer; here better-auth's storages are switched off whenever none of their runs is pending.
import type { AsyncLocalStorage } from "node:async_hooks";
import {
  getCurrentAuthContextAsyncLocalStorage,
  getCurrentDBAdapterAsyncLocalStorage,
  getRequestStateAsyncLocalStorage,
} from "@better-auth/core/context";

type Storage = AsyncLocalStorage<unknown>;

const quieted = Symbol.for("azusa.quiet-storage");

// better-auth's storages are process-wide (they live on globalThis), so the count of their pending runs is too:
// one count for every Azusa in the process, or one app's finished run would switch off another's pending one.
const storages = new Set<Storage>();
let pending = 0;

function settled(): void {
  pending -= 1;
  // `disable` turns the promise hooks off once no storage of the process is enabled; the next `run` turns them
  // on again. Nothing of better-auth is pending here, so no code is left that could ask for a store.
  if (pending === 0) for (const storage of storages) storage.disable();
}

/**
 * Counts the runs of `storage` until their result settles. better-auth awaits all of its work inside a run
 * (background tasks included, as no `backgroundTasks.handler` is configured), and code after the outermost run
 * reads no store, so once no run is pending no store can be asked for.
 */
function quiet(storage: Storage): void {
  const marked = storage as Storage & { [quieted]?: true };
  if (marked[quieted]) return;
  marked[quieted] = true;
  storages.add(storage);
  const run = storage.run.bind(storage);
  storage.run = <R, A extends unknown[]>(store: unknown, callback: (...args: A) => R, ...args: A): R => {
    pending += 1;
    let result: R;
    try {
      result = run(store, callback, ...args);
    } catch (err) {
      settled();
      throw err;
    }
    if (result instanceof Promise) result.then(settled, settled);
    else settled();
    return result;
  };
}

/**
 * Makes better-auth's storages switch their promise hooks off when idle. Call it before better-auth's first
 * call (the storages are made on first use; this makes them first); it is idempotent.
 */
export async function quietAuthStorages(): Promise<void> {
  const all = await Promise.all([
    getRequestStateAsyncLocalStorage(),
    getCurrentDBAdapterAsyncLocalStorage(),
    getCurrentAuthContextAsyncLocalStorage(),
  ]);
  for (const storage of all) quiet(storage as Storage);
}
