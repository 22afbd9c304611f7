// Session recordings for leads and operators: the sessions into workspaces (one package's for its
// contract's lead, every tenant's for operators) and a player that replays a recording with xterm.js.
import { readFileSync } from "node:fs";
import { Hono } from "hono";
import type { ListedSession } from "../../domain/sessions/sessions.service.ts";
import { formatDateTime } from "../i18n/i18n.ts";
import { sessionEnd } from "../i18n/stored.ts";
import { DataTable, Layout } from "../layout.tsx";
import { render, requireRole, type WebContext, type WebDeps, type WebEnv } from "../web-env.ts";

const player = readFileSync(new URL("../assets/player.js", import.meta.url), "utf8");
const playerCss = readFileSync(new URL("../assets/player.css", import.meta.url), "utf8");

/** The player page of a session. */
export const recordingPath = (sessionId: string) => `/recordings/${sessionId}`;

/** "1:02:03" or "2:03" from two instants; empty while the session runs. */
export function duration(startedAt: string, endedAt: string | null): string {
  if (!endedAt) return "";
  const total = Math.max(0, Math.round((Date.parse(endedAt) - Date.parse(startedAt)) / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** Over what and how: "ssh / shell", "ssh / sftp", or "ssh / exec" with the exact command line. */
function Channel({ session }: { session: ListedSession }) {
  const what = `${session.transport} / ${session.subsystem ?? session.kind}`;
  if (session.command === null || session.subsystem) return <>{what}</>;
  return (
    <>
      {what} <code class="command">{session.command}</code>
    </>
  );
}

/** How a session ended: its exit status, its signal, or why Azusa ended it. */
function exitOf(c: WebContext, s: ListedSession): string {
  const t = c.get("t");
  if (!s.endedAt) return t("recordings.running");
  const parts: string[] = [];
  if (s.exitCode !== null) parts.push(t("recordings.exitCode", { code: s.exitCode }));
  if (s.exitSignal) parts.push(t("recordings.exitSignal", { signal: s.exitSignal }));
  if (s.endReason) parts.push(sessionEnd(t, s.endReason));
  if (s.recordingTruncatedAt)
    parts.push(t("recordings.truncated", { at: formatDateTime(c.get("lang"), s.recordingTruncatedAt) }));
  return parts.join(" · ");
}

function SessionList({
  c,
  title,
  sessions,
  showPackage,
}: {
  c: WebContext;
  title: string;
  sessions: ListedSession[];
  showPackage: boolean;
}) {
  const t = c.get("t");
  const lang = c.get("lang");
  return (
    <Layout c={c} title={title}>
      <DataTable
        empty={t("recordings.empty")}
        id="sessions"
        count={sessions.length}
        cols={[
          ...(showPackage ? [t("recordings.package")] : []),
          t("recordings.engineer"),
          t("recordings.startedAt"),
          t("recordings.source"),
          t("recordings.channel"),
          { label: t("recordings.duration"), num: true },
          t("recordings.exit"),
          t("recordings.recording"),
        ]}
      >
        {sessions.map((s) => (
          <tr>
            {showPackage ? (
              <td>
                {s.wbsId} {s.packageTitle}
              </td>
            ) : null}
            <td>{s.engineerName}</td>
            <td>{formatDateTime(lang, s.startedAt)}</td>
            <td>
              <code>{s.sourceAddress}</code>
            </td>
            <td>
              <Channel session={s} />
            </td>
            <td class="num">{duration(s.startedAt, s.endedAt)}</td>
            <td>{exitOf(c, s)}</td>
            <td>
              {s.recorded ? <a href={recordingPath(s.id)}>{t("recordings.play")}</a> : t("recordings.notRecorded")}
            </td>
          </tr>
        ))}
      </DataTable>
    </Layout>
  );
}

function Player({ c, session }: { c: WebContext; session: ListedSession }) {
  const t = c.get("t");
  const lang = c.get("lang");
  return (
    <Layout
      c={c}
      title={t("player.title", { wbs: session.wbsId, title: session.packageTitle })}
      scripts={["/assets/player.js"]}
      styles={["/assets/xterm/xterm.css", "/assets/terminal.css", "/assets/player.css"]}
    >
      <dl class="facts">
        <dt>{t("recordings.engineer")}</dt>
        <dd>{session.engineerName}</dd>
        <dt>{t("recordings.startedAt")}</dt>
        <dd>{formatDateTime(lang, session.startedAt)}</dd>
        <dt>{t("recordings.source")}</dt>
        <dd>
          <code>{session.sourceAddress}</code>
        </dd>
        <dt>{t("recordings.channel")}</dt>
        <dd>
          <Channel session={session} />
        </dd>
        <dt>{t("recordings.duration")}</dt>
        <dd>{duration(session.startedAt, session.endedAt)}</dd>
        <dt>{t("recordings.exit")}</dt>
        <dd>{exitOf(c, session)}</dd>
      </dl>
      {session.recorded ? (
        <>
          <div class="player-controls" role="toolbar" aria-label={t("player.controls")}>
            <button
              type="button"
              id="player-toggle"
              data-play={t("player.play")}
              data-pause={t("player.pause")}
              disabled
            >
              {t("player.play")}
            </button>
            <label>
              {t("player.speed")}
              <select id="player-speed" disabled>
                <option value="1">1×</option>
                <option value="2">2×</option>
                <option value="4">4×</option>
              </select>
            </label>
            <button type="button" id="player-end" disabled>
              {t("player.end")}
            </button>
            <a href={`/api/v1/sessions/${session.id}/recording`}>{t("player.download")}</a>
          </div>
          <p
            id="player-status"
            role="status"
            data-loading={t("player.loading")}
            data-failed={t("player.failed")}
            data-position={t("player.position")}
          >
            {t("player.loading")}
          </p>
          <section
            id="player"
            class="terminal"
            aria-label={t("player.label")}
            data-cast={`/api/v1/sessions/${session.id}/recording`}
          />
        </>
      ) : (
        <p>{t("recordings.notRecorded")}</p>
      )}
    </Layout>
  );
}

/** The recordings pages: every session (operators), one package's (its contract's lead), and the player. */
export function recordingPages(deps: WebDeps) {
  return new Hono<WebEnv>()
    .get("/assets/player.js", (c) =>
      c.body(player, 200, {
        "content-type": "text/javascript; charset=utf-8",
        "cache-control": "public, max-age=3600",
      }),
    )
    .get("/assets/player.css", (c) =>
      c.body(playerCss, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "public, max-age=3600" }),
    )
    .get("/recordings", async (c) => {
      const user = requireRole(c, "operator");
      const sessions = await deps.sessions.listed(user);
      return render(c, <SessionList c={c} title={c.get("t")("recordings.title")} sessions={sessions} showPackage />);
    })
    .get("/packages/:packageId/recordings", async (c) => {
      // Operators have every tenant's sessions at /recordings; this is the lead's view of one package.
      const user = requireRole(c, "lead");
      const packageId = c.req.param("packageId");
      const [pkg, sessions] = await Promise.all([
        deps.packages.get(user, packageId),
        deps.sessions.listed(user, { packageId }),
      ]);
      const title = c.get("t")("recordings.forPackage", { wbs: pkg.wbsId, title: pkg.title });
      return render(c, <SessionList c={c} title={title} sessions={sessions} showPackage={false} />);
    })
    .get("/recordings/:sessionId", async (c) => {
      const user = requireRole(c, "operator", "lead");
      const session = await deps.sessions.get(user, c.req.param("sessionId"));
      return render(c, <Player c={c} session={session} />);
    });
}
