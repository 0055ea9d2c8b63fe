// The local worker pool: Bun Worker threads that each run one task at a time. The main thread claims
// work in batches into a small in-memory reserve, hands it to idle threads, enforces timeouts,
// replaces crashed threads and records starts and outcomes in group commits. `{{secrets.NAME}}` in
// params is resolved here, in the copy posted to the thread only; what comes back is masked.
import { join } from "node:path";
import { finishExecutions, reserveTasks, startExecutions, type Claim, type Outcome } from "../engine/attempts.ts";
import { releaseWorker } from "../engine/control.ts";
import { type EngineDeps } from "../engine/engine-deps.ts";
import type { SecretReferences } from "../engine/engine-deps.ts";
import type { SecretMasker, TaskLogger } from "../engine/task-logger.ts";
import { nextRunAt } from "../queue/work-orders.ts";
import type { FromThread, ToThread } from "./protocol.ts";
import { killProcessGroups, retireThread, startTaskThread } from "./threads.ts";
import { logger } from "../log.ts";

const log = logger("pool");

/**
 * The SecretStore as the pool uses it: resolve templates for a thread, mask what the thread sends back.
 * `edges`: the text may have been cut inside a value (see SecretStore's MaskOptions).
 */
export interface PoolSecrets extends SecretReferences, SecretMasker {
  resolveSecretTemplates<T>(params: T): T;
  maskSecrets(text: string, options?: { edges?: boolean }): string;
  maskSecretsDeep<T>(value: T, options?: { edges?: boolean }): T;
}

export interface PoolOptions extends EngineDeps {
  secrets?: PoolSecrets;
  size: number;
  workerId: string;
  logger: TaskLogger;
  dataDir: string;
  capabilities?: string[];
  /** How long a cancelled task may take to stop by itself before its thread is terminated. */
  cancelGraceMs?: number;
  /** Tasks shorter than this on average (moving average) get a reserve of claimed orders (default 50 ms). */
  shortTaskMs?: number;
  threadUrl?: URL;
}


/**
 * The reserve: while tasks are short (EWMA of their duration under SHORT_TASK_MS) the pool claims up to
 * RESERVE_PER_THREAD orders per thread in one statement and keeps them in memory, so a thread that
 * finishes starts its next task at once and claims are amortised. Long tasks get no reserve: an order
 * never waits claimed behind a long task while another worker could have taken it.
 */
const RESERVE_PER_THREAD = 8;
const SHORT_TASK_MS = 50;

interface Slot {
  index: number;
  thread: Worker;
  /** The thread loaded and said so; only ready threads get work. */
  ready: boolean;
  claim: Claim | null;
  startedAt: number;
  pids: Set<number>;
  timeout: ReturnType<typeof setTimeout> | null;
  cancelTimer: ReturnType<typeof setTimeout> | null;
}

/** Where the thread entry lives: next to this file in development, an extra entrypoint inside the binary. */
export function threadEntryUrl(): URL {
  if (Bun.isStandaloneExecutable) return new URL("./runtime/thread.js", Bun.pathToFileURL(Bun.main));
  return new URL("./thread.ts", import.meta.url);
}

export class WorkerPool {
  #slots: Slot[] = [];
  #pending: Array<{ slot: Slot; outcome: Outcome }> = [];
  /** Claimed orders no thread has started yet, in queue order. Their tasks are still `queued`. */
  #reserve: Claim[] = [];
  /** Starts not yet recorded (group-committed with the outcomes). */
  #starts: Array<{ claim: Claim; at: number }> = [];
  /** A claim came back short: nothing is claimable until a queue:ready event (or the wake timer) says so. */
  #queueDrained = false;
  /** Moving average of task duration, deciding whether a reserve pays off. */
  #avgTaskMs = SHORT_TASK_MS;
  #flushScheduled = false;
  #dispatchScheduled = false;
  #wakeTimer: ReturnType<typeof setTimeout> | null = null;
  #stopping = false;
  /** Threads that died before they were ready in a row: a broken build or entry path, not a task's fault. */
  #startFailures = 0;
  #idleWaiters: Array<() => void> = [];
  #unsubscribe: Array<() => void> = [];
  #retiring = new Set<Promise<void>>();
  readonly #threadUrl: URL;

  constructor(private readonly opts: PoolOptions) {
    this.#threadUrl = opts.threadUrl ?? threadEntryUrl();
  }

  get size() {
    return this.#slots.length;
  }

  get busyCount() {
    return this.#slots.filter((s) => s.claim).length;
  }

  get readyCount() {
    return this.#slots.filter((s) => s.ready).length;
  }

  /** Currently running claims (for status pages and shutdown). */
  running(): Claim[] {
    return this.#slots.flatMap((s) => (s.claim ? [s.claim] : []));
  }

  /** Claimed orders waiting in memory for a thread. */
  get reserved(): number {
    return this.#reserve.length;
  }

  start(): void {
    for (let i = 0; i < this.opts.size; i++) this.#slots.push(this.#spawn(i));
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
    const idle = this.#slots.filter((s) => s.ready && !s.claim);
    const size = this.#slots.length;
    const target = idle.length + (this.#avgTaskMs < (this.opts.shortTaskMs ?? SHORT_TASK_MS) ? size * RESERVE_PER_THREAD : 0);
    if (!this.#queueDrained && this.#reserve.length < target && (this.#reserve.length < idle.length || this.#reserve.length <= size)) {
      const limit = target - this.#reserve.length;
      const claims = reserveTasks(this.opts, { workerId: this.opts.workerId, limit, capabilities: this.opts.capabilities });
      if (claims.length < limit) {
        this.#queueDrained = true;
        this.#armWakeTimer();
      }
      if (claims.length) this.#reserve.push(...claims);
    }
    let started = 0;
    for (const slot of idle) {
      const next = this.#reserve.shift();
      if (!next) break;
      this.#run(slot, next);
      started++;
    }
    return started;
  }

  #run(slot: Slot, claim: Claim) {
    this.#starts.push({ claim, at: Date.now() });
    this.#scheduleFlush();
    let params: Record<string, unknown>;
    try {
      params = this.opts.secrets ? this.opts.secrets.resolveSecretTemplates(claim.params) : claim.params;
    } catch (err) {
      // A secret deleted (or undecryptable) since submission: the attempt fails without reaching a thread,
      // and retrying cannot help until someone stores the secret again. The slot stays free for the next.
      const error = `cannot resolve {{secrets.…}} in params: ${(err as Error).message}`;
      this.opts.logger.append(claim.executionId, claim.taskId, [["error", error, null, Date.now()]]);
      this.#record(slot, { claim, kind: "failed", error, retryable: false, durationMs: 0 });
      return;
    }
    slot.claim = claim;
    slot.startedAt = performance.now();
    slot.pids.clear();
    slot.timeout = setTimeout(() => this.#onTimeout(slot, claim), claim.timeoutSeconds * 1000);
    const msg: ToThread = {
      type: "run",
      job: {
        taskId: claim.taskId,
        executionId: claim.executionId,
        attempt: claim.attempt,
        taskType: claim.taskType,
        params,
        workspaceRoot: join(this.opts.dataDir, "workspaces"),
      },
    };
    slot.thread.postMessage(msg);
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

  #spawn(index: number): Slot {
    const slot = { index, ready: false, claim: null, startedAt: 0, pids: new Set(), timeout: null, cancelTimer: null } as Omit<Slot, "thread"> as Slot;
    slot.thread = startTaskThread(this.#threadUrl, {
      message: (msg) => this.#onMessage(slot, msg),
      crash: (reason) => this.#onCrash(slot, reason),
      stillWanted: () => this.#slots[slot.index] === slot && !this.#stopping,
    });
    return slot;
  }

  #onMessage(slot: Slot, msg: FromThread) {
    if (msg.type === "ready") {
      slot.ready = true;
      this.#startFailures = 0;
      this.schedule();
      return;
    }
    if (msg.type === "children-gone") return; // answered to #retire's own listener
    const claim = slot.claim;
    if (!claim || msg.executionId !== claim.executionId) return;
    switch (msg.type) {
      case "log":
        this.opts.logger.append(claim.executionId, claim.taskId, msg.lines);
        return;
      case "pid":
        if (msg.exited) slot.pids.delete(msg.pid);
        else slot.pids.add(msg.pid);
        return;
      case "done": {
        const durationMs = Math.round(performance.now() - slot.startedAt);
        // The thread had the secret values: whatever it reports is masked before it is stored or published.
        // Task types keep only part of long output (shell: the last 64 KiB; http: the first 1 MiB of a body),
        // cut without knowing the secrets, so a cut can leave the end or start of a value that no longer
        // matches it whole: a fragment of one at either end of any text is masked too (`edges`).
        const secrets = this.opts.secrets;
        const mask = (text: string | undefined) => (secrets && text ? secrets.maskSecrets(text, { edges: true }) : text);
        const result = secrets && msg.result !== undefined ? secrets.maskSecretsDeep(msg.result, { edges: true }) : msg.result;
        const base = { claim, durationMs, exitCode: msg.exitCode, stdout: mask(msg.stdout), stderr: mask(msg.stderr), result };
        const outcome: Outcome = msg.ok
          ? { ...base, kind: "succeeded", cpuMs: msg.cpuMs, maxRssBytes: msg.maxRssBytes }
          : { ...base, kind: msg.timedOut ? "timed_out" : "failed", error: mask(msg.error), retryable: msg.retryable };
        this.#avgTaskMs = this.#avgTaskMs * 0.8 + durationMs * 0.2;
        this.#release(slot);
        this.#record(slot, outcome);
        // The next task from the reserve starts now; the database hears of both in the next group commit.
        const next = this.#stopping ? undefined : this.#reserve.shift();
        if (next) this.#run(slot, next);
        return;
      }
    }
  }

  #release(slot: Slot) {
    if (slot.timeout) clearTimeout(slot.timeout);
    if (slot.cancelTimer) clearTimeout(slot.cancelTimer);
    slot.timeout = slot.cancelTimer = null;
    slot.claim = null;
  }

  /** Queues an outcome for the next group commit (one transaction for everything finished this tick). */
  #record(slot: Slot, outcome: Outcome) {
    this.#pending.push({ slot, outcome });
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
    const started = new Set(startExecutions(this.opts, starts).map((c) => c.executionId));
    for (const { claim } of starts) if (!started.has(claim.executionId)) this.#cancel(claim.taskId);
  }

  flushOutcomes(): void {
    this.#flushScheduled = false;
    this.#flushStarts();
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length > 0) {
      this.opts.logger.flush();
      try {
        finishExecutions(this.opts, batch.map((b) => b.outcome));
      } catch (err) {
        // The outcome is lost only from memory: the order's lease expires and it runs again.
        log.error("recording outcomes failed; the leases will expire and the work run again:", err);
      }
      for (const b of batch) this.opts.logger.close(b.outcome.claim.executionId);
    }
    if (this.busyCount === 0) this.#notifyIdle();
    this.dispatch();
  }

  /** Kills a slot's processes and puts a fresh thread in its place; resolves once the old thread is terminated. */
  #replace(slot: Slot): Promise<void> {
    const retired = this.#retire(slot);
    this.#slots[slot.index] = this.#spawn(slot.index);
    return retired;
  }

  /** Kills a slot's processes and terminates its thread (see retireThread); tracked until it is gone. */
  #retire(slot: Slot): Promise<void> {
    const retired = retireThread(slot.thread, slot.pids);
    this.#retiring.add(retired);
    void retired.then(() => this.#retiring.delete(retired));
    return retired;
  }

  #onTimeout(slot: Slot, claim: Claim) {
    if (slot.claim !== claim) return;
    this.opts.logger.append(claim.executionId, claim.taskId, [["error", `timed out after ${claim.timeoutSeconds}s; killed`, null, Date.now()]]);
    const durationMs = Math.round(performance.now() - slot.startedAt);
    this.#release(slot);
    // Recorded once its processes are gone: a task reported timed out is no longer running anything.
    void this.#replace(slot).then(() =>
      this.#record(slot, { claim, kind: "timed_out", error: `timed out after ${claim.timeoutSeconds}s`, durationMs }),
    );
  }

  #onCrash(slot: Slot, error: string) {
    if (this.#slots[slot.index] !== slot) return; // already replaced
    if (!slot.ready) {
      // It never loaded: respawning at once would spin. Back off, and say why loudly.
      const delay = Math.min(30_000, 100 * 2 ** this.#startFailures++);
      log.error(`task thread ${slot.index} failed to start (${error}); retrying in ${delay} ms`);
      slot.thread.terminate();
      setTimeout(() => {
        if (!this.#stopping && this.#slots[slot.index] === slot) this.#slots[slot.index] = this.#spawn(slot.index);
      }, delay);
      return;
    }
    const claim = slot.claim;
    this.#release(slot);
    void this.#replace(slot);
    if (claim) {
      this.opts.logger.append(claim.executionId, claim.taskId, [["error", error, null, Date.now()]]);
      this.#record(slot, { claim, kind: "failed", error, durationMs: Math.round(performance.now() - slot.startedAt) });
    } else this.schedule();
  }

  #cancel(taskId: string) {
    const reserved = this.#reserve.findIndex((c) => c.taskId === taskId);
    if (reserved >= 0) {
      this.#reserve.splice(reserved, 1); // never started: its order is already cancelled, nothing to stop
      return;
    }
    const slot = this.#slots.find((s) => s.claim?.taskId === taskId);
    if (!slot?.claim) return;
    const claim = slot.claim;
    slot.thread.postMessage({ type: "cancel", executionId: claim.executionId } satisfies ToThread);
    killProcessGroups(slot.pids);
    slot.cancelTimer = setTimeout(() => {
      if (slot.claim !== claim) return;
      this.#release(slot);
      void this.#replace(slot);
      this.#record(slot, { claim, kind: "failed", error: "cancelled", durationMs: Math.round(performance.now() - slot.startedAt) });
    }, this.opts.cancelGraceMs ?? 5000);
  }

  #notifyIdle() {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * Graceful stop: claim nothing more, let running tasks finish within `graceMs`, then kill what is
   * left and put its work orders back in the queue. Resolves with the number requeued.
   */
  async stop(graceMs: number): Promise<number> {
    this.#stopping = true;
    for (const off of this.#unsubscribe) off();
    if (this.#wakeTimer) clearTimeout(this.#wakeTimer);
    if (this.busyCount > 0 && graceMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.#idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    // Record whatever finished in the meantime (timeouts included) before giving the rest back.
    await Promise.all(this.#retiring);
    this.flushOutcomes();
    const leftover = [...this.running(), ...this.#reserve.splice(0)];
    const retired = this.#slots.map((slot) => {
      this.#release(slot);
      return this.#retire(slot);
    });
    await Promise.all(retired);
    this.opts.logger.flush();
    let requeued = 0;
    if (leftover.length > 0) {
      requeued = releaseWorker(this.opts, this.opts.workerId, "server shut down before the task finished", leftover.map((c) => c.workOrderId));
    }
    this.#slots = [];
    return requeued;
  }
}
