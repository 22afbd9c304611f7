// Words the services store as evidence in English (why a workspace changed state, what it was last used
// for, why a session ended), shown in the page's language: each known form is a dictionary entry, its
// variable parts kept; a form not known here is shown as stored rather than guessed.
import { isMessageKey, type MessageKey, type Translate } from "./i18n.ts";

type Rule = [RegExp, MessageKey, ...string[]];

/** Patterns of stored reasons, tried in order; the named groups fill the entry's placeholders. */
const workspaceReasons: Rule[] = [
  [/^provisioned for the assignment$/, "reason.provisioned"],
  [/^provisioning finished after a restart$/, "reason.provisionedAfterRestart"],
  [/^provisioning was interrupted and the assignment has ended$/, "reason.interruptedEnded"],
  [/^its container vanished from the engine$/, "reason.vanished"],
  [/^no workspace template named "(?<name>.*)"$/, "reason.noTemplate"],
  [/^provisioning failed: image (?<image>\S+) not found$/, "reason.imageMissing"],
  [/^provisioning failed: (?<detail>.*)$/s, "reason.provisionFailed"],
  [/^waiting for a workspace host that fits \((?<detail>.*)\)$/s, "reason.waitingForHost"],
  [
    /^waiting for a workspace host labelled for the tenant of this restricted contract \((?<detail>.*)\)$/s,
    "reason.waitingForTenantHost",
  ],
  [/^a workspace host can take it now$/, "reason.hostAvailable"],
  [/^checking out the package's code failed: (?<detail>.*)$/s, "reason.checkoutFailed"],
  [/^starting it to finish checking out its code failed: (?<detail>.*)$/s, "reason.checkoutStartFailed"],
  [/^started to finish checking out its code$/, "reason.checkoutStarted"],
  [/^started by (?<role>\w+)$/, "reason.startedBy"],
  [/^started$/, "reason.started"],
  [/^stopped by (?<role>\w+)$/, "reason.stoppedBy"],
  [/^stopped$/, "reason.stopped"],
  [/^idle for (?<minutes>\d+) minutes \(limit (?<limit>\d+)\); .*$/s, "reason.idle"],
  [/^the assignment ended \((?<why>.*)\)$/, "reason.assignmentEnded"],
  [/^moved to another workspace host: (?<why>.*)$/s, "reason.moved"],
];

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
    if (vars.role) vars.role = known(t, "role.", vars.role);
    if (vars.why) vars.why = vars.why === "cancelled" ? t("state.cancelled") : vars.why;
    return t(key, vars);
  }
  return stored;
}

/** Why a workspace is in its state, in the page's language. */
export const workspaceReason = (t: Translate, stored: string | null): string =>
  stored ? apply(t, workspaceReasons, stored) : "";

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
