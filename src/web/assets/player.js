// The recording player's page script: streams the session's asciicast v2 file and replays its output in
// xterm.js with the recorded timing (long pauses shortened), at 1×, 2× or 4×, with pause and "jump to end".
// It reads the recording as it plays, a bounded distance ahead, so a long recording never sits whole in
// the page.
import "/assets/constructed-styles.js";
import { Unicode11Addon } from "/assets/xterm/addon-unicode11.mjs";
import { Terminal } from "/assets/xterm/xterm.mjs";

/** Pauses longer than this many seconds play as this long, as `asciinema play -i` does. */
const IDLE_LIMIT = 2;
/** Output events read ahead of the one playing; reading waits once this many are queued. */
const AHEAD = 5000;

const host = document.getElementById("player");
const status = document.getElementById("player-status");
const toggle = document.getElementById("player-toggle");
const speedSelect = document.getElementById("player-speed");
const endButton = document.getElementById("player-end");

/**
 * Reads a recording line by line from the network: `header()` resolves with its header, `next()` with the
 * next output event ([seconds, text], pauses shortened) or null at its end.
 */
function openCast(url) {
  let reader = null;
  let buffered = "";
  let ended = false;
  let limit = IDLE_LIMIT;
  let last = 0;
  let shifted = 0;
  const decoder = new TextDecoder();

  /** The next complete line, or null once the recording has ended. */
  async function line() {
    for (;;) {
      const nl = buffered.indexOf("\n");
      if (nl >= 0) {
        const text = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (text.trim() !== "") return text;
        continue;
      }
      if (ended) {
        const rest = buffered;
        buffered = "";
        return rest.trim() !== "" ? rest : null;
      }
      const { value, done: finished } = await reader.read();
      if (finished) {
        buffered += decoder.decode();
        ended = true;
      } else {
        buffered += decoder.decode(value, { stream: true });
      }
    }
  }

  return {
    async header() {
      const res = await fetch(url, { credentials: "same-origin" });
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      reader = res.body.getReader();
      const header = JSON.parse((await line()) ?? "{}");
      if (typeof header.idle_time_limit === "number") limit = header.idle_time_limit;
      return header;
    },
    async next() {
      for (;;) {
        const text = await line();
        if (text === null) return null;
        let event;
        try {
          event = JSON.parse(text);
        } catch {
          // A line cut short by a crash ends what can be played.
          return null;
        }
        const [time, kind, data] = event;
        if (kind !== "o") continue;
        shifted += Math.min(time - last, limit);
        last = time;
        return [shifted, data];
      }
    },
    close() {
      reader?.cancel().catch(() => {});
    },
  };
}

const formatTime = (seconds) => {
  const s = Math.floor(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
};

async function main() {
  let cast = openCast(host.dataset.cast);
  let header;
  try {
    header = await cast.header();
  } catch {
    status.textContent = status.dataset.failed;
    return;
  }
  const term = new Terminal({
    cols: header.width || 80,
    rows: header.height || 24,
    disableStdin: true,
    convertEol: false,
    fontFamily: '"DejaVu Sans Mono", "Noto Sans Mono CJK JP", monospace',
    fontSize: 14,
    lineHeight: 1.2, // as terminal.js, so that "_" shows
    scrollback: 5000,
    allowProposedApi: true,
  });
  // Widths as the recorded programs counted them (see terminal.js).
  term.loadAddon(new Unicode11Addon());
  term.unicode.activeVersion = "11";
  term.open(host);

  let queue = []; // events read and not yet played
  let complete = false; // the recording has been read to its end
  let total = 0; // seconds up to the last event read
  let reading = null; // the read under way, if any
  let position = 0; // seconds of the recording already played
  let startedAt = 0; // performance.now() when position was last set while playing
  let timer = null;
  let speed = 1;
  let failed = false;

  /** Reads on until AHEAD events are queued or the recording ends. */
  const readAhead = () => {
    if (reading || complete) return reading;
    reading = (async () => {
      try {
        while (!complete && queue.length < AHEAD) {
          const event = await cast.next();
          if (event === null) complete = true;
          else {
            queue.push(event);
            total = event[0];
          }
        }
      } catch {
        failed = true;
        complete = true;
      } finally {
        reading = null;
      }
      show();
    })();
    return reading;
  };

  const playing = () => timer !== null;
  const ended = () => complete && queue.length === 0;
  const show = () => {
    if (failed) {
      status.textContent = status.dataset.failed;
    } else {
      status.textContent = status.dataset.position
        .replace("{at}", formatTime(position))
        .replace("{total}", formatTime(complete ? total : Math.max(total, position)));
    }
    toggle.textContent = playing() ? toggle.dataset.pause : toggle.dataset.play;
    host.dataset.state = ended() ? "ended" : playing() ? "playing" : "paused";
  };

  const schedule = async () => {
    if (queue.length === 0 && !complete) await readAhead();
    if (timer === null) return; // paused while reading
    const event = queue[0];
    if (!event) {
      timer = null;
      position = total;
      show();
      return;
    }
    if (queue.length < AHEAD / 2) void readAhead();
    const wait = Math.max(0, ((event[0] - position) * 1000) / speed);
    timer = setTimeout(() => {
      queue.shift();
      term.write(event[1]);
      position = event[0];
      startedAt = performance.now();
      void schedule();
    }, wait);
  };

  const pause = () => {
    if (!playing()) return;
    clearTimeout(timer);
    timer = null;
    const event = queue[0];
    // Keep the time already waited towards the next event.
    if (event) position = Math.min(event[0], position + ((performance.now() - startedAt) / 1000) * speed);
    show();
  };

  const play = async () => {
    if (playing()) return;
    if (ended()) {
      // From the start again: the recording is read again from its beginning.
      cast.close();
      cast = openCast(host.dataset.cast);
      await cast.header();
      term.reset();
      queue = [];
      complete = false;
      total = 0;
      position = 0;
    }
    startedAt = performance.now();
    timer = 0;
    void schedule();
    show();
  };

  toggle.addEventListener("click", () => (playing() ? pause() : play()));
  speedSelect.addEventListener("change", () => {
    const wasPlaying = playing();
    pause();
    speed = Number(speedSelect.value) || 1;
    if (wasPlaying) play();
  });
  endButton.addEventListener("click", async () => {
    pause();
    endButton.disabled = true;
    // Everything left is written as it is read, never held whole.
    for (;;) {
      term.write(queue.map((e) => e[1]).join(""));
      if (queue.length) position = queue.at(-1)[0];
      queue = [];
      if (complete) break;
      await readAhead();
    }
    position = total;
    endButton.disabled = false;
    show();
  });

  for (const control of [toggle, speedSelect, endButton]) control.disabled = false;
  await readAhead();
  play();
}

main();
