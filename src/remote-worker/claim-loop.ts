// The remote worker's claim loop: while a slot is free, claim work (a long-poll when there is nothing to
// deliver; at once, carrying the outbox's report, when there is), hand what comes to the runner, and back
// off while the server is unreachable. One claim is out at a time.
import { logger } from "../log.ts";
import { claimItemProblem, WorkerApiError, type ClaimItem, type ReportAnswer } from "./api-client.ts";
import { Backoff, sleep, type BackoffOptions } from "./backoff.ts";
import type { OutboxBatch, ReportOutbox } from "./report-outbox.ts";
import type { ServerLink } from "./server-link.ts";
import type { TaskRunner } from "./task-runner.ts";

const log = logger("worker");

export interface ClaimLoopOptions {
  link: ServerLink;
  runner: TaskRunner;
  outbox: ReportOutbox;
  waitSeconds: number;
  backoff?: BackoffOptions;
  /** Aborted when draining starts: a parked long-poll ends (a claim carrying a report does not). */
  claiming: AbortSignal;
  /** Aborted at the very end. */
  all: AbortSignal;
  draining(): boolean;
  /** The server says this worker is draining (409): finish running tasks, then exit. */
  drainRequested(): void;
  /** Something the status file shows changed. */
  changed(): void;
}

export class ClaimLoop {
  #slotFreed: (() => void) | null = null;
  /** The claim carrying a report that is out, if one is: a drain lets it finish (the server may have claimed items for it). */
  #quickClaim: Promise<void> | null = null;
  #quickClaimSettled: () => void = () => {};
  /** What the loop is doing: `quick` a claim carrying a report is out (answered at once), `poll` a long-poll is out, `pause` backing off or stopped. */
  #state: "ready" | "quick" | "poll" | "pause" = "ready";
  /** Off after a claim carrying a report failed: the report goes alone, so a report the server refuses cannot block claiming. */
  #carry = true;

  constructor(private readonly opts: ClaimLoopOptions) {}

  /** A slot was freed (a task ended or was stopped): claim again if the loop was waiting for one. */
  slotFreed(): void {
    this.#slotFreed?.();
  }

  /** Resolves once a claim carrying a report that is out has been answered and its items handed to the runner. */
  get quickClaim(): Promise<void> | null {
    return this.#quickClaim;
  }

  /**
   * Whether the loop is about to carry what the outbox holds: a carrying claim is out (the next one takes
   * what came meanwhile), or a slot is free and it is between claims. Not while it long-polls (that may
   * park for `waitSeconds`), backs off, waits for a slot, or the worker drains.
   */
  willCarry(): boolean {
    if (this.opts.draining() || !this.#carry || this.opts.link.backingOff) return false;
    if (this.#state === "quick") return true;
    return this.#state === "ready" && this.opts.runner.free > 0;
  }

  async run(): Promise<void> {
    const { link, runner, outbox, claiming: signal } = this.opts;
    const backoff = new Backoff(this.opts.backoff);
    try {
      while (!this.opts.draining()) {
        const free = runner.free;
        if (free === 0) {
          this.#state = "ready";
          await new Promise<void>((resolve) => {
            this.#slotFreed = resolve;
            signal.addEventListener("abort", () => resolve(), { once: true });
          });
          this.#slotFreed = null;
          continue;
        }
        // What the outbox holds rides along: the server delivers it first, and the claim then answers at once.
        const batch = this.#carry ? outbox.take() : null;
        let items: ClaimItem[];
        try {
          this.#state = batch ? "quick" : "poll";
          // A drain aborts a parked long-poll, not a claim carrying a report: that one answers at once, maybe with
          // items the server already claimed for it, which are then run within the grace instead of left to expire.
          const claim = link.client.claim(
            { worker_id: link.id!, limit: Math.min(free, 32), wait_seconds: batch ? 0 : this.opts.waitSeconds, ...(batch ? { report: batch.report } : {}) },
            batch ? this.opts.all : signal,
          );
          if (batch) this.#quickClaim = new Promise<void>((resolve) => (this.#quickClaimSettled = resolve));
          const res = await claim;
          items = runnable(res.items);
          if (batch) this.#delivered(batch, res.report);
          this.#carry = true;
          backoff.reset();
          link.online();
        } catch (err) {
          this.#settleQuickClaim();
          if (batch) {
            // Not stored (the server refuses a claim before its report): it goes alone, in order, from the outbox.
            outbox.restore(batch);
            this.#carry = false;
          }
          this.#state = "pause";
          outbox.poke();
          if (this.opts.draining()) return;
          if (!(err instanceof WorkerApiError)) throw err;
          if (err.auth) throw err;
          if (err.status === 409) {
            log.warn(`the server is draining this worker (${err.message}): finishing running tasks, then exiting`);
            this.opts.drainRequested();
            return;
          }
          if (err.status === 404) await link.reregister(err, signal, this.opts.draining);
          else if (err.transient) link.offline(err);
          else log.error(`claim refused: ${err.message}`);
          await sleep(backoff.next(), signal);
          continue;
        } finally {
          if (this.#state !== "pause") this.#state = "ready";
        }
        // Claimed just as a drain began: run them anyway within the grace rather than leave them to expire.
        for (const item of items) {
          log.debug(`running ${item.task_type} task ${item.task_id} (attempt ${item.attempt})`, { task_id: item.task_id, execution_id: item.execution_id, correlation_id: item.correlation_id ?? undefined });
          runner.run(item);
        }
        this.#settleQuickClaim();
        if (items.length) this.opts.changed();
      }
    } finally {
      this.#settleQuickClaim();
      this.#state = "pause";
      outbox.poke();
    }
  }

  /** The claim carrying a report is over and what it brought back is in the runner (a drain waits for that). */
  #settleQuickClaim() {
    this.#quickClaim = null;
    this.#quickClaimSettled();
    this.#quickClaimSettled = () => {};
  }

  /** The answer to a report a claim carried. */
  #delivered(batch: OutboxBatch, answer: ReportAnswer | undefined) {
    this.opts.outbox.settle(batch, answer ?? { outcomes: [], logs: { accepted: batch.report.logs.length, refused: [] } });
    this.opts.changed();
  }
}

/** The claimed items that may run: one whose ids are not plain ids (a broken or hostile server) is refused, never run. */
function runnable(items: ClaimItem[]): ClaimItem[] {
  return items.filter((item) => {
    const problem = claimItemProblem(item);
    if (problem) log.error(`refused a claimed item with bad ids: ${problem}; not running it (the server gets its lease back)`);
    return !problem;
  });
}
