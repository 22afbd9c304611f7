// Signed checkpoints of the audit chain leave the database: appended to a file outside the data directory
// and/or POSTed to a webhook, every interval in which the chain moved, and once more at stop.
import { open } from "node:fs/promises";
import type { Logger } from "../../logger.ts";
import type { AuditService, Checkpoint } from "./audit.service.ts";

/** Writes checkpoints while running; `stop()` writes a last one. */
export interface CheckpointWriter {
  /** Writes a checkpoint now if the chain moved since the last one. */
  write(): Promise<Checkpoint | null>;
  stop(): Promise<void>;
}

export function startCheckpoints({
  audit,
  file,
  url,
  intervalMs,
  logger,
}: {
  audit: Pick<AuditService, "checkpoint">;
  /** Appended one JSON line per checkpoint (fsync'd), mode 0600. */
  file: string | null;
  /** POSTed each checkpoint as JSON. */
  url: string | null;
  intervalMs: number;
  logger: Logger;
}): CheckpointWriter {
  let lastSeq = -1;
  let writing: Promise<Checkpoint | null> = Promise.resolve(null);

  async function append(c: Checkpoint): Promise<void> {
    if (!file) return;
    const handle = await open(file, "a", 0o600);
    try {
      await handle.write(`${JSON.stringify(c)}\n`);
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }

  async function send(c: Checkpoint): Promise<void> {
    if (!url) return;
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(c),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`the checkpoint webhook answered ${res.status}`);
  }

  const write = (): Promise<Checkpoint | null> => {
    writing = writing.then(async () => {
      if (!file && !url) return null;
      const c = await audit.checkpoint();
      if (c.seq === lastSeq) return null;
      const results = await Promise.allSettled([append(c), send(c)]);
      for (const r of results) {
        if (r.status === "rejected")
          logger.error({ err: (r.reason as Error).message, seq: c.seq }, "audit checkpoint not written");
      }
      if (results.every((r) => r.status === "fulfilled")) lastSeq = c.seq;
      return c;
    });
    writing = writing.catch((err) => {
      logger.error({ err: (err as Error).message }, "audit checkpoint not taken");
      return null;
    });
    return writing;
  };

  const timer = file || url ? setInterval(() => void write(), intervalMs) : null;
  timer?.unref();
  void write();
  return {
    write,
    async stop() {
      if (timer) clearInterval(timer);
      await write();
    },
  };
}
