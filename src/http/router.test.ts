import { RegExpRouter } from "hono/router/reg-exp-router";
import { SmartRouter } from "hono/router/smart-router";
import { TrieRouter } from "hono/router/trie-router";
import { describe, expect, it } from "vitest";
import { MemoRouter } from "./router.ts";

// Routes shaped like Azusa's: middleware for all, a static path after a parameter at the same level.
const routes: [string, string, string][] = [
  ["ALL", "/*", "stamp"],
  ["ALL", "/api/v1/*", "guard"],
  ["GET", "/api/v1/me", "me"],
  ["GET", "/api/v1/packages/:id", "package"],
  ["POST", "/api/v1/packages/merge", "merge"],
  ["GET", "/api/v1/packages/:id/files/*", "files"],
  ["GET", "/healthz", "health"],
];

const handlersOf = (result: ReturnType<MemoRouter<string>["match"]>) =>
  result[0].map(([handler, params]) => {
    const stash = result[1];
    const values = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, stash ? stash[v as number] : v]));
    return [handler, values];
  });

describe("MemoRouter", () => {
  it("matches what Hono's default router matches, the first time and every time after", () => {
    const memo = new MemoRouter<string>();
    const plain = new SmartRouter<string>({ routers: [new RegExpRouter(), new TrieRouter()] });
    for (const [method, path, handler] of routes) {
      memo.add(method, path, handler);
      plain.add(method, path, handler);
    }
    const asked: [string, string][] = [
      ["GET", "/api/v1/me"],
      ["GET", "/api/v1/packages/p-1"],
      ["GET", "/api/v1/packages/p-2"],
      ["POST", "/api/v1/packages/merge"],
      ["GET", "/api/v1/packages/p-1/files/src/main.ts"],
      ["DELETE", "/api/v1/me"],
      ["GET", "/nowhere"],
    ];
    for (let round = 0; round < 2; round++) {
      for (const [method, path] of asked) {
        expect(handlersOf(memo.match(method, path)), `${method} ${path}`).toEqual(
          handlersOf(plain.match(method, path)),
        );
      }
    }
    expect(handlersOf(memo.match("GET", "/api/v1/packages/p-2"))).toEqual([
      ["stamp", {}],
      ["guard", {}],
      ["package", { id: "p-2" }],
    ]);
  });

  it("remembers no more pairs than its size, dropping the oldest", () => {
    const memo = new MemoRouter<string>(2);
    for (const [method, path, handler] of routes) memo.add(method, path, handler);
    for (const id of ["a", "b", "c", "d"]) memo.match("GET", `/api/v1/packages/${id}`);
    expect(memo.remembered).toBe(2);
    expect(handlersOf(memo.match("GET", "/api/v1/packages/a")).at(-1)).toEqual(["package", { id: "a" }]);
    expect(handlersOf(memo.match("GET", "/api/v1/packages/d")).at(-1)).toEqual(["package", { id: "d" }]);
  });
});
