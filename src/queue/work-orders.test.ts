// The work-order queue's SQL operations, run against a real migrated SQLite file.
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { cleanup, freshDeps } from "../../test/helpers.ts";
import type { ClaimerReport } from "../../test/fixtures/claimer-thread.ts";
import type { Db } from "../db/client.ts";
import { backoffMs, CLAIM_SQL, claimWorkOrders, completeWorkOrder, enqueueWorkOrders, expireUnclaimed, extendLeases, failWorkOrder, releaseExpiredLeases, type ClaimedWorkOrder, type EnqueueInput, type LeaseRef } from "./work-orders.ts";
import { getWorkOrder } from "../../test/work-order-rows.ts";

afterEach(cleanup);

const T0 = 1_700_000_000_000;

function order(overrides: Partial<EnqueueInput> = {}): EnqueueInput {
  return { taskId: null, queue: "default", payload: { n: 1 }, maxRetries: 2, timeoutSeconds: 60, runAt: T0, ...overrides };
}

const ref = (o: ClaimedWorkOrder, workerId = "w1"): LeaseRef => ({ id: o.id, workerId, leaseToken: o.lease_token });

function claimOne(db: Db, workerId = "w1", now = T0, extra: { capabilities?: string[]; leaseMs?: number } = {}) {
  const [claimed] = claimWorkOrders(db, { workerId, limit: 1, now, ...extra });
  return claimed;
}

describe("enqueue, claim, complete", () => {
  test("an enqueued order is claimed with a lease and completed with its result", () => {
    const { db } = freshDeps();
    const [id] = enqueueWorkOrders(db, [order({ payload: { task_type: "hello" } })], T0);

    const claimed = claimOne(db, "w1", T0 + 10)!;
    expect(claimed.id).toBe(id!);
    expect(claimed.payload).toEqual({ task_type: "hello" });
    expect(claimed.lease_token).toMatch(/^[0-9a-f]{24}$/);
    // Default lease: the order's own timeout plus 30 s.
    expect(claimed.lease_until).toBe(T0 + 10 + 60_000 + 30_000);

    const row = getWorkOrder(db, id!)!;
    expect(row.status).toBe("claimed");
    expect(row.claimed_by).toBe("w1");
    expect(row.claimed_at).toBe(T0 + 10);
    expect(row.lease_token).toBe(claimed.lease_token);
    expect(row.lease_until).toBe(claimed.lease_until);

    expect(completeWorkOrder(db, ref(claimed), { ok: 42 }, T0 + 20)).toEqual({ task_id: null });
    const done = getWorkOrder(db, id!)!;
    expect(done.status).toBe("completed");
    expect(done.result).toEqual({ ok: 42 });
    expect(done.finished_at).toBe(T0 + 20);
    expect(done.lease_token).toBeNull();
    expect(claimWorkOrders(db, { workerId: "w1", limit: 10, now: T0 + 30 })).toEqual([]);
  });

  test("an explicit leaseMs sets the lease length", () => {
    const { db } = freshDeps();
    enqueueWorkOrders(db, [order()], T0);
    expect(claimOne(db, "w1", T0, { leaseMs: 5000 })!.lease_until).toBe(T0 + 5000);
  });

  test("claims go by priority (high first), then run_at, then id", () => {
    const { db } = freshDeps();
    enqueueWorkOrders(
      db,
      [
        order({ id: "low-1", queue: "low_priority", runAt: T0 - 5000 }),
        order({ id: "def-b", queue: "default", runAt: T0 - 100 }),
        order({ id: "def-a", queue: "default", runAt: T0 - 100 }),
        order({ id: "def-early", queue: "default", runAt: T0 - 200 }),
        order({ id: "high-late", queue: "high_priority", runAt: T0 }),
        order({ id: "future", queue: "high_priority", runAt: T0 + 1 }),
      ],
      T0 - 10_000,
    );
    const first = claimWorkOrders(db, { workerId: "w1", limit: 3, now: T0 });
    expect(first.map((o) => o.id)).toEqual(["high-late", "def-early", "def-a"]);
    const rest = claimWorkOrders(db, { workerId: "w1", limit: 10, now: T0 });
    // "future" is not due yet.
    expect(rest.map((o) => o.id)).toEqual(["def-b", "low-1"]);
    expect(getWorkOrder(db, "future")!.status).toBe("queued");
  });

  test("the database rejects an unknown status and a claim without a lease", () => {
    const { db } = freshDeps();
    const [id] = enqueueWorkOrders(db, [order()], T0);
    expect(() => db.sqlite.run(`UPDATE work_orders SET status = 'running' WHERE id = ?`, [id!])).toThrow(/CHECK constraint failed/);
    expect(() => db.sqlite.run(`UPDATE work_orders SET status = 'claimed' WHERE id = ?`, [id!])).toThrow(/CHECK constraint failed/);
    expect(() => db.sqlite.run(`UPDATE work_orders SET retry_count = 99 WHERE id = ?`, [id!])).toThrow(/CHECK constraint failed/);
    expect(getWorkOrder(db, id!)!.status).toBe("queued");
  });
});

describe("guards", () => {
  function claimedOrder() {
    const { db } = freshDeps();
    const [id] = enqueueWorkOrders(db, [order()], T0);
    const claimed = claimOne(db, "w1", T0)!;
    const before = getWorkOrder(db, id!)!;
    return { db, id: id!, claimed, before };
  }
  const failOpts = { error: "nope", now: T0 + 1, retryAt: T0 + 1000, retryable: true };

  test("a wrong lease token is refused and changes nothing", () => {
    const { db, id, claimed, before } = claimedOrder();
    const wrong = { ...ref(claimed), leaseToken: "0".repeat(24) };
    expect(completeWorkOrder(db, wrong, "x", T0 + 1)).toBeUndefined();
    expect(failWorkOrder(db, wrong, failOpts)).toBeUndefined();
    expect(getWorkOrder(db, id)).toEqual(before);
  });

  test("a wrong worker is refused and changes nothing", () => {
    const { db, id, claimed, before } = claimedOrder();
    const wrong = ref(claimed, "w2");
    expect(completeWorkOrder(db, wrong, "x", T0 + 1)).toBeUndefined();
    expect(failWorkOrder(db, wrong, failOpts)).toBeUndefined();
    expect(getWorkOrder(db, id)).toEqual(before);
  });

  test("the previous holder of a reclaimed order is refused, the new one is not", () => {
    const { db, id, claimed } = claimedOrder();
    const lapse = claimed.lease_until;
    expect(releaseExpiredLeases(db, lapse).map((r) => r.id)).toEqual([id]);
    // The same worker claims it again: only the new token counts.
    const again = claimOne(db, "w1", lapse + 1)!;
    expect(again.lease_token).not.toBe(claimed.lease_token);
    const reclaimed = getWorkOrder(db, id)!;

    expect(completeWorkOrder(db, ref(claimed), "stale", lapse + 2)).toBeUndefined();
    expect(failWorkOrder(db, ref(claimed), { ...failOpts, now: lapse + 2 })).toBeUndefined();
    expect(getWorkOrder(db, id)).toEqual(reclaimed);

    expect(completeWorkOrder(db, ref(again), "fresh", lapse + 3)).toEqual({ task_id: null });
    expect(getWorkOrder(db, id)!.result).toBe("fresh");
  });

  test("a completed order can be neither completed nor failed again", () => {
    const { db, id, claimed } = claimedOrder();
    completeWorkOrder(db, ref(claimed), "first", T0 + 1);
    const done = getWorkOrder(db, id)!;
    expect(completeWorkOrder(db, ref(claimed), "second", T0 + 2)).toBeUndefined();
    expect(failWorkOrder(db, ref(claimed), failOpts)).toBeUndefined();
    expect(getWorkOrder(db, id)).toEqual(done);
  });
});

describe("failing an attempt", () => {
  test("with retries left it goes back to the queue at retryAt and keeps every error", () => {
    const { db } = freshDeps();
    const [id] = enqueueWorkOrders(db, [order({ maxRetries: 2 })], T0);

    const first = claimOne(db, "w1", T0)!;
    expect(failWorkOrder(db, ref(first), { error: "first boom", now: T0 + 1, retryAt: T0 + 1000, retryable: true })).toEqual({
      task_id: null,
      status: "queued",
      retry_count: 1,
      run_at: T0 + 1000,
    });
    const row = getWorkOrder(db, id!)!;
    expect(row).toMatchObject({ status: "queued", retry_count: 1, run_at: T0 + 1000, error: "first boom", lease_token: null, finished_at: null });
    // Not claimable before its run_at.
    expect(claimWorkOrders(db, { workerId: "w1", limit: 1, now: T0 + 999 })).toEqual([]);

    const second = claimOne(db, "w1", T0 + 1000)!;
    expect(second.retry_count).toBe(1);
    failWorkOrder(db, ref(second), { error: "second boom", now: T0 + 1001, retryAt: T0 + 3000, retryable: true });
    expect(getWorkOrder(db, id!)!.errors).toEqual([
      { attempt: 1, at: T0 + 1, error: "first boom" },
      { attempt: 2, at: T0 + 1001, error: "second boom" },
    ]);
  });

  test("with retries exhausted it is dead", () => {
    const { db } = freshDeps();
    const [id] = enqueueWorkOrders(db, [order({ maxRetries: 1 })], T0);
    failWorkOrder(db, ref(claimOne(db, "w1", T0)!), { error: "one", now: T0, retryAt: T0, retryable: true });
    const outcome = failWorkOrder(db, ref(claimOne(db, "w1", T0)!), { error: "two", now: T0 + 5, retryAt: T0 + 99, retryable: true });
    expect(outcome).toMatchObject({ status: "dead", retry_count: 1 });
    const row = getWorkOrder(db, id!)!;
    expect(row).toMatchObject({ status: "dead", error: "two", finished_at: T0 + 5 });
    expect(row.errors).toHaveLength(2);
    expect(claimWorkOrders(db, { workerId: "w1", limit: 1, now: T0 + 10_000 })).toEqual([]);
  });

  test("a non-retryable failure is final whatever the budget", () => {
    const { db } = freshDeps();
    const [id] = enqueueWorkOrders(db, [order({ maxRetries: 5 })], T0);
    const outcome = failWorkOrder(db, ref(claimOne(db)!), { error: "invalid params", now: T0 + 1, retryAt: T0 + 2, retryable: false });
    expect(outcome).toMatchObject({ status: "failed", retry_count: 0 });
    expect(getWorkOrder(db, id!)).toMatchObject({ status: "failed", error: "invalid params", finished_at: T0 + 1 });
    expect(claimWorkOrders(db, { workerId: "w1", limit: 1, now: T0 + 10_000 })).toEqual([]);
  });
});

describe("backoffMs", () => {
  test("doubles from 1 s and is capped at 10 minutes", () => {
    const middle = () => 0.5; // no jitter
    expect([1, 2, 3, 4, 5, 10].map((a) => backoffMs(a, undefined, undefined, middle))).toEqual([1000, 2000, 4000, 8000, 16_000, 512_000]);
    expect(backoffMs(11, undefined, undefined, middle)).toBe(600_000);
    expect(backoffMs(50, undefined, undefined, middle)).toBe(600_000);
  });

  test("jitter stays within ±20 %", () => {
    for (const attempt of [1, 3, 20]) {
      const exp = Math.min(600_000, 1000 * 2 ** (attempt - 1));
      expect(backoffMs(attempt, undefined, undefined, () => 0)).toBe(Math.round(exp * 0.8));
      const top = backoffMs(attempt, undefined, undefined, () => 0.999999);
      expect(top).toBeGreaterThan(exp * 1.19);
      expect(top).toBeLessThanOrEqual(exp * 1.2);
      for (let i = 0; i < 50; i++) {
        const ms = backoffMs(attempt);
        expect(ms).toBeGreaterThanOrEqual(exp * 0.8);
        expect(ms).toBeLessThanOrEqual(exp * 1.2);
      }
    }
  });
});

describe("reaping and capabilities", () => {
  test("releaseExpiredLeases returns only expired claims to the queue, without spending a retry", () => {
    const { db } = freshDeps();
    enqueueWorkOrders(db, [order({ id: "a-short" }), order({ id: "b-long" })], T0);
    claimWorkOrders(db, { workerId: "w1", limit: 1, now: T0, leaseMs: 1000 });
    claimWorkOrders(db, { workerId: "w2", limit: 1, now: T0, leaseMs: 60_000 });

    expect(releaseExpiredLeases(db, T0 + 999)).toEqual([]);
    expect(releaseExpiredLeases(db, T0 + 1000)).toEqual([{ id: "a-short", task_id: null, claimed_by: "w1" }]);
    const released = getWorkOrder(db, "a-short")!;
    expect(released).toMatchObject({ status: "queued", retry_count: 0, run_at: T0 + 1000, lease_token: null, lease_until: null });
    expect(String((released.errors[0] as { error: string }).error)).toContain("lease expired (worker w1");
    expect(getWorkOrder(db, "b-long")!.status).toBe("claimed");
    expect(claimOne(db, "w3", T0 + 1000)!.id).toBe("a-short");
  });

  test("extendLeases keeps a live lease alive, but not one that ran out or moved to another worker", () => {
    const { db } = freshDeps();
    enqueueWorkOrders(db, [order({ id: "a" }), order({ id: "b" }), order({ id: "c" })], T0);
    claimWorkOrders(db, { workerId: "w1", limit: 2, now: T0, leaseMs: 1000 }); // a, b
    claimWorkOrders(db, { workerId: "w2", limit: 1, now: T0, leaseMs: 1000 }); // c

    // w1 heartbeats at 900 ms for a and b (and claims c, which is not its own): a and b live on.
    expect(extendLeases(db, "w1", ["a", "b", "c"], T0 + 900 + 1000, T0 + 900).sort()).toEqual(["a", "b"]);
    expect(releaseExpiredLeases(db, T0 + 1500).map((r) => r.id)).toEqual(["c"]);
    expect(getWorkOrder(db, "a")).toMatchObject({ status: "claimed", lease_until: T0 + 1900 });
    // A heartbeat after the lease ran out extends nothing, even before the reaper got there.
    expect(extendLeases(db, "w1", ["a"], T0 + 3000, T0 + 1900)).toEqual([]);
    expect(releaseExpiredLeases(db, T0 + 1900).map((r) => r.id).sort()).toEqual(["a", "b"]);
    // Re-claimed by w3: w1's heartbeat cannot take it back.
    claimWorkOrders(db, { workerId: "w3", limit: 3, now: T0 + 2000, leaseMs: 1000 });
    expect(extendLeases(db, "w1", ["a", "b"], T0 + 5000, T0 + 2100)).toEqual([]);
    expect(extendLeases(db, "w3", [], T0 + 5000, T0 + 2100)).toEqual([]);
  });

  test("expireUnclaimed expires never-claimed orders past expires_at, and nothing else", () => {
    const { db } = freshDeps();
    enqueueWorkOrders(
      db,
      [order({ id: "a-stale", expiresAt: T0 + 100 }), order({ id: "b-fresh", expiresAt: T0 + 10_000 }), order({ id: "c-forever" })],
      T0,
    );
    // Past its expiry it can no longer be claimed, even before the reaper ran.
    expect(claimWorkOrders(db, { workerId: "w1", limit: 1, now: T0 + 100 }).map((o) => o.id)).toEqual(["b-fresh"]);
    expect(expireUnclaimed(db, T0 + 100)).toEqual([{ id: "a-stale", task_id: null }]);
    expect(getWorkOrder(db, "a-stale")).toMatchObject({ status: "expired", finished_at: T0 + 100, error: "expired before any worker claimed it" });
    expect(getWorkOrder(db, "b-fresh")!.status).toBe("claimed");
    expect(getWorkOrder(db, "c-forever")!.status).toBe("queued");
  });

  test("an order requiring a capability is claimed only by a worker that has it", () => {
    const { db } = freshDeps();
    enqueueWorkOrders(db, [order({ id: "gpu-job", requires: ["gpu"] }), order({ id: "two-caps", requires: ["gpu", "linux"] })], T0);
    expect(claimWorkOrders(db, { workerId: "plain", limit: 10, now: T0 })).toEqual([]);
    expect(claimWorkOrders(db, { workerId: "cpu", limit: 10, now: T0, capabilities: ["linux", "docker"] })).toEqual([]);
    const claimed = claimWorkOrders(db, { workerId: "gpu-box", limit: 10, now: T0, capabilities: ["gpu"] });
    expect(claimed.map((o) => o.id)).toEqual(["gpu-job"]);
    expect(claimOne(db, "full", T0, { capabilities: ["linux", "gpu", "docker"] })!.id).toBe("two-caps");
  });
});

describe("concurrent claimers", () => {
  test("8 threads with their own connections claim each of 10,000 orders exactly once", async () => {
    const { db, dir } = freshDeps();
    const total = 10_000;
    const ids = enqueueWorkOrders(
      db,
      Array.from({ length: total }, (_, i) => order({ payload: { i }, queue: (["high_priority", "default", "low_priority"] as const)[i % 3], runAt: 0 })),
      0,
    );
    const dbPath = join(dir, "agentvine.db");

    const threads = Array.from({ length: 8 }, () => new Worker(new URL("../../test/fixtures/claimer-thread.ts", import.meta.url).href));
    const reports = await Promise.all(
      threads.map(
        (thread, i) =>
          new Promise<ClaimerReport>((resolve, reject) => {
            thread.onmessage = (e: MessageEvent<ClaimerReport>) => resolve(e.data);
            thread.onerror = (e) => reject(new Error(`claimer ${i} crashed: ${e.message}`));
            thread.postMessage({ dbPath, workerId: `claimer-${i}` });
          }),
      ),
    ).finally(() => threads.forEach((t) => t.terminate()));

    for (const r of reports) if (!r.ok) throw new Error(`${r.workerId} failed: ${r.error}`);
    const claimedBy = new Map<string, string>();
    let claims = 0;
    for (const r of reports) {
      if (!r.ok) continue;
      for (const id of r.ids) {
        claims++;
        if (claimedBy.has(id)) throw new Error(`${id} claimed by both ${claimedBy.get(id)} and ${r.workerId}`);
        claimedBy.set(id, r.workerId);
      }
    }
    expect(claims).toBe(total);
    expect(new Set(claimedBy.keys())).toEqual(new Set(ids));

    const byStatus = db.sqlite.query<{ status: string; n: number }, []>("SELECT status, count(*) AS n FROM work_orders GROUP BY status").all();
    expect(byStatus).toEqual([{ status: "completed", n: total }]);
    // Each order was completed by the claimer that reported it.
    const holders = db.sqlite.query<{ id: string; claimed_by: string }, []>("SELECT id, claimed_by FROM work_orders").all();
    for (const h of holders) expect(h.claimed_by).toBe(claimedBy.get(h.id)!);
  });
});

describe("the claim's query plan", () => {
  test("walks work_orders_claim_idx in order, with no sort, however deep the queue", () => {
    const { db } = freshDeps();
    const now = Date.now();
    enqueueWorkOrders(
      db,
      Array.from({ length: 2000 }, (_, i) => ({ taskId: null, queue: "default" as const, payload: {}, maxRetries: 0, timeoutSeconds: 60, runAt: now - i })),
      now,
    );
    const planOf = () =>
      db.sqlite
        .query<{ detail: string }, Record<string, string | number | null>>(`EXPLAIN QUERY PLAN ${CLAIM_SQL}`)
        .all({ worker: "w", now, lease_ms: null, caps: "[]", except: "[]", limit: 10 })
        .map((r) => r.detail)
        .join("\n");
    // Without statistics (a fresh database) the planner would pick work_orders_status_idx and sort.
    expect(planOf()).toContain("USING INDEX work_orders_claim_idx");
    expect(planOf()).not.toContain("TEMP B-TREE");
    db.sqlite.run("ANALYZE");
    expect(planOf()).toContain("USING INDEX work_orders_claim_idx");
  });
});
