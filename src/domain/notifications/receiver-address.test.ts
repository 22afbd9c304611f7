import type { LookupAddress } from "node:dns";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkReceiverUrl,
  guardedLookup,
  postToReceiver,
  refusedAddress,
  refusedReceiver,
} from "./receiver-address.ts";

const production = { allowLoopback: false };
const tests = { allowLoopback: true };

it("refuses private, shared, link-local, unique-local and mapped addresses, whatever the policy", () => {
  for (const ip of [
    "10.1.2.3",
    "172.20.0.1",
    "192.168.0.1",
    "100.64.0.1",
    "169.254.169.254",
    "0.0.0.0",
    "fd12::1",
    "fe80::1",
    "::ffff:192.168.0.1",
  ]) {
    expect(refusedAddress(ip, tests), ip).not.toBeNull();
  }
  expect(refusedAddress("203.0.113.7", production)).toBeNull();
  expect(refusedAddress("2001:db8::1", production)).toBeNull();
});

it("lets loopback through only when the policy allows it", () => {
  expect(refusedAddress("127.0.0.1", production)).toMatch(/loopback/);
  expect(refusedAddress("::1", production)).toMatch(/loopback/);
  expect(refusedAddress("127.0.0.1", tests)).toBeNull();
  expect(() => checkReceiverUrl("http://127.0.0.1:9/hook", production)).toThrow(/this machine/);
  expect(() => checkReceiverUrl("https://localhost/hook", production)).toThrow(/this machine/);
  expect(checkReceiverUrl("http://127.0.0.1:9/hook", tests)).toBe("http://127.0.0.1:9/hook");
});

it("asks for https to anywhere but loopback, and no credentials in the URL", () => {
  expect(() => checkReceiverUrl("http://hooks.example.com/x", production)).toThrow(/https/);
  expect(() => checkReceiverUrl("https://u:p@hooks.example.com/x", production)).toThrow(/credentials/);
  expect(() => checkReceiverUrl("https://10.0.0.1/x", tests)).toThrow(/public address/);
  expect(checkReceiverUrl("https://hooks.example.com/x", production)).toBe("https://hooks.example.com/x");
});

it("checks a literal or local receiver again at send time", () => {
  expect(refusedReceiver("http://localhost:9/hook", production)).toMatch(/this machine/);
  expect(refusedReceiver("http://127.0.0.1:9/hook", production)).toMatch(/loopback/);
  expect(refusedReceiver("https://169.254.169.254/x", tests)).toMatch(/link-local/);
  expect(refusedReceiver("http://127.0.0.1:9/hook", tests)).toBeNull();
});

describe("sending to a receiver", () => {
  let server: Server;
  let port = 0;
  const got: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        got.push(body);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("refuses where the socket connects when a name resolves to a forbidden address", async () => {
    const lookup = guardedLookup(production);
    const refused = await new Promise<Error | null>((resolve) => lookup("localhost", {}, (err) => resolve(err)));
    expect(refused?.message).toMatch(/refused: localhost resolves to .* loopback/);
    const allowed = await new Promise<string | LookupAddress[]>((resolve, reject) =>
      guardedLookup(tests)("localhost", { all: true }, (err, a) => (err ? reject(err) : resolve(a))),
    );
    expect(allowed).toEqual(expect.arrayContaining([expect.objectContaining({ address: expect.any(String) })]));
  });

  it("posts the body when the policy allows the address, and sends nothing when it does not", async () => {
    const url = `http://127.0.0.1:${port}/hook`;
    await expect(postToReceiver(url, {}, '{"a":1}', { policy: production, timeoutMs: 5_000 })).rejects.toThrow(
      /loopback/,
    );
    expect(got).toEqual([]);
    expect(await postToReceiver(url, {}, '{"a":1}', { policy: tests, timeoutMs: 5_000 })).toBe(204);
    expect(got).toEqual(['{"a":1}']);
  });
});
