// What Azusa's SSH server says on the wire beyond what ssh2 offers: its algorithms, the user name's package,
// the agent channel ssh2 has no method for, and a disconnect that carries its reason.
import { createHash } from "node:crypto";
import type { Duplex } from "node:stream";
import type ssh2 from "ssh2";

/**
 * Modern algorithms only: no SHA-1, no CBC, no group1/group14-sha1. ssh2 always offers strict key
 * exchange (kex-strict-s-v00@openssh.com), which closes Terrapin for chacha20-poly1305 and EtM MACs.
 */
export const algorithms: ssh2.Algorithms = {
  kex: [
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group14-sha256",
  ],
  cipher: [
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
  ],
  hmac: ["hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-sha2-256", "hmac-sha2-512"],
  serverHostKey: ["ssh-ed25519"],
  compress: ["none"],
};

/** SSH's reason code for a channel refused by policy (RFC 4254 section 5.1). */
export const SSH_OPEN_ADMINISTRATIVELY_PROHIBITED = 1;

/** Keys a client may offer on one connection (OpenSSH's own MaxAuthTries is 6). */
export const MAX_KEYS_PER_CONNECTION = 6;

/**
 * Runs OpenSSH's sftp-server from where Debian, Fedora and Alpine put it, only one the workspace user can neither
 * change nor swap (the file, its folders and / not writable to them): what runs is the image's sftp-server,
 * which starts no other process, so a session of it leaves none behind (see mayLeaveProcesses).
 */
export const sftpServer = `for s in /usr/lib/openssh/sftp-server /usr/libexec/openssh/sftp-server /usr/lib/ssh/sftp-server; do [ -x $s ] || continue; d=$s; ok=1; while [ -n "$d" ]; do [ -w "$d" ] && ok=0; d=${"$"}{d%/*}; done; [ -w / ] && ok=0; [ $ok = 1 ] && exec $s; done; echo 'no sftp-server in this workspace (one the workspace user can change is not run)' >&2; exit 127`;

/** `pkg-<id>` or the package id itself; null when the name is neither. */
export function packageFromUser(user: string): string | null {
  const id = user.startsWith("pkg-") ? user.slice(4) : user;
  return /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(id) ? id : null;
}

/**
 * Opens an `auth-agent@openssh.com` channel to the client (agent forwarding). ssh2 1.x's server speaks
 * the message (`Protocol.openssh_authAgent`) but has no method for it, so this does what its
 * `x11`/`forwardOut` do: register the pending channel, then ask the client.
 */
export function openAgentChannel(client: ssh2.Connection): Promise<Duplex> {
  const internals = client as unknown as {
    _chanMgr: { add(callback: unknown): number };
    _protocol: { openssh_authAgent(channel: number, window: number, packetSize: number): void };
  };
  return new Promise((resolve, reject) => {
    const callback = Object.assign(
      (err: Error | undefined, stream: ssh2.ServerChannel) => (err ? reject(err) : resolve(stream)),
      { type: "auth-agent@openssh.com" },
    );
    const local = internals._chanMgr.add(callback);
    if (local === -1) return reject(new Error("no free channels"));
    internals._protocol.openssh_authAgent(local, 2 * 1024 * 1024, 32 * 1024);
  });
}

/** What SSH clients are told when the gateway closes for a shutdown; OpenSSH prints it. */
export const RESTARTING = "Azusa is restarting; reconnect in a moment";
/** What an SSH client is told when its login cannot be checked because the database does not answer. */
export const UNAVAILABLE = "Azusa cannot check logins for a moment (its database does not answer); try again shortly";

/**
 * Ends a connection with SSH_MSG_DISCONNECT carrying `description` (RFC 4253 §11.1), reason
 * BY_APPLICATION. ssh2's `end()` always sends the description empty, so this builds the packet the way
 * its `Protocol.disconnect` does, with the text added, and then ends the socket.
 */
export function disconnectWith(client: ssh2.Connection, description: string): void {
  const internals = client as unknown as {
    _sock?: { writable?: boolean; end(): void };
    _protocol: {
      _packetRW: {
        write: {
          allocStartKEX: number;
          alloc(length: number, force: boolean): Buffer;
          finalize(p: Buffer, force: boolean): Buffer;
        };
      };
      _cipher: { encrypt(packet: Buffer): void };
    };
  };
  const sock = internals._sock;
  if (!sock?.writable) return;
  try {
    const text = Buffer.from(description, "utf8");
    const write = internals._protocol._packetRW.write;
    const p = write.allocStartKEX;
    const packet = write.alloc(1 + 4 + 4 + text.length + 4, true);
    packet[p] = 1; // SSH_MSG_DISCONNECT
    packet.writeUInt32BE(11, p + 1); // SSH_DISCONNECT_BY_APPLICATION
    packet.writeUInt32BE(text.length, p + 5);
    text.copy(packet, p + 9);
    packet.writeUInt32BE(0, p + 9 + text.length); // language tag: none
    internals._protocol._cipher.encrypt(write.finalize(packet, true));
    sock.end();
  } catch {
    client.end();
  }
}

/**
 * Sends SSH_MSG_USERAUTH_BANNER (RFC 4252 §5.4) with `message` while the client is still logging in: OpenSSH
 * prints it on standard error, so a refused login says why. ssh2 sends a banner only once, fixed in its
 * configuration, so this builds the packet the way its `Protocol.serviceAccept` does.
 */
export function sendBanner(client: ssh2.Connection, message: string): void {
  const internals = client as unknown as {
    _protocol: {
      _kexinit?: unknown;
      _packetRW: { write: { allocStart: number; alloc(length: number): Buffer; finalize(p: Buffer): Buffer } };
      _cipher: { encrypt(packet: Buffer): void };
    };
  };
  const protocol = internals._protocol;
  // In the middle of a key exchange ssh2 queues what it sends; a banner then is not worth the wait.
  if (protocol._kexinit !== undefined) return;
  const body = Buffer.from(message.endsWith("\r\n") ? message : `${message}\r\n`, "utf8");
  const write = protocol._packetRW.write;
  const p = write.allocStart;
  const packet = write.alloc(1 + 4 + body.length + 4);
  packet[p] = 53; // SSH_MSG_USERAUTH_BANNER
  packet.writeUInt32BE(body.length, p + 1);
  body.copy(packet, p + 5);
  packet.writeUInt32BE(0, p + 5 + body.length); // language tag: none
  protocol._cipher.encrypt(write.finalize(packet));
}

/** "SHA256:…" of a key blob, as `ssh-keygen -lf` prints it and the ssh_key table stores it. */
export const fingerprintOf = (blob: Buffer) =>
  `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
