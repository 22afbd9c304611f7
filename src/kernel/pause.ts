// Named points where a crash would hurt most, at which a test can hold the process (AZUSA_TEST_PAUSE_AT) to kill
// it there with SIGKILL and check what a restart finds. Off unless that test-only setting names a point.

/** Holds the process at `point` for good when the setting names it; resolves at once otherwise. */
export type PausePoint = (point: string) => Promise<void>;

/** Never holds: what every process runs with unless a test asks otherwise. */
export const noPause: PausePoint = async () => {};

/** Holds at the point `at` (logged first, so that a test knows it is there); noPause when `at` is undefined. */
export function pauseAt(at: string | undefined, log: (point: string) => void): PausePoint {
  if (at === undefined) return noPause;
  return (point) => {
    if (point !== at) return Promise.resolve();
    log(point);
    return new Promise<void>(() => {});
  };
}
