// The gateway's ed25519 host key: generated once, kept in the data directory, so clients see the same key.
import { createHash } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ssh2 from "ssh2";

/** The private key (OpenSSH format) from `<dataDir>/ssh_host_ed25519_key`, created on first use (mode 0600). */
export function loadHostKey(dataDir: string): string {
  const file = join(dataDir, "ssh_host_ed25519_key");
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  mkdirSync(dataDir, { recursive: true });
  const { private: privateKey, public: publicKey } = generateHostKey();
  // Written aside, then linked into place: the link appears whole or not at all, and fails when another
  // process got there first (whose key is then the one), so nobody ever reads a half-written key.
  const pending = `${file}.${process.pid}.tmp`;
  writeFileSync(pending, privateKey, { mode: 0o600 });
  try {
    linkSync(pending, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return readFileSync(file, "utf8");
    throw err;
  } finally {
    rmSync(pending, { force: true });
  }
  writeFileSync(`${file}.pub`, `${publicKey}\n`, { mode: 0o644 });
  return privateKey;
}

/**
 * A fresh ed25519 pair that ssh2 can read back. About one key in 250 that ssh2's generator writes has
 * a public half with its leading zero byte dropped, which its own parser then refuses: such a key is
 * thrown away and another made.
 */
function generateHostKey(): { private: string; public: string } {
  for (let attempt = 0; attempt < 20; attempt++) {
    const pair = ssh2.utils.generateKeyPairSync("ed25519", { comment: "azusa-gateway" });
    if (!(ssh2.utils.parseKey(pair.private) instanceof Error)) return pair;
  }
  throw new Error("could not generate a readable SSH host key");
}

/** The fingerprint `ssh` prints for a public key ("SHA256:" and the unpadded base64 of the key blob's SHA-256). */
export function hostKeyFingerprint(publicKey: string): string {
  const blob = Buffer.from(publicKey.trim().split(/\s+/)[1] ?? "", "base64");
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** The public half in authorized_keys/known_hosts form ("ssh-ed25519 AAAA…"). */
export function publicHostKey(privateKey: string): string {
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error || Array.isArray(parsed)) throw new Error("the SSH host key cannot be read");
  return `${parsed.type} ${parsed.getPublicSSH().toString("base64")}`;
}
