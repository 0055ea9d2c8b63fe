// Rate limiting: in-memory token buckets keyed by client address or account, and a middleware that
// answers 429 `rate_limited` with Retry-After when a bucket is empty.
import type { Context, MiddlewareHandler } from "hono";
import { AppError } from "../errors.ts";

export interface BucketSpec {
  /** Requests allowed in a burst (a full bucket). */
  capacity: number;
  /** Tokens added back per second: the sustained rate. */
  refillPerSecond: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export type TakeResult = { ok: true; remaining: number } | { ok: false; retryAfterSeconds: number };

export class TokenBuckets {
  #buckets = new Map<string, Bucket>();

  constructor(
    readonly spec: BucketSpec,
    private readonly clock: () => number = Date.now,
    /** Past this many keys, full buckets (the same as no bucket) are dropped, then the least recently used. */
    private readonly maxKeys = 100_000,
  ) {}

  take(key: string, cost = 1): TakeResult {
    const now = this.clock();
    const { capacity, refillPerSecond } = this.spec;
    const bucket = this.#buckets.get(key);
    let tokens = capacity;
    if (bucket) {
      tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * refillPerSecond);
      this.#buckets.delete(key); // re-inserted below: the map stays in least-recently-used order
    }
    if (tokens < cost) {
      this.#buckets.set(key, { tokens, at: now });
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((cost - tokens) / refillPerSecond)) };
    }
    this.#buckets.set(key, { tokens: tokens - cost, at: now });
    if (this.#buckets.size > this.maxKeys) this.#evict(now);
    return { ok: true, remaining: Math.floor(tokens - cost) };
  }

  get size(): number {
    return this.#buckets.size;
  }

  #evict(now: number) {
    const { capacity, refillPerSecond } = this.spec;
    for (const [key, b] of this.#buckets) {
      if (b.tokens + ((now - b.at) / 1000) * refillPerSecond >= capacity) this.#buckets.delete(key);
    }
    for (const key of this.#buckets.keys()) {
      if (this.#buckets.size <= this.maxKeys) break;
      this.#buckets.delete(key);
    }
  }
}

/** A limit per requests-per-minute figure: a burst of that many, refilled evenly over the minute. */
export const perMinute = (requests: number): BucketSpec => ({ capacity: requests, refillPerSecond: requests / 60 });

/**
 * Takes one token from the bucket `pick` names for the request (null: not limited). An empty bucket
 * answers 429 with Retry-After; `message` says what was limited.
 */
export function rateLimit<C extends Context>(
  pick: (c: C) => { buckets: TokenBuckets | null | undefined; key: string } | null,
  message = "Too many requests",
): MiddlewareHandler {
  return async function rateLimited(c, next) {
    const target = pick(c as C);
    if (target?.buckets) {
      const taken = target.buckets.take(target.key);
      if (!taken.ok) {
        throw new AppError(429, "rate_limited", `${message}: try again in ${taken.retryAfterSeconds} s`, [], {
          "Retry-After": String(taken.retryAfterSeconds),
        });
      }
    }
    await next();
  };
}
