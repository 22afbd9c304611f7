// Egress auditing on both databases: every connection through a workspace's proxy becomes one event in
// the hash chain, however many end at once, including those cut when Azusa shuts down.
import { createServer as createHttpServer } from "node:http";
import { type AddressInfo, connect, createServer, type Server } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.ts";
import { allows, createEgressService, type EgressService } from "../src/domain/workspaces/egress.service.ts";
import { createLogger } from "../src/logger.ts";
import { type Azusa, buildAzusa } from "../src/server.ts";
import { createTestDatabase, dialects, type TestDatabase } from "./support/databases.ts";
import { loopbackNetworks } from "./support/loopback-egress.ts";

/** Sends `text` through the proxy at `port` and resolves with the answer once the proxy closes. */
function ask(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    const socket = connect({ host: "127.0.0.1", port }, () => socket.end(text));
    socket.on("data", (d: Buffer) => {
      got += d.toString("latin1");
    });
    socket.on("error", reject);
    socket.on("close", () => resolve(got));
  });
}

describe("the match of a destination against an allow-list", () => {
  it("is exact on host and port", () => {
    const allow = [{ host: "registry.example.com", port: 443 }];
    expect(allows(allow, "Registry.EXAMPLE.com", 443)).toBe(true);
    expect(allows(allow, "registry.example.com", 80)).toBe(false);
    expect(allows(allow, "evil.registry.example.com", 443)).toBe(false);
  });
});

describe.each(dialects)("egress audit on %s", (dialect) => {
  let db: TestDatabase;
  let azusa: Azusa;
  let egress: EgressService;
  let origin: ReturnType<typeof createHttpServer>;
  let originPort: number;
  let holder: Server;
  let holderPort: number;

  beforeEach(async () => {
    db = await createTestDatabase(dialect);
    azusa = buildAzusa(loadConfig(db.env), { logger: createLogger({ level: "silent" }) });
    await azusa.migrate();
    egress = createEgressService({
      db: azusa.db.kysely,
      audit: azusa.audit,
      networks: loopbackNetworks,
      logger: createLogger({ level: "silent" }),
      templates: async () => new Map(),
      // loopback stands in for the workspace's bridge and its destinations: no address is refused for being this machine's
      guard: () => undefined,
      batchSize: 7,
    });
    origin = createHttpServer((_req, res) => res.end("ok\n"));
    await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
    originPort = (origin.address() as AddressInfo).port;
    // a destination that never answers nor hangs up: the tunnel stays open until someone cuts it
    holder = createServer(() => undefined);
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    holderPort = (holder.address() as AddressInfo).port;
    await egress.open({
      id: "ws-1",
      tenantId: "tenant-1",
      allow: [
        { host: "127.0.0.1", port: originPort },
        { host: "127.0.0.1", port: holderPort },
      ],
    });
  });

  afterEach(async () => {
    await egress.shutdown();
    holder.close();
    origin.closeAllConnections();
    await new Promise((resolve) => origin.close(resolve));
    await azusa.close();
    await db.drop();
  });

  const egressEvents = async () =>
    (await azusa.audit.list({ limit: 500 })).filter((e) => e.action === "workspace.egress").reverse();

  it("writes one event per connection when many end at once, and the chain stays intact", async () => {
    const port = (await egress.address("ws-1"))?.port as number;
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        i % 3 === 0
          ? ask(port, `CONNECT 127.0.0.1:${originPort + 1} HTTP/1.1\r\n\r\n`)
          : ask(port, `GET http://127.0.0.1:${originPort}/${i} HTTP/1.1\r\n\r\n`),
      ),
    );
    expect(answers.filter((a) => a.startsWith("HTTP/1.1 200")).length).toBe(20);
    await egress.settled();
    const events = await egressEvents();
    expect(events).toHaveLength(30);
    expect(events.filter((e) => e.details.outcome === "allowed")).toHaveLength(20);
    expect(events.filter((e) => e.details.outcome === "refused")).toHaveLength(10);
    expect(events[0]).toMatchObject({ subject: "workspace:ws-1", tenantId: "tenant-1", actorId: "system:egress" });
    expect(await azusa.audit.verify()).toEqual({ ok: true, checked: events.length });
  });

  it("cuts a tunnel still open at shutdown and audits it before the database closes", async () => {
    const port = (await egress.address("ws-1"))?.port as number;
    const socket = connect({ host: "127.0.0.1", port });
    socket.on("error", () => undefined);
    const established = new Promise<void>((resolve) => socket.once("data", () => resolve()));
    socket.write(`CONNECT 127.0.0.1:${holderPort} HTTP/1.1\r\n\r\n`);
    await established;
    await egress.shutdown();
    const [event] = await egressEvents();
    expect(event?.details).toMatchObject({
      destination: `127.0.0.1:${holderPort}`,
      method: "CONNECT",
      outcome: "allowed",
    });
    socket.destroy();
  });
});
