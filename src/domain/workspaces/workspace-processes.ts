// What sessions left running in a workspace, read from its /proc: the services its template lets outlive a
// session (listed for whoever may see the workspace), and what a killed Azusa could not end (no reaper ran),
// ended at the next start.
import type { Writable } from "node:stream";
import type { Kysely } from "kysely";
import type { Database, WorkspaceTable } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import type { Logger } from "../../logger.ts";
import type { WorkspaceDriver, WorkspaceRef } from "../../provisioner/driver.ts";
import type { WorkspaceTemplate } from "../../templates/templates.ts";
import type { AuditService } from "../audit/audit.service.ts";

/** The environment variable that marks a session's processes in the workspace, its value the session's id. */
export const SESSION_MARK = "AZUSA_SESSION";

/** A process a session started that its template lets run on after it (`customizations.azusa.services`). */
export interface ServiceProcess {
  /** Its name as `ps -o comm` shows it: one of the template's services. */
  name: string;
  pid: number;
  /** When it started (ISO 8601). */
  since: string;
  /** The session that started it. */
  sessionId: string;
}

/** One process of the workspace as the scan saw it. */
interface Seen {
  pid: number;
  sid: number;
  /** Its start in clock ticks since boot, as /proc/PID/stat gives it: with the pid, what names it unmistakably. */
  start: string;
  /** Its session's id: its own mark, or its process session leader's. */
  session: string | null;
  comm: string;
  since: Date;
}

/**
 * Prints the boot time (`btime N`), then one line per process: `pid sid start mark comm`, the mark `-` when it has
 * none (or one that is not a session id). Plain sh over /proc, so that it runs on any image, busybox included.
 */
const scanScript = String.raw`me=$$
while read -r k v; do [ "$k" = btime ] && { echo "btime $v"; break; }; done < /proc/stat
for d in /proc/[0-9]*; do
  p=${"$"}{d#/proc/}; [ "$p" = "$me" ] && continue
  read -r st 2>/dev/null < "$d/stat" || continue
  st=${"$"}{st##*) }; set -- $st; sid=$4; start=${"$"}{20}
  mark=$(tr '\0' '\n' < "$d/environ" 2>/dev/null | sed -n 's/^${SESSION_MARK}=//p')
  case "$mark" in ""|*[!0-9a-f-]*) mark=- ;; esac
  read -r comm 2>/dev/null < "$d/comm" || continue
  echo "$p $sid $start $mark $comm"
done`;

/**
 * The end of a script that has put the pids to end in `$targets`: TERM, then KILL a second later for what is still
 * there; prints how many it ended.
 */
export const endTargets = `[ -n "$targets" ] || { echo 0; exit 0; }
kill -TERM $targets 2>/dev/null
left=""
for p in $targets; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
if [ -n "$left" ]; then sleep 1; kill -KILL $left 2>/dev/null; fi
set -- $targets; echo $#`;

/**
 * Ends the processes given as `pid:start` (one whose start differs is another process by now, and is left): TERM,
 * then KILL a second later for what is still there. Prints how many it ended.
 */
const endScript = `targets=""
for pair in "$@"; do
  p=${"$"}{pair%%:*}
  read -r st 2>/dev/null < "/proc/$p/stat" || continue
  st=${"$"}{st##*) }; set -- $st
  [ "${"$"}{20}" = "${"$"}{pair#*:}" ] && targets="$targets $p"
done
${endTargets}`;

/** /proc counts a process's start in USER_HZ ticks, 100 a second on every Linux a container runs on. */
const TICKS_PER_SECOND = 100;

/** Reads the scan's lines: each process with its session (its own mark, or its process session leader's). */
export function parseScan(output: string): Seen[] {
  const lines = output.split("\n");
  const boot = Number(/^btime (\d+)$/m.exec(output)?.[1] ?? Number.NaN);
  const rows: { pid: number; sid: number; start: string; mark: string | null; comm: string }[] = [];
  for (const line of lines) {
    const m = /^(\d+) (\d+) (\d+) (\S+) (.*)$/.exec(line);
    if (!m) continue;
    const [, pid, sid, start, mark, comm] = m as unknown as [string, string, string, string, string, string];
    rows.push({ pid: Number(pid), sid: Number(sid), start, mark: mark === "-" ? null : mark, comm });
  }
  const leaders = new Map(rows.filter((r) => r.pid === r.sid && r.mark).map((r) => [r.sid, r.mark]));
  return rows.map((r) => ({
    pid: r.pid,
    sid: r.sid,
    start: r.start,
    session: r.mark ?? leaders.get(r.sid) ?? null,
    comm: r.comm,
    since: new Date(Number.isFinite(boot) ? (boot + Number(r.start) / TICKS_PER_SECOND) * 1000 : 0),
  }));
}

export interface WorkspaceProcessesOptions {
  db: Kysely<Database>;
  driver: WorkspaceDriver;
  audit: AuditService;
  logger: Logger;
  templates: () => Promise<Map<string, WorkspaceTemplate>>;
  now?: () => Date;
  /**
   * A marked process whose session has no row yet is spared this long after it started: another process may be
   * writing that row while its command already runs (both start together).
   */
  unknownGraceMs?: number;
  /** How long one workspace may take to answer before it is given up on (its engine does not answer). */
  timeoutMs?: number;
}

/** The services sessions left running in a workspace, and the ending of what a killed Azusa left there. */
export function createWorkspaceProcesses({
  db,
  driver,
  audit,
  logger,
  templates,
  now = () => new Date(),
  unknownGraceMs = 60_000,
  timeoutMs = 10_000,
}: WorkspaceProcessesOptions) {
  const system: Actor = { kind: "system", name: "workspaces" };

  /** Runs `script` in the workspace with `args`; its standard output, or a rejection past `timeoutMs`. */
  async function run(ref: WorkspaceRef, script: string, args: string[]): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const work = (async () => {
      const exec = await driver.exec(ref, { cmd: ["/bin/sh", "-c", script, "azusa", ...args], tty: false });
      (exec.stdin as Writable).end();
      let out = "";
      exec.stdout.on("data", (d: Buffer) => {
        out += d.toString("latin1");
      });
      exec.stderr?.resume();
      const ended = new Promise<void>((resolve) => exec.stdout.once("end", () => resolve()));
      const [exit] = await Promise.all([exec.exit, ended]);
      if (exit.code !== 0) throw new Error(`the workspace answered ${exit.code}`);
      return out;
    })();
    try {
      return await Promise.race([
        work,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the workspace did not answer in ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  const servicesOf = async (row: WorkspaceTable): Promise<Set<string>> =>
    new Set((await templates()).get(row.template)?.azusa.services ?? []);

  return {
    /**
     * The processes sessions started in the workspace that its template names as services: none when it is not
     * running, null when it could not be asked (its engine did not answer).
     */
    async services(row: WorkspaceTable): Promise<ServiceProcess[] | null> {
      if (row.state !== "running" || !row.container_id || !row.volume) return [];
      const names = await servicesOf(row);
      if (!names.size) return [];
      try {
        const seen = parseScan(
          await run({ id: row.id, containerId: row.container_id, volume: row.volume }, scanScript, []),
        );
        return seen
          .filter((p) => p.session && names.has(p.comm))
          .map((p) => ({ name: p.comm, pid: p.pid, since: p.since.toISOString(), sessionId: p.session as string }))
          .sort((a, b) => a.since.localeCompare(b.since) || a.pid - b.pid);
      } catch (err) {
        logger.warn({ workspace: row.id, err: err instanceof Error ? err.message : String(err) }, "services not read");
        return null;
      }
    },

    /**
     * Ends, in every running workspace, the processes of sessions that are over (no reaper ran: Azusa was killed
     * outright), the template's services spared; each workspace where something was ended gets one
     * `workspace.processes_ended` event. Run at start, once this process's sessions left open are closed: a
     * session still open then is another live process's. Returns how many processes were ended.
     */
    async endLeftovers(): Promise<number> {
      const rows = await db
        .selectFrom("workspace")
        .selectAll()
        .where("state", "=", "running")
        .where("container_id", "is not", null)
        .execute();
      let total = 0;
      for (const row of rows) {
        try {
          total += await endLeftoversIn(row);
        } catch (err) {
          logger.warn(
            { workspace: row.id, err: err instanceof Error ? err.message : String(err) },
            "leftover session processes not ended",
          );
        }
      }
      return total;
    },
  };

  /** Ends the leftovers of one workspace (see endLeftovers); how many it ended. */
  async function endLeftoversIn(row: WorkspaceTable): Promise<number> {
    if (!row.container_id || !row.volume) return 0;
    const ref = { id: row.id, containerId: row.container_id, volume: row.volume };
    const seen = parseScan(await run(ref, scanScript, [])).filter((p) => p.session);
    if (!seen.length) return 0;
    const ids = [...new Set(seen.map((p) => p.session as string))];
    const known = new Map(
      (await db.selectFrom("workspace_session").select(["id", "ended_at"]).where("id", "in", ids).execute()).map(
        (s) => [s.id, s.ended_at],
      ),
    );
    const keep = await servicesOf(row);
    const at = now().getTime();
    const over = (p: Seen) => {
      const session = p.session as string;
      if (known.has(session)) return known.get(session) !== null;
      return at - p.since.getTime() >= unknownGraceMs;
    };
    const targets = seen.filter((p) => over(p) && !keep.has(p.comm));
    if (!targets.length) return 0;
    const ended = Number.parseInt(
      await run(
        ref,
        endScript,
        targets.map((p) => `${p.pid}:${p.start}`),
      ),
      10,
    );
    if (!ended) return 0;
    const sessions = [...new Set(targets.map((p) => p.session as string))].sort();
    await audit.record(
      system,
      "workspace.processes_ended",
      `workspace:${row.id}`,
      { reason: "left running by sessions Azusa could not end (it stopped unexpectedly)", sessions, processes: ended },
      { tenantId: row.tenant_id },
    );
    logger.warn({ workspace: row.id, sessions, processes: ended }, "leftover session processes ended");
    return ended;
  }
}

export type WorkspaceProcesses = ReturnType<typeof createWorkspaceProcesses>;
