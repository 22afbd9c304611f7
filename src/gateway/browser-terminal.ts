// The browser terminal's half of the exec bridge: a WebSocket's frames become a BridgeChannel, so a page
// gets the same access check, policy, recording, revocation and evidence as an SSH channel.
import { PassThrough, Writable } from "node:stream";
import type { Bridge } from "./bridge.ts";
import type { Principal, SessionHandle } from "./bridge-types.ts";

/** What the terminal needs of a WebSocket (the `ws` package's socket has it). */
export interface TerminalSocket {
  send(data: Buffer | string, done?: (err?: Error) => void): void;
  close(code?: number, reason?: string): void;
  /** Stops reading frames from the page (the `ws` socket's pause), so keystrokes wait in the network. */
  pause(): void;
  resume(): void;
}

/**
 * Frames, page → Azusa: binary frames are keystrokes; text frames are JSON control messages
 * (`{"type":"resize","cols":80,"rows":24}`). Azusa → page: binary frames are terminal output; one last
 * text frame `{"type":"end","status":…}` says how the session ended, then the socket closes.
 */
export type ControlMessage = { type: "resize"; cols: number; rows: number };

/** A terminal size a page may ask for; anything else is ignored. */
const size = (n: unknown, max: number): number | null =>
  typeof n === "number" && Number.isInteger(n) && n > 0 && n <= max ? n : null;

/** A browser terminal on an open socket. */
export interface BrowserTerminal {
  handle: SessionHandle;
  /** A frame from the page. */
  message(data: string | ArrayBuffer | Buffer): void;
  /** The page went away. */
  closed(): void;
}

/**
 * Opens a shell with a tty in the principal's workspace through `bridge`, speaking the frames above on
 * `socket`. `pty` is the page's terminal size when it connected.
 */
export function openBrowserTerminal(
  bridge: Bridge,
  principal: Principal,
  socket: TerminalSocket,
  pty: { cols: number; rows: number },
): BrowserTerminal {
  // Keystrokes the command has not read yet: past this much, the page's frames wait in the network.
  const input = new PassThrough({ highWaterMark: 64 * 1024 });
  let paused = false;
  input.on("drain", () => {
    if (!paused) return;
    paused = false;
    socket.resume();
  });
  let open = true;
  const output = new Writable({
    // The next chunk waits for the socket to take this one: a slow page slows the command, never Azusa's memory.
    write(chunk: Buffer, _enc, done) {
      if (!open) return done();
      socket.send(chunk, (err) => done(err && open ? err : undefined));
    },
  });
  const handle = bridge.open(
    { ...principal, transport: "browser" },
    { kind: "shell", pty: { ...pty, term: "xterm-256color" }, env: {} },
    {
      input,
      output,
      errors: null,
      finish(status) {
        if (!open) return;
        open = false;
        socket.send(JSON.stringify({ type: "end", status }));
        socket.close(1000, "session ended");
      },
    },
  );
  return {
    handle,
    message(data) {
      if (typeof data === "string") {
        let parsed: Partial<ControlMessage>;
        try {
          parsed = JSON.parse(data) as Partial<ControlMessage>;
        } catch {
          return;
        }
        const cols = size(parsed.cols, 1000);
        const rows = size(parsed.rows, 500);
        if (parsed.type === "resize" && cols && rows) handle.resize(cols, rows);
        return;
      }
      if (!input.write(Buffer.isBuffer(data) ? data : Buffer.from(data)) && !paused) {
        paused = true;
        socket.pause();
      }
    },
    closed() {
      open = false;
      input.end();
      handle.end("the browser closed the terminal");
    },
  };
}

/** The browser terminals of `bridge`, as the terminal page takes them. */
export const browserTerminals = (bridge: Bridge) => ({
  open: (principal: Principal, socket: TerminalSocket, pty: { cols: number; rows: number }) =>
    openBrowserTerminal(bridge, principal, socket, pty),
});
