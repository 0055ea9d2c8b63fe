// What the worker owes the server, in the order it happened: batched log lines and task outcomes.
// Everything pending goes out together in one report (POST /queue/report, or carried by the next claim),
// one report at a time: the server stores a report's lines before its outcomes, so a task's log lines
// always reach it before its outcome (after which it would refuse them). Nothing is lost while the
// server is unreachable — it waits here and is delivered in order once the server is back.
import type { CompleteBody, FailBody, LogLine, Report, ReportAnswer, ReportedOutcome } from "./api-client.ts";
import { MAX_REPORT_LOG_LINES, MAX_REPORT_OUTCOMES, WorkerApiError } from "./api-client.ts";

export type OutboxEntry =
  | { kind: "logs"; lines: LogLine[]; openedAt: number }
  | { kind: "complete"; body: CompleteBody; pushedAt: number }
  | { kind: "fail"; body: FailBody; pushedAt: number };

export interface OutboxSender {
  report(report: Report): Promise<ReportAnswer>;
}

export interface OutboxOptions {
  /** Log lines alone go out once the oldest is this old… */
  logIntervalMs?: number;
  /** …or this many have gathered, whichever comes first (an outcome takes them along at once). */
  maxBatchLines?: number;
  /** Log lines kept while the server is away; past it new lines are counted and dropped (outcomes never are). */
  maxPendingLines?: number;
  clock?: () => number;
  /** Told about what was given up on: an outcome whose lease moved on, lines of a lost execution. */
  onDrop?: (what: string, err: WorkerApiError) => void;
}

/** Entries taken from the head of the outbox and the report made of them; it is settled or restored once sent. */
export interface OutboxBatch {
  readonly entries: OutboxEntry[];
  readonly report: Report;
}

/** The result of one delivery attempt: `idle` nothing due yet (`dueInMs` says when), `busy` a report is already out, `retry` the server was unreachable. */
export type DeliveryResult =
  | { state: "empty" }
  | { state: "idle"; dueInMs: number }
  | { state: "busy" }
  | { state: "sent" }
  | { state: "dropped" }
  | { state: "retry"; error: WorkerApiError };

const outcomeOf = (e: Extract<OutboxEntry, { kind: "complete" | "fail" }>): ReportedOutcome => {
  const { worker_id: _, ...ref } = e.body;
  if (e.kind === "complete") return { ...ref, status: "succeeded" };
  const { timed_out, ...failure } = ref as Omit<FailBody, "worker_id">;
  return { ...failure, status: timed_out ? "timed_out" : "failed" };
};

export class ReportOutbox {
  #entries: OutboxEntry[] = [];
  /** The batch being delivered: its entries are out of #entries until settled or restored. */
  #inFlight: OutboxBatch | null = null;
  #pendingLines = 0;
  droppedLines = 0;
  readonly #interval: number;
  readonly #maxLines: number;
  readonly #maxPending: number;
  readonly #clock: () => number;
  /** The waits to end when something changes (the delivery loop's, a drain's). */
  #wake = new Set<() => void>();

  constructor(private readonly opts: OutboxOptions = {}) {
    this.#interval = opts.logIntervalMs ?? 100;
    this.#maxLines = Math.min(opts.maxBatchLines ?? 200, MAX_REPORT_LOG_LINES);
    this.#maxPending = opts.maxPendingLines ?? 100_000;
    this.#clock = opts.clock ?? Date.now;
  }

  /** Entries not yet delivered, the one out in a report included. */
  get size(): number {
    return this.#entries.length + (this.#inFlight?.entries.length ?? 0);
  }

  get busy(): boolean {
    return this.#inFlight !== null;
  }

  /** Outcomes not yet delivered (being sent included): their leases are still reported in heartbeats. */
  pendingOutcomes(): Array<CompleteBody | FailBody> {
    return [...(this.#inFlight?.entries ?? []), ...this.#entries].flatMap((e) => (e.kind === "logs" ? [] : [e.body]));
  }

  entries(): readonly OutboxEntry[] {
    return this.#entries;
  }

  /** How long the oldest waiting entry has waited (0 when none). */
  waitedMs(): number {
    const head = this.#entries[0];
    return head ? this.#clock() - (head.kind === "logs" ? head.openedAt : head.pushedAt) : 0;
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

  /**
   * Resolves while at most half the pending-line budget is used, else once deliveries bring it under:
   * the task thread waits on it (backpressure) rather than the outbox dropping its lines.
   */
  roomForLogs(signal?: AbortSignal): Promise<void> {
    const room = () => this.#pendingLines <= this.#maxPending / 2 || signal?.aborted === true;
    if (room()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!room()) return;
        this.#wake.delete(check);
        signal?.removeEventListener("abort", check);
        resolve();
      };
      this.#wake.add(check);
      signal?.addEventListener("abort", check, { once: true });
    });
  }

  pushOutcome(entry: { kind: "complete"; body: CompleteBody } | { kind: "fail"; body: FailBody }): void {
    this.#entries.push({ ...entry, pushedAt: this.#clock() } as OutboxEntry);
    this.#notify();
  }

  /** Resolves when something new was pushed or a report settled (or after `ms`): the delivery loop's idle wait. */
  waitForWork(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        this.#wake.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener("abort", done, { once: true });
      this.#wake.add(done);
    });
  }

  /** Wakes the delivery loop to look again (something it waits on changed). */
  poke(): void {
    this.#notify();
  }

  #notify() {
    for (const wake of [...this.#wake]) wake();
  }

  /**
   * When to deliver: now (0) when an outcome waits or a log batch is full, else when the oldest line is
   * `logIntervalMs` old; null when there is nothing (or a report is already out).
   */
  dueInMs(): number | null {
    if (this.#inFlight || this.#entries.length === 0) return null;
    const head = this.#entries[0]!;
    if (head.kind !== "logs" || this.#entries.length > 1 || head.lines.length >= this.#maxLines) return 0;
    return Math.max(0, this.#interval - (this.#clock() - head.openedAt));
  }

  /**
   * Takes what is waiting, from the head and in order, up to the server's limits per report; null when
   * nothing waits or a report is already out (one at a time keeps the order). Settle or restore it after.
   */
  take(): OutboxBatch | null {
    if (this.#inFlight || this.#entries.length === 0) return null;
    const report: Report = { logs: [], outcomes: [] };
    let n = 0;
    for (const e of this.#entries) {
      if (e.kind === "logs") {
        if (report.logs.length + e.lines.length > MAX_REPORT_LOG_LINES) break;
        report.logs.push(...e.lines);
      } else {
        if (report.outcomes.length >= MAX_REPORT_OUTCOMES) break;
        report.outcomes.push(outcomeOf(e));
      }
      n++;
    }
    this.#inFlight = { entries: this.#entries.splice(0, n), report };
    return this.#inFlight;
  }

  /** The server answered the report: what it refused (a lease that moved on) is dropped and said so. */
  settle(batch: OutboxBatch, answer: ReportAnswer): void {
    this.#release(batch);
    this.#pendingLines -= batch.report.logs.length;
    for (const executionId of answer.logs.refused) {
      const n = batch.report.logs.filter((l) => l.execution_id === executionId).length;
      this.opts.onDrop?.(`${n} log line(s) of execution ${executionId}`, new WorkerApiError(409, "conflict", `execution ${executionId} is not held by this worker`));
    }
    for (const o of answer.outcomes) {
      if (o.accepted) continue;
      const kind = batch.report.outcomes.find((r) => r.execution_id === o.execution_id)?.status === "succeeded" ? "complete" : "fail";
      this.opts.onDrop?.(`the ${kind} of execution ${o.execution_id}`, new WorkerApiError(409, "conflict", o.reason ?? "refused"));
    }
    this.#notify();
  }

  /** The report did not get through (server unreachable, or refused as a whole): its entries go back to the head, in order. */
  restore(batch: OutboxBatch): void {
    this.#release(batch);
    this.#entries.unshift(...batch.entries);
    this.#notify();
  }

  /** The report was refused as a whole for good (400/404/409): resending cannot help. */
  drop(batch: OutboxBatch, err: WorkerApiError): void {
    this.#release(batch);
    this.#pendingLines -= batch.report.logs.length;
    const { logs, outcomes } = batch.report;
    this.opts.onDrop?.([logs.length ? `${logs.length} log line(s)` : "", outcomes.length ? `${outcomes.length} outcome(s)` : ""].filter(Boolean).join(" and "), err);
    this.#notify();
  }

  #release(batch: OutboxBatch) {
    if (this.#inFlight !== batch) throw new Error("outbox: settling a report that is not the one out");
    this.#inFlight = null;
  }

  /**
   * Delivers everything waiting in one report when it is due. `force`: send open log lines now (shutting
   * down). Throws only for a 401/403: the key no longer works, and nothing else will.
   */
  async deliverOnce(send: OutboxSender, force = false): Promise<DeliveryResult> {
    if (this.#inFlight) return { state: "busy" };
    const due = this.dueInMs();
    if (due === null) return { state: "empty" };
    if (due > 0 && !force) return { state: "idle", dueInMs: due };
    const batch = this.take()!;
    try {
      this.settle(batch, await send.report(batch.report));
      return { state: "sent" };
    } catch (err) {
      if (!(err instanceof WorkerApiError) || err.auth || err.transient) {
        this.restore(batch);
        if (err instanceof WorkerApiError && err.transient) return { state: "retry", error: err };
        throw err;
      }
      this.drop(batch, err);
      return { state: "dropped" };
    }
  }
}
