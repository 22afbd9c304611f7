// Serves GitHub API exchanges in the @octokit/fixtures format (nock's recording format) from a loopback HTTP
// server: Octokit 22 speaks fetch, which the fixtures' own node:http interception misses. The exchanges are
// written by hand, never recorded from GitHub (which cannot be reached from here); what holds them to GitHub is
// its own description (github-openapi.ts): every exchange served, and every request received, is checked
// against it, and what does not fit is listed in `offDescription`.
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { isDeepStrictEqual } from "node:util";
import { githubDescription } from "./github-openapi.ts";

/** One recorded exchange, as @octokit/fixtures stores them. */
export interface Fixture {
  scope: string;
  method: string;
  path: string;
  /** When present, the request's JSON body must equal it. */
  body?: unknown;
  status: number;
  response?: unknown;
  reqheaders?: Record<string, string>;
  headers?: Record<string, string>;
}

export interface Replay {
  /** What to pass to Octokit as baseUrl. */
  baseUrl: string;
  /** Recorded exchanges nobody asked for yet. */
  pending(): Fixture[];
  /** Requests that matched no recording, as "METHOD path: why". */
  unmatched: string[];
  /**
   * What does not fit GitHub's description of its API: requests received (path, query, body) and the exchanges
   * given to the stand-in (the body it expects and the response it serves, for its status).
   */
  offDescription: string[];
  /** Adds recordings (for ones that name objects made after the server started). */
  add(fixtures: Fixture[]): void;
  /** Every request received, in order, with its JSON body. */
  requests: { method: string; path: string; body: unknown }[];
  close(): Promise<void>;
}

/** Reads a fixture file (a JSON array of exchanges), replacing each `{{name}}` with `vars[name]`. */
export function loadFixtures(file: string, vars: Record<string, string> = {}): Fixture[] {
  const text = readFileSync(file, "utf8").replace(/\{\{(\w+)\}\}/g, (whole, name: string) => vars[name] ?? whole);
  return JSON.parse(text) as Fixture[];
}

/**
 * Answers each request with the first unused recording of the same method and path (query included),
 * checking the recorded body and headers; anything else gets a 500 naming what differed.
 */
export async function startReplay(fixtures: Fixture[]): Promise<Replay> {
  const github = githubDescription();
  const offDescription: string[] = [];
  const check = (more: Fixture[]) => {
    for (const f of more) {
      if (f.body !== undefined) offDescription.push(...github.request(f.method, f.path, f.body));
      offDescription.push(...github.response(f.method, f.path, f.status, f.response));
    }
  };
  check(fixtures);
  const left = fixtures.map((f) => ({ ...f, used: false }));
  const unmatched: string[] = [];
  const requests: Replay["requests"] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const method = (req.method ?? "GET").toLowerCase();
      const path = req.url ?? "/";
      const text = Buffer.concat(chunks).toString("utf8");
      const body = text ? JSON.parse(text) : undefined;
      requests.push({ method: method.toUpperCase(), path, body });
      offDescription.push(...github.request(method, path, body));
      const candidates = left.filter((f) => !f.used && f.method.toLowerCase() === method && f.path === path);
      const why: string[] = [];
      const hit = candidates.find((f) => {
        if (f.body !== undefined && !isDeepStrictEqual(f.body, body)) {
          why.push(`body ${text} differs from the recording's ${JSON.stringify(f.body)}`);
          return false;
        }
        for (const [name, value] of Object.entries(f.reqheaders ?? {})) {
          if (req.headers[name.toLowerCase()] !== value) {
            why.push(`header ${name} differs from the recording`);
            return false;
          }
        }
        return true;
      });
      if (!hit) {
        unmatched.push(`${method.toUpperCase()} ${path}: ${why.join("; ") || "no recording"}`);
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ message: `replay: no recording for ${method.toUpperCase()} ${path}` }));
        return;
      }
      hit.used = true;
      const headers = { "content-type": "application/json; charset=utf-8", ...(hit.headers ?? {}) };
      res.writeHead(hit.status, headers);
      res.end(hit.response === undefined ? "" : JSON.stringify(hit.response));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    pending: () => left.filter((f) => !f.used).map(({ used: _used, ...f }) => f),
    unmatched,
    offDescription,
    requests,
    add: (more) => {
      check(more);
      left.push(...more.map((f) => ({ ...f, used: false })));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
