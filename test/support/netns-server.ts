// An HTTP server of a test inside a network namespace the test made: a service on "another machine".
import { type ChildProcess, spawn } from "node:child_process";

// Answers "hello from <name>", prints its port, then each peer's address.
const serverScript = `
const server = require("node:http").createServer((_req, res) => res.end("hello from " + process.argv[1] + "\\n"));
server.on("connection", (s) => console.log("peer " + (s.remoteAddress || "").replace(/^::ffff:/, "")));
server.listen(0, "0.0.0.0", () => console.log("port " + server.address().port));
`;

/** A running server: its port, the addresses that connected to it (as they come), and its process. */
export interface NetnsServer {
  port: number;
  peers: string[];
  child: ChildProcess;
  close(): void;
}

/**
 * Starts an HTTP server on every address of network namespace `ns` (`/run/netns/<ns>`) answering
 * "hello from <name>"; resolves once it listens.
 */
export async function serveInNetns(ns: string, name: string): Promise<NetnsServer> {
  // nsenter, not `ip netns exec`, which would mount a /sys of its own
  const child = spawn("nsenter", [`--net=/run/netns/${ns}`, process.execPath, "-e", serverScript, name], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const peers: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        if (line.startsWith("port ")) resolve(Number(line.slice(5)));
        if (line.startsWith("peer ")) peers.push(line.slice(5));
      }
    });
    child.on("exit", (code) => reject(new Error(`the server in ${ns} exited with ${code}`)));
  });
  return { port, peers, child, close: () => child.kill() };
}
