import { expect, it } from "vitest";
import { checkReceiverUrl, refusedAddress, refusedReceiver } from "./receiver-address.ts";

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

it("checks the address again at send time", async () => {
  expect(await refusedReceiver("http://localhost:9/hook", production)).toMatch(/this machine/);
  expect(await refusedReceiver("http://127.0.0.1:9/hook", production)).toMatch(/loopback/);
  expect(await refusedReceiver("https://169.254.169.254/x", tests)).toMatch(/link-local/);
  expect(await refusedReceiver("http://127.0.0.1:9/hook", tests)).toBeNull();
});
