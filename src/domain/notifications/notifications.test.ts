import { createHmac } from "node:crypto";
import { expect, it } from "vitest";
import { signPayload } from "./notifications.service.ts";

it("signs the timestamp and the body together, so neither can be replayed with the other changed", () => {
  const body = '{"event":"delivery.delivered"}';
  const mac = createHmac("sha256", "s3cret").update(`1764000000.${body}`).digest("hex");
  expect(signPayload("s3cret", 1_764_000_000, body)).toBe(`t=1764000000,v1=${mac}`);
  expect(signPayload("s3cret", 1_764_000_001, body)).not.toBe(signPayload("s3cret", 1_764_000_000, body));
});
