// What a session may ask of its workspace, from the template and the request alone: forwards, listeners,
// environment names, and how a command's end reads to the client. Pure functions, tested beside.
import { said } from "../domain/sessions/access.ts";
import { type MessageId, type Text, text } from "../kernel/messages.ts";
import type { WorkspaceTemplate } from "../templates/templates.ts";

/** Where a local forward (ssh -L) wants to connect, as the workspace sees it. */
export interface ForwardRequest {
  host: string;
  port: number;
  /** A connection to the template's own IDE (the browser's IDE proxy), allowed by `idePort` alone. */
  ide?: boolean;
}

/**
 * The relay in perl, run as `perl -e script -- host port`: connects, copies both ways, and when the service
 * closes its end, writes what it sent and exits, so the client's end closes too (a server that ends its answer
 * by closing, as HTTP/1.0 does, ends curl's connection through ssh -L or -D). The end of the client's output is
 * passed on as a half-close; the service's answer still comes back. No single quotes: it goes through sh.
 */
export const perlRelay = String.raw`
use strict; use warnings; use IO::Socket::IP; use IO::Select;
$SIG{PIPE} = "IGNORE";
binmode STDIN; binmode STDOUT;
my ($host, $port) = @ARGV;
my $s = IO::Socket::IP->new(PeerHost => $host, PeerPort => $port, Proto => "tcp")
  or do { print STDERR "azusa: cannot connect to $host:$port: $@
"; exit 1 };
sub put { my ($fh, $b) = @_; while (length $b) { my $n = syswrite($fh, $b); if (!defined $n) { next if $!{EINTR}; exit 0 } substr($b, 0, $n, "") } }
my $sel = IO::Select->new(\*STDIN, $s);
while (1) {
  for my $fh ($sel->can_read) {
    my $n = sysread($fh, my $buf, 65536);
    next if !defined $n && ($!{EINTR} || $!{EAGAIN});
    if ($fh == $s) { exit 0 unless $n; put(\*STDOUT, $buf); next }
    if ($n) { put($s, $buf); next }
    $sel->remove(\*STDIN); shutdown($s, 1);
  }
}
`;

/**
 * The relay a forward runs in the workspace, as `sh -c relay azusa-forward host port perl-relay`: perl (the
 * Debian base image has it), else the workspace's own `nc`, else bash's /dev/tcp, so it connects from inside the
 * workspace's network namespace (where its dev server listens) without any server installed there. Each ends
 * once the service closes its end. It picks its tool as it starts.
 */
export const relayScript = [
  'if command -v perl >/dev/null 2>&1; then exec perl -e "$3" -- "$1" "$2"; fi',
  'if command -v nc >/dev/null 2>&1; then exec nc "$1" "$2"; fi',
  // bash: the client's bytes go to the service in the background (from a copy of standard input: bash gives a
  // background command /dev/null), the service's come back in the foreground; when the service closes, all ends.
  `if [ -x /bin/bash ]; then exec /bin/bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 1; exec 4<&0; cat <&4 >&3 2>/dev/null & exec 4<&-; cat <&3; kill $! 2>/dev/null; exit 0' bash "$1" "$2"; fi`,
  "echo 'azusa: the workspace has neither perl, nc nor bash to relay with' >&2; exit 127",
].join("\n");

/** The command that relays a forward to `host:port` from inside the workspace. */
export const relayCommand = (host: string, port: number): string[] => [
  "/bin/sh",
  "-c",
  relayScript,
  "azusa-forward",
  host,
  String(port),
  perlRelay,
];

/**
 * Chunks smaller than this on an IDE connection are the keep-alives and acknowledgements an open tab exchanges on
 * its own (VS Code's are a 13-byte header in a WebSocket frame): counting them as activity would keep a forgotten
 * tab's workspace from ever idling. What the engineer does (an edit, a keystroke in its terminal, a file
 * opened, output arriving) travels in larger messages.
 */
export const IDE_KEEPALIVE_BYTES = 64;

/** Whether `bytes` of a forward's traffic, either way, count as the engineer's activity in the workspace. */
export const countsAsActivity = (request: ForwardRequest, bytes: number): boolean =>
  !request.ide || bytes >= IDE_KEEPALIVE_BYTES;

/** Whether a template's `portForwarding` list names `request` (host compared without case). */
export function forwardAllowed(template: WorkspaceTemplate | undefined, request: ForwardRequest): boolean {
  const host = request.host.toLowerCase();
  if (request.ide) return host === "127.0.0.1" && template?.azusa.idePort === request.port;
  return Boolean(template?.azusa.ssh.portForwarding.some((d) => d.host === host && d.port === request.port));
}

/** What a transport asks to have listened for inside the workspace: ssh -R, agent or X11 forwarding. */
export type ListenRequest =
  | { kind: "remote"; address: string; port: number }
  | { kind: "agent" }
  | { kind: "x11"; protocol: string; cookie: string; screen: number };

/** Why a forward or a listener is refused: a stable code for the audit log, the English evidence, what is said. */
export interface ForwardRefusal {
  code: ForwardRefusalCode;
  reason: string;
  text: Text;
}

export type ForwardRefusalCode =
  | "forward_restricted"
  | "forward_not_listed"
  | "remote_not_loopback"
  | "remote_not_listed"
  | "remote_taken"
  | "agent_not_allowed"
  | "x11_not_allowed"
  | "x11_malformed"
  | "x11_twice"
  | "too_many_forwards"
  | "forward_failed";

/** A refusal with its code, said from the catalogue. */
export const forwardRefusal = (code: ForwardRefusalCode, key: MessageId, params?: Text["params"]): ForwardRefusal => ({
  code,
  ...said(text(key, params)),
});

/** Why a restricted contract's package refuses every forward, whatever its template says. */
export const RESTRICTED_FORWARDS = forwardRefusal("forward_restricted", "forward.restricted");

/** Why a local forward (ssh -L, -W) is refused, or null when the template (and the contract) allow it. */
export function localRefusal(
  template: WorkspaceTemplate | undefined,
  request: ForwardRequest,
  restricted = false,
): ForwardRefusal | null {
  if (restricted) return RESTRICTED_FORWARDS;
  return forwardAllowed(template, request) ? null : forwardRefusal("forward_not_listed", "forward.notListed");
}

/** The addresses a remote forward may name: all mean the workspace's 127.0.0.1, where it listens. */
const loopbackNames = ["", "localhost", "127.0.0.1"];

/** Why the template (or a restricted contract) refuses `request`, or null when it allows it. */
export function listenRefusal(
  template: WorkspaceTemplate | undefined,
  request: ListenRequest,
  restricted = false,
): ForwardRefusal | null {
  if (restricted) return RESTRICTED_FORWARDS;
  const ssh = template?.azusa.ssh;
  switch (request.kind) {
    case "remote":
      if (!loopbackNames.includes(request.address.toLowerCase())) {
        return forwardRefusal("remote_not_loopback", "forward.remoteNotLoopback", { address: request.address });
      }
      return ssh?.remoteForwarding.includes(request.port)
        ? null
        : forwardRefusal("remote_not_listed", "forward.remoteNotListed", { port: request.port });
    case "agent":
      return ssh?.agentForwarding ? null : forwardRefusal("agent_not_allowed", "forward.agent");
    case "x11":
      if (!ssh?.x11) return forwardRefusal("x11_not_allowed", "forward.x11");
      // They end up in a file in the workspace and a perl command line: printable, bounded, hex.
      if (!/^[\x21-\x7e]{1,64}$/.test(request.protocol) || !/^(?:[0-9a-f]{2}){1,128}$/i.test(request.cookie)) {
        return forwardRefusal("x11_malformed", "forward.x11Malformed");
      }
      return null;
  }
}

/** The first X11 display a listener tries (as OpenSSH's X11DisplayOffset), and the last. */
export const X11_FIRST_DISPLAY = 10;
export const X11_LAST_DISPLAY = 99;

/** Environment names a client may set (as OpenSSH's AcceptEnv LANG LC_*); the rest are ignored. */
export function allowedEnv(name: string): boolean {
  return /^(LANG|LANGUAGE|LC_[A-Z]+|TZ|COLORTERM|TERM_PROGRAM|EDITOR|GIT_AUTHOR_NAME|GIT_AUTHOR_EMAIL)$/.test(name);
}

const signals: Record<number, string> = {
  1: "HUP",
  2: "INT",
  3: "QUIT",
  4: "ILL",
  6: "ABRT",
  8: "FPE",
  9: "KILL",
  10: "USR1",
  11: "SEGV",
  12: "USR2",
  13: "PIPE",
  14: "ALRM",
  15: "TERM",
};

/**
 * How a command ended, for SSH's exit-status or exit-signal. Docker reports a command killed by signal n as
 * status 128 + n, which an ordinary `exit 130` also gives; so 128 + n becomes a signal only when the session
 * delivered that very signal (`sent`). Any other status is an exit code, as the command gave it.
 */
export function endStatus(
  exit: { code: number | null; signal: string | null },
  sent: ReadonlySet<string> = new Set(),
): { code: number } | { signal: string } {
  if (exit.signal) return { signal: exit.signal.replace(/^SIG/, "") };
  const code = exit.code ?? 255;
  const signal = code > 128 ? signals[code - 128] : undefined;
  return signal && sent.has(signal) ? { signal } : { code };
}
