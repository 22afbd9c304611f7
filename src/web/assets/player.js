// The recording player's page script: fetches the session's asciicast v2 file and replays its output in
// xterm.js with the recorded timing (long pauses shortened), at 1×, 2× or 4×, with pause and "jump to end".
import { Terminal } from "/assets/xterm/xterm.mjs";

/** Pauses longer than this many seconds play as this long, as `asciinema play -i` does. */
const IDLE_LIMIT = 2;

const host = document.getElementById("player");
const status = document.getElementById("player-status");
const toggle = document.getElementById("player-toggle");
const speedSelect = document.getElementById("player-speed");
const endButton = document.getElementById("player-end");

/** The header and the output events ([seconds, text]) of an asciicast v2 file, pauses shortened. */
function parseCast(text) {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const header = JSON.parse(lines[0] ?? "{}");
  const limit = typeof header.idle_time_limit === "number" ? header.idle_time_limit : IDLE_LIMIT;
  const events = [];
  let last = 0;
  let shifted = 0;
  for (const line of lines.slice(1)) {
    const [time, kind, data] = JSON.parse(line);
    if (kind !== "o") continue;
    shifted += Math.min(time - last, limit);
    last = time;
    events.push([shifted, data]);
  }
  return { header, events };
}

const formatTime = (seconds) => {
  const s = Math.floor(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
};

async function main() {
  let cast;
  try {
    const res = await fetch(host.dataset.cast, { credentials: "same-origin" });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    cast = parseCast(await res.text());
  } catch {
    status.textContent = status.dataset.failed;
    return;
  }
  const { header, events } = cast;
  const total = events.at(-1)?.[0] ?? 0;
  const term = new Terminal({
    cols: header.width || 80,
    rows: header.height || 24,
    disableStdin: true,
    convertEol: false,
    fontFamily: '"DejaVu Sans Mono", "Noto Sans Mono CJK JP", monospace',
    fontSize: 14,
    scrollback: 5000,
  });
  term.open(host);

  let next = 0; // index of the next event to write
  let position = 0; // seconds of the recording already played
  let startedAt = 0; // performance.now() when position was last set while playing
  let timer = null;
  let speed = 1;

  const playing = () => timer !== null;
  const show = () => {
    status.textContent = status.dataset.position
      .replace("{at}", formatTime(position))
      .replace("{total}", formatTime(total));
    toggle.textContent = playing() ? toggle.dataset.pause : toggle.dataset.play;
    host.dataset.state = next >= events.length ? "ended" : playing() ? "playing" : "paused";
  };

  const schedule = () => {
    const event = events[next];
    if (!event) {
      timer = null;
      position = total;
      show();
      return;
    }
    const wait = Math.max(0, ((event[0] - position) * 1000) / speed);
    timer = setTimeout(() => {
      term.write(event[1]);
      position = event[0];
      next += 1;
      startedAt = performance.now();
      schedule();
    }, wait);
  };

  const pause = () => {
    if (!playing()) return;
    clearTimeout(timer);
    timer = null;
    const event = events[next];
    // Keep the time already waited towards the next event.
    if (event) position = Math.min(event[0], position + ((performance.now() - startedAt) / 1000) * speed);
    show();
  };

  const play = () => {
    if (playing()) return;
    if (next >= events.length) {
      // From the start again.
      term.reset();
      next = 0;
      position = 0;
    }
    startedAt = performance.now();
    schedule();
    show();
  };

  toggle.addEventListener("click", () => (playing() ? pause() : play()));
  speedSelect.addEventListener("change", () => {
    const wasPlaying = playing();
    pause();
    speed = Number(speedSelect.value) || 1;
    if (wasPlaying) play();
  });
  endButton.addEventListener("click", () => {
    pause();
    term.write(
      events
        .slice(next)
        .map((e) => e[1])
        .join(""),
    );
    next = events.length;
    position = total;
    show();
  });

  for (const control of [toggle, speedSelect, endButton]) control.disabled = false;
  play();
}

main();
