// Token buckets on an injected clock, and the middleware's 429 with Retry-After (per address, per account).
import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { jsonError } from "./errors.ts";
import { perMinute, rateLimit, TokenBuckets } from "./rate-limit.ts";

function clock(start = 0) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe("TokenBuckets", () => {
  test("a burst of `capacity`, then one token per 1/refill seconds; keys are independent", () => {
    const t = clock();
    const buckets = new TokenBuckets({ capacity: 3, refillPerSecond: 0.5 }, t.now);
    expect([1, 2, 3].map(() => buckets.take("a").ok)).toEqual([true, true, true]);
    expect(buckets.take("a")).toEqual({ ok: false, retryAfterSeconds: 2 });
    expect(buckets.take("b").ok).toBe(true);
    t.advance(1000);
    expect(buckets.take("a")).toEqual({ ok: false, retryAfterSeconds: 1 });
    t.advance(1000);
    expect(buckets.take("a")).toEqual({ ok: true, remaining: 0 });
    t.advance(60_000);
    expect(buckets.take("a")).toEqual({ ok: true, remaining: 2 }); // refilled to capacity, not beyond
  });

  test("perMinute(n): a burst of n, refilled evenly over the minute", () => {
    expect(perMinute(120)).toEqual({ capacity: 120, refillPerSecond: 2 });
  });

  test("memory stays bounded: past maxKeys, full buckets go first, then the least recently used", () => {
    const t = clock();
    const buckets = new TokenBuckets({ capacity: 2, refillPerSecond: 1 }, t.now, 100);
    for (let i = 0; i < 100; i++) buckets.take(`old-${i}`);
    t.advance(5000); // every old bucket is full again
    buckets.take("busy");
    buckets.take("busy");
    expect(buckets.size).toBe(1); // the 101st key swept the full ones
    expect(buckets.take("busy").ok).toBe(false); // … and kept the one that was not full
    for (let i = 0; i < 150; i++) buckets.take(`new-${i}`);
    expect(buckets.size).toBeLessThanOrEqual(100);
  });
});

describe("rateLimit middleware", () => {
  test("429 rate_limited with Retry-After, per key: one client's flood leaves another's requests alone", async () => {
    const t = clock();
    const perAccount = new TokenBuckets(perMinute(2), t.now);
    const app = new Hono();
    app.onError((err, c) => jsonError(c, err));
    app.use(rateLimit((c) => ({ buckets: perAccount, key: c.req.header("x-user") ?? "anonymous" }), "Too many requests for this account"));
    app.get("/", (c) => c.text("ok"));
    const as = (user: string) => app.request("/", { headers: { "x-user": user } });

    expect((await as("alice")).status).toBe(200);
    expect((await as("alice")).status).toBe(200);
    const limited = await as("alice");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("30");
    expect(await limited.json()).toEqual({ error: { code: "rate_limited", message: "Too many requests for this account: try again in 30 s", details: [] } });
    expect((await as("bob")).status).toBe(200);
    t.advance(30_000);
    expect((await as("alice")).status).toBe(200);
  });

  test("a null bucket (limit off) lets everything through", async () => {
    const app = new Hono();
    app.use(rateLimit(() => ({ buckets: null, key: "x" })));
    app.get("/", (c) => c.text("ok"));
    for (let i = 0; i < 50; i++) expect((await app.request("/")).status).toBe(200);
  });
});
