// Moves WAL checkpoints off the writer connection into a thread (see checkpoint-thread.ts); if that thread
// cannot start, the writer connection checkpoints automatically again, as SQLite does by default.
import type { Db } from "./client.ts";
import { logger } from "../log.ts";

const log = logger("db");

function checkpointerUrl(): URL {
  if (Bun.isStandaloneExecutable) return new URL("./db/checkpoint-thread.js", Bun.pathToFileURL(Bun.main));
  return new URL("./checkpoint-thread.ts", import.meta.url);
}

export interface Checkpointer {
  stop(): Promise<void>;
}

export function startCheckpointer(db: Db, intervalMs = 250): Checkpointer {
  if (db.path === ":memory:") return { stop: async () => {} };
  const thread = new Worker(checkpointerUrl().href);
  let running = false;
  const fallBack = (reason: string) => {
    log.warn(`checkpointer thread unavailable (${reason}); checkpointing on the main connection`);
    db.sqlite.run("PRAGMA wal_autocheckpoint = 1000");
  };
  thread.onmessage = (event: MessageEvent<{ type: string; message?: string }>) => {
    if (event.data.type === "ready") {
      running = true;
      db.sqlite.run("PRAGMA wal_autocheckpoint = 0");
    } else if (event.data.type === "error") log.warn(`checkpoint failed: ${event.data.message}`);
  };
  thread.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    running = false;
    fallBack(event.message);
  };
  thread.postMessage({ type: "start", path: db.path, intervalMs });
  return {
    stop() {
      if (!running) {
        thread.terminate();
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          thread.terminate();
          db.sqlite.run("PRAGMA wal_autocheckpoint = 1000");
          resolve();
        };
        const timer = setTimeout(done, 2000);
        thread.addEventListener("message", (event: MessageEvent<{ type: string }>) => {
          if (event.data.type === "stopped") done();
        });
        thread.postMessage({ type: "stop" });
      });
    },
  };
}
