// The TaskLogger's main-thread side: every log line of an execution goes to the event bus at once,
// and in batches to `execution_logs` and to a JSONL file per execution under the data dir. Secret
// values are masked (***) on the way in, so the bus, the rows and the file only ever see the mask.
import { PRIVATE_FILE, privateDir } from "../data-dir/private-files.ts";
import { appendFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Db } from "../db/client.ts";
import type { LogLevel } from "../db/schema.ts";
import type { EventBus, LogEvent } from "../events/bus.ts";
import { logger } from "../log.ts";
import { LOG_LIMITS, type LogLimits, type LogTuple } from "../thread-pool/protocol.ts";
import type { DiskWatch } from "../data-dir/disk.ts";

const log = logger("task-logger");

export interface LogLine {
  execution_id: string;
  seq: number;
  level: LogLevel;
  message: string;
  metadata: Record<string, unknown> | null;
  ts: number;
}

const MAX_MESSAGE = 64 * 1024;
const LEVEL_RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Hides secret values in text and JSON (the SecretStore). */
export interface SecretMasker {
  maskSecrets(text: string): string;
  maskSecretsDeep<T>(value: T): T;
}

/**
 * An external destination for task log lines (OpenTelemetry, Weights & Biases): it gets every line as
 * stored (masked), synchronously, and must only buffer it — never block, never throw into the task.
 */
export interface LogSink {
  readonly name: string;
  write(line: LogEvent): void;
}

export interface TaskLoggerOptions {
  db: Db;
  bus: EventBus;
  /** Masks every line (message and metadata) before it is published or stored. */
  secrets?: SecretMasker;
  /** Root of the JSONL files: <logDir>/<yyyy-mm-dd>/<execution id>.jsonl */
  logDir: string;
  flushIntervalMs?: number;
  maxBuffered?: number;
  /** External sinks: each line is handed to them as it is published. */
  sinks?: readonly LogSink[];
  /** Per execution: beyond it lines are counted and dropped, and a last line says how many (default LOG_LIMITS). */
  limits?: LogLimits;
  /** Told when a write fails for want of space, and when one works again. */
  disk?: DiskWatch;
}

/** Log lines kept in memory while the disk is full, waiting to be stored. */
const MAX_UNSTORED = 20_000;
const RETRY_UNSTORED_MS = 1000;

/** What an execution has logged so far, and what its cap (here, or in the thread that ran it) dropped. */
interface Usage {
  taskId: string;
  lines: number;
  bytes: number;
  /** Dropped here (a remote worker that does not cap its own threads). */
  droppedLines: number;
  droppedBytes: number;
  /** Dropped by the thread that ran it, as its last line reported. */
  reportedLines: number;
  /** Lines about the cap let through (the thread's "cap reached" and "N dropped"). */
  capLines: number;
}

export class TaskLogger {
  #buffer: LogEvent[] = [];
  #nextSeq = new Map<string, number>();
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** The last pending append of each JSONL file. */
  #files = new Map<string, Promise<void>>();
  #dirs = new Set<string>();
  #usage = new Map<string, Usage>();
  /** Lines a full disk refused: written by the next flush that works. */
  #unstored: LogEvent[] = [];
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  /** Dropped lines per execution, added to its `log_dropped` by the next flush that works. */
  #dropsToRecord = new Map<string, number>();
  /** Resolved once the lines appended before they were asked for are stored (rows and file). */
  #flushWaiters: Array<() => void> = [];
  readonly #flushIntervalMs: number;
  readonly #maxBuffered: number;
  readonly limits: LogLimits;

  constructor(private readonly opts: TaskLoggerOptions) {
    this.#flushIntervalMs = opts.flushIntervalMs ?? 25;
    this.#maxBuffered = opts.maxBuffered ?? 2000;
    this.limits = opts.limits ?? LOG_LIMITS;
  }

  /**
   * Resolves once every line appended so far is stored (its rows written, its file appended): what a task
   * thread waits for before it sends more (backpressure). At once when nothing is waiting.
   */
  whenFlushed(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    // Nothing buffered: only the file appends in progress, if any (a flush is scheduled whenever lines wait).
    if (this.#buffer.length === 0) return Promise.all(this.#files.values()).then(() => undefined);
    return new Promise((resolve) => this.#flushWaiters.push(resolve));
  }

  #usageOf(executionId: string, taskId: string, seq: number): Usage {
    let u = this.#usage.get(executionId);
    if (!u) this.#usage.set(executionId, (u = { taskId, lines: seq, bytes: 0, droppedLines: 0, droppedBytes: 0, reportedLines: 0, capLines: 0 }));
    return u;
  }

  /** Lines of the execution its log cap dropped so far (here and in its thread). */
  dropped(executionId: string): number {
    const u = this.#usage.get(executionId);
    return u ? u.droppedLines + u.reportedLines : 0;
  }

  /** An execution that has just been opened has no lines yet: its first append needs no lookup. */
  fresh(executionId: string): void {
    if (!this.#nextSeq.has(executionId)) this.#nextSeq.set(executionId, 0);
  }

  /** Appends lines of one execution; they are published now and persisted within a flush interval. */
  append(executionId: string, taskId: string, lines: LogTuple[]): LogEvent[] {
    if (this.#stopped) {
      log.warn(`dropped ${lines.length} log line(s) of execution ${executionId} that arrived after shutdown`);
      return [];
    }
    let seq = this.#nextSeq.get(executionId) ?? this.#loadLastSeq(executionId);
    const usage = this.#usageOf(executionId, taskId, seq);
    const events: LogEvent[] = [];
    const secrets = this.opts.secrets;
    for (const [level, raw, rawMetadata, rawTs] of lines) {
      // The thread's own count of what its cap dropped (its last line): kept, and counted.
      const reported = (rawMetadata?.log_dropped as { lines?: unknown } | undefined)?.lines;
      // The thread's own lines about its cap pass this one (two per execution at most: no way around the cap).
      const aboutCap = (rawMetadata?.log_cap !== undefined || reported !== undefined) && usage.capLines < 2;
      if (aboutCap) {
        usage.capLines++;
        if (typeof reported === "number" && Number.isSafeInteger(reported) && reported > 0) usage.reportedLines += reported;
      } else {
        const size = Buffer.byteLength(raw);
        if (usage.lines >= this.limits.maxLines || usage.bytes + size > this.limits.maxBytes) {
          usage.droppedLines++;
          usage.droppedBytes += size;
          continue;
        }
        usage.lines++;
        usage.bytes += size;
      }
      // A time no Date can hold (a remote worker's broken clock) would break every reader: the line is kept at the server's time.
      const ts = Number.isFinite(rawTs) && Math.abs(rawTs) <= MAX_DATE_MS ? rawTs : Date.now();
      // Masked before truncating: a cut must not leave the first half of a secret readable.
      const message = secrets ? secrets.maskSecrets(raw) : raw;
      const metadata = secrets && rawMetadata ? secrets.maskSecretsDeep(rawMetadata) : rawMetadata;
      const text = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}… [truncated]` : message;
      const event: LogEvent = { executionId, taskId, seq: ++seq, level, message: text, metadata, ts };
      events.push(event);
      this.#buffer.push(event);
      this.opts.bus.emit("log:appended", event);
      if (this.opts.sinks) this.#toSinks(event);
    }
    this.#nextSeq.set(executionId, seq);
    if (this.#buffer.length >= this.#maxBuffered) this.flush();
    else if (!this.#timer) this.#timer = setTimeout(() => this.flush(), this.#flushIntervalMs);
    return events;
  }

  #toSinks(event: LogEvent) {
    for (const sink of this.opts.sinks!) {
      try {
        sink.write(event);
      } catch (err) {
        log.error(`log sink ${sink.name} refused a line: ${(err as Error).message}`);
      }
    }
  }

  /** Runs before every flush: the pool records executions that started, so their lines have a row to join. */
  beforeFlush: (() => void) | null = null;

  /**
   * Writes everything buffered: one transaction for the rows, one append per execution file. When the disk
   * is full the rows are kept (up to MAX_UNSTORED lines; beyond, the oldest are dropped and counted in their
   * execution's `log_dropped`) and written by the next flush once space is back — retried every second.
   */
  flush(): void {
    if (this.#stopped) return;
    try {
      this.beforeFlush?.();
    } catch (err) {
      // Starts that could not be recorded (a full disk) are kept by their owner and tried again.
      if (!this.opts.disk?.failed("recording task starts", err)) log.error(`before the log flush: ${(err as Error).message}`);
    }
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#buffer.length === 0 && this.#unstored.length === 0 && this.#dropsToRecord.size === 0) return this.#settleFlushWaiters();
    const batch = [...this.#unstored, ...this.#buffer];
    this.#unstored = [];
    this.#buffer = [];
    const { sqlite } = this.opts.db;
    // A line whose execution was deleted meanwhile is dropped, not allowed to fail the whole batch.
    const insert = sqlite.query(
      `INSERT OR IGNORE INTO execution_logs (execution_id, seq, level, message, metadata, ts)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM executions WHERE id = ?1)`,
    );
    const count = sqlite.query("UPDATE executions SET log_count = log_count + ? WHERE id = ?");
    const dropped = sqlite.query("UPDATE executions SET log_dropped = log_dropped + ? WHERE id = ?");
    // Everything that can throw on a bad line (a timestamp out of Date's range, metadata that does not
    // serialise) is computed before the transaction: that line is dropped, never the whole batch.
    const perExecution = new Map<string, string[]>();
    const rows: Array<{ e: LogEvent; metadata: string | null }> = [];
    for (const e of batch) {
      let metadata: string | null;
      let line: string;
      try {
        metadata = e.metadata ? JSON.stringify(e.metadata) : null;
        line = JSON.stringify({ seq: e.seq, ts: isoOf(e.ts), level: e.level, message: e.message, metadata: e.metadata });
      } catch (err) {
        log.error(`dropped log line ${e.seq} of execution ${e.executionId}: ${(err as Error).message}`);
        continue;
      }
      rows.push({ e, metadata });
      let lines = perExecution.get(e.executionId);
      if (!lines) perExecution.set(e.executionId, (lines = []));
      lines.push(line);
    }
    const drops = [...this.#dropsToRecord];
    try {
      sqlite.transaction(() => {
        for (const { e, metadata } of rows) insert.run(e.executionId, e.seq, e.level, e.message, metadata, e.ts);
        for (const [id, lines] of perExecution) count.run(lines.length, id);
        for (const [id, n] of drops) dropped.run(n, id);
      })();
      this.#dropsToRecord.clear();
      this.opts.disk?.worked();
    } catch (err) {
      // A flush runs in a timer and at shutdown: throwing there would crash or abort the stop.
      if (this.opts.disk?.failed("storing log lines", err)) {
        this.#keepUnstored(rows.map((r) => r.e));
        this.#settleFlushWaiters(); // tasks go on (their lines wait here, or are counted as dropped)
        return;
      }
      log.error(`could not store ${rows.length} log line(s): ${(err as Error).message}`);
    }
    for (const [id, lines] of perExecution) this.#appendToFile(this.filePath(id), `${lines.join("\n")}\n`);
    this.#settleFlushWaiters();
  }

  /** Lines the full disk refused, kept for the next flush; past MAX_UNSTORED the oldest are dropped and counted. */
  #keepUnstored(events: LogEvent[]) {
    this.#unstored = events;
    const over = this.#unstored.length - MAX_UNSTORED;
    if (over > 0) {
      for (const e of this.#unstored.splice(0, over)) this.#dropsToRecord.set(e.executionId, (this.#dropsToRecord.get(e.executionId) ?? 0) + 1);
      log.warn(`the disk is full: dropped ${over} log line(s) (counted in their executions' log_dropped)`);
    }
    if (!this.#retryTimer) {
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = null;
        this.flush();
      }, RETRY_UNSTORED_MS);
    }
  }

  /** Those waiting for the lines stored so far: released once the file appends in progress are done. */
  #settleFlushWaiters() {
    if (this.#flushWaiters.length === 0) return;
    const waiters = this.#flushWaiters.splice(0);
    void Promise.all(this.#files.values()).then(() => waiters.forEach((w) => w()));
  }

  /**
   * Appends off the main thread (creating a file costs ~0.5 ms on a slow disk), chained per file so
   * lines stay in order. The rows above are the record; the file is its readable copy.
   */
  #appendToFile(file: string, text: string) {
    const dir = dirname(file);
    if (!this.#dirs.has(dir)) {
      privateDir(dir);
      this.#dirs.add(dir);
    }
    const previous = this.#files.get(file);
    // 0600 however the umask is: a log holds whatever the task printed.
    const write = () => appendFile(file, text, { mode: PRIVATE_FILE });
    const next = (previous ? previous.then(write) : write()).catch((err: Error) => {
      // The rows are the record; the file is the readable copy, and the lines missing from it are not counted.
      this.opts.disk?.failed(`appending to ${file}`, err);
      log.error(`could not append to ${file}: ${err.message}`);
    });
    this.#files.set(file, next);
    void next.then(() => {
      if (this.#files.get(file) === next) this.#files.delete(file);
    });
  }

  /** Resolves when every line flushed so far is in its JSONL file (shutdown, tests). */
  async drain(): Promise<void> {
    this.flush();
    while (this.#files.size > 0) await Promise.all(this.#files.values());
  }

  #stopped = false;

  /**
   * Shutdown, before the database closes: flushes and writes the files, then takes no more lines (a
   * thread's last words after its pool stopped would otherwise arm a flush against a closed database).
   */
  async stop(): Promise<void> {
    await this.drain();
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    if (this.#unstored.length) log.error(`${this.#unstored.length} log line(s) could not be stored before shutdown (the disk is full)`);
    this.#stopped = true;
  }

  /**
   * The execution is over: what its cap dropped here is said in a last line, the count of dropped lines
   * stored with the execution (`log_dropped`), and its counters forgotten.
   */
  close(executionId: string): void {
    const usage = this.#usage.get(executionId);
    if (usage && usage.droppedLines > 0) {
      const { droppedLines, droppedBytes } = usage;
      usage.droppedLines = 0; // counted as reported from here on: the line below passes the cap
      usage.capLines = Math.min(usage.capLines, 1);
      this.append(executionId, usage.taskId, [
        ["warn", `${droppedLines} log line(s) (${droppedBytes} bytes) dropped: the execution's log cap was reached`, { log_dropped: { lines: droppedLines, bytes: droppedBytes } }, Date.now()],
      ]);
    }
    const dropped = usage ? usage.droppedLines + usage.reportedLines : 0;
    if (dropped > 0) {
      // Recorded with the next flush (and kept until one works, when the disk is full).
      this.#dropsToRecord.set(executionId, (this.#dropsToRecord.get(executionId) ?? 0) + dropped);
      this.flush();
    }
    this.#usage.delete(executionId);
    this.#nextSeq.delete(executionId);
  }

  /** Lines after `after` (a seq), optionally at or above a level; flushes first so nothing is missed. */
  history(executionId: string, opts: { after?: number; level?: LogLevel; limit?: number } = {}): LogLine[] {
    this.flush();
    const rows = this.opts.db.sqlite
      .query<LogLine & { metadata: string | null }, Record<string, string | number>>(
        `SELECT execution_id, seq, level, message, metadata, ts FROM execution_logs
          WHERE execution_id = $id AND seq > $after
            AND CASE level WHEN 'debug' THEN 0 WHEN 'info' THEN 1 WHEN 'warn' THEN 2 ELSE 3 END >= $rank
          ORDER BY seq LIMIT $limit`,
      )
      .all({ id: executionId, after: opts.after ?? 0, rank: LEVEL_RANK[opts.level ?? "debug"], limit: opts.limit ?? 1000 });
    for (const r of rows) (r as LogLine).metadata = r.metadata ? JSON.parse(r.metadata) : null;
    return rows as LogLine[];
  }

  /** The newest `limit` lines after `after`, oldest first (what a stream replays: never the whole of a long log). */
  newest(executionId: string, opts: { after?: number; limit: number }): LogLine[] {
    this.flush();
    const rows = this.opts.db.sqlite
      .query<LogLine & { metadata: string | null }, [string, number, number]>(
        "SELECT execution_id, seq, level, message, metadata, ts FROM execution_logs WHERE execution_id = ? AND seq > ? ORDER BY seq DESC LIMIT ?",
      )
      .all(executionId, opts.after ?? 0, opts.limit);
    for (const r of rows) (r as LogLine).metadata = r.metadata ? JSON.parse(r.metadata) : null;
    return (rows as LogLine[]).reverse();
  }

  /** The JSONL file: dated by the execution id (a UUIDv7 carries its creation time). */
  filePath(executionId: string): string {
    const ms = Number.parseInt(executionId.replace(/-/g, "").slice(0, 12), 16);
    const day = Number.isFinite(ms) ? new Date(ms).toISOString().slice(0, 10) : "unknown";
    return join(this.opts.logDir, day, `${executionId}.jsonl`);
  }


  #loadLastSeq(executionId: string): number {
    const row = this.opts.db.sqlite
      .query<{ seq: number | null }, [string]>("SELECT max(seq) AS seq FROM execution_logs WHERE execution_id = ?")
      .get(executionId);
    const pending = [...this.#unstored, ...this.#buffer].filter((e) => e.executionId === executionId).at(-1)?.seq ?? 0;
    return Math.max(row?.seq ?? 0, pending);
  }
}

/** The largest time a Date holds (±100,000,000 days from the epoch). */
const MAX_DATE_MS = 8.64e15;

/** A line's time as ISO text; a timestamp outside Date's range (a worker's broken clock) is shown as is, never thrown. */
function isoOf(ts: number): string | number {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? ts : d.toISOString();
}

export const levelAtLeast = (level: LogLevel, min: LogLevel) => LEVEL_RANK[level] >= LEVEL_RANK[min];
