// retryWithBackoff: tries a call again on retryable LlmErrors, with jittered, capped exponential waits
// that honour the provider's Retry-After. Callers wrap whole attempts (each reserves budget again).
import { LlmError } from "./errors.ts";

export interface RetryOptions {
  /** Attempts in all, the first included (1 = no retry). */
  attempts: number;
  /** The first wait; each later one doubles (before jitter). */
  baseMs: number;
  /** No wait is longer than this (default 30 s). A Retry-After beyond it ends the retries at once. */
  maxMs?: number;
  signal?: AbortSignal;
  /** Before each wait: what failed, which attempt it was (1-based) and how long we now wait. */
  onRetry?: (info: { error: LlmError; attempt: number; delayMs: number }) => void;
  /** Jitter source, [0, 1); injectable so a test can pin the waits. */
  random?: () => number;
}

/** Half fixed, half random ("equal jitter"): callers that failed together do not come back together. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export async function retryWithBackoff<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { attempts, baseMs, maxMs = 30_000, signal, onRetry, random = Math.random } = options;
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (err) {
      if (!(err instanceof LlmError) || !err.retryable || attempt >= attempts || signal?.aborted) throw err;
      // The provider's own wait wins over ours; one longer than we would ever wait (a spent daily
      // quota, say) is not worth holding a worker for: the error goes to the caller as it is.
      if (err.retryAfterMs !== undefined && err.retryAfterMs > maxMs) throw err;
      const delayMs = err.retryAfterMs ?? backoffDelay(attempt, baseMs, maxMs, random);
      onRetry?.({ error: err, attempt, delayMs });
      await abortableWait(delayMs, signal);
    }
  }
}

function abortableWait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
