// Reads the one-line OpenSSH public key an engineer registers, computes the fingerprint `ssh-keygen -lf`
// shows for it, and refuses weak keys and the usual wrong pastes (private keys, PuTTY files, options).
import { createHash } from "node:crypto";
import type { ParsedKey } from "ssh2";
import ssh2 from "ssh2";
import { type MessageId, msg, type Param, said, type Text } from "../../kernel/messages.ts";

/** A vetted public key, ready to store and show. */
export interface SshPublicKey {
  /** The key type, e.g. "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "sk-ssh-ed25519@openssh.com". */
  type: string;
  /** Key size: 256 for ed25519, the modulus length for RSA, the curve size (256/384/521) for ECDSA. */
  bits: number;
  /** "SHA256:" and the unpadded base64 of the blob's SHA-256, exactly as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  /** The text after the key data; "" when there is none. */
  comment: string;
  /** The normalized line: type, base64 blob and, when there is one, the comment, separated by single spaces. */
  openssh: string;
}

/** The vetted key, or a message safe to show the engineer (it never contains key material). */
export type SshKeyResult = { ok: true; key: SshPublicKey } | { ok: false; message: string; text: Text };

/** A public key line is a few hundred bytes (RSA 16384 is under 3 KiB); anything bigger is a wrong paste. */
const MAX_INPUT_BYTES = 16 * 1024;
const MIN_RSA_BITS = 3072;

/** The types we know; ssh2 cannot parse the FIDO (`sk-`) ones, so those rely on our own reading alone. */
const knownTypes = new Set([
  "ssh-ed25519",
  "ssh-rsa",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
  "ssh-dss",
]);

/** Size in bits and uncompressed point length in bytes of each ECDSA curve OpenSSH supports. */
const curves: Record<string, { bits: number; pointBytes: number }> = {
  nistp256: { bits: 256, pointBytes: 65 },
  nistp384: { bits: 384, pointBytes: 97 },
  nistp521: { bits: 521, pointBytes: 133 },
};

/** A key type followed by blob-looking base64 (every blob starts with a small length, so with "AAAA"). */
const embeddedKey = /(?:^|\s)((?:ssh|ecdsa|sk)-[\w@.-]+)\s+AAAA[A-Za-z0-9+/]/;
const looksLikeKeyType = /^(?:ssh|ecdsa|sk)-[a-z0-9@.-]{1,60}$/;

const refuse = (key: MessageId, params?: Record<string, Param>): SshKeyResult => ({
  ok: false,
  ...said(msg(key, params)),
});

/** Parses and vets one OpenSSH public key line (surrounding whitespace and a trailing newline are fine). */
export function parseSshPublicKey(text: string): SshKeyResult {
  if (Buffer.byteLength(text, "utf8") > MAX_INPUT_BYTES) {
    return refuse("keys.tooLarge", { paste: msg("keys.paste") });
  }
  const input = text.trim();
  if (input === "") return refuse("keys.none", { paste: msg("keys.paste") });

  // Wrong files first, before anything could quote them back.
  if (input.includes("PRIVATE KEY")) {
    return refuse("keys.private");
  }
  if (input.startsWith("PuTTY-User-Key-File-")) {
    return refuse("keys.putty");
  }
  // RFC 4716 is refused rather than converted: ssh2 only converts RSA and DSA ones, and one command fixes any.
  if (input.startsWith("---- BEGIN SSH2 PUBLIC KEY ----")) {
    return refuse("keys.rfc4716");
  }
  // Control characters in a comment would reach terminals and logs that show the key.
  if (hasControlCharacters(input)) {
    return refuse("keys.control", { paste: msg("keys.paste") });
  }

  const lines = input.split(/\r\n|\n|\r/).filter((line) => line.trim() !== "");
  if (lines.length > 1) {
    const keys = lines.filter((line) => embeddedKey.test(line)).length;
    return keys > 1
      ? refuse("keys.several", { n: keys })
      : refuse("keys.lines", { n: lines.length, paste: msg("keys.paste") });
  }

  const match = /^(\S+)\s+(\S+)(?:\s+(.*))?$/.exec(input);
  const [, type = "", base64 = "", comment = ""] = match ?? [];
  if (!knownTypes.has(type)) return refuseUnknownType(input, type);
  if (type === "ssh-dss") {
    return refuse("keys.dsa");
  }
  // Without this check a second key pasted on the same line would be stored as the first one's comment.
  if (embeddedKey.test(comment)) return refuse("keys.several", { n: 2 });

  const damaged = refuse("keys.damaged", { type });
  const blob = Buffer.from(base64, "base64");
  // Buffer.from skips characters it cannot decode; only a lossless round trip is the text the user meant.
  if (blob.length === 0 || blob.toString("base64") !== base64) return damaged;
  const fields = wireStrings(blob);
  if (fields?.[0]?.toString("latin1") !== type) return damaged;
  const bits = keyBits(type, fields.slice(1));
  if (bits === null || !ssh2Agrees(type, base64, blob)) return damaged;

  if (type === "ssh-rsa" && bits < MIN_RSA_BITS) {
    return refuse("keys.shortRsa", { bits, min: MIN_RSA_BITS });
  }

  const normalized = `${type} ${base64}`;
  return {
    ok: true,
    key: {
      type,
      bits,
      fingerprint: `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`,
      comment,
      openssh: comment === "" ? normalized : `${normalized} ${comment}`,
    },
  };
}

/** The message for a line that does not start with a key type we accept. */
function refuseUnknownType(input: string, type: string): SshKeyResult {
  // authorized_keys options (from="…", command="…", no-pty) come before the type and may contain spaces.
  if (!looksLikeKeyType.test(type) && embeddedKey.test(input)) {
    return refuse("keys.options");
  }
  if (type.includes("-cert-")) {
    return refuse("keys.certificate");
  }
  if (looksLikeKeyType.test(type)) {
    return refuse("keys.type", { type });
  }
  return refuse("keys.notOpenSsh", { paste: msg("keys.paste") });
}

/** True when the text holds a control character other than tab and line breaks. */
function hasControlCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) || code === 0x7f) return true;
  }
  return false;
}

/** Splits an SSH wire-format blob into its length-prefixed strings; null unless they fill it exactly. */
function wireStrings(blob: Buffer): Buffer[] | null {
  const fields: Buffer[] = [];
  let at = 0;
  while (at < blob.length) {
    if (at + 4 > blob.length) return null;
    const length = blob.readUInt32BE(at);
    at += 4;
    if (at + length > blob.length) return null;
    fields.push(blob.subarray(at, at + length));
    at += length;
  }
  return fields;
}

/** The key size from the fields after the type string, or null when they are not a key of that type. */
function keyBits(type: string, fields: Buffer[]): number | null {
  const sk = type.startsWith("sk-"); // FIDO keys end with one more string: the application, usually "ssh:"
  if (sk && !fields.at(-1)?.length) return null;
  const keyFields = sk ? fields.slice(0, -1) : fields;

  if (type === "ssh-ed25519" || type === "sk-ssh-ed25519@openssh.com") {
    return keyFields.length === 1 && keyFields[0]?.length === 32 ? 256 : null;
  }
  if (type === "ssh-rsa") {
    const [e, n] = keyFields; // mpint e, mpint n
    if (keyFields.length !== 2 || !e || !n || mpintBits(e) === null) return null;
    return mpintBits(n);
  }
  // ECDSA: the curve name again, then the public point, uncompressed (0x04 || x || y).
  const [curveName, point] = keyFields;
  const curve = curves[curveName?.toString("latin1") ?? ""];
  const sameCurve = curve !== undefined && type.includes(`-${curveName?.toString("latin1")}`);
  if (keyFields.length !== 2 || !sameCurve || point?.length !== curve.pointBytes || point[0] !== 4) return null;
  return curve.bits;
}

/** Bits of a positive SSH mpint, not counting the zero byte that keeps a high bit from reading as a sign. */
function mpintBits(mpint: Buffer): number | null {
  if (mpint.length === 0 || (mpint[0] ?? 0) & 0x80) return null; // zero or negative: no RSA key has these
  const first = mpint.findIndex((byte) => byte !== 0);
  if (first === -1) return null;
  return (mpint.length - first - 1) * 8 + (32 - Math.clz32(mpint[first] ?? 0));
}

/** The part of ssh2's parsed key this module reads. */
type Ssh2Key = Pick<ParsedKey, "type" | "getPublicSSH">;

/**
 * A second, independent reading: ssh2 rebuilds the blob from the fields it parsed, so a byte-for-byte match
 * means both parsers see the same key. ssh2 knows no FIDO types; for those our own reading must do.
 */
function ssh2Agrees(type: string, base64: string, blob: Buffer): boolean {
  if (type.startsWith("sk-")) return true;
  const parsed: Ssh2Key | Ssh2Key[] | Error = ssh2.utils.parseKey(`${type} ${base64}`);
  if (parsed instanceof Error || Array.isArray(parsed)) return false;
  return parsed.type === type && parsed.getPublicSSH().equals(blob);
}
