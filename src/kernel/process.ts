// Whether a process of this machine is still there: for claims and half-made files left by a process.

/** True while process `pid` exists on this machine (EPERM: it exists, under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
