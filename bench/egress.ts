// Egress proxy benchmark: short HTTP connections and a bulk CONNECT tunnel through a workspace's proxy
// (with every connection audited in SQLite) against the same traffic sent straight to the server, same run.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { type AddressInfo, connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config.ts";
import { createEgressService } from "../src/domain/workspaces/egress.service.ts";
import { createLogger } from "../src/logger.ts";
import { buildAzusa } from "../src/server.ts";
import { loopbackNetworks } from "../test/support/loopback-egress.ts";

const CONNECTIONS = 1000;
const CONCURRENCY = 20;
const BULK_MIB = 256;
// A proxied request is two TCP connections and an audit event; a tunnelled byte is copied once more.
const CONNECTION_RATIO_TARGET = 4;
const THROUGHPUT_RATIO_TARGET = 0.4;

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Writes `text` on a fresh connection to `port`, half-closes, and resolves with the bytes read. */
function exchange(port: number, text: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    const socket = connect({ host: "127.0.0.1", port }, () => socket.end(text));
    socket.on("data", (d: Buffer) => {
      bytes += d.length;
    });
    socket.on("error", reject);
    socket.on("close", () => resolve(bytes));
  });
}

/** Runs `task` CONNECTIONS times, CONCURRENCY at a time; milliseconds taken. */
async function connections(task: () => Promise<number>): Promise<number> {
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < CONNECTIONS) if ((await task()) === 0) throw new Error("a connection got no answer");
    }),
  );
  return performance.now() - start;
}

/** Reads BULK_MIB from `port` after sending `preamble` (and skipping `skip` bytes of answer); MiB/s. */
function bulk(port: number, preamble: string, skip: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const want = BULK_MIB * 1024 * 1024 + skip;
    let got = 0;
    const start = performance.now();
    const socket = connect({ host: "127.0.0.1", port }, () => socket.write(preamble));
    socket.on("data", (d: Buffer) => {
      got += d.length;
      if (got >= want) socket.destroy();
    });
    socket.on("error", reject);
    socket.on("close", () => resolve(BULK_MIB / ((performance.now() - start) / 1000)));
  });
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), "azusa-bench-egress-"));
  const origin = createHttpServer((_req, res) => res.end("ok\n"));
  // A source that sends BULK_MIB once a client says anything.
  const chunk = Buffer.alloc(1024 * 1024, 120);
  const source = createServer((socket) => {
    socket.on("error", () => undefined);
    socket.once("data", () => {
      let left = BULK_MIB;
      const pump = () => {
        while (left > 0) {
          left--;
          if (!socket.write(chunk)) return socket.once("drain", pump);
        }
        socket.end();
      };
      pump();
    });
  });
  await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
  await new Promise<void>((resolve) => source.listen(0, "127.0.0.1", resolve));
  const originPort = (origin.address() as AddressInfo).port;
  const sourcePort = (source.address() as AddressInfo).port;
  const azusa = buildAzusa(loadConfig({ AZUSA_DATA_DIR: dataDir }), { logger: createLogger({ level: "silent" }) });
  try {
    await azusa.migrate();
    const egress = createEgressService({
      db: azusa.db.kysely,
      audit: azusa.audit,
      networks: loopbackNetworks,
      logger: createLogger({ level: "silent" }),
      templates: async () => new Map(),
      // loopback stands in for the workspace's bridge and its destinations: no address is refused for being this machine's
      guard: () => undefined,
    });
    await egress.open({
      id: "bench",
      tenantId: "bench",
      allow: [
        { host: "127.0.0.1", port: originPort },
        { host: "127.0.0.1", port: sourcePort },
      ],
    });
    const proxyPort = (await egress.address("bench"))?.port as number;
    const direct = `GET / HTTP/1.1\r\nHost: 127.0.0.1:${originPort}\r\nConnection: close\r\n\r\n`;
    const proxied = `GET http://127.0.0.1:${originPort}/ HTTP/1.1\r\nHost: 127.0.0.1:${originPort}\r\n\r\n`;

    await connections(() => exchange(originPort, direct)); // warm-up of both paths
    await connections(() => exchange(proxyPort, proxied));
    await egress.settled();
    const directMs = await connections(() => exchange(originPort, direct));
    const proxyStart = performance.now();
    await connections(() => exchange(proxyPort, proxied));
    await egress.settled(); // every connection's audit event is written before the clock stops
    const proxyMs = performance.now() - proxyStart;
    const events = (await azusa.audit.list({ limit: 5000 })).filter((e) => e.action === "workspace.egress").length;
    if (events !== 2 * CONNECTIONS) throw new Error(`expected ${2 * CONNECTIONS} events, got ${events}`);

    const directMiBs = await bulk(sourcePort, "go", 0);
    const established = "HTTP/1.1 200 Connection Established\r\n\r\n";
    const tunnelMiBs = await bulk(proxyPort, `CONNECT 127.0.0.1:${sourcePort} HTTP/1.1\r\n\r\ngo`, established.length);
    await egress.shutdown();

    const connectionRatio = round(proxyMs / directMs);
    const throughputRatio = round(tunnelMiBs / directMiBs);
    const perSecond = (ms: number) => Math.round(CONNECTIONS / (ms / 1000));
    console.log(
      `connections: direct ${perSecond(directMs)}/s, through the proxy and audited ${perSecond(proxyMs)}/s ` +
        `(${CONNECTIONS}, ${CONCURRENCY} at a time; ${events} events written)`,
    );
    console.log(`tunnel: direct ${Math.round(directMiBs)} MiB/s, through CONNECT ${Math.round(tunnelMiBs)} MiB/s`);
    console.log(
      `time ratio ${connectionRatio} (${connectionRatio <= CONNECTION_RATIO_TARGET ? "meets" : "ABOVE"} target ${CONNECTION_RATIO_TARGET}); ` +
        `throughput ratio ${throughputRatio} (${throughputRatio >= THROUGHPUT_RATIO_TARGET ? "meets" : "BELOW"} target ${THROUGHPUT_RATIO_TARGET})`,
    );
    console.log(
      JSON.stringify({
        bench: "egress",
        connections: CONNECTIONS,
        direct_per_s: perSecond(directMs),
        proxied_audited_per_s: perSecond(proxyMs),
        connection_time_ratio: connectionRatio,
        connection_time_ratio_target: CONNECTION_RATIO_TARGET,
        direct_mib_s: Math.round(directMiBs),
        tunnel_mib_s: Math.round(tunnelMiBs),
        throughput_ratio: throughputRatio,
        throughput_ratio_target: THROUGHPUT_RATIO_TARGET,
      }),
    );
  } finally {
    await azusa.close();
    origin.close();
    source.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
