// The egress proxy's end on a workspace host's side (provisioner/egress-host-side.ts): the listener of
// listener-frames.ts runs in the workspace's proxy container, on its address in the workspace's network, and
// hands each connection to Azusa's proxy; each allowed destination is dialled by a relay in that container, so
// the traffic leaves from that host, never from this machine.
import { Duplex, PassThrough } from "node:stream";
import type { HostSideEnd } from "../domain/workspaces/egress.service.ts";
import type { Logger } from "../logger.ts";
import type { ExecSession, HostSideProxy } from "../provisioner/driver.ts";
import { forbiddenCode, type ProxyClient, type Upstream } from "../provisioner/egress-proxy.ts";
import { runListener, stopCommand } from "./listener.ts";
import { listenerCommand } from "./listener-frames.ts";
import { perlRelay } from "./policy.ts";

const connected = "azusa: connected";
const refusedAddress = "azusa: forbidden address";

/**
 * The forward relay, run as `perl -e script -- host port pool private hosts`: it resolves the name once on that
 * host, drops every address the proxy never dials (`pool`, the workspace networks' range; that host's own
 * addresses: the gateways of the container's routes, its bridges, and what `hosts`, comma-separated names or
 * addresses of it, resolve to; loopback, link-local, unspecified, multicast; private ranges unless `private` is
 * 1), connects to an address left, not to the name, and says on its error output that it is connected (the
 * proxy answers the workspace only then).
 */
export const dialScript = (() => {
  const at = "my $s = IO::Socket::IP->new(PeerHost => $host";
  if (!perlRelay.includes(at)) throw new Error("the relay script changed: the egress dial cannot choose its address");
  const check = String.raw`
use Socket qw(getaddrinfo getnameinfo inet_aton inet_pton AF_INET6 SOCK_STREAM NI_NUMERICHOST NIx_NOSERV);
my ($pool, $private, $hosts) = @ARGV[2, 3, 4];
sub bin { my $a = shift; $a =~ /:/ ? inet_pton(AF_INET6, $a) : inet_aton($a) }
my %own;
if (open my $routes, "<", "/proc/net/route") {
  <$routes>;
  while (<$routes>) { my $g = (split)[2]; $own{bin(join ".", reverse unpack "C4", pack "H8", $g)} = 1 if $g && $g ne "00000000" }
}
for my $h (split /,/, $hosts // "") {
  my ($e, @at) = getaddrinfo($h, undef, { socktype => SOCK_STREAM });
  for my $r ($e ? () : @at) { my ($ne, $n) = getnameinfo($r->{addr}, NI_NUMERICHOST, NIx_NOSERV); $own{bin(lc $n)} = 1 unless $ne }
}
sub in4 { my ($n, $base, $len) = @_; my $m = $len ? (0xffffffff << (32 - $len)) & 0xffffffff : 0; ($n & $m) == (unpack("N", inet_aton($base)) & $m) }
sub why {
  my $a = lc shift; $a =~ s/%.*//; $a = $1 if $a =~ /^::ffff:(\d+\.\d+\.\d+\.\d+)$/;
  if ($a =~ /^\d+\.\d+\.\d+\.\d+$/) {
    my $n = unpack "N", inet_aton($a);
    return "resolves to $a, an address of a workspace network" if in4($n, split m{/}, $pool);
    for (["0.0.0.0", 8, "an unspecified address"], ["127.0.0.0", 8, "a loopback address"], ["169.254.0.0", 16, "a link-local address"], ["224.0.0.0", 4, "a multicast address"], ["240.0.0.0", 4, "a reserved or broadcast address"]) {
      return "resolves to $a, $_->[2], which a workspace may never reach" if in4($n, @$_);
    }
    return "resolves to $a, an address of the workspace's host, which a workspace may never reach" if $own{bin($a)};
    return "resolves to $a, a private address, which its allow-list entry does not allow (privateNetwork)"
      if !$private && (in4($n, "10.0.0.0", 8) || in4($n, "172.16.0.0", 12) || in4($n, "192.168.0.0", 16) || in4($n, "100.64.0.0", 10));
    return undef;
  }
  my @w = unpack "n8", (inet_pton(AF_INET6, $a) // return "resolves to $a, not an address");
  return "resolves to $a, an unspecified address, which a workspace may never reach" if !grep { $_ } @w;
  return "resolves to $a, a loopback address, which a workspace may never reach" if !grep({ $_ } @w[0 .. 6]) && $w[7] == 1;
  return "resolves to $a, a link-local address, which a workspace may never reach" if ($w[0] & 0xffc0) == 0xfe80;
  return "resolves to $a, a multicast address, which a workspace may never reach" if ($w[0] & 0xff00) == 0xff00;
  return "resolves to $a, an address of the workspace's host, which a workspace may never reach" if $own{bin($a)};
  return "resolves to $a, a private address, which its allow-list entry does not allow (privateNetwork)" if !$private && ($w[0] & 0xfe00) == 0xfc00;
  return undef;
}
my ($gai, @found) = getaddrinfo($host, $port, { socktype => SOCK_STREAM });
if ($gai) { print STDERR "azusa: cannot connect to $host:$port: name not known ($gai)\n"; exit 1 }
my ($chosen, $refusal);
for my $r (@found) {
  my ($e, $address) = getnameinfo($r->{addr}, NI_NUMERICHOST, NIx_NOSERV);
  next if $e;
  my $w = why($address);
  if ($w) { $refusal //= $w; next }
  $chosen = $address; last;
}
if (!defined $chosen) { print STDERR "${refusedAddress}: ", ($refusal // "resolves to no address"), "\n"; exit 3 }
$host = $chosen;
`;
  const connectedLine = "my $sel = IO::Select->new";
  return perlRelay
    .replace(at, `${check}\n${at}`)
    .replace(connectedLine, `print STDERR "${connected}\\n";\n${connectedLine}`);
})();

/** A duplex pair: what one end writes, the other reads, ends included. */
function duplexPair(): [Duplex, Duplex] {
  const one = new PassThrough();
  const two = new PassThrough();
  return [
    Duplex.from({ readable: one, writable: two }) as Duplex,
    Duplex.from({ readable: two, writable: one }) as Duplex,
  ];
}

/** A carried connection as the proxy takes it; its timeout is a deadline (the proxy uses it for the head only). */
function asClient(stream: Duplex): ProxyClient {
  let timer: NodeJS.Timeout | undefined;
  const client = stream as ProxyClient;
  client.setTimeout = (ms: number, callback?: () => void) => {
    if (timer) clearTimeout(timer);
    timer = ms > 0 && callback ? setTimeout(callback, ms) : undefined;
    timer?.unref();
    return client;
  };
  client.destroySoon = () => {
    if (client.writableFinished) client.destroy();
    else client.end(() => client.destroy());
  };
  client.once("close", () => clearTimeout(timer));
  return client;
}

/** The code of a relay's failure to connect, from what perl said. */
function codeOf(complaint: string): string | undefined {
  if (complaint.includes(refusedAddress)) return forbiddenCode;
  if (/refused/i.test(complaint)) return "ECONNREFUSED";
  if (/timed out/i.test(complaint)) return "ETIMEDOUT";
  if (/not known|nodename|no address/i.test(complaint)) return "ENOTFOUND";
  if (/unreachable/i.test(complaint)) return "EHOSTUNREACH";
  return undefined;
}

/** A destination reached by a relay in the proxy container, as the proxy's upstream. */
function relayUpstream(start: () => Promise<ExecSession>): Upstream {
  let session: ExecSession | undefined;
  let open = false;
  let complaint = "";
  let written = 0;
  let read = 0;
  const up = new Duplex({
    allowHalfOpen: true,
    read() {
      session?.stdout.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      written += chunk.length;
      if (!session) return callback(new Error("the relay is not running"));
      session.stdin.write(chunk, () => callback());
    },
    final(callback) {
      session?.stdin.end();
      callback();
    },
    destroy(err, callback) {
      if (session) void stopCommand(session).catch(() => undefined);
      callback(err);
    },
  });
  Object.defineProperties(up, {
    bytesWritten: { get: () => written },
    bytesRead: { get: () => read },
  });
  start().then(
    (s) => {
      session = s;
      if (up.destroyed) {
        void stopCommand(s).catch(() => undefined);
        return;
      }
      s.stderr?.on("data", (d: Buffer) => {
        if (open || complaint.length > 2000) return;
        complaint += d.toString();
        if (complaint.includes(connected)) {
          open = true;
          up.emit("connect");
        }
      });
      s.stdout.on("data", (d: Buffer) => {
        read += d.length;
        if (!up.push(d)) s.stdout.pause();
      });
      s.stdout.once("end", () => {
        if (open) up.push(null);
      });
      void s.exit.then(() => {
        if (open || up.destroyed) return;
        const why = complaint.trim().replace(/^azusa: /, "") || "the relay ended";
        const code = codeOf(complaint);
        // a refused address: the reason the relay gave, as the proxy's own check words it
        const reason = code === forbiddenCode ? complaint.split(`${refusedAddress}: `)[1]?.trim() : undefined;
        up.destroy(Object.assign(new Error(why), code ? { code } : {}, reason ? { reason } : {}));
      });
    },
    (err: unknown) => up.destroy(err instanceof Error ? err : new Error(String(err))),
  );
  return up as Upstream;
}

/**
 * The proxy end on a workspace host's side: `proxyOf` finds the workspace's proxy container (the host router's
 * `egressProxy`); `pool` is the workspace networks' range, never dialled (nor are the addresses `dialScript` refuses). The listener, should it end (the
 * engine restarted, the connection to it lost), is started again every second until the proxy is stopped.
 */
export function createHostSideEgress({
  proxyOf,
  pool,
  logger,
}: {
  proxyOf: (workspaceId: string) => Promise<HostSideProxy | undefined>;
  pool: string;
  logger: Logger;
}): (workspaceId: string) => Promise<HostSideEnd | undefined> {
  return async (workspaceId) => {
    const proxy = await proxyOf(workspaceId);
    if (!proxy) return undefined;
    const { network } = proxy;
    return {
      address: network.gateway,
      subnet: network.subnet,
      dial: (host, port, { privateAllowed }) =>
        relayUpstream(() =>
          proxy.exec({
            cmd: [
              ...["perl", "-e", dialScript, "--", host, String(port), pool, privateAllowed ? "1" : "0"],
              proxy.hostAddresses.join(","),
            ],
            tty: false,
          }),
        ),
      async listen(port, accept) {
        let stopped = false;
        let current: { close(): Promise<void> } | undefined;
        const start = async () => {
          const exec = await proxy.exec({
            cmd: listenerCommand({ kind: "tcp", host: network.gateway, first: port, last: port }),
            tty: false,
          });
          const listener = await runListener(exec, (accepted) => {
            const [ours, theirs] = duplexPair();
            void accepted.attach(theirs).catch(() => undefined);
            // the proxy refuses a source outside the workspace's subnet itself
            accept(asClient(ours), accepted.origin.address);
          });
          current = listener;
          void listener.closed.then(async (why) => {
            while (!stopped) {
              logger.warn(
                { workspace: workspaceId, why },
                "egress proxy listener ended on its host; starting it again",
              );
              await new Promise((resolve) => setTimeout(resolve, 1000).unref());
              if (stopped) return;
              try {
                await start();
                return;
              } catch (err) {
                why = err instanceof Error ? err.message : String(err);
              }
            }
          });
        };
        await start();
        return async () => {
          stopped = true;
          await current?.close();
        };
      },
    };
  };
}
