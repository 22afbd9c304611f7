import { describe, expect, it } from "vitest";
import { say, type Text } from "../kernel/messages.ts";
import { execSignal } from "../provisioner/driver.ts";
import { parseTemplate } from "../templates/templates.ts";
import {
  allowedEnv,
  countsAsActivity,
  endStatus,
  forwardAllowed,
  IDE_KEEPALIVE_BYTES,
  listenRefusal,
  localRefusal,
  RESTRICTED_FORWARDS,
} from "./policy.ts";

describe("exec bridge", () => {
  it("reports exit codes as exit codes, and 128 + n as a signal only when the session sent that signal", () => {
    // `exit 130` and friends are ordinary exit codes: OpenSSH would exit 255 and plink print
    // "unrecognised signal" if they were reported as signals.
    for (const code of [129, 130, 137, 143, 158]) expect(endStatus({ code, signal: null })).toEqual({ code });
    expect(endStatus({ code: 130, signal: null }, new Set(["INT"]))).toEqual({ signal: "INT" });
    expect(endStatus({ code: 143, signal: null }, new Set(["TERM"]))).toEqual({ signal: "TERM" });
    expect(endStatus({ code: 143, signal: null }, new Set(["INT"]))).toEqual({ code: 143 });
    expect(endStatus({ code: 3, signal: null }, new Set(["INT"]))).toEqual({ code: 3 });
    expect(endStatus({ code: 128, signal: null })).toEqual({ code: 128 });
    expect(endStatus({ code: 200, signal: null })).toEqual({ code: 200 });
    expect(endStatus({ code: null, signal: null })).toEqual({ code: 255 });
    expect(endStatus({ code: null, signal: "SIGHUP" })).toEqual({ signal: "HUP" });
  });

  it("lets a client set locale and time zone, not the search path or the loader", () => {
    for (const name of ["LANG", "LC_ALL", "LC_CTYPE", "TZ", "COLORTERM"]) expect(allowedEnv(name)).toBe(true);
    for (const name of ["PATH", "LD_PRELOAD", "HOME", "SHELL", "BASH_ENV", "lang"])
      expect(allowedEnv(name)).toBe(false);
  });

  it("lets a client send the signals a terminal user means, by either spelling, and no others", () => {
    expect(execSignal("TERM")).toBe("TERM");
    expect(execSignal("SIGINT")).toBe("INT");
    expect(execSignal("usr1")).toBe("USR1");
    for (const name of ["STOP", "SEGV", "CONT", "", "TERM; rm", "9"]) expect(execSignal(name)).toBeNull();
  });

  it("forwards only to a destination the template lists, host without case, port exactly", () => {
    const parsed = parseTemplate(
      "web",
      JSON.stringify({ image: "x", customizations: { azusa: { ssh: { portForwarding: ["localhost:3000"] } } } }),
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    expect(forwardAllowed(parsed.template, { host: "localhost", port: 3000 })).toBe(true);
    expect(forwardAllowed(parsed.template, { host: "LOCALHOST", port: 3000 })).toBe(true);
    expect(forwardAllowed(parsed.template, { host: "localhost", port: 3001 })).toBe(false);
    expect(forwardAllowed(parsed.template, { host: "127.0.0.1", port: 3000 })).toBe(false);
    expect(forwardAllowed(undefined, { host: "localhost", port: 3000 })).toBe(false);
  });

  it("counts an IDE tab's own keep-alives as no activity, and everything else a forward carries as activity", () => {
    const ide = { host: "127.0.0.1", port: 8443, ide: true };
    // VS Code's keep-alive: a 13-byte header in a masked WebSocket frame.
    expect(countsAsActivity(ide, 19)).toBe(false);
    expect(countsAsActivity(ide, IDE_KEEPALIVE_BYTES - 1)).toBe(false);
    expect(countsAsActivity(ide, IDE_KEEPALIVE_BYTES)).toBe(true);
    expect(countsAsActivity(ide, 4096)).toBe(true);
    expect(countsAsActivity({ host: "localhost", port: 3000 }, 1)).toBe(true);
  });

  it("lets the IDE proxy reach the template's IDE port on the workspace's loopback, and nothing else", () => {
    const parsed = parseTemplate("ide", JSON.stringify({ image: "x", customizations: { azusa: { idePort: 8443 } } }));
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    expect(forwardAllowed(parsed.template, { host: "127.0.0.1", port: 8443, ide: true })).toBe(true);
    expect(forwardAllowed(parsed.template, { host: "127.0.0.1", port: 8443 })).toBe(false);
    expect(forwardAllowed(parsed.template, { host: "127.0.0.1", port: 8444, ide: true })).toBe(false);
    expect(forwardAllowed(parsed.template, { host: "10.0.0.1", port: 8443, ide: true })).toBe(false);
    const none = parseTemplate("plain", JSON.stringify({ image: "x" }));
    if (!none.ok) throw new Error(JSON.stringify(none.problems));
    expect(forwardAllowed(none.template, { host: "127.0.0.1", port: 8443, ide: true })).toBe(false);
  });

  it("listens for ssh -R only on the listed ports of the workspace's loopback, and for agent and X11 when allowed", () => {
    const parsed = parseTemplate(
      "gui",
      JSON.stringify({
        image: "x",
        customizations: { azusa: { ssh: { remoteForwarding: [7000], agentForwarding: true, x11: true } } },
      }),
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const template = parsed.template;
    for (const address of ["", "localhost", "LOCALHOST", "127.0.0.1"]) {
      expect(listenRefusal(template, { kind: "remote", address, port: 7000 })).toBeNull();
    }
    // Each refusal has its code, its English evidence and its words in the engineer's language.
    expect(listenRefusal(template, { kind: "remote", address: "0.0.0.0", port: 7000 })).toEqual({
      code: "remote_not_loopback",
      reason: "remote forwarding listens only on the workspace's 127.0.0.1, not on 0.0.0.0",
      text: { key: "forward.remoteNotLoopback", params: { address: "0.0.0.0" } },
    });
    for (const port of [0, 7001]) {
      const refusal = listenRefusal(template, { kind: "remote", address: "localhost", port });
      expect(refusal).toMatchObject({
        code: "remote_not_listed",
        reason: `the workspace's template does not allow remote forwarding from port ${port}`,
      });
      expect(say("ja", refusal?.text as Text)).toBe(
        `ワークスペースのテンプレートはポート ${port} からのリモート転送を許可していません`,
      );
    }
    expect(listenRefusal(template, { kind: "agent" })).toBeNull();
    const x11 = { kind: "x11", protocol: "MIT-MAGIC-COOKIE-1", cookie: "0123456789abcdef", screen: 0 } as const;
    expect(listenRefusal(template, x11)).toBeNull();
    for (const bad of [
      { ...x11, cookie: "'; rm -rf ~ #" },
      { ...x11, cookie: "abc" },
      { ...x11, protocol: "MIT MAGIC" },
    ]) {
      expect(listenRefusal(template, bad)).toMatchObject({
        code: "x11_malformed",
        reason: "the X11 authentication data is malformed",
      });
    }
    expect(listenRefusal(undefined, { kind: "agent" })).toMatchObject({
      code: "agent_not_allowed",
      reason: "the workspace's template does not allow agent forwarding",
    });
    expect(listenRefusal(undefined, x11)).toMatchObject({
      code: "x11_not_allowed",
      reason: "the workspace's template does not allow X11 forwarding",
    });
    expect(listenRefusal(undefined, { kind: "remote", address: "localhost", port: 7000 })).not.toBeNull();
    // A restricted contract refuses every kind, whatever the template says.
    for (const request of [{ kind: "agent" } as const, x11, { kind: "remote", address: "", port: 7000 } as const]) {
      expect(listenRefusal(template, request, true)).toBe(RESTRICTED_FORWARDS);
    }
    expect(localRefusal(undefined, { host: "localhost", port: 3000 })).toMatchObject({ code: "forward_not_listed" });
    expect(RESTRICTED_FORWARDS.code).toBe("forward_restricted");
  });
});
