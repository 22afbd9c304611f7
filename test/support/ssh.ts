// Real keys from the real ssh-keygen, made fresh for each test run.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A new key pair of `type` (and `bits`); returns the public line and the fingerprint ssh-keygen shows. */
export function sshKeygen(
  type: "ed25519" | "rsa" | "ecdsa",
  bits?: number,
  comment = "test@matsumoto",
): {
  publicKey: string;
  fingerprint: string;
} {
  const dir = mkdtempSync(join(tmpdir(), "azusa-key-"));
  try {
    const file = join(dir, "id");
    execFileSync("ssh-keygen", [
      "-q",
      "-t",
      type,
      ...(bits ? ["-b", String(bits)] : []),
      "-N",
      "",
      "-C",
      comment,
      "-f",
      file,
    ]);
    const publicKey = readFileSync(`${file}.pub`, "utf8").trim();
    const fingerprint = execFileSync("ssh-keygen", ["-lf", `${file}.pub`], { encoding: "utf8" }).split(" ")[1] ?? "";
    return { publicKey, fingerprint };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
