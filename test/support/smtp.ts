// A real SMTP server on loopback (smtp-server) that keeps what it receives, and the reading of those messages:
// headers with their RFC 2047 words decoded, the body as its transfer encoding wrote it.
import { SMTPServer } from "smtp-server";
import { freePort } from "./harness.ts";

export interface Received {
  to: string[];
  raw: string;
}

export interface TestSmtp {
  url: string;
  received: Received[];
  /** The next message is refused with 451 (a server busy for now). */
  refuseNext(): void;
  close(): Promise<void>;
}

/** A loopback SMTP server without TLS or authentication, keeping each message in `received`. */
export async function startSmtp(): Promise<TestSmtp> {
  const received: Received[] = [];
  let refuse = false;
  const port = await freePort();
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    onData(stream, session, done) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        if (refuse) {
          refuse = false;
          done(Object.assign(new Error("mailbox busy, try later"), { responseCode: 451 }));
          return;
        }
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString() });
        done();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(port, "127.0.0.1", resolve));
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    refuseNext: () => {
      refuse = true;
    },
    close: () => new Promise<void>((resolve) => smtp.close(() => resolve())),
  };
}

/** A header's value, its RFC 2047 encoded words decoded (nodemailer writes UTF-8 as base64 or Q). */
export function header(raw: string, name: string): string {
  const head = raw.split(/\r?\n\r?\n/)[0] ?? "";
  const m = new RegExp(`^${name}: ((?:.*)(?:\\r?\\n[ \\t].*)*)`, "mi").exec(head);
  const value = (m?.[1] ?? "").replace(/\r?\n[ \t]/g, " ");
  return value.replace(/=\?utf-8\?([bq])\?([^?]*)\?=\s*/gi, (_, enc: string, text: string) =>
    enc.toLowerCase() === "b"
      ? Buffer.from(text, "base64").toString("utf8")
      : Buffer.from(
          text
            .replace(/_/g, " ")
            .replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
          "latin1",
        ).toString("utf8"),
  );
}

/** A single-part message's text, decoded from base64 or quoted-printable as its header says. */
export function bodyOf(raw: string): string {
  const encoding = header(raw, "Content-Transfer-Encoding").trim().toLowerCase();
  const bodyRaw = raw
    .split(/\r?\n\r?\n/)
    .slice(1)
    .join("\n\n");
  if (encoding === "base64") return Buffer.from(bodyRaw.replace(/\s/g, ""), "base64").toString("utf8");
  if (encoding === "quoted-printable")
    return Buffer.from(
      bodyRaw
        .replace(/=\r?\n/g, "")
        .replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
      "latin1",
    ).toString("utf8");
  return bodyRaw;
}
