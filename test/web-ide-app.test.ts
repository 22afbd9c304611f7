// A template's own IDE behind Azusa's sign-in: the template names a port and the command that starts it
// (here a small HTTP and WebSocket server in perl, standing in for code-server on the Debian base image).
// Azusa starts it on first use, proxies its pages and its WebSockets, keeps its own cookies from it, and
// lets nobody else in; in Chromium the IDE's page talks to its server over a WebSocket through Azusa.
import Docker from "dockerode";
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
      . "Set-Cookie: ide-session=s1; Path=/\r\nSet-Cookie: better-auth.session_token=forged; Path=/\r\n\r\n$out";
  }
  exit 0;
}`;

describe("a template's own IDE behind Azusa's sign-in", () => {
  const docker = new Docker();
  let w: WebWorld;
  let t: TestAzusa;
  let browser: Browser;
  let page: Page | undefined;
  let mine: Target;
  let engineer: Client;
  let otherEngineer: Client;
  let lead: Client;

  const app = () => `/my-packages/${mine.packageId}/ide/app`;
  /** A request as the engineer's browser sends it, without following redirects. */
  const fetchAs = (who: Client | null, path: string, init: RequestInit = {}) =>
    fetch(`${t.base}${path}`, {
      redirect: "manual",
      ...init,
      headers: { ...(who ? { cookie: who.cookie } : {}), ...(init.headers as Record<string, string>) },
    });
  /** Opens a WebSocket to the IDE's `socket` as `who`, from `origin`; resolves once it is open or refused. */
  const openSocket = (who: Client, origin: string) =>
    new Promise<{ ws: WebSocket } | { status: number }>((resolve, reject) => {
      const ws = new WebSocket(`${t.base.replace(/^http/, "ws")}${app()}/socket`, {
        headers: { cookie: who.cookie, origin },
      });
      ws.once("open", () => resolve({ ws }));
      ws.once("unexpected-response", (_req, res) => resolve({ status: res.statusCode ?? 0 }));
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

  it("starts the IDE on first use and sends the engineer to it", async () => {
    const res = await fetchAs(engineer, `/my-packages/${mine.packageId}/ide`);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`${app()}/`);
    const ide = await fetchAs(engineer, `${app()}/`);
    expect(ide.status).toBe(200);
    expect(await ide.text()).toContain("<title>Stand-in IDE</title>");
    // Azusa's own editor stays one link away.
    const builtin = await fetchAs(engineer, `/my-packages/${mine.packageId}/ide?builtin=1`);
    expect(builtin.status).toBe(200);
    expect(await builtin.text()).toContain('name="builtin" value="1"');
  });

  it("passes requests on without Azusa's cookies, and keeps the IDE's answers under its path", async () => {
    const res = await fetchAs(engineer, `${app()}/headers?x=1`, {
      headers: { cookie: `${engineer.cookie}; theme=dark` },
    });
    expect(res.status).toBe(200);
    const seen = await res.text();
    expect(seen.split("\n")[0]).toBe("GET /headers?x=1");
    expect(seen).toContain("cookie: theme=dark\n");
    expect(seen).not.toContain("better-auth");
    expect(seen).toContain(`x-forwarded-prefix: ${app()}`);
    // The IDE may set its own cookies, never one of Azusa's names.
    expect(res.headers.getSetCookie()).toEqual(["ide-session=s1; Path=/"]);
    expect(res.headers.get("x-frame-options")).toBe("SAMEORIGIN");

    const go = await fetchAs(engineer, `${app()}/go`);
    expect(go.status).toBe(302);
    expect(go.headers.get("location")).toBe(`${app()}/landed`);
    const bare = await fetchAs(engineer, app());
    expect(bare.status).toBe(308);
    expect(bare.headers.get("location")).toBe(`${app()}/`);

    const post = await fetchAs(engineer, `${app()}/headers`, {
      method: "POST",
      body: "saved by the IDE",
      headers: { origin: new URL(t.base).origin, "content-type": "application/octet-stream" },
    });
    expect(await post.text()).toMatch(/^POST \/headers\n[\s\S]*\n\nsaved by the IDE$/);
    const crossSite = await fetchAs(engineer, `${app()}/headers`, {
      method: "POST",
      body: "{}",
      headers: { origin: "http://elsewhere.example", "content-type": "application/json" },
    });
    expect(crossSite.status).toBe(403);
  });

  it("lets nobody else in: a stranger signs in first, the lead and another engineer find nothing", async () => {
    const stranger = await fetchAs(null, `${app()}/`);
    expect(stranger.status).toBe(303);
    expect(stranger.headers.get("location")).toMatch(/^\/sign-in/);
    for (const who of [lead, otherEngineer]) {
      expect((await fetchAs(who, `${app()}/`)).status).toBe(404);
      expect((await fetchAs(who, `/my-packages/${mine.packageId}/ide`)).status).toBe(404);
      expect(await openSocket(who, new URL(t.base).origin)).toEqual({ status: 404 });
    }
  });

  it("carries the IDE's WebSockets, only from Azusa's origin, and ends them when the engineer signs out", async () => {
    expect(await openSocket(engineer, "http://elsewhere.example")).toEqual({ status: 403 });
    const session = await t.signIn("se0@matsumoto.example");
    const opened = await openSocket(session, new URL(t.base).origin);
    if (!("ws" in opened)) throw new Error(`the socket was refused with ${opened.status}`);
    const { ws } = opened;
    const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
    ws.send("ping through Azusa");
    expect(await nextMessage(ws)).toBe("echo: ping through Azusa");
    await session.post("/api/auth/sign-out");
    await closed;

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

  it("opens in Chromium, where the IDE's page talks to its server over a WebSocket through Azusa", async () => {
    page = await signInPage(browser, t.base, "se0@matsumoto.example", PASSWORD);
    await page.goto(`${t.base}/my-packages/${mine.packageId}/ide`);
    await page.waitForURL(`${t.base}${app()}/`);
    await page.locator("#status", { hasText: "echo: hello from the page" }).waitFor();
    expect(await page.title()).toBe("Stand-in IDE");
  });
});
