// What may cross the SSH boundary besides an interactive terminal: the template's transfer policy (file
// transfer, Git over SSH) judged on what a channel would run, and a restricted contract's terminal-only rule.

/** A session channel as the client asked for it. */
export interface ChannelRequest {
  kind: "shell" | "exec";
  command?: string;
  /** With a pty: an interactive terminal. */
  pty: boolean;
  /** Set when the client asked for a subsystem (only "sftp" gets this far). */
  subsystem?: string;
}

/** The policy a channel is judged against: the template's switches and the contract's confidentiality. */
export interface TransferPolicy {
  /** SFTP, scp in either mode, rsync over SSH, an sftp-server run by exec. */
  fileTransfer: boolean;
  /** git-upload-pack, git-receive-pack, git-upload-archive run by exec: clone, fetch and push from outside. */
  git: boolean;
  /** A `restricted` contract: only interactive terminals with a pty, whatever the template says. */
  restricted: boolean;
}

/** Why a channel is refused: what the client is told (after "azusa: ") and the audit event's reason. */
export interface ChannelRefusal {
  reason: "restricted" | "file_transfer" | "git";
  message: string;
}

const fileTransferPrograms = new Set(["scp", "sftp-server", "rsync"]);
const gitPrograms = new Set(["git-upload-pack", "git-receive-pack", "git-upload-archive"]);
const gitVerbs = new Set(["upload-pack", "receive-pack", "upload-archive"]);

/**
 * Every word of a command line, unquoted, with paths reduced to their last part: enough to find a transfer
 * program wherever it stands (`sh -c 'scp -t x'`, `/usr/lib/openssh/sftp-server`, `exec rsync --server`).
 * A word naming one anywhere refuses the command; that errs towards refusing.
 */
function words(command: string): string[] {
  return command
    .split(/[\s;&|()<>`$"'\\{}]+/)
    .filter(Boolean)
    .map((w) => w.slice(w.lastIndexOf("/") + 1));
}

/** What `command` would move across the boundary: a file transfer, Git, or nothing known. */
export function transferOf(command: string): "file_transfer" | "git" | null {
  const list = words(command);
  for (const [i, w] of list.entries()) {
    if (fileTransferPrograms.has(w)) return "file_transfer";
    if (gitPrograms.has(w) || (w === "git" && gitVerbs.has(list[i + 1] ?? ""))) return "git";
  }
  return null;
}

/** Why `policy` refuses `request`, or null when it may run. */
export function channelRefusal(policy: TransferPolicy, request: ChannelRequest): ChannelRefusal | null {
  if (policy.restricted && (request.subsystem !== undefined || !request.pty)) {
    return {
      reason: "restricted",
      message: "this package's contract is restricted: only interactive terminal sessions (with a pty) are allowed",
    };
  }
  if (request.subsystem !== undefined) {
    return policy.fileTransfer
      ? null
      : { reason: "file_transfer", message: "file transfer is not allowed for this package" };
  }
  const moved = request.kind === "exec" && request.command ? transferOf(request.command) : null;
  if (moved === "file_transfer" && !policy.fileTransfer) {
    return { reason: "file_transfer", message: "file transfer is not allowed for this package" };
  }
  if (moved === "git" && !policy.git) {
    return { reason: "git", message: "Git over SSH is not allowed for this package; push inside the workspace" };
  }
  return null;
}
