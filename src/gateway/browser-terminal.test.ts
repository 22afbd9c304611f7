// The browser terminal's keystrokes under backpressure: a command that reads slowly makes Azusa stop
// reading the page's frames, and reading again once it has caught up. The real terminal runs in
// test/web-terminal.test.ts; here the bridge is a stand-in that hands over the channel.
import { describe, expect, it } from "vitest";
import type { Bridge } from "./bridge.ts";
import type { BridgeChannel, SessionHandle } from "./bridge-types.ts";
import { openBrowserTerminal } from "./browser-terminal.ts";

describe("the browser terminal's input", () => {
  it("pauses the page's socket while keystrokes wait unread, resumes when they are read, and loses none", async () => {
    let channel: BridgeChannel | undefined;
    const bridge = {
      open(_principal: unknown, _request: unknown, c: BridgeChannel): SessionHandle {
        channel = c;
        return {
          id: "s",
          resize: () => undefined,
          signal: async () => ({ delivered: false, reason: "none" }),
          end: () => undefined,
          done: new Promise(() => undefined),
        };
      },
    } as unknown as Bridge;
    const calls: string[] = [];
    const terminal = openBrowserTerminal(
      bridge,
      { engineerId: "e", packageId: "p", source: "127.0.0.1", transport: "browser" },
      {
        send: () => undefined,
        close: () => undefined,
        pause: () => calls.push("pause"),
        resume: () => calls.push("resume"),
      },
      { cols: 80, rows: 24 },
    );
    const frame = Buffer.alloc(16 * 1024, 0x61);
    for (let i = 0; i < 8; i++) terminal.message(frame);
    expect(calls).toEqual(["pause"]);
    const input = channel?.input;
    if (!input) throw new Error("the bridge got no channel");
    let read = 0;
    input.on("data", (d: Buffer) => {
      read += d.length;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual(["pause", "resume"]);
    expect(read).toBe(8 * frame.length);
  });
});
