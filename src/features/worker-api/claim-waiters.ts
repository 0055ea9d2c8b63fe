// Long-poll claims: a remote worker that found no work waits here, and its claim is tried again the
// moment work may have become claimable for it — never on a fixed polling interval.
import { nextRunAt } from "../../queue/work-orders.ts";
import type { EngineDeps } from "../../engine/engine-deps.ts";

interface Waiter {
  workerId: string;
  /** One claim attempt: what it got (empty: nothing for this worker yet). May throw (worker drained meanwhile). */
  attempt: () => unknown[];
  resolve: (items: unknown[]) => void;
  reject: (err: unknown) => void;
  /** Something happened that may let this waiter claim: try it in the next pass. */
  due: boolean;
}

/**
 * Wakes on `queue:ready` (enqueue, retry, reaped lease, dependency satisfied) for every waiter, on
 * `execution:finished` of a worker for that worker's waiter (a slot of its concurrency freed), and at
 * the earliest backed-off `run_at` (one timer for all). Wake-ups in one tick cost one pass.
 */
export class ClaimWaiters {
  /** Insertion order = the order waiters are served in a pass. */
  #waiters = new Set<Waiter>();
  /** One parked claim per worker: a newer one answers the older at once (empty). */
  #byWorker = new Map<string, Waiter>();
  #closed = false;
  #passScheduled = false;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #timerAt = 0;
  #unsubscribe: Array<() => void>;
  #parkedListeners: Array<() => boolean> = [];

  constructor(private readonly deps: EngineDeps) {
    this.#unsubscribe = [
      deps.bus.on("queue:ready", () => this.#wakeAll()),
      deps.bus.on("execution:finished", (e) => {
        const w = e.workerId ? this.#byWorker.get(e.workerId) : undefined;
        if (w) this.#wake(w);
      }),
    ];
  }

  get size(): number {
    return this.#waiters.size;
  }

  /** Resolves once at least `n` claims are parked (tests and benchmarks start work only then). */
  untilWaiting(n = 1): Promise<void> {
    if (this.#waiters.size >= n) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (this.#waiters.size < n) return false;
        resolve();
        return true;
      };
      this.#parkedListeners.push(check);
    });
  }

  /**
   * Tries `attempt` now; when it gets nothing, waits up to `timeoutMs` for it to get something.
   * Resolves with the items, or `[]` on timeout or abort; rejects when an attempt throws. A worker has
   * at most one parked claim: parking another answers the earlier one at once with `[]`, so one worker
   * cannot make every wake-up try the same claim many times.
   */
  claim<T>(workerId: string, attempt: () => T[], timeoutMs: number, signal?: AbortSignal): Promise<T[]> {
    // The request went away already: claiming now would lease work nobody receives.
    if (signal?.aborted) return Promise.resolve([]);
    let first: T[];
    try {
      first = attempt();
    } catch (err) {
      return Promise.reject(err);
    }
    if (first.length > 0 || timeoutMs <= 0 || signal?.aborted || this.#closed) return Promise.resolve(first);
    this.#byWorker.get(workerId)?.resolve([]);
    return new Promise<T[]>((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.#waiters.delete(waiter);
        if (this.#byWorker.get(workerId) === waiter) this.#byWorker.delete(workerId);
      };
      const waiter: Waiter = {
        workerId,
        attempt,
        due: false,
        resolve: (items) => {
          finish();
          resolve(items as T[]);
        },
        reject: (err) => {
          finish();
          reject(err);
        },
      };
      const onAbort = () => waiter.resolve([]);
      const timer = setTimeout(() => waiter.resolve([]), timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.add(waiter);
      this.#byWorker.set(workerId, waiter);
      this.#parkedListeners = this.#parkedListeners.filter((check) => !check());
      // Nothing claimable now may still be a backed-off order that becomes due before the wait ends.
      this.#armTimer();
    });
  }

  /** Gives every waiter an empty answer and stops listening (server shutdown). */
  close(): void {
    this.#closed = true;
    for (const off of this.#unsubscribe) off();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    for (const w of [...this.#waiters]) w.resolve([]);
  }

  #wakeAll() {
    for (const w of this.#waiters) w.due = true;
    this.#schedulePass();
  }

  #wake(w: Waiter) {
    w.due = true;
    this.#schedulePass();
  }

  #schedulePass() {
    if (this.#passScheduled || this.#waiters.size === 0) return;
    this.#passScheduled = true;
    queueMicrotask(() => {
      this.#passScheduled = false;
      this.#pass();
    });
  }

  /** Tries each due waiter once, in arrival order: each attempt is one claim transaction. */
  #pass() {
    for (const w of [...this.#waiters]) {
      if (!w.due) continue;
      w.due = false;
      let items: unknown[];
      try {
        items = w.attempt();
      } catch (err) {
        w.reject(err);
        continue;
      }
      if (items.length > 0) w.resolve(items);
    }
    this.#armTimer();
  }

  /** One timer at the earliest future `run_at` (a retry's backoff), if anyone still waits. */
  #armTimer() {
    if (this.#waiters.size === 0) {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
      return;
    }
    const now = (this.deps.clock ?? Date.now)();
    const at = nextRunAt(this.deps.db, now);
    if (at == null) return;
    if (this.#timer && this.#timerAt <= at) return; // an earlier (or the same) wake-up is set
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = at;
    // +5 ms: the claim's `run_at <= now` must hold when the timer fires, whatever the timer's rounding.
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#wakeAll();
    }, Math.min(Math.max(1, at - now) + 5, 2 ** 31 - 1));
    this.#timer.unref?.();
  }
}
