// Words the services store as evidence in English (why a workspace changed state, what it was last used
// for, why a session ended), shown in the page's language: each known form is a dictionary entry, its
// variable parts kept; a form not known here is shown as stored rather than guessed.
import { workspaceReasonText } from "../../domain/workspaces/reasons.ts";
import { say } from "../../kernel/messages.ts";
import { isMessageKey, type Lang, type MessageKey, type Translate } from "./i18n.ts";

type Rule = [RegExp, MessageKey, ...string[]];

/** Azusa's own reasons for a workspace host's state (an operator's own words are shown as typed). */
export const knownHostReasons: Record<string, MessageKey> = {
  registered: "hosts.reason.registered",
  "the engine DOCKER_HOST names": "hosts.reason.default",
  "drained by an operator": "hosts.reason.drained",
  "marked down by an operator": "hosts.reason.down",
  "activated by an operator": "hosts.reason.activated",
};

/** How sessions end, as the gateway records them. */
const sessionEnds: Rule[] = [
  [/^exited$/, "end.exited"],
  [/^the browser closed the terminal$/, "end.browserClosed"],
  [/^the client closed the channel$/, "end.clientClosed"],
  [/^the connection closed$/, "end.connectionClosed"],
  [/^the session ended$/, "end.sessionEnded"],
  [/^cancelled by the client$/, "end.cancelled"],
  [/^access revoked: (?<detail>.*)$/s, "end.revoked"],
  [/^recording failed: (?<detail>.*)$/s, "end.recordingFailed"],
  [/^failed: (?<detail>.*)$/s, "end.failed"],
];

/** A stored word's dictionary entry under `prefix` (`role.` + `engineer`), or the word as stored. */
const known = (t: Translate, prefix: string, stored: string): string => {
  const key = `${prefix}${stored}`;
  return isMessageKey(key) ? t(key) : stored;
};

function apply(t: Translate, rules: Rule[], stored: string): string {
  for (const [pattern, key] of rules) {
    const m = pattern.exec(stored);
    if (!m) continue;
    const vars: Record<string, string> = { ...m.groups };
    return t(key, vars);
  }
  return stored;
}

/** Why a workspace is in its state, in the page's language (the same words an SSH refusal says). */
export function workspaceReason(lang: Lang, stored: string | null): string {
  if (!stored) return "";
  const message = workspaceReasonText(stored);
  return typeof message === "string" ? message : say(lang, message);
}

/** How a session ended, in the page's language. */
export const sessionEnd = (t: Translate, stored: string): string => apply(t, sessionEnds, stored);

/** What a workspace was last used for (`ssh shell`, `browser exec`, `web IDE save`), in the page's language. */
export function activity(t: Translate, stored: string | null): string {
  if (!stored) return "";
  if (stored === "web IDE save") return t("activity.ideSave");
  const [transport = "", kind = ""] = stored.split(" ", 2);
  const transportKey = `activity.transport.${transport}`;
  const kindKey = `activity.kind.${kind}`;
  if (!isMessageKey(transportKey) || !isMessageKey(kindKey)) return stored;
  return t("activity.what", { transport: t(transportKey), kind: t(kindKey) });
}

/** An invitation's status in the page's language. */
export const invitationStatus = (t: Translate, status: string): string => known(t, "invitation.status.", status);
