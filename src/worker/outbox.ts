// What the worker owes the server, in the order it happened: batched log lines and task outcomes.
// Everything goes out through here, one request at a time, so a task's log lines always reach the
// server before its outcome (after which the server would refuse them), and nothing is lost while the
// server is unreachable — it waits here and is delivered in order once the server is back.
import type { CompleteBody, FailBody, LogLine } from "./client.ts";
import { WorkerApiError } from "./client.ts";

export type OutboxEntry =
  | { kind: "logs"; lines: LogLine[]; openedAt: number }
  | { kind: "complete"; body: CompleteBody }
  | { kind: "fail"; body: FailBody };

export interface OutboxSender {
  logs(lines: LogLine[]): Promise<void>;
  complete(body: CompleteBody): Promise<void>;
  fail(body: FailBody): Promise<void>;
}

export interface OutboxOptions {
  /** A batch of log lines goes out once it is this old… */
  logIntervalMs?: number;
  /** …or this long, whichever comes first. */
  maxBatchLines?: number;
  /** Log lines kept while the server is away; past it new lines are counted and dropped (outcomes never are). */
  maxPendingLines?: number;
  clock?: () => number;
  /** Told about what was given up on: an outcome whose lease moved on (409), lines of a lost execution. */
  onDrop?: (what: string, err: WorkerApiError) => void;
}

/** The result of one delivery attempt: `idle` nothing due yet (`dueInMs` says when), `retry` the server was unreachable. */
export type DeliveryResult = { state: "empty" } | { state: "idle"; dueInMs: number } | { state: "sent" } | { state: "dropped" } | { state: "retry"; error: WorkerApiError };

export class Outbox {
  #entries: OutboxEntry[] = [];
  #pendingLines = 0;
  droppedLines = 0;
  readonly #interval: number;
  readonly #maxLines: number;
  readonly #maxPending: number;
  readonly #clock: () => number;
  #wake: (() => void) | null = null;

  constructor(private readonly opts: OutboxOptions = {}) {
    this.#interval = opts.logIntervalMs ?? 100;
    this.#maxLines = opts.maxBatchLines ?? 200;
    this.#maxPending = opts.maxPendingLines ?? 100_000;
    this.#clock = opts.clock ?? Date.now;
  }

  get size(): number {
    return this.#entries.length;
  }

  /** Outcomes not yet delivered: their leases are still reported in heartbeats. */
  pendingOutcomes(): Array<CompleteBody | FailBody> {
    return this.#entries.flatMap((e) => (e.kind === "logs" ? [] : [e.body]));
  }

  entries(): readonly OutboxEntry[] {
    return this.#entries;
  }

  pushLog(line: LogLine): void {
    if (this.#pendingLines >= this.#maxPending) {
      this.droppedLines++;
      return;
    }
    this.#pendingLines++;
    const tail = this.#entries.at(-1);
    if (tail?.kind === "logs" && tail.lines.length < this.#maxLines) tail.lines.push(line);
    else this.#entries.push({ kind: "logs", lines: [line], openedAt: this.#clock() });
    if (tail?.kind !== "logs" || tail.lines.length >= this.#maxLines) this.#notify();
  }

  pushOutcome(entry: { kind: "complete"; body: CompleteBody } | { kind: "fail"; body: FailBody }): void {
    this.#entries.push(entry);
    this.#notify();
  }

  /** Resolves when something new was pushed (or after `ms`): the delivery loop's idle wait. */
  waitForWork(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        if (this.#wake === done) this.#wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener("abort", done, { once: true });
      this.#wake = done;
    });
  }

  #notify() {
    this.#wake?.();
  }

  /**
   * Delivers the first entry when it is due (a log batch is due when full, old enough, or followed by
   * anything — an outcome must not wait behind it). `force`: send an open batch now (shutting down).
   * Throws only for a 401/403: the key no longer works, and nothing else will.
   */
  async deliverOnce(send: OutboxSender, force = false): Promise<DeliveryResult> {
    const head = this.#entries[0];
    if (!head) return { state: "empty" };
    if (head.kind === "logs" && !force && this.#entries.length === 1 && head.lines.length < this.#maxLines) {
      const age = this.#clock() - head.openedAt;
      if (age < this.#interval) return { state: "idle", dueInMs: this.#interval - age };
    }
    try {
      if (head.kind === "logs") await this.#sendLogs(send, head);
      else if (head.kind === "complete") await send.complete(head.body);
      else await send.fail(head.body);
      this.#shift();
      return { state: "sent" };
    } catch (err) {
      if (!(err instanceof WorkerApiError)) throw err;
      if (err.auth) throw err;
      if (err.transient) return { state: "retry", error: err };
      // Refused for good (409: the lease moved on; 400/404): resending cannot help.
      this.opts.onDrop?.(head.kind === "logs" ? `${head.lines.length} log line(s)` : `the ${head.kind} of execution ${head.body.execution_id}`, err);
      this.#shift();
      return { state: "dropped" };
    }
  }

  /** Logs are all-or-nothing per request: when a batch is refused, each execution's lines are sent alone so one lost lease costs only its own lines. */
  async #sendLogs(send: OutboxSender, batch: { lines: LogLine[] }) {
    const lines = batch.lines;
    try {
      await send.logs(lines);
    } catch (err) {
      if (!(err instanceof WorkerApiError) || err.status !== 409) throw err;
      const byExecution = Map.groupBy(lines, (l) => l.execution_id);
      if (byExecution.size < 2) throw err;
      for (const [executionId, own] of byExecution) {
        try {
          await send.logs(own);
        } catch (e) {
          if (!(e instanceof WorkerApiError) || e.status !== 409) throw e;
          this.opts.onDrop?.(`${own.length} log line(s) of execution ${executionId}`, e);
        }
        // Sent or refused for good: a retry of the rest (server gone mid-way) must not send them twice.
        batch.lines = batch.lines.filter((l) => l.execution_id !== executionId);
        this.#pendingLines -= own.length;
      }
    }
  }

  #shift() {
    const head = this.#entries.shift();
    if (head?.kind === "logs") this.#pendingLines -= head.lines.length;
  }
}
