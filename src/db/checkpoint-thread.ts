// The WAL checkpointer thread: copies committed pages from the WAL into the database file on its own
// connection, so no request or task commit on the main thread ever pays for a checkpoint's fsyncs.
import { Database } from "bun:sqlite";

declare const self: Worker;

export type CheckpointerMessage = { type: "start"; path: string; intervalMs: number } | { type: "stop" };

let timer: ReturnType<typeof setInterval> | undefined;
let db: Database | undefined;

self.onmessage = (event: MessageEvent<CheckpointerMessage>) => {
  const msg = event.data;
  if (msg.type === "stop") {
    clearInterval(timer);
    try {
      db?.run("PRAGMA wal_checkpoint(PASSIVE)");
    } finally {
      db?.close();
      self.postMessage({ type: "stopped" });
    }
    return;
  }
  db = new Database(msg.path);
  db.run("PRAGMA busy_timeout = 5000");
  // PASSIVE never waits for readers or writers: it copies what it can and tries again next time.
  timer = setInterval(() => {
    try {
      db!.run("PRAGMA wal_checkpoint(PASSIVE)");
    } catch (err) {
      self.postMessage({ type: "error", message: (err as Error).message });
    }
  }, msg.intervalMs);
  self.postMessage({ type: "ready" });
};
