// The browser terminal's page script: xterm.js in #terminal, wired to Azusa's terminal socket. Binary frames
// carry keystrokes and output; text frames carry control messages (resize from here, the end from Azusa).
import "/assets/constructed-styles.js";
import { FitAddon } from "/assets/xterm/addon-fit.mjs";
import { Unicode11Addon } from "/assets/xterm/addon-unicode11.mjs";
import { Terminal } from "/assets/xterm/xterm.mjs";

const host = document.getElementById("terminal");
const status = document.getElementById("terminal-status");
const reconnect = document.getElementById("terminal-reconnect");

const term = new Terminal({
  cursorBlink: true,
  fontFamily: '"DejaVu Sans Mono", "Noto Sans Mono CJK JP", monospace',
  fontSize: 14,
  // At xterm.js's own line height (1) each row's box cuts off what lies below the text: "_" disappeared.
  lineHeight: 1.2,
  scrollback: 5000,
  // The unicode addon is a "proposed" API of xterm.js.
  allowProposedApi: true,
});
// Characters as wide as the workspace's programs count them (Unicode 11: CJK and emoji take two columns),
// so what follows them lines up; xterm.js alone counts by Unicode 6.
term.loadAddon(new Unicode11Addon());
term.unicode.activeVersion = "11";
const fit = new FitAddon();
term.loadAddon(fit);
term.open(host);
fit.fit();

const url = new URL(host.dataset.socket, location.href);
url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
url.searchParams.set("cols", String(term.cols));
url.searchParams.set("rows", String(term.rows));
const socket = new WebSocket(url);
socket.binaryType = "arraybuffer";
const encoder = new TextEncoder();

const send = (data) => {
  if (socket.readyState === WebSocket.OPEN) socket.send(data);
};

socket.addEventListener("open", () => {
  status.textContent = status.dataset.connected;
  term.focus();
});
socket.addEventListener("message", (event) => {
  if (typeof event.data === "string") return; // the end message; the close that follows says it
  term.write(new Uint8Array(event.data));
});
socket.addEventListener("close", () => {
  status.textContent = status.dataset.ended;
  host.dataset.state = "ended";
  reconnect.hidden = false;
  term.options.disableStdin = true;
});

term.onData((data) => send(encoder.encode(data)));
// Mouse reports in some modes arrive as a "binary" string: one byte per character.
term.onBinary((data) => send(Uint8Array.from(data, (ch) => ch.charCodeAt(0) & 0xff)));
term.onResize(({ cols, rows }) => send(JSON.stringify({ type: "resize", cols, rows })));
addEventListener("resize", () => fit.fit());
