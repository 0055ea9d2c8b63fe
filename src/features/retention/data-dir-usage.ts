// How much the data dir holds, by part (the database with its WAL, the JSONL logs, the workspaces, the
// rest), and the free space of its disk: walked off the request path (async) every few minutes and kept,
// so the dashboard and /metrics read a figure instead of walking a tree.
import { statfsSync } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { logger } from "../../log.ts";

const log = logger("data-dir");

export interface DataDirFigures {
  /** Bytes used under the data dir, by part (database with its WAL, logs, workspaces, the rest). */
  bytes: Record<string, number>;
  /** Free bytes on the data dir's file system, for this process's user. */
  freeBytes: number | null;
}

const DATABASE = /^agentvine\.db(-wal|-shm)?$/;

async function sizeOf(path: string): Promise<number> {
  let total = 0;
  const stack = [path];
  while (stack.length) {
    const p = stack.pop()!;
    let st;
    try {
      st = await lstat(p);
    } catch {
      continue; // removed meanwhile (a workspace cleaned up, a file purged)
    }
    if (st.isDirectory()) {
      for (const name of await readdir(p).catch(() => [] as string[])) stack.push(join(p, name));
    } else total += st.size;
  }
  return total;
}

export class DataDirUsage {
  #figures: DataDirFigures | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #measuring: Promise<DataDirFigures> | null = null;

  constructor(private readonly dataDir: string) {}

  /** The last measurement (null until the first finished). */
  figures(): DataDirFigures | null {
    return this.#figures;
  }

  /** Measures now (a second call while one runs joins it). */
  measure(): Promise<DataDirFigures> {
    this.#measuring ??= this.#walk().finally(() => (this.#measuring = null));
    return this.#measuring;
  }

  start(intervalMs = 10 * 60_000): void {
    const run = () => void this.measure().catch((err) => log.warn("cannot measure the data dir", err as Error));
    run();
    this.#timer = setInterval(run, intervalMs);
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#measuring?.catch(() => undefined);
  }

  async #walk(): Promise<DataDirFigures> {
    const bytes: Record<string, number> = { database: 0, logs: 0, workspaces: 0, other: 0 };
    for (const name of await readdir(this.dataDir).catch(() => [] as string[])) {
      const part = DATABASE.test(name) ? "database" : name === "logs" ? "logs" : name === "workspaces" ? "workspaces" : "other";
      bytes[part]! += await sizeOf(join(this.dataDir, name));
    }
    let freeBytes: number | null = null;
    try {
      const fs = statfsSync(this.dataDir);
      freeBytes = fs.bavail * fs.bsize;
    } catch {
      freeBytes = null;
    }
    this.#figures = { bytes, freeBytes };
    return this.#figures;
  }
}
