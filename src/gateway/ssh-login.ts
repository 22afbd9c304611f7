// SSH login: public-key authentication against the engineers' registered keys, the user name picking the
// package, lockouts per address and per account, and every refusal audited before it is answered.
import ssh2 from "ssh2";
import type { Lockout } from "../domain/accounts/sign-in-throttle.ts";
import { type SessionAccess, said } from "../domain/sessions/access.ts";
import type { SessionLog } from "../domain/sessions/session-log.ts";
import { AppError } from "../kernel/errors.ts";
import { langs, say, type Text, text } from "../kernel/messages.ts";
import type { Logger } from "../logger.ts";
import type { Bridge } from "./bridge.ts";
import { type Principal, sayTo } from "./bridge-types.ts";
import {
  disconnectWith,
  fingerprintOf,
  MAX_KEYS_PER_CONNECTION,
  packageFromUser,
  sendBanner,
  UNAVAILABLE,
} from "./ssh-protocol.ts";

export interface SshLoginOptions {
  /** Finds the key a client logs in with, and keeps checking it is still registered. */
  access: SessionAccess;
  /** Where refused logins are recorded. */
  log: SessionLog;
  bridge: Pick<Bridge, "authorize">;
  /**
   * Failed logins per source address (looser: an office shares one address) and per account (user name), counted
   * in the database: shared by every process on it.
   */
  lockout: { addresses: Lockout; accounts: Lockout };
  logger: Logger;
}

/** One connection's login: who logged in (once someone has), and what to count when it closes without one. */
export interface SshLogin {
  principal(): Principal | undefined;
  /** The connection closed: a client that offered a key and never logged in counts as a failure. */
  closed(): void;
}

/**
 * Tells someone not yet known (no key of theirs matched) why, once per kind on a connection: as a banner, which
 * OpenSSH prints as UTF-8 in a UTF-8 locale (a disconnect's or a log line's other characters are printed as octal
 * escapes), in Japanese and then in English, since whose language it is cannot be known; in English alone to a
 * client that drops other bytes (`asciiOnly`).
 */
function strangerTeller(client: ssh2.Connection, asciiOnly: boolean) {
  const told = new Set<string>();
  return (code: string, message: Text) => {
    if (told.has(code)) return;
    told.add(code);
    const spoken = asciiOnly ? (["en"] as const) : langs;
    sendBanner(client, spoken.map((lang) => `azusa: ${say(lang, message)}`).join("\r\n"));
  };
}

/** The login checks; `attach` answers one connection's authentication requests. */
export function createSshLogin({ access, log, bridge, lockout, logger }: SshLoginOptions) {
  /** Logs and audits a refused login; resolves once the event is written, so the evidence precedes the answer. */
  const refused = async (ip: string, user: string, code: string, reason: string, key?: string) => {
    logger.info({ ip, user, code, key }, "ssh login refused");
    await log.loginRefused(ip, user, code, reason, key);
  };
  /** What a lockout counts against besides the address: the package asked for, by either spelling of it. */
  const accountOf = (user: string) => {
    const packageId = packageFromUser(user);
    return packageId ? `pkg:${packageId}` : `user:${user}`;
  };
  const failed = async (ip: string, user: string) => {
    const locked = [...(await lockout.addresses.fail(ip)), ...(await lockout.accounts.fail(accountOf(user)))];
    if (locked.length) logger.warn({ ip, user }, "ssh logins locked out");
  };
  /**
   * Locked out: the address, or the package for an address that has itself failed lately. A correct key from
   * an address that has not failed is never locked out, whoever guesses at the package elsewhere.
   */
  const lockedOut = async (ip: string, user: string) =>
    (await lockout.addresses.locked(ip)) ||
    ((await lockout.accounts.locked(accountOf(user))) && (await lockout.addresses.failedRecently(ip)));

  /** `software`: the client's, from its version line (`OpenSSH_9.2p1`, `dropbear_2022.83`, `PuTTY_Release_0.78`). */
  function attach(client: ssh2.Connection, ip: string, software = ""): SshLogin {
    // dropbear's dbclient drops every byte of a banner outside printable ASCII: it is told in English.
    const asciiOnly = /^dropbear/i.test(software);
    let principal: Principal | undefined;
    let user = "";
    let triedKey = false;
    let counted = false;
    const fail = () => {
      counted = true;
      return failed(ip, user);
    };
    /** Keys offered on this connection, by fingerprint: each counts once, however often it is offered. */
    const offered = new Set<string>();
    let tooManyKeys = false;
    const tellStranger = strangerTeller(client, asciiOnly);

    const check = async (ctx: ssh2.PublicKeyAuthContext) => {
      const fingerprint = fingerprintOf(ctx.key.data);
      const first = !offered.has(fingerprint);
      offered.add(fingerprint);
      if (offered.size > MAX_KEYS_PER_CONNECTION) {
        if (tooManyKeys) return ctx.reject([], false);
        tooManyKeys = true;
        await fail();
        // Written before the answer: a client told "no methods left" disconnects at once.
        await refused(ip, user, "too_many_keys", `more than ${MAX_KEYS_PER_CONNECTION} keys offered`, fingerprint);
        tellStranger("too_many_keys", text("login.tooManyKeys", { max: MAX_KEYS_PER_CONNECTION }));
        ctx.reject([], false);
        return client.end();
      }
      if (await lockedOut(ip, user)) {
        if (first) await refused(ip, user, "locked", "too many failed logins; try again later", fingerprint);
        tellStranger("locked", text("login.locked"));
        return ctx.reject(["publickey"]);
      }
      // SHA-1 signatures (ssh-rsa) and DSA keys are refused; an RSA key signs with rsa-sha2-256/512.
      if (ctx.key.algo === "ssh-dss" || (ctx.key.algo === "ssh-rsa" && !ctx.hashAlgo)) {
        if (first) {
          await refused(ip, user, "weak_algorithm", `${ctx.key.algo} with SHA-1 is not accepted`, fingerprint);
        }
        tellStranger("weak_algorithm", text("login.weakAlgorithm", { algorithm: ctx.key.algo }));
        return ctx.reject(["publickey"]);
      }
      const packageId = packageFromUser(user);
      const key = await access.loginKey(fingerprint);
      if (!key) {
        // Every key offered counts, and every refusal is audited with the key's fingerprint.
        if (first) {
          await fail();
          await refused(ip, user, "unknown_key", "the key is not registered to an engineer", fingerprint);
        }
        // Said of the first such key only: an agent may offer others first, and the registered one after.
        tellStranger("unknown_key", text("login.unknownKey", { fingerprint }));
        return ctx.reject(["publickey"]);
      }
      // Without a signature the client only asks whether this key would do.
      if (!ctx.signature) return ctx.accept();
      const parsed = ssh2.utils.parseKey(key.publicKey);
      const publicKey = Array.isArray(parsed) ? parsed[0] : parsed;
      if (!publicKey || publicKey instanceof Error || !ctx.blob) return ctx.reject(["publickey"]);
      if (publicKey.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) {
        await fail();
        await refused(ip, user, "bad_signature", "the signature does not verify", fingerprint);
        return ctx.reject(["publickey"]);
      }
      const candidate: Principal = {
        engineerId: key.userId,
        packageId: packageId ?? "",
        source: ip,
        transport: "ssh",
        keyFingerprint: fingerprint,
        recheck: () => access.keyRevoked(key.id),
        lang: key.lang,
      };
      const decision = packageId
        ? await bridge.authorize(candidate)
        : ({
            ok: false,
            code: "not_assigned",
            ...said(text("access.noPackage", { user: user.slice(0, 64) })),
          } as const);
      if (!decision.ok) {
        await fail();
        await refused(ip, user, decision.code, decision.reason, fingerprint);
        // The engineer is known by now: told why, in their language, before the refusal.
        sendBanner(client, sayTo(asciiOnly ? { ...candidate, lang: "en" } : candidate, decision.text));
        return ctx.reject([], false);
      }
      principal = { ...candidate, authorized: { target: decision.target, at: Date.now() } };
      // A success forgets this address's and package's failures (the other keys an agent offered first).
      await Promise.all([lockout.addresses.clear(ip), lockout.accounts.clear(accountOf(user))]);
      ctx.accept();
    };

    client.on("authentication", (ctx) => {
      user = ctx.username;
      if (ctx.method !== "publickey") return ctx.reject(["publickey"]);
      triedKey = true;
      check(ctx).catch((err) => {
        // The database away (restarting) is no fault of the client's and no failed login: it is told so.
        if (err instanceof AppError && err.code === "UNAVAILABLE") {
          logger.warn({ ip, err: err.message }, "ssh login while the database does not answer");
          // Readable in either language as a banner first; the disconnect's own words stay English.
          tellStranger("unavailable", text("login.unavailable"));
          return disconnectWith(client, UNAVAILABLE);
        }
        logger.error({ err, ip }, "ssh authentication failed unexpectedly");
        ctx.reject([], false);
      });
    });

    return {
      principal: () => principal,
      closed() {
        if (!principal && triedKey && !counted) {
          fail().catch((err) => logger.warn({ ip, err: (err as Error).message }, "counting a failed ssh login"));
        }
      },
    };
  }

  return { attach };
}
