// The gateway's ed25519 host key: generated once, kept in the data directory, so clients see the same key.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
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
  const { private: privateKey, public: publicKey } = ssh2.utils.generateKeyPairSync("ed25519", {
    comment: "azusa-gateway",
  });
  try {
    // "wx": two processes starting at once must not overwrite each other's key.
    writeFileSync(file, privateKey, { mode: 0o600, flag: "wx" });
    writeFileSync(`${file}.pub`, `${publicKey}\n`, { mode: 0o644 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return readFileSync(file, "utf8");
    throw err;
  }
  return privateKey;
}

/** The public half in authorized_keys/known_hosts form ("ssh-ed25519 AAAA…"). */
export function publicHostKey(privateKey: string): string {
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error || Array.isArray(parsed)) throw new Error("the SSH host key cannot be read");
  return `${parsed.type} ${parsed.getPublicSSH().toString("base64")}`;
}
