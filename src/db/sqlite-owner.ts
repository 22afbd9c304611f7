// SQLite serves one Azusa process: `azusa serve` claims the database file with an owner file beside it,
// and a second process on the same file is refused with a clear message, rather than two processes each
// running schedules, reconcile and the gateway over one file. Several processes need PostgreSQL.

import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { processAlive } from "../kernel/process.ts";

/** Why a claim failed: another live process owns the file. */
export class SqliteInUse extends Error {
  constructor(
    readonly file: string,
    readonly pid: number,
  ) {
    super(`the SQLite database ${file} is in use by another Azusa process (pid ${pid})`);
  }
}

/**
 * Claims `file` for this process: writes `<file>.owner` (pid and host) unless a live process on this host
 * holds it. A claim left by a process that is gone (kill -9) is taken over. Returns the release, which
 * removes the owner file only while it is still this process's. Throws SqliteInUse.
 */
export function claimSqliteFile(file: string): () => void {
  const owner = `${file}.owner`;
  const mine = `${process.pid} ${hostname()}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(owner, "wx", 0o644);
      writeSync(fd, mine);
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(owner, "utf8") === mine) rmSync(owner, { force: true });
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    let text = "";
    try {
      text = readFileSync(owner, "utf8");
    } catch {
      continue; // released meanwhile: try again
    }
    const [pidText, host] = text.trim().split(" ");
    const pid = Number(pidText);
    // A claim from another host (a shared folder) cannot be checked: it stands.
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && (host !== hostname() || processAlive(pid))) {
      throw new SqliteInUse(file, pid);
    }
    // Left by a process that is gone, or by this very process: taken over.
    rmSync(owner, { force: true });
  }
  throw new SqliteInUse(file, 0);
}
