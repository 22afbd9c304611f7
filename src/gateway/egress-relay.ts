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
 * The forward relay, saying on its error output that it is connected (the proxy answers the workspace only
 * then) and refusing a destination whose address lies in the workspace networks' range (ARGV[2]).
 */
const dialScript = (() => {
  const at = "my $sel = IO::Select->new";
  if (!perlRelay.includes(at)) throw new Error("the relay script changed: the egress dial cannot mark its connect");
  const check = [
    "my ($net, $len) = split m{/}, $ARGV[2]; my $peer = $s->peerhost // '';",
    "if ($peer =~ /^(?:::ffff:)?(\\d+)\\.(\\d+)\\.(\\d+)\\.(\\d+)$/) {",
    "  my $mask = $len ? (0xffffffff << (32 - $len)) & 0xffffffff : 0;",
    "  my $n = unpack('N', pack('C4', $1, $2, $3, $4)); my $b = unpack('N', pack('C4', split /\\./, $net));",
    `  if (($n & $mask) == ($b & $mask)) { print STDERR "${refusedAddress}\\n"; exit 3 }`,
    "}",
    `print STDERR "${connected}\\n";`,
  ].join("\n");
  return perlRelay.replace(at, `${check}\n${at}`);
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
        up.destroy(Object.assign(new Error(why), code ? { code } : {}));
      });
    },
    (err: unknown) => up.destroy(err instanceof Error ? err : new Error(String(err))),
  );
  return up as Upstream;
}

/**
 * The proxy end on a workspace host's side: `proxyOf` finds the workspace's proxy container (the host router's
 * `egressProxy`); `pool` is the workspace networks' range, never dialled. The listener, should it end (the
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
      dial: (host, port) =>
        relayUpstream(() =>
          proxy.exec({ cmd: ["perl", "-e", dialScript, "--", host, String(port), pool], tty: false }),
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
