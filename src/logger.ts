// Structured JSON logs; anything that could carry a secret is redacted before it is written.
import pino, { type Logger } from "pino";

export const redactPaths = [
  "password",
  "*.password",
  "token",
  "*.token",
  "key",
  "*.key",
  "secret",
  "*.secret",
  "headers.authorization",
  "headers.cookie",
  'headers["x-api-key"]',
  'headers["set-cookie"]',
  "*.headers.authorization",
  "*.headers.cookie",
  '*.headers["x-api-key"]',
  "DATABASE_URL",
  "*.DATABASE_URL",
];

/** A logger that writes one JSON object per line to `destination` (stdout by default). */
export function createLogger({
  level = "info",
  destination,
}: {
  level?: string;
  destination?: pino.DestinationStream;
} = {}): Logger {
  return pino({ level, base: { service: "azusa" }, redact: { paths: redactPaths, censor: "[redacted]" } }, destination);
}

export type { Logger };
