// A template's own IDE behind Azusa's sign-in: the template names a port and the command that starts it
// (here a small HTTP and WebSocket server in perl, standing in for code-server on the Debian base image).
// Azusa starts it on first use, proxies its pages and its WebSockets, keeps its own cookies from it, and
// lets nobody else in; in Chromium the IDE's page talks to its server over a WebSocket through Azusa.

import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import type { LookupFunction } from "node:net";
import Docker from "dockerode";
import { sql } from "kysely";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { signInPage } from "./support/browser.ts";
import type { Target } from "./support/gateway-world.ts";
import { type Client, PASSWORD, type TestAzusa } from "./support/harness.ts";
import { ensureBaseImage } from "./support/images.ts";
import { startWebWorld, type WebWorld } from "./support/web-world.ts";

const IDE_PORT = 8123;

// The stand-in IDE: one process per connection; "/" is a page whose script opens a WebSocket at "socket"
// and shows what comes back; "/headers" tells what it was sent; "/go" redirects; the socket echoes.
const ideServer = String.raw`
use strict; use IO::Socket::INET; use Digest::SHA qw(sha1_base64);
$SIG{CHLD} = "IGNORE";
my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$ARGV[0]", Listen => 64, ReuseAddr => 1) or die "listen: $!";
my $page = '<!doctype html><title>Stand-in IDE</title><p id="status">loading</p><script>'
  . 'const ws = new WebSocket(new URL("socket", location.href).href.replace(/^http/, "ws"));'
  . 'ws.onopen = () => ws.send("hello from the page");'
  . 'ws.onmessage = (e) => { document.getElementById("status").textContent = e.data; };'
  . '</script>';
while (my $c = $s->accept) {
  next if fork;
  close $s; binmode $c; $c->autoflush(1);
  while (defined(my $line = <$c>)) {
    $line =~ s/\r?\n$//;
    my ($method, $path) = split / /, $line;
    my (%h, @raw);
    while (defined(my $l = <$c>)) {
      $l =~ s/\r?\n$//; last if $l eq "";
      my ($k, $v) = split /:\s*/, $l, 2; $h{lc $k} = $v; push @raw, $l;
    }
    my $body = ""; read($c, $body, $h{"content-length"}) if $h{"content-length"};
    if ($path eq "/refuse-upgrade") {
      print $c "HTTP/1.1 403 Forbidden\r\nContent-Length: 3\r\nSet-Cookie: azusa_ide=forged\r\n\r\nno\n";
      next;
    }
    if (lc($h{upgrade} // "") eq "websocket") {
      my $accept = sha1_base64($h{"sec-websocket-key"} . "258EAFA5-E914-47DA-95CA-C5AB0DC85B11") . "=";
      print $c "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: $accept\r\n\r\n";
      while (read($c, my $hdr, 2) == 2) {
        my ($b1, $b2) = unpack "CC", $hdr;
        my $len = $b2 & 127;
        if ($len == 126) { read($c, my $x, 2); $len = unpack "n", $x }
        my $mask = ""; read($c, $mask, 4) if $b2 & 128;
        my $data = ""; read($c, $data, $len) if $len;
        if ($mask ne "") { my @m = unpack "C4", $mask; my @d = unpack "C*", $data; $d[$_] ^= $m[$_ % 4] for 0 .. $#d; $data = pack "C*", @d }
        if (($b1 & 15) == 8) { print $c pack("CC", 0x88, 0); last }
        my $reply = "echo: $data";
        print $c pack("CC", 0x81, length $reply) . $reply;
      }
      exit 0;
    }
    my ($status, $type, $out, $extra) = ("404 Not Found", "text/plain", "no such page\n", "");
    if ($path eq "/") { ($status, $type, $out) = ("200 OK", "text/html", $page) }
    elsif ($path =~ m{^/headers}) { ($status, $out) = ("200 OK", join("\n", "$method $path", @raw, "", $body)) }
    elsif ($path eq "/go") { ($status, $out, $extra) = ("302 Found", "", "Location: /landed\r\n") }
    print $c "HTTP/1.1 $status\r\nContent-Type: $type\r\nContent-Length: " . length($out) . "\r\n$extra"
      . "Set-Cookie: ide-session=s1; Path=/\r\nSet-Cookie: azusa_ide=forged; Path=/\r\n\r\n$out";
  }
  exit 0;
}`;

/** A response as a test reads it. */
interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Every name resolves to loopback, as Chromium resolves *.localhost; Node's resolver may not. */
const loopback = ((_host: string, opts: { all?: boolean }, done: (...args: unknown[]) => void) =>
  opts?.all ? done(null, [{ address: "127.0.0.1", family: 4 }]) : done(null, "127.0.0.1", 4)) as LookupFunction;

/** One request, redirects not followed. */
function ask(
  url: string,
  { method = "GET", headers = {}, body }: { method?: string; headers?: Record<string, string>; body?: string } = {},
) {
  return new Promise<Answer>((resolve, reject) => {
    const req = httpRequest(url, { method, headers, lookup: loopback }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        text += d;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("a template's own IDE, on an origin of its own behind Azusa's sign-in", () => {
  const docker = new Docker();
  let w: WebWorld;
  let t: TestAzusa;
  let browser: Browser;
  let page: Page | undefined;
  let mine: Target;
  let engineer: Client;
  let otherEngineer: Client;
  let lead: Client;
  /** The IDE origin of a package. */
  const ideOf = (packageId: string) => `http://${packageId}.ide.localhost:${t.running.idePort}`;
  const entry = () => `/my-packages/${mine.packageId}/ide`;

  /** Follows Azusa's page to the IDE origin and in with the ticket; returns the IDE origin's cookie. */
  async function enter(who: Client, packageId = mine.packageId): Promise<string> {
    const page = await ask(`${t.base}/my-packages/${packageId}/ide`, { headers: { cookie: who.cookie } });
    expect(page.status).toBe(303);
    const ticketUrl = String(page.headers.location);
    expect(ticketUrl.startsWith(`${ideOf(packageId)}/.azusa/enter?ticket=`)).toBe(true);
    const inside = await ask(ticketUrl);
    expect(inside).toMatchObject({ status: 303, headers: { location: "/" } });
    const cookie = (inside.headers["set-cookie"] ?? [])[0] ?? "";
    expect(cookie).toMatch(/^azusa_ide=[^;]+; HttpOnly; SameSite=Lax; Path=\//);
    return cookie.split(";")[0] as string;
  }

  /** Opens a WebSocket to the IDE's `path` with `cookie`, from `origin`; resolves once open or refused. */
  const openSocket = (cookie: string, origin: string, path = "/socket") =>
    new Promise<{ ws: WebSocket } | { status: number; setCookie: string[] }>((resolve, reject) => {
      const ws = new WebSocket(`${ideOf(mine.packageId).replace(/^http/, "ws")}${path}`, {
        headers: { cookie, origin },
        lookup: loopback,
      });
      ws.once("open", () => resolve({ ws }));
      ws.once("unexpected-response", (_req, res) => {
        resolve({ status: res.statusCode ?? 0, setCookie: res.headers["set-cookie"] ?? [] });
        res.resume();
      });
      ws.once("error", reject);
    });
  const nextMessage = (ws: WebSocket) =>
    new Promise<string>((resolve) => ws.once("message", (data) => resolve(String(data))));

  beforeAll(async () => {
    w = await startWebWorld(await ensureBaseImage(docker), {
      name: "web-ide-app",
      workspaces: 2,
      memoryMiB: 256,
      azusa: { idePort: IDE_PORT, ideCommand: ["perl", "-e", ideServer, String(IDE_PORT)] },
    });
    ({ t, lead, mine, engineer, otherEngineer, browser } = w);
  });

  afterAll(() => w?.stop(page));

  it("starts the IDE on first use and lets the engineer in on the package's own origin with a ticket", async () => {
    const cookie = await enter(engineer);
    const ide = await ask(`${ideOf(mine.packageId)}/`, { headers: { cookie } });
    expect(ide.status).toBe(200);
    expect(ide.body).toContain("<title>Stand-in IDE</title>");
    // Azusa's own editor stays one link away.
    const builtin = await ask(`${t.base}${entry()}?builtin=1`, { headers: { cookie: engineer.cookie } });
    expect(builtin.status).toBe(200);
    expect(builtin.body).toContain('name="builtin" value="1"');
  });

  it("lets a ticket in once only, even when it is used twice at once", async () => {
    const page = await ask(`${t.base}${entry()}`, { headers: { cookie: engineer.cookie } });
    const ticketUrl = String(page.headers.location);
    const uses = await Promise.all([ask(ticketUrl), ask(ticketUrl)]);
    const admitted = uses.filter((u) => u.headers.location === "/");
    expect(admitted).toHaveLength(1);
    expect(admitted[0]?.headers["set-cookie"]?.[0]).toMatch(/^azusa_ide=/);
    const refused = uses.find((u) => u !== admitted[0]);
    expect(refused).toMatchObject({ status: 303, headers: { location: `${t.base}${entry()}` } });
    expect(refused?.headers["set-cookie"]).toBeUndefined();
    // and later, within its minute, still not
    expect((await ask(ticketUrl)).headers["set-cookie"]).toBeUndefined();
  });

  it("passes requests on as sent, without Azusa's cookies, and drops cookies the IDE sets under Azusa's names", async () => {
    const cookie = await enter(engineer);
    const res = await ask(`${ideOf(mine.packageId)}/headers/a%20b?x=1`, {
      headers: { cookie: `${cookie}; theme=dark` },
    });
    expect(res.status).toBe(200);
    expect(res.body.split("\n")[0]).toBe("GET /headers/a%20b?x=1");
    expect(res.body).toContain("cookie: theme=dark\n");
    expect(res.body).not.toContain("azusa_ide");
    expect(res.body).toContain(`x-forwarded-host: ${mine.packageId}.ide.localhost:${t.running.idePort}`);
    expect(res.headers["set-cookie"]).toEqual(["ide-session=s1; Path=/"]);
    const go = await ask(`${ideOf(mine.packageId)}/go`, { headers: { cookie } });
    expect(go).toMatchObject({ status: 302, headers: { location: "/landed" } });

    const ideOrigin = ideOf(mine.packageId);
    const post = await ask(`${ideOrigin}/headers`, {
      method: "POST",
      body: "saved by the IDE",
      headers: { cookie, origin: ideOrigin, "content-type": "application/octet-stream" },
    });
    expect(post.body).toMatch(/^POST \/headers\n[\s\S]*\n\nsaved by the IDE$/);
    // Not from another site, nor from another package's IDE.
    for (const origin of ["http://elsewhere.example", ideOf("another-package")]) {
      const crossSite = await ask(`${ideOrigin}/headers`, { method: "POST", body: "{}", headers: { cookie, origin } });
      expect(crossSite.status).toBe(403);
    }
  });

  it("lets nobody else in: strangers go to sign in, the lead and another engineer find nothing", async () => {
    const stranger = await ask(`${ideOf(mine.packageId)}/`);
    expect(stranger).toMatchObject({ status: 303, headers: { location: `${t.base}${entry()}` } });
    expect((await ask(`${t.base}${entry()}`)).status).toBe(303); // to Azusa's sign-in
    for (const who of [lead, otherEngineer]) {
      expect((await ask(`${t.base}${entry()}`, { headers: { cookie: who.cookie } })).status).toBe(404);
    }
    // A ticket or a cookie of one package opens no other.
    const cookie = await enter(engineer);
    const elsewhere = await ask(`${ideOf("another-package")}/`, { headers: { cookie } });
    expect(elsewhere.status).toBe(303);
    const page = await ask(`${t.base}${entry()}`, { headers: { cookie: engineer.cookie } });
    const ticket = new URL(String(page.headers.location)).searchParams.get("ticket") ?? "";
    const replayed = await ask(`${ideOf("another-package")}/.azusa/enter?ticket=${ticket}`);
    expect(replayed.headers["set-cookie"]).toBeUndefined();
  });

  it("carries the IDE's WebSockets from its own origin only, hands back refusals, and ends them at sign-out", async () => {
    const session = await t.signIn("se0@matsumoto.example");
    const cookie = await enter(session);
    const ideOrigin = ideOf(mine.packageId);
    expect(await openSocket(cookie, "http://elsewhere.example")).toMatchObject({ status: 403 });
    expect(await openSocket(cookie, t.base)).toMatchObject({ status: 403 });
    // An IDE that does not switch protocols is answered as it answered, its cookie for Azusa's name dropped.
    expect(await openSocket(cookie, ideOrigin, "/refuse-upgrade")).toEqual({ status: 403, setCookie: [] });
    const opened = await openSocket(cookie, ideOrigin);
    if (!("ws" in opened)) throw new Error(`the socket was refused with ${opened.status}`);
    const { ws } = opened;
    const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
    ws.send("ping through Azusa");
    expect(await nextMessage(ws)).toBe("echo: ping through Azusa");
    await session.post("/api/auth/sign-out");
    await closed;
    // Signed out, the IDE cookie opens nothing either.
    expect((await ask(`${ideOrigin}/`, { headers: { cookie } })).status).toBe(303);

    // Each connection to the IDE is a browser forward, audited once it is over.
    const forwards = async () =>
      (
        await t.running.azusa.db.kysely
          .selectFrom("audit_event")
          .select("details")
          .where("action", "=", "browser.forward")
          .execute()
      ).map((r) => JSON.parse(r.details as string) as { destination: string; outcome: string });
    await expect
      .poll(async () => (await forwards()).some((f) => f.outcome === "access revoked: signed out"), { timeout: 10_000 })
      .toBe(true);
    expect(new Set((await forwards()).map((f) => f.destination))).toEqual(new Set([`127.0.0.1:${IDE_PORT}`]));
  });

  it("opens in Chromium, talks to its server over a WebSocket, and its scripts cannot act on Azusa", async () => {
    page = await signInPage(browser, t.base, "se0@matsumoto.example", PASSWORD);
    await page.goto(`${t.base}${entry()}`);
    await page.waitForURL(`${ideOf(mine.packageId)}/`);
    await page.locator("#status", { hasText: "echo: hello from the page" }).waitFor();
    expect(await page.title()).toBe("Stand-in IDE");
    // The IDE's page is another site to Azusa: its requests carry no sign-in and their answers stay unread.
    const keys = async () =>
      Number(
        (await sql<{ n: number }>`select count(*) as n from apikey`.execute(t.running.azusa.db.kysely)).rows[0]?.n,
      );
    const before = await keys();
    const attempts = await page.evaluate(async (base) => {
      const results: string[] = [];
      for (const [path, init] of [
        ["/api/v1/me", { credentials: "include" }],
        [
          "/api/v1/api-keys",
          { method: "POST", credentials: "include", headers: { "content-type": "text/plain" }, body: '{"name":"x"}' },
        ],
      ] as const) {
        try {
          const res = await fetch(`${base}${path}`, init as RequestInit);
          results.push(String(res.status));
        } catch {
          results.push("blocked");
        }
      }
      return results;
    }, t.base);
    expect(attempts).toEqual(["blocked", "blocked"]);
    expect(await keys()).toBe(before);
  });
});
