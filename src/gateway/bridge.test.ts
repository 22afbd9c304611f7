import { describe, expect, it } from "vitest";
import { allowedEnv, endStatus } from "./bridge.ts";

describe("exec bridge", () => {
  it("maps Docker's 128 + n back to the signal that killed the command", () => {
    expect(endStatus({ code: 137, signal: null })).toEqual({ signal: "KILL" });
    expect(endStatus({ code: 143, signal: null })).toEqual({ signal: "TERM" });
    expect(endStatus({ code: 130, signal: null })).toEqual({ signal: "INT" });
    expect(endStatus({ code: 3, signal: null })).toEqual({ code: 3 });
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
});
