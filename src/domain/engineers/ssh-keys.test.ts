import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSshPublicKey, type SshKeyResult, type SshPublicKey } from "./ssh-keys.ts";

// Every key here is made by the real ssh-keygen at test time, in a fresh temp dir.
let dir = "";
let keyCount = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "azusa-ssh-keys-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface GeneratedKey {
  /** Contents of the .pub file, trailing newline included. */
  pub: string;
  pubPath: string;
  /** Contents of the private key file. */
  private: string;
}

/** Generates a key pair with ssh-keygen, e.g. generateKey("-t", "rsa", "-b", "4096"). */
function generateKey(...typeArgs: string[]): GeneratedKey {
  const path = join(dir, `id${++keyCount}`);
  execFileSync("ssh-keygen", ["-q", ...typeArgs, "-N", "", "-C", "sato@laptop", "-f", path], { stdio: "pipe" });
  return { pub: readFileSync(`${path}.pub`, "utf8"), pubPath: `${path}.pub`, private: readFileSync(path, "utf8") };
}

/** The fingerprint ssh-keygen prints for a public key file: the second field of `ssh-keygen -lf`. */
function keygenFingerprint(pubPath: string): string {
  const fingerprint = execFileSync("ssh-keygen", ["-lf", pubPath], { encoding: "utf8" }).split(" ")[1];
  if (!fingerprint?.startsWith("SHA256:")) throw new Error(`unexpected ssh-keygen -lf output for ${pubPath}`);
  return fingerprint;
}

/** Writes a public key line to a file of its own, so ssh-keygen can read it. */
function writePub(line: string): string {
  const path = join(dir, `handmade${++keyCount}.pub`);
  writeFileSync(path, `${line}\n`);
  return path;
}

/** The key of a result that must have been accepted. */
function accepted(result: SshKeyResult): SshPublicKey {
  if (!result.ok) throw new Error(`expected the key to be accepted, got: ${result.message}`);
  return result.key;
}

/** The message of a refused input; also checks that it quotes none of the input's base64 (key material). */
function refusal(text: string): string {
  const result = parseSshPublicKey(text);
  if (result.ok) throw new Error(`expected a refusal, got the key ${result.key.type} ${result.key.fingerprint}`);
  for (const base64Run of text.match(/[A-Za-z0-9+/]{16,}/g) ?? []) {
    expect(result.message).not.toContain(base64Run);
  }
  return result.message;
}

/** An SSH wire-format string: a 4-byte big-endian length, then the bytes. */
function sshString(bytes: Buffer | string): Buffer {
  const body = typeof bytes === "string" ? Buffer.from(bytes) : bytes;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([length, body]);
}

/** A positive SSH mpint of random bytes (a zero byte in front when the high bit is set). */
function randomMpint(bytes: number): Buffer {
  const value = randomBytes(bytes);
  return sshString((value[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), value]) : value);
}

/** The strings of a real key's blob, to rebuild it as another type. */
function blobStrings(pub: string): Buffer[] {
  const blob = Buffer.from(pub.split(" ")[1] ?? "", "base64");
  const strings: Buffer[] = [];
  for (let at = 0; at < blob.length; ) {
    const length = blob.readUInt32BE(at);
    strings.push(blob.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return strings;
}

/** A hand-built ssh-dss line: string "ssh-dss", mpint p, q, g, y, with DSA's usual sizes. */
function handmadeDsaLine(): string {
  const blob = Buffer.concat([
    sshString("ssh-dss"),
    randomMpint(128),
    randomMpint(20),
    randomMpint(128),
    randomMpint(128),
  ]);
  return `ssh-dss ${blob.toString("base64")} sato@laptop`;
}

/** A FIDO ed25519 public key line (no comment) around a real ed25519 key: type, key, application "ssh:". */
function fidoEd25519Line(): string {
  const [, publicKey = Buffer.alloc(0)] = blobStrings(generateKey("-t", "ed25519").pub);
  const type = "sk-ssh-ed25519@openssh.com";
  return `${type} ${Buffer.concat([sshString(type), sshString(publicKey), sshString("ssh:")]).toString("base64")}`;
}

describe("parseSshPublicKey accepts strong keys", () => {
  it("accepts a real ed25519 key and shows the fingerprint ssh-keygen shows", () => {
    const key = generateKey("-t", "ed25519");
    const parsed = accepted(parseSshPublicKey(key.pub));
    expect(parsed).toEqual({
      type: "ssh-ed25519",
      bits: 256,
      fingerprint: keygenFingerprint(key.pubPath),
      comment: "sato@laptop",
      openssh: key.pub.trim(),
    });
  });

  it("accepts a 4096-bit RSA key with its real size and ssh-keygen's fingerprint", () => {
    const key = generateKey("-t", "rsa", "-b", "4096");
    const parsed = accepted(parseSshPublicKey(key.pub));
    expect(parsed).toMatchObject({ type: "ssh-rsa", bits: 4096, fingerprint: keygenFingerprint(key.pubPath) });
  });

  it("accepts a 3072-bit RSA key, the shortest allowed", () => {
    const key = generateKey("-t", "rsa", "-b", "3072");
    expect(accepted(parseSshPublicKey(key.pub))).toMatchObject({ type: "ssh-rsa", bits: 3072 });
  });

  it.each([256, 384, 521])("accepts an ECDSA P-%i key with its curve size and ssh-keygen's fingerprint", (bits) => {
    const key = generateKey("-t", "ecdsa", "-b", String(bits));
    expect(accepted(parseSshPublicKey(key.pub))).toMatchObject({
      type: `ecdsa-sha2-nistp${bits}`,
      bits,
      fingerprint: keygenFingerprint(key.pubPath),
    });
  });

  // Generating FIDO keys needs a hardware token, so these rewrap a real key's public part in the sk- wire
  // format (type, key, application "ssh:"), and ssh-keygen itself confirms the result is a valid sk key.
  it("accepts a FIDO sk-ssh-ed25519 key with ssh-keygen's fingerprint", () => {
    const line = `${fidoEd25519Line()} sato@yubikey`;
    expect(accepted(parseSshPublicKey(line))).toEqual({
      type: "sk-ssh-ed25519@openssh.com",
      bits: 256,
      fingerprint: keygenFingerprint(writePub(line)),
      comment: "sato@yubikey",
      openssh: line,
    });
  });

  it("accepts a FIDO sk-ecdsa key with ssh-keygen's fingerprint", () => {
    const [, curve = Buffer.alloc(0), point = Buffer.alloc(0)] = blobStrings(
      generateKey("-t", "ecdsa", "-b", "256").pub,
    );
    const type = "sk-ecdsa-sha2-nistp256@openssh.com";
    const blob = Buffer.concat([sshString(type), sshString(curve), sshString(point), sshString("ssh:")]);
    const line = `${type} ${blob.toString("base64")}`;
    expect(accepted(parseSshPublicKey(line))).toMatchObject({
      type,
      bits: 256,
      fingerprint: keygenFingerprint(writePub(line)),
    });
  });

  it("accepts surrounding whitespace and Windows line endings, and normalizes the spacing", () => {
    const [type, base64] = generateKey("-t", "ed25519").pub.trim().split(" ");
    const parsed = accepted(parseSshPublicKey(`  \r\n${type}   ${base64}\tsato on laptop\r\n\r\n`));
    expect(parsed.comment).toBe("sato on laptop");
    expect(parsed.openssh).toBe(`${type} ${base64} sato on laptop`);
  });

  it("accepts a key without a comment, with an empty comment and no trailing space", () => {
    const [type, base64] = generateKey("-t", "ed25519").pub.split(" ");
    const parsed = accepted(parseSshPublicKey(`${type} ${base64}`));
    expect(parsed.comment).toBe("");
    expect(parsed.openssh).toBe(`${type} ${base64}`);
  });

  it("accepts a key padded with a long comment up to exactly 16 KiB", () => {
    const pub = generateKey("-t", "ed25519").pub.trim();
    const line = `${pub}${"x".repeat(16 * 1024 - pub.length)}`;
    expect(accepted(parseSshPublicKey(line)).openssh).toBe(line);
  });
});

describe("parseSshPublicKey refuses weak keys", () => {
  it("refuses a 1024-bit RSA key and says how long it must be", () => {
    const key = generateKey("-t", "rsa", "-b", "1024");
    expect(refusal(key.pub)).toBe("RSA key of 1024 bits is too short: at least 3072 bits (or use ed25519)");
  });

  it("refuses a 2048-bit RSA key", () => {
    const key = generateKey("-t", "rsa", "-b", "2048");
    expect(refusal(key.pub)).toBe("RSA key of 2048 bits is too short: at least 3072 bits (or use ed25519)");
  });

  it("refuses a DSA key and says to generate an ed25519 one", () => {
    let line: string;
    try {
      line = generateKey("-t", "dsa").pub;
    } catch {
      // OpenSSH 9.8+ may be built without DSA and 10.0 removed it: fall back to a hand-built ssh-dss line.
      line = handmadeDsaLine();
    }
    expect(refusal(line)).toBe("DSA keys are no longer accepted; generate an ed25519 key: ssh-keygen -t ed25519");
  });

  // The fallback above only runs where ssh-keygen cannot make DSA keys; this keeps it honest everywhere.
  it("refuses a hand-built ssh-dss key line the same way", () => {
    expect(refusal(handmadeDsaLine())).toBe(
      "DSA keys are no longer accepted; generate an ed25519 key: ssh-keygen -t ed25519",
    );
  });
});

describe("parseSshPublicKey refuses wrong pastes", () => {
  it.each([
    ["OpenSSH", ["-t", "ed25519"]],
    ["PEM RSA", ["-t", "rsa", "-b", "3072", "-m", "PEM"]],
  ])("refuses a private key file (%s) without echoing any of it", (_format, typeArgs) => {
    const { private: privateKey } = generateKey(...typeArgs);
    const message = refusal(privateKey);
    expect(message).toContain("PUBLIC key");
    expect(message).toContain(".pub file");
    for (const line of privateKey.split("\n").filter((l) => l.trim() !== "")) {
      expect(message).not.toContain(line);
    }
  });

  // Building a .ppk needs puttygen, which is not part of OpenSSH; this has the real key's public part and
  // random bytes where the private part goes, which is all the check reads.
  it("refuses a PuTTY .ppk file and says where PuTTYgen shows the public key", () => {
    const publicBlob = generateKey("-t", "ed25519").pub.split(" ")[1];
    const ppk = [
      "PuTTY-User-Key-File-3: ssh-ed25519",
      "Encryption: none",
      "Comment: sato@laptop",
      "Public-Lines: 2",
      publicBlob?.slice(0, 64),
      publicBlob?.slice(64),
      "Private-Lines: 1",
      randomBytes(36).toString("base64"),
      `Private-MAC: ${randomBytes(32).toString("hex")}`,
    ].join("\n");
    const message = refusal(ppk);
    expect(message).toContain("PuTTYgen");
    expect(message).toContain("Public key for pasting into OpenSSH authorized_keys file");
  });

  it("refuses an RFC 4716 key and names the command that converts it to a line it accepts", () => {
    const key = generateKey("-t", "ed25519");
    const rfc4716 = execFileSync("ssh-keygen", ["-e", "-f", key.pubPath], { encoding: "utf8" });
    expect(refusal(rfc4716)).toContain("ssh-keygen -i -f key.pub");

    const converted = execFileSync("ssh-keygen", ["-i", "-f", writePub(rfc4716.trim())], { encoding: "utf8" });
    expect(accepted(parseSshPublicKey(converted)).fingerprint).toBe(keygenFingerprint(key.pubPath));
  });

  it("refuses an SSH certificate and asks for the .pub file instead", () => {
    const ca = generateKey("-t", "ed25519");
    const user = generateKey("-t", "ed25519");
    const caPrivatePath = ca.pubPath.replace(/\.pub$/, "");
    execFileSync("ssh-keygen", ["-q", "-s", caPrivatePath, "-I", "sato", "-n", "sato", user.pubPath], {
      stdio: "pipe",
    });
    const certificate = readFileSync(user.pubPath.replace(/\.pub$/, "-cert.pub"), "utf8");
    expect(refusal(certificate)).toContain("certificate");
  });

  it("refuses garbage as not an OpenSSH public key", () => {
    expect(refusal("not a key")).toContain("not an OpenSSH public key");
  });

  it.each(["", "   \n\t\r\n"])("refuses empty input (%j)", (text) => {
    expect(refusal(text)).toContain("no key given");
  });

  it("refuses two keys on two lines", () => {
    const twoKeys = generateKey("-t", "ed25519").pub + generateKey("-t", "ecdsa").pub;
    expect(refusal(twoKeys)).toBe("paste one key at a time: the input holds 2 keys");
  });

  it("refuses two keys pasted on one line rather than keeping the second as a comment", () => {
    const first = generateKey("-t", "ed25519").pub.trim();
    const second = generateKey("-t", "ed25519").pub.trim();
    expect(refusal(`${first} ${second}`)).toBe("paste one key at a time: the input holds 2 keys");
  });

  it("refuses a key broken over several lines", () => {
    const pub = generateKey("-t", "rsa", "-b", "3072").pub.trim();
    const wrapped = pub.match(/.{1,70}/g)?.join("\n") ?? "";
    expect(refusal(wrapped)).toContain("single line");
  });

  it.each(['from="10.0.0.0/8",no-pty', 'command="echo hello there" ', "restrict"])(
    "refuses a key with authorized_keys options (%s) and asks for it without them",
    (options) => {
      const pub = generateKey("-t", "ed25519").pub;
      expect(refusal(`${options} ${pub}`)).toContain("paste the key without options");
    },
  );

  it("refuses input over 16 KiB", () => {
    const pub = generateKey("-t", "ed25519").pub.trim();
    expect(refusal(`${pub} ${"x".repeat(16 * 1024)}`)).toContain("larger than 16 KiB");
  });

  it("refuses a truncated key as damaged", () => {
    const [type, base64] = generateKey("-t", "rsa", "-b", "3072").pub.split(" ");
    expect(refusal(`${type} ${base64?.slice(0, 200)} sato@laptop`)).toContain("damaged");
  });

  // FIDO keys too: ssh2, the second reader for the other types, does not read those.
  it.each([
    ["ed25519", () => generateKey("-t", "ed25519").pub],
    ["FIDO ed25519", fidoEd25519Line],
  ])("refuses %s key data with characters that are not base64", (_kind, makeLine) => {
    const [type, base64] = makeLine().trim().split(" ");
    expect(refusal(`${type} ${base64}!!`)).toContain("damaged");
  });

  it("refuses a key whose data does not match its type", () => {
    const [, base64] = generateKey("-t", "ed25519").pub.split(" ");
    expect(refusal(`ssh-rsa ${base64}`)).toContain("damaged");
  });

  it("refuses a key with bytes appended to its data", () => {
    const [type, base64 = ""] = generateKey("-t", "ed25519").pub.split(" ");
    const longer = Buffer.concat([Buffer.from(base64, "base64"), sshString("extra")]).toString("base64");
    expect(refusal(`${type} ${longer}`)).toContain("damaged");
  });

  it("refuses a key type it does not accept, naming the type", () => {
    const type = "ssh-xmss@openssh.com";
    expect(refusal(`${type} ${sshString(type).toString("base64")}`)).toContain(`${type} keys are not accepted`);
  });

  it("refuses a comment holding control characters", () => {
    const pub = generateKey("-t", "ed25519").pub.trim();
    expect(refusal(`${pub}\u001b[31m`)).toContain("control characters");
  });
});
