// Whether a process of this machine is still there: for claims and half-made files left by a process.
import { readFileSync } from "node:fs";

/** True while process `pid` exists on this machine (EPERM: it exists, under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Which life of process `pid` runs now: the machine's boot id and the process's start time (in clock ticks since
 * boot), so that a pid used again — after a restart, in a container that always runs as pid 1, after a reboot —
 * is told apart from the process that had it. Empty where /proc cannot tell (not Linux, or no such process).
 */
export function processLife(pid: number): string {
  try {
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The fields after the command name, which is in parentheses and may hold spaces or parentheses itself.
    const start = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
    return boot && start && /^\d+$/.test(start) ? `${boot}.${start}` : "";
  } catch {
    return "";
  }
}
