// A session's processes in the workspace: marked with the session's id when it starts, and ended with it
// (children, background jobs, nohup'ed and setsid'ed commands), save the services its template names.
import type { Writable } from "node:stream";
import type { Target } from "../domain/sessions/access.ts";
import { endTargets, SESSION_MARK } from "../domain/workspaces/workspace-processes.ts";
import { AppError } from "../kernel/errors.ts";
import type { BridgeContext, SessionRequest } from "./bridge-types.ts";
import { sftpServer } from "./ssh-protocol.ts";

/**
 * Ends what a session left running in the workspace, run there as `sh -c reaper azusa-reap ID SERVICE…`: every
 * process of the session's own process session (docker exec makes the command a session leader, so its
 * children, background jobs and nohup'ed commands are in it), and every process still carrying the session's
 * mark (one that left with setsid), except those whose name (as `ps -o comm` shows it) is a service the
 * template lets run on. TERM, then KILL a second later for what is still there. Prints how many it ended.
 */
export const reaperScript = String.raw`id=$1; shift; keep=" $* "; me=$$
sids=" "; table=""
for d in /proc/[0-9]*; do
  p=${"$"}{d#/proc/}; [ "$p" = "$me" ] && continue
  read -r st 2>/dev/null < "$d/stat" || continue
  st=${"$"}{st##*) }; set -- $st; sid=$4; mark=0
  if tr '\0' '\n' < "$d/environ" 2>/dev/null | grep -qx "${SESSION_MARK}=$id"; then
    mark=1; [ "$sid" = "$p" ] && sids="$sids$sid "
  fi
  table="$table $p:$sid:$mark"
done
targets=""
for row in $table; do
  p=${"$"}{row%%:*}; rest=${"$"}{row#*:}; sid=${"$"}{rest%%:*}; mark=${"$"}{rest#*:}
  case "$sids" in *" $sid "*) ;; *) [ "$mark" = 1 ] || continue ;; esac
  read -r comm 2>/dev/null < "/proc/$p/comm" || continue
  case "$keep" in *" $comm "*) continue ;; esac
  targets="$targets $p"
done
${endTargets}`;

/**
 * Whether a session's command may leave processes behind, so that its end needs the reaper's `docker exec`. Only
 * the sftp subsystem may not: its command is Azusa's own, with no word of the client's in it (sftpServer), and
 * runs the image's sftp-server only where the workspace user cannot change it; sftp-server starts no process
 * (SFTP has no request that runs a command). Git over SSH is reaped like any command: upload-pack runs the
 * user's own git config's `uploadpack.packObjectsHook`, receive-pack the repository's hooks (post-receive…),
 * and either may start a background job.
 */
export function mayLeaveProcesses(request: Pick<SessionRequest, "command" | "subsystem">): boolean {
  return !(request.subsystem === "sftp" && request.command === sftpServer);
}

/**
 * Ends the session's processes left in the workspace (see reaperScript), the template's services spared. Only
 * a running workspace is asked: a stopped one has nothing left running, and is not started for it.
 */
export async function reapSession(
  ctx: BridgeContext,
  sessionId: string,
  target: Target,
  request: Pick<SessionRequest, "command" | "subsystem">,
): Promise<void> {
  if (!mayLeaveProcesses(request)) return;
  try {
    const services = target.template?.azusa.services ?? [];
    const reaper = await ctx.execNow(target, {
      cmd: ["/bin/sh", "-c", reaperScript, "azusa-reap", sessionId, ...services],
      tty: false,
    });
    (reaper.stdin as Writable).end();
    let said = "";
    reaper.stdout.on("data", (d: Buffer) => {
      said += d.toString();
    });
    reaper.stderr?.resume();
    const exit = await reaper.exit;
    const ended = Number.parseInt(said, 10) || 0;
    if (exit.code !== 0) ctx.logger.warn({ session: sessionId, code: exit.code }, "session processes not ended");
    else if (ended) ctx.logger.info({ session: sessionId, ended }, "session processes ended");
  } catch (err) {
    // A stopped workspace (the driver's INVALID_STATE) has nothing left running: nothing to warn about.
    if (err instanceof AppError && err.code === "INVALID_STATE") return;
    const message = err instanceof Error ? err.message : String(err);
    ctx.logger.warn({ err: message, session: sessionId }, "session processes not ended");
  }
}
