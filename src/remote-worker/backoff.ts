// Retry delays for an unreachable server: exponential from `baseMs`, capped, with full jitter so a fleet
// of workers that lost the server together does not come back in lock-step.
export interface BackoffOptions {
  baseMs?: number;
  capMs?: number;
  /** [0, 1): injectable so tests see exact delays. */
  random?: () => number;
}

/** The delay before retry number `attempt` (0 = the first retry): between half and all of min(cap, base·2^attempt). */
export function backoffDelay(attempt: number, { baseMs = 250, capMs = 10_000, random = Math.random }: BackoffOptions = {}): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/** Counts consecutive failures of one kind of request; `next()` gives the delay to wait, `reset()` on success. */
export class Backoff {
  failures = 0;
  constructor(private readonly opts: BackoffOptions = {}) {}
  next(): number {
    return backoffDelay(this.failures++, this.opts);
  }
  reset(): void {
    this.failures = 0;
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
