// Why a workspace is in its state, as the services store it (in English, the evidence), read back as a catalogue
// message: each known form with its variable parts kept, for a page and for an SSH refusal alike; a form not
// known here is left as stored rather than guessed.
import { catalogue, type MessageId, type Param, type Text, text } from "../../kernel/messages.ts";

type Rule = [RegExp, MessageId];

/** Patterns of stored reasons, tried in order; the named groups fill the message's placeholders. */
const rules: Rule[] = [
  [/^provisioned for the assignment$/, "workspaceReason.provisioned"],
  [/^provisioning finished after a restart$/, "workspaceReason.provisionedAfterRestart"],
  [/^provisioning was interrupted and the assignment has ended$/, "workspaceReason.interruptedEnded"],
  [/^its container vanished from the engine$/, "workspaceReason.vanished"],
  [/^no workspace template named "(?<name>.*)"$/, "workspaceReason.noTemplate"],
  [/^provisioning failed: image (?<image>\S+) not found$/, "workspaceReason.imageMissing"],
  [/^provisioning failed: (?<detail>.*)$/s, "workspaceReason.provisionFailed"],
  [/^waiting for a workspace host that fits \((?<detail>.*)\)$/s, "workspaceReason.waitingForHost"],
  [
    /^waiting for a workspace host labelled for the tenant of this restricted contract \((?<detail>.*)\)$/s,
    "workspaceReason.waitingForTenantHost",
  ],
  [/^a workspace host can take it now$/, "workspaceReason.hostAvailable"],
  [/^checking out the package's code failed: (?<detail>.*)$/s, "workspaceReason.checkoutFailed"],
  [/^starting it to finish checking out its code failed: (?<detail>.*)$/s, "workspaceReason.checkoutStartFailed"],
  [/^started to finish checking out its code$/, "workspaceReason.checkoutStarted"],
  [/^started by (?<role>\w+)$/, "workspaceReason.startedBy"],
  [/^started$/, "workspaceReason.started"],
  [/^stopped by (?<role>\w+)$/, "workspaceReason.stoppedBy"],
  [/^stopped$/, "workspaceReason.stopped"],
  [/^idle for (?<minutes>\d+) minutes \(limit (?<limit>\d+)\); .*$/s, "workspaceReason.idle"],
  [/^the assignment ended \((?<why>.*)\)$/, "workspaceReason.assignmentEnded"],
  [/^moved to another workspace host: (?<why>.*)$/s, "workspaceReason.moved"],
];

/** A stored word's catalogue message under `prefix` (`role.` + `engineer`), or the word as stored. */
const known = (prefix: string, stored: string): Param => {
  const key = `${prefix}${stored}`;
  return Object.hasOwn(catalogue, key) ? text(key as MessageId) : stored;
};

/** A stored workspace reason as a message, or the reason as stored when its form is not known. */
export function workspaceReasonText(stored: string): Text | string {
  for (const [pattern, key] of rules) {
    const m = pattern.exec(stored);
    if (!m) continue;
    const params: Record<string, Param> = { ...m.groups };
    if (m.groups?.role) params.role = known("role.", m.groups.role);
    if (m.groups?.why === "cancelled") params.why = text("state.cancelled");
    return text(key, params);
  }
  return stored;
}
