// The workspace listener's wire: the frames one long-running perl process in a workspace multiplexes its
// connections over (on its stdin/stdout, with a window per connection), the perl itself and its command line.
import type { ExecRequest } from "../provisioner/driver.ts";

/**
 * Frame types. From the workspace: R ready (what was bound), F failed (why), O open (peer "addr port"),
 * D data, E end of the peer's output, C closed, A acknowledged (4-byte count written to the socket).
 * From Azusa: D data, E end of the client's output, C close now, A acknowledged (written to the channel).
 */
export type FrameType = "R" | "F" | "O" | "D" | "E" | "C" | "A";

/** One frame: a type, a connection id (0 for the listener itself) and a payload. */
export interface Frame {
  type: FrameType;
  id: number;
  payload: Buffer;
}

const HEADER = 9;
/** Bytes in flight per connection and direction; the perl side uses the same figure. */
export const WINDOW = 256 * 1024;
/** The most data Azusa puts in one frame (perl reads 32 KiB at a time). */
export const FRAME_DATA = 32 * 1024;
/** The largest payload a frame may carry; anything bigger means the stream is corrupt. */
export const MAX_PAYLOAD = 1024 * 1024;

/** Encodes one frame: type (1 byte), id (uint32 BE), payload length (uint32 BE), payload. */
export function encodeFrame(type: FrameType, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(HEADER);
  header.write(type, 0, "latin1");
  header.writeUInt32BE(id, 1);
  header.writeUInt32BE(payload.length, 5);
  return Buffer.concat([header, payload]);
}

/** Splits a byte stream into frames, whatever the chunking; throws on a frame no listener sends. */
export class FrameDecoder {
  private buffered: Buffer = Buffer.alloc(0);

  /** Adds `chunk` and returns the frames it completed. */
  push(chunk: Buffer): Frame[] {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    const frames: Frame[] = [];
    let at = 0;
    while (this.buffered.length - at >= HEADER) {
      const type = String.fromCharCode(this.buffered[at] as number);
      const length = this.buffered.readUInt32BE(at + 5);
      if (!"RFODECA".includes(type)) throw new Error(`unknown frame type ${JSON.stringify(type)}`);
      if (length > MAX_PAYLOAD) throw new Error(`frame of ${length} bytes is too large`);
      if (this.buffered.length - at < HEADER + length) break;
      frames.push({
        type: type as FrameType,
        id: this.buffered.readUInt32BE(at + 1),
        payload: Buffer.from(this.buffered.subarray(at + HEADER, at + HEADER + length)),
      });
      at += HEADER + length;
    }
    this.buffered = this.buffered.subarray(at);
    return frames;
  }
}

/**
 * The listener, in perl (the Debian base image has it; neither nc nor python), run as
 * `perl -e script -- tcp FIRST LAST [XAUTHDIR PROTO HEXCOOKIE]`, `… tcp-at ADDRESS FIRST LAST` or `… unix DIR`.
 * tcp binds the first free port of FIRST..LAST on 127.0.0.1 (tcp-at: on ADDRESS) (and, with XAUTHDIR, writes an Xauthority
 * file there for that display); unix makes DIR (0700) and a socket DIR/socket (0600). It exits, removing
 * what it made, when its input ends. It reads a connection only while that connection has fewer than
 * WINDOW bytes unacknowledged, and keeps at most WINDOW bytes per connection to write: memory stays bounded.
 */
export const listenerScript = String.raw`
use strict; use warnings;
use IO::Socket::INET; use IO::Socket::UNIX; use IO::Select; use Socket;
$SIG{PIPE} = 'IGNORE';
binmode STDIN; binmode STDOUT;
my $WIN = ${WINDOW};
my ($mode, @arg) = @ARGV;
my ($listen, $dir, $ready);
sub out {
  my ($t, $id, $p) = @_; $p = '' unless defined $p;
  my $b = pack('a1NN', $t, $id, length $p) . $p;
  while (length $b) {
    my $n = syswrite(STDOUT, $b);
    if (!defined $n) { next if $!{EINTR}; exit 0; }
    substr($b, 0, $n, '');
  }
}
sub fail { out('F', 0, $_[0]); exit 1; }
END { if ($dir) { unlink glob("$dir/*"); rmdir $dir; } }
if ($mode eq 'tcp' || $mode eq 'tcp-at') {
  my $addr = $mode eq 'tcp-at' ? shift @arg : '127.0.0.1';
  my ($first, $last, $xdir, $proto, $cookie) = @arg;
  for my $p ($first .. $last) {
    $listen = IO::Socket::INET->new(LocalAddr => $addr, LocalPort => $p, Listen => 64, ReuseAddr => 1, Proto => 'tcp');
    if ($listen) { $ready = $p; last; }
  }
  fail("cannot listen on $addr:" . ($first == $last ? $first : "$first-$last") . ": $!") unless $listen;
  if (defined $xdir) {
    umask 077;
    mkdir $xdir, 0700 or fail("cannot make $xdir: $!");
    $dir = $xdir;
    my $display = $ready - 6000;
    open(my $fh, '>', "$xdir/Xauthority") or fail("cannot write $xdir/Xauthority: $!");
    binmode $fh;
    print $fh pack('n n/a* n/a* n/a* n/a*', 65535, '', "$display", $proto, pack('H*', $cookie));
    close $fh;
  }
} elsif ($mode eq 'unix') {
  umask 077;
  mkdir $arg[0], 0700 or fail("cannot make $arg[0]: $!");
  $dir = $arg[0];
  $ready = "$dir/socket";
  $listen = IO::Socket::UNIX->new(Type => SOCK_STREAM, Local => $ready, Listen => 16) or fail("cannot listen on $ready: $!");
  chmod 0600, $ready;
} else { fail("unknown mode $mode"); }
$listen->blocking(0);
out('R', 0, $ready);
my (%c, %byfd);
my $next = 0; my $in = '';
sub drop {
  my ($id, $tell) = @_; my $x = delete $c{$id} or return;
  delete $byfd{fileno $x->{s}}; close $x->{s};
  out('C', $id) if $tell;
}
sub settle { my $id = shift; my $x = $c{$id}; drop($id, 1) if $x && !$x->{rd} && $x->{wdone}; }
sub frame {
  my ($t, $id, $p) = @_; my $x = $c{$id} or return;
  if ($t eq 'D') { $x->{out} .= $p unless $x->{weof}; }
  elsif ($t eq 'A') { $x->{sent} -= unpack('N', $p); }
  elsif ($t eq 'C') { drop($id, 0); }
  elsif ($t eq 'E') {
    $x->{weof} = 1;
    if (!length $x->{out}) { shutdown($x->{s}, 1); $x->{wdone} = 1; settle($id); }
  }
}
while (1) {
  my $r = IO::Select->new($listen, \*STDIN); my $w = IO::Select->new();
  for my $x (values %c) {
    $r->add($x->{s}) if $x->{rd} && $x->{sent} < $WIN;
    $w->add($x->{s}) if length $x->{out};
  }
  my ($rr, $ww) = IO::Select->select($r, $w->count ? $w : undef, undef);
  next unless $rr;
  for my $s (@{$ww || []}) {
    my $id = $byfd{fileno $s}; next unless defined $id; my $x = $c{$id};
    my $n = syswrite($s, $x->{out}, 65536);
    if (defined $n) {
      substr($x->{out}, 0, $n, ''); out('A', $id, pack('N', $n));
      if ($x->{weof} && !length $x->{out}) { shutdown($s, 1); $x->{wdone} = 1; settle($id); }
    } elsif (!$!{EAGAIN} && !$!{EINTR}) { drop($id, 1); }
  }
  for my $s (@$rr) {
    if ($s == $listen) {
      my $a = $listen->accept or next;
      $a->blocking(0);
      my $id = ++$next;
      $c{$id} = { s => $a, out => '', sent => 0, rd => 1, weof => 0, wdone => 0 };
      $byfd{fileno $a} = $id;
      out('O', $id, $mode ne 'unix' ? $a->peerhost . ' ' . $a->peerport : '');
    } elsif (fileno($s) == fileno(STDIN)) {
      my $n = sysread(STDIN, $in, 65536, length $in);
      if (!defined $n) { next if $!{EINTR} || $!{EAGAIN}; exit 0; }
      exit 0 if $n == 0;
      while (length($in) >= 9) {
        my ($t, $id, $len) = unpack('a1NN', $in);
        last if length($in) < 9 + $len;
        my $p = substr($in, 9, $len); substr($in, 0, 9 + $len, '');
        frame($t, $id, $p);
      }
    } else {
      my $id = $byfd{fileno $s}; next unless defined $id; my $x = $c{$id}; next unless $x;
      my $buf; my $n = sysread($s, $buf, 32768);
      if (defined $n && $n > 0) { $x->{sent} += $n; out('D', $id, $buf); }
      elsif (defined $n) { $x->{rd} = 0; out('E', $id); settle($id); }
      elsif (!$!{EAGAIN} && !$!{EINTR}) { drop($id, 1); }
    }
  }
}
`;

/**
 * What to listen on: a TCP port range on the workspace's 127.0.0.1 (with an X11 cookie) or on `host` (a
 * workspace host's egress proxy, on its address in the workspace's network), or a unix socket.
 */
export type ListenSpec =
  | {
      kind: "tcp";
      first: number;
      last: number;
      host?: string;
      xauth?: { dir: string; protocol: string; cookie: string };
    }
  | { kind: "unix"; dir: string };

/** What a listener says (its error) when the workspace has no perl. */
export const NO_PERL = "the workspace has no perl to listen with";

/** The command that runs the listener; without perl it says so on stderr and exits 127. */
export function listenerCommand(spec: ListenSpec): ExecRequest["cmd"] {
  const args =
    spec.kind === "unix"
      ? ["unix", spec.dir]
      : [
          ...(spec.host ? ["tcp-at", spec.host] : ["tcp"]),
          String(spec.first),
          String(spec.last),
          ...(spec.xauth ? [spec.xauth.dir, spec.xauth.protocol, spec.xauth.cookie] : []),
        ];
  const wrapper = [
    `command -v perl >/dev/null 2>&1 || { echo '${NO_PERL}' >&2; exit 127; }`,
    's=$1; shift; exec perl -e "$s" -- "$@"',
  ].join("\n");
  return ["/bin/sh", "-c", wrapper, "azusa-listen", listenerScript, ...args];
}
