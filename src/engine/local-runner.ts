// The server's own threads: the local runner claims work in batches into a small in-memory reserve,
// hands it to the ThreadPool's idle threads, and records starts and outcomes in group commits.
// Secrets are resolved in the copy posted to a thread only; what comes back is masked (task-secrets.ts).
import { join } from "node:path";
import { nextRunAt } from "../queue/work-orders.ts";
import { ThreadPool, type ThreadOutcome } from "../thread-pool/thread-pool.ts";
import type { AskAnswer, AskInput } from "../task-types/types.ts";
import { finishExecutions, reserveTasks, startExecutions, type Claim, type Outcome } from "./attempts.ts";
import { releaseWorker } from "./control.ts";
import type { EngineDeps } from "./engine-deps.ts";
import type { TaskLogger } from "./task-logger.ts";
import { maskOutcome, paramsForRun, type TaskSecrets } from "./task-secrets.ts";
import type { JobSandbox } from "../thread-pool/protocol.ts";
import { ProcessRecordDir } from "../sandbox/index.ts";
import { logger } from "../log.ts";

const log = logger("local-runner");

/** Who answers the questions tasks ask (the controller): resolves once the question is resolved. */
export interface QuestionAsker {
  askAndWait(taskId: string, executionId: string, input: AskInput, signal: AbortSignal): Promise<AskAnswer>;
}

/** The server services tasks may call (ctx.call): the coding agents' model steps. */
export interface TaskCalls {
  call(taskId: string, executionId: string, method: string, params: unknown, signal: AbortSignal): Promise<unknown>;
}

export interface LocalRunnerOptions extends EngineDeps {
  asker?: QuestionAsker;
  calls?: TaskCalls;
  secrets?: TaskSecrets;
  size: number;
  workerId: string;
  logger: TaskLogger;
  dataDir: string;
  /** How task commands run (decided at start from --sandbox and the probe); absent: no sandbox. */
  sandbox?: JobSandbox;
  /** Internal destinations http tasks may reach (--http-allow). */
  httpAllow?: string[];
  /** Where task threads record the processes they start (<data-dir>/processes). */
  processRecordDir?: string;
  capabilities?: string[];
  /** How long a cancelled task may take to stop by itself before its thread is terminated. */
  cancelGraceMs?: number;
  /** Tasks shorter than this on average (moving average) get a reserve of claimed orders (default 50 ms). */
  shortTaskMs?: number;
  threadUrl?: URL;
}

/**
 * The reserve: while tasks are short (EWMA of their duration under SHORT_TASK_MS) the runner claims up
 * to RESERVE_PER_THREAD orders per thread in one statement and keeps them in memory, so a thread that
 * finishes starts its next task at once and claims are amortised. Long tasks get no reserve: an order
 * never waits claimed behind a long task while another worker could have taken it.
 */
const RESERVE_PER_THREAD = 8;
const SHORT_TASK_MS = 50;
/** Writing outcomes again after a failure (a full disk): first after this, doubling up to RETRY_MAX_MS. */
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5000;

export class LocalRunner {
  #pool: ThreadPool<Claim>;
  #pending: Outcome[] = [];
  /** Claimed orders no thread has started yet, in queue order. Their tasks are still `queued`. */
  #reserve: Claim[] = [];
  /** Starts not yet recorded (group-committed with the outcomes). */
  #starts: Array<{ claim: Claim; at: number }> = [];
  /** A claim came back short: nothing is claimable until a queue:ready event (or the wake timer) says so. */
  #queueDrained = false;
  /** Moving average of task duration, deciding whether a reserve pays off. */
  #avgTaskMs = SHORT_TASK_MS;
  #flushScheduled = false;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #retryMs = RETRY_FIRST_MS;
  #dispatchScheduled = false;
  #wakeTimer: ReturnType<typeof setTimeout> | null = null;
  #stopping = false;
  #unsubscribe: Array<() => void> = [];
  /** Where the threads record the processes they start (a restart after kill -9 kills what is there). */
  #records: ProcessRecordDir | null;
  /** Per execution with a question out: aborted when the attempt ends, so nobody waits for it any more. */
  #asking = new Map<string, AbortController>();

  constructor(private readonly opts: LocalRunnerOptions) {
    this.#records = opts.processRecordDir ? new ProcessRecordDir(opts.processRecordDir) : null;
    this.#pool = new ThreadPool<Claim>({
      size: opts.size,
      threadUrl: opts.threadUrl,
      cancelGraceMs: opts.cancelGraceMs,
      // Settles once the lines are stored: the thread sends more only then (backpressure).
      log: (claim, lines) => {
        opts.logger.append(claim.executionId, claim.taskId, lines);
        return opts.logger.whenFlushed();
      },
      done: (claim, outcome) => this.#onDone(claim, outcome),
      available: () => this.schedule(),
      ask: (claim, askId, input) => this.#ask(claim, askId, input),
      call: (claim, callId, method, params) => this.#call(claim, callId, method, params),
      // The thread records each process it starts and removes it as it exits; one gone with a retired thread is removed here.
      process: (_claim, pid, record, gone) => this.#records?.seen(pid, record, gone),
    });
  }

  #call(claim: Claim, callId: number, method: string, params: unknown) {
    const calls = this.opts.calls;
    if (!calls) {
      this.#pool.reply(claim.executionId, callId, { ok: false, error: `no '${method}' on this server` });
      return;
    }
    this.#flushStarts();
    let ac = this.#asking.get(claim.executionId);
    if (!ac) this.#asking.set(claim.executionId, (ac = new AbortController()));
    calls.call(claim.taskId, claim.executionId, method, params, ac.signal).then(
      (value) => this.#pool.reply(claim.executionId, callId, { ok: true, value }),
      (err) => this.#pool.reply(claim.executionId, callId, { ok: false, error: (err as Error).message, retryable: (err as { retryable?: boolean }).retryable }),
    );
  }

  #ask(claim: Claim, askId: number, input: AskInput) {
    const asker = this.opts.asker;
    if (!asker) {
      this.#pool.answer(claim.executionId, askId, { ok: false, error: "no controller runs on this server" });
      return;
    }
    // The thread may ask before its start is in the database (starts are group-committed): record it now,
    // so the question belongs to a running task.
    try {
      this.#flushStarts();
    } catch {
      // a full disk: the starts are kept and written with the next flush
    }
    let ac = this.#asking.get(claim.executionId);
    if (!ac) this.#asking.set(claim.executionId, (ac = new AbortController()));
    asker.askAndWait(claim.taskId, claim.executionId, input, ac.signal).then(
      (answer) => this.#pool.answer(claim.executionId, askId, { ok: true, answer }),
      (err) => this.#pool.answer(claim.executionId, askId, { ok: false, error: (err as Error).message }),
    );
  }

  get size() {
    return this.#pool.size;
  }

  get busyCount() {
    return this.#pool.busyCount;
  }

  get readyCount() {
    return this.#pool.readyCount;
  }

  /** Currently running claims (for status pages and shutdown). */
  running(): Claim[] {
    return this.#pool.running().map((r) => r.item);
  }

  /** Claimed orders waiting in memory for a thread. */
  get reserved(): number {
    return this.#reserve.length;
  }

  start(): void {
    this.#pool.start();
    const { bus } = this.opts;
    // Starts must be rows before their log lines are: the logger flushes them first.
    this.opts.logger.beforeFlush = () => this.#flushStarts();
    this.#unsubscribe.push(
      bus.on("queue:ready", () => {
        this.#queueDrained = false;
        this.schedule();
      }),
      bus.on("task:cancel_requested", (e) => {
        if (e.claimedBy === this.opts.workerId) this.#cancel(e.taskId);
      }),
      // A message for a task one of these threads runs (a human steering it): straight to its thread.
      bus.on("task:message", (m) => {
        const claim = this.running().find((c) => c.taskId === m.taskId);
        if (claim) this.#pool.deliver(claim.executionId, { id: m.messageId, text: m.text, sender: m.sender, senderType: m.senderType, at: m.at });
      }),
    );
    this.schedule();
  }

  /** Coalesces wake-ups: many enqueues in one tick cost one claim. */
  schedule(): void {
    if (this.#dispatchScheduled || this.#stopping) return;
    this.#dispatchScheduled = true;
    queueMicrotask(() => {
      this.#dispatchScheduled = false;
      this.dispatch();
    });
  }

  /** Refills the reserve in one claim when it runs low, and gives every idle thread its next task. */
  dispatch(): number {
    if (this.#stopping) return 0;
    const idle = this.#pool.idleCount;
    const size = this.#pool.size;
    const target = idle + (this.#avgTaskMs < (this.opts.shortTaskMs ?? SHORT_TASK_MS) ? size * RESERVE_PER_THREAD : 0);
    if (!this.#queueDrained && this.#reserve.length < target && (this.#reserve.length < idle || this.#reserve.length <= size)) {
      const limit = target - this.#reserve.length;
      let claims: Claim[];
      try {
        claims = reserveTasks(this.opts, { workerId: this.opts.workerId, limit, capabilities: this.opts.capabilities });
      } catch (err) {
        // A claim that cannot be written (a full disk) claims nothing: try again shortly, never crash the server.
        const full = this.opts.disk?.failed("claiming work", err) ?? false;
        log.error(`claiming work failed${full ? " (the disk is full)" : ""}; trying again in ${this.#retryMs} ms: ${(err as Error).message}`);
        this.#retryFlush();
        claims = [];
      }
      if (claims.length < limit && !this.#retryTimer) {
        this.#queueDrained = true;
        this.#armWakeTimer();
      }
      if (claims.length) this.#reserve.push(...claims);
    }
    let started = 0;
    while (this.#pool.idleCount > 0 && this.#reserve.length > 0) {
      if (this.#start(this.#reserve.shift()!)) started++;
    }
    return started;
  }

  /** Hands a claim to an idle thread (false: it failed before reaching one). */
  #start(claim: Claim): boolean {
    this.opts.logger.fresh(claim.executionId); // a claim's execution is new: nothing logged under it yet
    this.#starts.push({ claim, at: Date.now() });
    this.#scheduleFlush();
    const run = paramsForRun(this.opts.secrets, claim);
    if ("error" in run) {
      // The slot stays free for the next; the attempt fails without reaching a thread.
      this.opts.logger.append(claim.executionId, claim.taskId, [["error", run.error, null, Date.now()]]);
      this.#record({ claim, kind: "failed", error: run.error, retryable: false, durationMs: 0 });
      return false;
    }
    const job = {
      taskId: claim.taskId,
      executionId: claim.executionId,
      attempt: claim.attempt,
      taskType: claim.taskType,
      params: run.params,
      secretValues: run.secretValues,
      workspaceRoot: join(this.opts.dataDir, "workspaces"),
      sandbox: this.opts.sandbox,
      logLimits: this.opts.logger.limits,
      httpAllow: this.opts.httpAllow,
      processRecordDir: this.opts.processRecordDir,
    };
    return this.#pool.run(claim, job, claim.timeoutSeconds);
  }

  #onDone(claim: Claim, done: ThreadOutcome) {
    this.#asking.get(claim.executionId)?.abort(new Error("the attempt ended"));
    this.#asking.delete(claim.executionId);
    const base = { claim, durationMs: done.durationMs, exitCode: done.exitCode, stdout: done.stdout, stderr: done.stderr, result: done.result };
    const outcome: Outcome = done.ok
      ? { ...base, kind: "succeeded", cpuMs: done.cpuMs, maxRssBytes: done.maxRssBytes }
      : { ...base, kind: done.timedOut ? "timed_out" : "failed", error: done.error, retryable: done.retryable };
    this.#avgTaskMs = this.#avgTaskMs * 0.8 + done.durationMs * 0.2;
    this.#record(maskOutcome(this.opts.secrets, outcome));
    // The next task from the reserve starts now; the database hears of both in the next group commit.
    const next = this.#stopping ? undefined : this.#reserve.shift();
    if (next) this.#start(next);
  }

  /** Nothing claimable now: wake up when the earliest backed-off order becomes due. */
  #armWakeTimer() {
    if (this.#wakeTimer) clearTimeout(this.#wakeTimer);
    this.#wakeTimer = null;
    const now = Date.now();
    const at = nextRunAt(this.opts.db, now);
    if (at == null) return;
    const delay = Math.max(1, at - now);
    this.#wakeTimer = setTimeout(() => {
      this.#wakeTimer = null;
      this.#queueDrained = false;
      this.schedule();
    }, Math.min(delay + 5, 2 ** 31 - 1));
  }

  /** Queues an outcome for the next group commit (one transaction for everything finished this tick). */
  #record(outcome: Outcome) {
    this.#pending.push(outcome);
    this.#scheduleFlush();
  }

  #scheduleFlush() {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.flushOutcomes());
  }

  /** Records the starts handed to threads since the last flush; a thread running a cancelled order is told to stop. */
  #flushStarts() {
    if (this.#starts.length === 0) return;
    const starts = this.#starts;
    this.#starts = [];
    let recorded: Claim[];
    try {
      recorded = startExecutions(this.opts, starts);
    } catch (err) {
      // Kept, in order, for the next flush (a full disk: the outcomes wait for them too).
      this.#starts = [...starts, ...this.#starts];
      throw err;
    }
    const started = new Set(recorded.map((c) => c.executionId));
    for (const { claim } of starts) if (!started.has(claim.executionId)) this.#cancel(claim.taskId);
  }

  flushOutcomes(): void {
    this.#flushScheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    try {
      this.#flushStarts();
      if (batch.length > 0) {
        this.opts.logger.flush();
        finishExecutions(this.opts, batch);
        this.opts.disk?.worked();
        for (const o of batch) this.opts.logger.close(o.claim.executionId);
      }
    } catch (err) {
      // Nothing acknowledged is lost: the outcomes stay here and are written once the disk has room
      // (the lease of a local order is not reaped while the server runs).
      this.#pending = [...batch, ...this.#pending];
      const full = this.opts.disk?.failed("recording task outcomes", err) ?? false;
      log.error(`recording ${batch.length} outcome(s) failed${full ? " (the disk is full)" : ""}; retrying in ${this.#retryMs} ms:`, (err as Error).message);
      this.#retryFlush();
      return;
    }
    this.#retryMs = RETRY_FIRST_MS;
    this.dispatch();
  }

  /** Writes the kept outcomes again after a wait that doubles up to RETRY_MAX_MS. */
  #retryFlush() {
    if (this.#retryTimer || this.#stopping) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.flushOutcomes();
    }, this.#retryMs);
    this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
  }

  #cancel(taskId: string) {
    const reserved = this.#reserve.findIndex((c) => c.taskId === taskId);
    if (reserved >= 0) {
      this.#reserve.splice(reserved, 1); // never started: its order is already cancelled, nothing to stop
      return;
    }
    const claim = this.running().find((c) => c.taskId === taskId);
    if (claim) this.#pool.cancel(claim.executionId);
  }

  /**
   * Graceful stop: claim nothing more, let running tasks finish within `graceMs`, then kill what is
   * left and put its work orders back in the queue. Resolves with the number requeued.
   */
  async stop(graceMs: number): Promise<number> {
    this.#stopping = true;
    for (const off of this.#unsubscribe) off();
    for (const ac of this.#asking.values()) ac.abort(new Error("server shutting down"));
    this.#asking.clear();
    if (this.#wakeTimer) clearTimeout(this.#wakeTimer);
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    if (this.#pool.busyCount > 0 && graceMs > 0) await this.#pool.waitIdle(graceMs);
    // Record whatever finished in the meantime (timeouts included) before giving the rest back.
    await this.#pool.settled();
    this.flushOutcomes();
    const leftover = [...(await this.#pool.shutdown()), ...this.#reserve.splice(0)];
    this.opts.logger.flush();
    if (this.#pending.length) log.error(`${this.#pending.length} outcome(s) could not be recorded before shutdown: their tasks run again at the next start`);
    if (leftover.length === 0) return 0;
    try {
      return releaseWorker(this.opts, this.opts.workerId, "server shut down before the task finished", leftover.map((c) => c.workOrderId));
    } catch (err) {
      // Still claimed by this server: the next start puts them back in the queue.
      log.error(`could not requeue ${leftover.length} unfinished task(s) (${(err as Error).message}); the next start will`);
      return 0;
    }
  }
}
