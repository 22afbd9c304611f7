// A listener inside a workspace (for ssh -R, agent and X11 forwarding): drives the perl process of
// listener-frames.ts, which accepts connections there, and joins each to a transport's stream.
import type { Duplex, Writable } from "node:stream";
import type { ExecSession } from "../provisioner/driver.ts";
import { encodeFrame, FRAME_DATA, type Frame, FrameDecoder, type FrameType, WINDOW } from "./listener-frames.ts";
/** A connection accepted in the workspace, waiting for the transport's channel. */
export interface Accepted {
  id: number;
  /** The peer inside the workspace (empty address and port 0 for a unix socket). */
  origin: { address: string; port: number };
  /**
   * Joins the connection to `stream` both ways (`onBytes` hears of each chunk, for activity); resolves once
   * both are closed, with the bytes carried: `in` from the stream into the workspace, `out` the other way.
   */
  attach(stream: Duplex, onBytes?: (n: number) => void): Promise<{ in: number; out: number }>;
  /** Closes the connection in the workspace (the transport would not take it). */
  refuse(): void;
}

/** A running listener. */
export interface WorkspaceListener {
  /** What it bound: the port (tcp) or the socket's path (unix). */
  bound: string;
  /** Stops listening, closes its connections and ends the process; resolves once it has exited. */
  close(): Promise<void>;
  /** Resolves when the listener is gone, for whatever reason, with why. */
  closed: Promise<string>;
}

/**
 * Ends a relay or listener command: its input closes, and one still running 2 s later is killed. Resolves
 * with its exit status, or null when it had to be killed.
 */
export async function stopCommand(exec: ExecSession): Promise<Awaited<ExecSession["exit"]> | null> {
  (exec.stdin as Writable).end();
  const exit = await Promise.race([
    exec.exit,
    new Promise<null>((resolve) => setTimeout(() => resolve(null), 2000).unref()),
  ]);
  if (!exit) await exec.signal?.("KILL");
  return exit;
}

/** One accepted connection, as the listener's driver tracks it. */
interface Conn {
  /** The workspace's bytes that came before the channel was attached. */
  pending: Buffer[];
  peerEnded: boolean;
  /** The workspace side is closed (or told to close): no more frames for it either way. */
  gone: boolean;
  stream?: Duplex;
  deliver?: (data: Buffer) => void;
  acked?: (n: number) => void;
  abort(): void;
}

/** How a connection reaches the perl side: frames to send, acknowledgements, the table of connections. */
interface Wire {
  send(type: FrameType, id: number, payload?: Buffer): void;
  ack(id: number, n: number): void;
  conns: Map<number, Conn>;
  window: number;
}

/**
 * Drives a listener started with `listenerCommand`: resolves once it is listening (rejects with its
 * complaint when it could not), then calls `onConnection` for each connection it accepts.
 */
export function runListener(
  exec: ExecSession,
  onConnection: (conn: Accepted) => void,
  { window = WINDOW }: { window?: number } = {},
): Promise<WorkspaceListener> {
  const stdin = exec.stdin as NodeJS.WritableStream & { destroyed?: boolean };
  const send = (type: FrameType, id: number, payload?: Buffer) => {
    if (!stdin.destroyed && stdin.writable) stdin.write(encodeFrame(type, id, payload));
  };
  const conns = new Map<number, Conn>();
  const decoder = new FrameDecoder();
  let complaint = "";
  exec.stderr?.on("data", (d: Buffer) => {
    if (complaint.length < 500) complaint += d.toString();
  });
  let settleReady: (v: { bound: string } | { error: string }) => void = () => {};
  const ready = new Promise<{ bound: string } | { error: string }>((resolve) => {
    settleReady = resolve;
  });
  let resolveClosed: (why: string) => void = () => {};
  const closed = new Promise<string>((resolve) => {
    resolveClosed = resolve;
  });
  const ack = (id: number, n: number) => {
    const count = Buffer.alloc(4);
    count.writeUInt32BE(n);
    send("A", id, count);
  };
  const wire: Wire = { send, ack, conns, window };

  const accepted = (id: number, origin: Accepted["origin"]): Accepted => {
    const conn: Conn = { pending: [], peerEnded: false, gone: false, abort: () => undefined };
    conns.set(id, conn);
    return {
      id,
      origin,
      refuse() {
        if (!conn.gone) send("C", id);
        conn.gone = true;
        conns.delete(id);
      },
      attach: (stream, onBytes) => attach(wire, id, conn, stream, onBytes),
    };
  };

  const handle = (frame: Frame) => {
    if (frame.id === 0) {
      if (frame.type === "R") settleReady({ bound: frame.payload.toString() });
      if (frame.type === "F") settleReady({ error: frame.payload.toString() });
      return;
    }
    if (frame.type === "O") {
      const [address = "", port = "0"] = frame.payload.toString().split(" ");
      onConnection(accepted(frame.id, { address, port: Number(port) || 0 }));
      return;
    }
    const conn = conns.get(frame.id);
    if (!conn) return;
    switch (frame.type) {
      case "D":
        if (conn.deliver) conn.deliver(frame.payload);
        else conn.pending.push(frame.payload);
        break;
      case "A":
        if (frame.payload.length === 4) conn.acked?.(frame.payload.readUInt32BE(0));
        break;
      case "E":
        conn.peerEnded = true;
        conn.stream?.end();
        break;
      case "C":
        conn.gone = true;
        conns.delete(frame.id);
        // After both ends finished the channel closes by itself; before that, this is an abort.
        if (!conn.peerEnded) conn.abort();
        break;
    }
  };

  exec.stdout.on("data", (chunk: Buffer) => {
    let frames: Frame[];
    try {
      frames = decoder.push(chunk);
    } catch (err) {
      complaint ||= err instanceof Error ? err.message : String(err);
      stdin.end();
      return;
    }
    for (const f of frames) handle(f);
  });
  const gone = (why: string) => {
    for (const [, conn] of conns) {
      conn.gone = true;
      conn.abort();
    }
    conns.clear();
    settleReady({ error: complaint.trim() || why });
    resolveClosed(why);
  };
  exec.stdout.once("end", () => gone("the listener ended"));
  void exec.exit.then((exit) => gone(`the listener exited with ${exit.code ?? exit.signal}`));

  const close = async () => {
    await stopCommand(exec);
    gone("closed");
  };

  return ready.then(async (r) => {
    if ("error" in r) {
      await close();
      throw new Error(complaint.trim() || r.error);
    }
    return { bound: r.bound, close, closed };
  });
}

/**
 * Joins accepted connection `id` to `stream` both ways, within the window each way; resolves once both are
 * closed, with the bytes carried.
 */
function attach(
  { send, ack, conns, window }: Wire,
  id: number,
  conn: Conn,
  stream: Duplex,
  onBytes: (n: number) => void = () => undefined,
): Promise<{ in: number; out: number }> {
  const bytes = { in: 0, out: 0 };
  // This side's bytes not yet acknowledged by perl stay under `window`; the rest waits here, the stream paused.
  let inFlight = 0;
  let held: Buffer | null = null;
  let paused = false;
  let ended = false;
  let endSent = false;
  const pump = () => {
    while (held && inFlight < window && !conn.gone) {
      const n = Math.min(held.length, window - inFlight, FRAME_DATA);
      const part = held.subarray(0, n);
      held = n === held.length ? null : held.subarray(n);
      inFlight += n;
      send("D", id, part);
    }
    if (held && !paused) {
      paused = true;
      stream.pause();
    } else if (!held && paused) {
      paused = false;
      stream.resume();
    }
    if (ended && !held && !endSent && !conn.gone) {
      endSent = true;
      send("E", id);
    }
  };
  const done = new Promise<{ in: number; out: number }>((resolve) => {
    stream.once("close", () => {
      // Both ends finished: perl writes what it still holds, then closes by itself. Otherwise an abort.
      if (!conn.gone && !(endSent && conn.peerEnded)) send("C", id);
      conn.gone = true;
      conns.delete(id);
      resolve(bytes);
    });
  });
  stream.on("error", () => undefined);
  conn.stream = stream;
  conn.abort = () => {
    if (!stream.destroyed) stream.destroy();
  };
  conn.deliver = (data) => {
    bytes.out += data.length;
    onBytes(data.length);
    // Acknowledged once the channel took it: perl reads on only as fast as the client takes it.
    stream.write(data, () => ack(id, data.length));
  };
  conn.acked = (n) => {
    inFlight -= n;
    pump();
  };
  for (const data of conn.pending) conn.deliver(data);
  conn.pending = [];
  if (conn.peerEnded) stream.end();
  else if (conn.gone) conn.abort();
  stream.on("data", (data: Buffer) => {
    bytes.in += data.length;
    onBytes(data.length);
    held = held ? Buffer.concat([held, data]) : data;
    pump();
  });
  stream.once("end", () => {
    ended = true;
    pump();
  });
  return done;
}
