// A task thread's side of its log: lines batched to the main thread, at most LOG_WINDOW batches on their
// way before the task waits (`ready()`: backpressure, so a chatty command blocks on its pipe instead of
// filling memory), and the execution's log cap — beyond it lines are counted and dropped, and a last line
// says how many.
import type { LogLevel } from "../db/schema.ts";
import type { TaskLog } from "../task-types/types.ts";
import { LOG_LIMITS, LOG_WINDOW, type FromThread, type LogLimits, type LogTuple } from "./protocol.ts";

const BATCH_LINES = 500;

export class ThreadLog {
  #buffer: LogTuple[] = [];
  #scheduled = false;
  #nextBatch = 1;
  #inFlight = new Set<number>();
  #waiters: Array<() => void> = [];
  #lines = 0;
  #bytes = 0;
  #droppedLines = 0;
  #droppedBytes = 0;
  #released = false;
  readonly log: TaskLog;

  constructor(
    private readonly executionId: string,
    private readonly send: (msg: FromThread) => void,
    private readonly limits: LogLimits = LOG_LIMITS,
  ) {
    const write = (level: LogLevel, message: string, metadata?: Record<string, unknown>) => this.#write(level, String(message), metadata ?? null);
    this.log = {
      write,
      debug: (m, meta) => write("debug", m, meta),
      info: (m, meta) => write("info", m, meta),
      warn: (m, meta) => write("warn", m, meta),
      error: (m, meta) => write("error", m, meta),
      ready: () => this.ready(),
    };
  }

  #write(level: LogLevel, message: string, metadata: Record<string, unknown> | null, exempt = false) {
    if (!exempt) {
      const size = Buffer.byteLength(message);
      if (this.#lines >= this.limits.maxLines || this.#bytes + size > this.limits.maxBytes) {
        if (this.#droppedLines === 0) {
          this.#write("warn", `log cap reached (${this.limits.maxLines} lines or ${this.limits.maxBytes} bytes per execution): further lines are counted and dropped`, { log_cap: "reached" }, true);
        }
        this.#droppedLines++;
        this.#droppedBytes += size;
        return;
      }
      this.#lines++;
      this.#bytes += size;
    }
    this.#buffer.push([level, message, metadata, Date.now()]);
    if (this.#buffer.length >= BATCH_LINES) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setTimeout(() => this.flush(), 0);
    }
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#buffer.length === 0) return;
    const lines = this.#buffer;
    this.#buffer = [];
    const batch = this.#nextBatch++;
    this.#inFlight.add(batch);
    this.send({ type: "log", executionId: this.executionId, lines, batch });
  }

  /** Resolves once fewer than LOG_WINDOW batches are on their way (at once, usually). */
  ready(): Promise<void> {
    if (this.#buffer.length >= BATCH_LINES / 2) this.flush();
    if (this.#inFlight.size < LOG_WINDOW || this.#released) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** The main thread took batch `batch` in. */
  acked(batch: number): void {
    this.#inFlight.delete(batch);
    while (this.#inFlight.size < LOG_WINDOW && this.#waiters.length) this.#waiters.shift()!();
  }

  /** Nobody waits for room any more (the task was cancelled: its output no longer matters). */
  release(): void {
    this.#released = true;
    for (const w of this.#waiters.splice(0)) w();
  }

  /** The job ends: what the cap dropped is said in a last line, and nobody waits any more. */
  finish(): void {
    if (this.#droppedLines > 0) {
      this.#write("warn", `${this.#droppedLines} log line(s) (${this.#droppedBytes} bytes) dropped: the execution's log cap was reached`, {
        log_dropped: { lines: this.#droppedLines, bytes: this.#droppedBytes },
      }, true);
    }
    this.flush();
    this.release();
  }
}
