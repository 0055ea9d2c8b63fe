// The task lifecycle against a real SQLite file: rows of tasks, work orders and executions, and the events.
import { afterEach, describe, expect, test } from "bun:test";
import { openDatabase, type Db } from "../db/client.ts";
import type { EventMap, EventName } from "../events/bus.ts";
import { AppError } from "../errors.ts";
import { getWorkOrderOfTask } from "../../test/work-order-rows.ts";
import { cleanup, freshDeps } from "../../test/helpers.ts";
import { cancelTask, reap, releaseWorker, retryTask } from "./control.ts";
import { claimTasks, finishExecutions, type Claim, type Outcome } from "./attempts.ts";
import { submitTasks, type NewTask } from "./submit.ts";
import { type EngineDeps } from "./engine-deps.ts";
import { getTaskRecord } from "./task-record.ts";

const readers: Db[] = [];
afterEach(async () => {
  while (readers.length) readers.pop()!.close();
  await cleanup();
});

const T0 = 1_700_000_000_000;
const EVENTS: EventName[] = ["task:changed", "task:cancel_requested", "execution:started", "execution:finished", "queue:ready"];

/** Engine deps with a hand-driven clock, every event recorded, and a second connection to read what was committed. */
function engine() {
  const fresh = freshDeps();
  let time = T0;
  const deps: EngineDeps = { db: fresh.db, bus: fresh.bus, clock: () => time };
  const reader = openDatabase(fresh.db.path);
  readers.push(reader);
  const events: Array<{ event: EventName; payload: any; committedStatus?: string | null }> = [];
  for (const event of EVENTS) {
    fresh.bus.on(event, (payload: EventMap[typeof event]) => {
      // What another connection sees while the listener runs: proves the event came after the commit.
      const taskId = (payload as { taskId?: string }).taskId;
      const committedStatus = taskId ? (readStatus(reader, taskId) ?? null) : undefined;
      events.push({ event, payload, committedStatus });
    });
  }
  return {
    deps,
    db: fresh.db,
    events,
    advance: (ms: number) => (time += ms),
    now: () => time,
    /** Events since the last call. */
    take() {
      return events.splice(0);
    },
  };
}

function readStatus(db: Db, taskId: string): string | undefined {
  return db.sqlite.query<{ status: string }, [string]>("SELECT status FROM tasks WHERE id = ?").get(taskId)?.status;
}

const task = (overrides: Partial<NewTask> = {}): NewTask => ({
  title: "a task",
  task_type: "hello",
  params: { name: "world" },
  timeout_seconds: 60,
  max_retries: 0,
  ...overrides,
});

function execution(db: Db, id: string) {
  return db.sqlite.query<Record<string, any>, [string]>("SELECT * FROM executions WHERE id = ?").get(id)!;
}

function count(db: Db, table: string): number {
  return db.sqlite.query<{ n: number }, []>(`SELECT count(*) AS n FROM ${table}`).get()!.n;
}

const succeed = (claim: Claim, result: unknown = { ok: true }): Outcome => ({ claim, kind: "succeeded", result });
const fail = (claim: Claim, error = "boom", extra: Partial<Outcome> = {}): Outcome => ({ claim, kind: "failed", error, ...extra });

function claimOf(e: ReturnType<typeof engine>, taskId: string, workerId = "w1", extra: { leaseMs?: number } = {}): Claim {
  const claims = claimTasks(e.deps, { workerId, limit: 100, ...extra });
  const claim = claims.find((c) => c.taskId === taskId);
  if (!claim) throw new Error(`task ${taskId} was not claimed (claimed: ${claims.map((c) => c.taskId).join(", ") || "nothing"})`);
  return claim;
}

function expectAppError(fn: () => unknown, status: number, code: string): AppError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(status as never);
    expect((err as AppError).code).toBe(code as never);
    return err as AppError;
  }
  throw new Error(`expected an AppError ${status}, nothing was thrown`);
}

describe("a task's way through", () => {
  test("submit queues the task and its work order, and announces both after the commit", () => {
    const e = engine();
    const [t] = submitTasks(e.deps, [task({ priority: "high", requires: ["gpu"], timeout_seconds: 30, max_retries: 2 })]);
    expect(t).toMatchObject({ status: "queued", attempts: 0, created_at: T0, requires: ["gpu"] });
    expect(getWorkOrderOfTask(e.db, t!.id)).toMatchObject({
      status: "queued",
      queue: "high_priority",
      priority: 0,
      payload: { task_type: "hello", params: { name: "world" } },
      requires: ["gpu"],
      max_retries: 2,
      timeout_seconds: 30,
      run_at: T0,
    });
    expect(e.take()).toEqual([
      { event: "task:changed", payload: expect.objectContaining({ taskId: t!.id, status: "queued", taskType: "hello" }), committedStatus: "queued" },
      { event: "queue:ready", payload: { count: 1 }, committedStatus: undefined },
    ]);
  });

  test("claim leases the order, opens an execution and marks the task running", () => {
    const e = engine();
    const [t] = submitTasks(e.deps, [task()]);
    e.take();
    e.advance(5);
    const claim = claimOf(e, t!.id);
    expect(claim).toMatchObject({ taskId: t!.id, workerId: "w1", attempt: 1, taskType: "hello", params: { name: "world" }, timeoutSeconds: 60 });

    expect(getTaskRecord(e.db, t!.id)).toMatchObject({ status: "running", attempts: 1, started_at: T0 + 5 });
    expect(getWorkOrderOfTask(e.db, t!.id)).toMatchObject({ status: "claimed", claimed_by: "w1", lease_token: claim.leaseToken });
    expect(execution(e.db, claim.executionId)).toMatchObject({ status: "running", attempt: 1, worker_id: "w1", task_id: t!.id, started_at: T0 + 5 });
    const assignment = e.db.sqlite.query<Record<string, any>, []>("SELECT * FROM worker_assignments").all();
    expect(assignment).toEqual([expect.objectContaining({ worker_id: "w1", execution_id: claim.executionId, released_at: null })]);

    const events = e.take();
    expect(events.map((x) => [x.event, x.payload.status, x.committedStatus])).toEqual([
      ["task:changed", "running", "running"],
      ["execution:started", "running", "running"],
    ]);
    expect(events[1]!.payload).toMatchObject({ executionId: claim.executionId, taskId: t!.id, workerId: "w1", attempt: 1 });
  });

  test("a success completes the order, the execution and the task with its result", () => {
    const e = engine();
    const [t] = submitTasks(e.deps, [task()]);
    const claim = claimOf(e, t!.id);
    e.take();
    e.advance(100);
    const [res] = finishExecutions(e.deps, [{ ...succeed(claim, { message: "hi" }), exitCode: 0, durationMs: 99 }]);
    expect(res).toEqual({ executionId: claim.executionId, accepted: true, taskStatus: "succeeded" });

    expect(getTaskRecord(e.db, t!.id)).toMatchObject({ status: "succeeded", result: { message: "hi" }, error: null, finished_at: T0 + 100 });
    expect(getWorkOrderOfTask(e.db, t!.id)).toMatchObject({ status: "completed", result: { message: "hi" }, finished_at: T0 + 100 });
    expect(execution(e.db, claim.executionId)).toMatchObject({ status: "succeeded", exit_code: 0, duration_ms: 99, finished_at: T0 + 100 });
    expect(e.db.sqlite.query("SELECT released_at, outcome FROM worker_assignments").all()).toEqual([{ released_at: T0 + 100, outcome: "succeeded" }]);
    expect(e.take().map((x) => [x.event, x.payload.status, x.committedStatus])).toEqual([
      ["execution:finished", "succeeded", "succeeded"],
      ["task:changed", "succeeded", "succeeded"],
    ]);
  });

  test("a failure with retries left requeues the task after a backoff; the next claim is attempt 2", () => {
    const e = engine();
    const [t] = submitTasks(e.deps, [task({ max_retries: 1 })]);
    const first = claimOf(e, t!.id);
    e.take();
    const [res] = finishExecutions(e.deps, [fail(first, "flaky")]);
    expect(res!.taskStatus).toBe("queued");
    expect(getTaskRecord(e.db, t!.id)).toMatchObject({ status: "queued", error: "flaky", finished_at: null });
    const order = getWorkOrderOfTask(e.db, t!.id)!;
    expect(order).toMatchObject({ status: "queued", retry_count: 1 });
    // Attempt 1's backoff: 1 s ± 20 %.
    expect(order.run_at - T0).toBeGreaterThanOrEqual(800);
    expect(order.run_at - T0).toBeLessThanOrEqual(1200);
    expect(execution(e.db, first.executionId)).toMatchObject({ status: "failed", error: "flaky" });
    expect(e.take().map((x) => [x.event, x.payload.status ?? x.payload.count])).toEqual([
      ["execution:finished", "failed"],
      ["task:changed", "queued"],
      ["queue:ready", 1],
    ]);

    expect(claimTasks(e.deps, { workerId: "w1", limit: 1 })).toEqual([]); // still backing off
    e.advance(1200);
    const second = claimOf(e, t!.id);
    expect(second.attempt).toBe(2);
    expect(getTaskRecord(e.db, t!.id)!.attempts).toBe(2);
    finishExecutions(e.deps, [fail(second, "flaky again")]);
    expect(getTaskRecord(e.db, t!.id)).toMatchObject({ status: "failed", error: "flaky again" });
    expect(getWorkOrderOfTask(e.db, t!.id)!.status).toBe("dead");
  });

  test("a non-retryable failure and a timeout are final", () => {
    const e = engine();
    const [a, b] = submitTasks(e.deps, [task({ max_retries: 3 }), task({ max_retries: 3 })]);
    const claims = claimTasks(e.deps, { workerId: "w1", limit: 2 });
    const ca = claims.find((c) => c.taskId === a!.id)!;
    const cb = claims.find((c) => c.taskId === b!.id)!;
    finishExecutions(e.deps, [fail(ca, "invalid params", { retryable: false }), { claim: cb, kind: "timed_out", error: "timed out after 60s" }]);
    expect(getTaskRecord(e.db, a!.id)!.status).toBe("failed");
    expect(getWorkOrderOfTask(e.db, a!.id)!.status).toBe("failed");
    // A timeout spends a retry like any failure; with the budget left it is requeued.
    expect(getTaskRecord(e.db, b!.id)!.status).toBe("queued");
    expect(execution(e.db, cb.executionId)).toMatchObject({ status: "timed_out", error: "timed out after 60s" });

    const e2 = engine();
    const [c] = submitTasks(e2.deps, [task({ max_retries: 0 })]);
    finishExecutions(e2.deps, [{ claim: claimOf(e2, c!.id), kind: "timed_out" }]);
    expect(getTaskRecord(e2.db, c!.id)).toMatchObject({ status: "timed_out", error: "timed out" });
    expect(getWorkOrderOfTask(e2.db, c!.id)!.status).toBe("dead");
  });
});

describe("stale outcomes", () => {
  test("a result arriving after cancel is refused; the task, order and execution stay cancelled", () => {
    const e = engine();
    const [t] = submitTasks(e.deps, [task()]);
    const claim = claimOf(e, t!.id);
    e.take();

    const cancelled = cancelTask(e.deps, t!.id);
    expect(cancelled).toMatchObject({ status: "cancelled", error: "cancelled by user" });
    expect(getWorkOrderOfTask(e.db, t!.id)).toMatchObject({ status: "cancelled", lease_token: null });
    expect(execution(e.db, claim.executionId)).toMatchObject({ status: "cancelled", error: "cancelled by user" });
    const events = e.take();
    expect(events.map((x) => x.event)).toContain("task:cancel_requested");
    expect(events.find((x) => x.event === "task:cancel_requested")!.payload).toEqual({
      taskId: t!.id,
      workOrderId: claim.workOrderId,
      claimedBy: "w1",
    });
    expect(events.find((x) => x.event === "task:changed")).toMatchObject({ payload: { status: "cancelled" }, committedStatus: "cancelled" });
    // Whoever tails the execution learns it is over.
    expect(events.find((x) => x.event === "execution:finished")?.payload).toMatchObject({ executionId: claim.executionId, status: "cancelled" });

    const [res] = finishExecutions(e.deps, [succeed(claim, "too late")]);
    expect(res).toEqual({ executionId: claim.executionId, accepted: false });
    expect(getTaskRecord(e.db, t!.id)).toMatchObject({ status: "cancelled", result: null });
    expect(getWorkOrderOfTask(e.db, t!.id)).toMatchObject({ status: "cancelled", result: null });
    expect(execution(e.db, claim.executionId).status).toBe("cancelled");
    expect(e.take().filter((x) => x.event === "task:changed")).toEqual([]);
  });

  test("a result from a holder whose lease was reaped and re-claimed is refused; the new holder's counts", () => {
    const e = engine();
    const [t] = submitTasks(e.deps, [task()]);
    const old = claimOf(e, t!.id, "w1", { leaseMs: 1000 });
    e.take();

    e.advance(1000);
    expect(reap(e.deps)).toEqual({ released: 1, expired: 0 });
    expect(getTaskRecord(e.db, t!.id)!.status).toBe("queued");
    expect(execution(e.db, old.executionId)).toMatchObject({ status: "failed", error: expect.stringContaining("lease expired") });
    expect(e.take().map((x) => [x.event, x.payload.status ?? x.payload.count])).toEqual([
      ["execution:finished", "failed"],
      ["task:changed", "queued"],
      ["queue:ready", 1],
    ]);

    const fresh = claimOf(e, t!.id, "w2");
    expect(fresh.attempt).toBe(1); // a lost lease does not spend a retry
    expect(finishExecutions(e.deps, [succeed(old, "stale")])).toEqual([{ executionId: old.executionId, accepted: false }]);
    expect(getTaskRecord(e.db, t!.id)).toMatchObject({ status: "running", result: null });
    expect(getWorkOrderOfTask(e.db, t!.id)).toMatchObject({ status: "claimed", claimed_by: "w2", lease_token: fresh.leaseToken });
    expect(execution(e.db, fresh.executionId).status).toBe("running");

    expect(finishExecutions(e.deps, [succeed(fresh, "fresh")])[0]!.accepted).toBe(true);
    expect(getTaskRecord(e.db, t!.id)).toMatchObject({ status: "succeeded", result: "fresh" });
  });

  test("a refused outcome closes an execution still marked running", () => {
    const e = engine();
    const [t] = submitTasks(e.deps, [task()]);
    const old = claimOf(e, t!.id, "w1");
    // The order moved to another worker without the lifecycle closing w1's execution (e.g. a queue-level release).
    e.db.sqlite.run("UPDATE work_orders SET claimed_by = 'w2', lease_token = 'another' WHERE id = ?", [old.workOrderId]);
    e.take();
    expect(finishExecutions(e.deps, [fail(old, "late")])[0]!.accepted).toBe(false);
    expect(execution(e.db, old.executionId)).toMatchObject({ status: "failed", error: expect.stringContaining("result refused") });
    expect(execution(e.db, old.executionId).finished_at).toBe(T0);
    expect(getWorkOrderOfTask(e.db, t!.id)).toMatchObject({ status: "claimed", claimed_by: "w2", retry_count: 0 });
    expect(e.take().map((x) => [x.event, x.payload.status])).toEqual([["execution:finished", "failed"]]);
  });
});

describe("dependencies", () => {
  function diamond(e: ReturnType<typeof engine>) {
    const [a, b] = submitTasks(e.deps, [task({ id: "A", title: "A" }), task({ id: "B", title: "B" })]);
    const [c, d] = submitTasks(e.deps, [task({ id: "C", depends_on: ["A", "B"] }), task({ id: "D", depends_on: ["C"] })]);
    return { a: a!, b: b!, c: c!, d: d! };
  }

  test("a dependant waits as pending until every dependency succeeded, then is queued", () => {
    const e = engine();
    const { c, d } = diamond(e);
    expect([c.status, d.status]).toEqual(["pending", "pending"]);
    expect(getWorkOrderOfTask(e.db, "C")).toBeUndefined();
    const claims = claimTasks(e.deps, { workerId: "w1", limit: 10 });
    expect(claims.map((x) => x.taskId).sort()).toEqual(["A", "B"]);
    e.take();

    finishExecutions(e.deps, [succeed(claims.find((x) => x.taskId === "A")!)]);
    expect(getTaskRecord(e.db, "C")!.status).toBe("pending");
    expect(getWorkOrderOfTask(e.db, "C")).toBeUndefined();
    expect(e.take().some((x) => x.event === "queue:ready")).toBe(false);

    finishExecutions(e.deps, [succeed(claims.find((x) => x.taskId === "B")!)]);
    expect(getTaskRecord(e.db, "C")!.status).toBe("queued");
    expect(getWorkOrderOfTask(e.db, "C")!.status).toBe("queued");
    expect(getTaskRecord(e.db, "D")!.status).toBe("pending");
    const events = e.take();
    expect(events.find((x) => x.event === "task:changed" && x.payload.taskId === "C")).toMatchObject({ payload: { status: "queued" }, committedStatus: "queued" });
    expect(events.at(-1)).toMatchObject({ event: "queue:ready", payload: { count: 1 } });
    expect(claimTasks(e.deps, { workerId: "w1", limit: 10 }).map((x) => x.taskId)).toEqual(["C"]);
  });

  test("when a dependency fails for good, its dependants fail transitively with an error naming it", () => {
    const e = engine();
    diamond(e);
    const claims = claimTasks(e.deps, { workerId: "w1", limit: 10 });
    e.take();
    finishExecutions(e.deps, [fail(claims.find((x) => x.taskId === "A")!, "disk full")]);

    for (const id of ["C", "D"]) {
      const t = getTaskRecord(e.db, id)!;
      expect(t.status).toBe("failed");
      expect(t.error).toContain("dependency A");
      expect(t.error).toContain("disk full");
      expect(t.finished_at).toBe(T0);
      expect(getWorkOrderOfTask(e.db, id)).toBeUndefined();
    }
    expect(getTaskRecord(e.db, "B")!.status).toBe("running");
    const failed = e.take().filter((x) => x.event === "task:changed" && x.payload.status === "failed");
    expect(failed.map((x) => [x.payload.taskId, x.committedStatus])).toEqual([
      ["A", "failed"],
      ["C", "failed"],
      ["D", "failed"],
    ]);
    // B succeeding later does not resurrect C.
    finishExecutions(e.deps, [succeed(claims.find((x) => x.taskId === "B")!)]);
    expect(getTaskRecord(e.db, "C")!.status).toBe("failed");

    // A task submitted on top of a failed one fails at once.
    const [late] = submitTasks(e.deps, [task({ depends_on: ["C"] })]);
    expect(late).toMatchObject({ status: "failed", error: "dependency C ended failed" });
  });

  test("cancelling a dependency fails its pending dependants", () => {
    const e = engine();
    diamond(e);
    cancelTask(e.deps, "B");
    expect(getTaskRecord(e.db, "B")!.status).toBe("cancelled");
    expect(getWorkOrderOfTask(e.db, "B")!.status).toBe("cancelled");
    expect(getTaskRecord(e.db, "C")).toMatchObject({ status: "failed", error: "dependency B cancelled" });
    expect(getTaskRecord(e.db, "D")!.status).toBe("failed");
    expect(getTaskRecord(e.db, "A")!.status).toBe("queued");
  });

  test("depends_on an unknown id is a 400 and nothing of the batch is written", () => {
    const e = engine();
    submitTasks(e.deps, [task({ id: "A" })]);
    e.take();
    const tables = ["tasks", "work_orders", "task_dependencies", "executions"];
    const before = tables.map((t) => count(e.db, t));
    const err = expectAppError(
      () => submitTasks(e.deps, [task({ id: "ok", depends_on: ["A"] }), task({ id: "bad", depends_on: ["A", "nope"] })]),
      400,
      "validation_failed",
    );
    expect(err.message).toContain("nope");
    expect(err.details).toEqual([{ field: "tasks[1].depends_on", message: "no task with id 'nope'" }]);
    expect(tables.map((t) => count(e.db, t))).toEqual(before);
    expect(getTaskRecord(e.db, "ok")).toBeUndefined();
    expect(e.take()).toEqual([]);
  });

  test("dependencies may name earlier tasks of the same batch", () => {
    const e = engine();
    const [first, second] = submitTasks(e.deps, [task({ id: "first" }), task({ id: "second", depends_on: ["first"] })]);
    expect([first!.status, second!.status]).toEqual(["queued", "pending"]);
    expect(e.db.sqlite.query("SELECT task_id, depends_on_id FROM task_dependencies").all()).toEqual([{ task_id: "second", depends_on_id: "first" }]);
  });
});

describe("cancel and retry", () => {
  test("cancel of a queued task cancels its order; cancel of a finished task is a 409", () => {
    const e = engine();
    const [t] = submitTasks(e.deps, [task()]);
    e.take();
    cancelTask(e.deps, t!.id, "not needed");
    expect(getTaskRecord(e.db, t!.id)).toMatchObject({ status: "cancelled", error: "not needed", finished_at: T0 });
    expect(getWorkOrderOfTask(e.db, t!.id)!.status).toBe("cancelled");
    // Nobody held it, so nobody is asked to stop.
    expect(e.take().map((x) => x.event)).toEqual(["task:changed"]);
    expect(claimTasks(e.deps, { workerId: "w1", limit: 1 })).toEqual([]);
    expectAppError(() => cancelTask(e.deps, t!.id), 409, "conflict");
    expectAppError(() => cancelTask(e.deps, "missing"), 404, "not_found");
  });

  test("retry of a failed task queues it again with a fresh retry budget", () => {
    const e = engine();
    const [t] = submitTasks(e.deps, [task({ max_retries: 1 })]);
    finishExecutions(e.deps, [fail(claimOf(e, t!.id), "one")]);
    e.advance(5000);
    finishExecutions(e.deps, [fail(claimOf(e, t!.id), "two")]);
    expect(getTaskRecord(e.db, t!.id)!.status).toBe("failed");
    expect(getWorkOrderOfTask(e.db, t!.id)!.status).toBe("dead");
    e.take();

    e.advance(1);
    const retried = retryTask(e.deps, t!.id);
    expect(retried).toMatchObject({ status: "queued", error: null, result: null, finished_at: null });
    expect(getWorkOrderOfTask(e.db, t!.id)).toMatchObject({ status: "queued", retry_count: 0, run_at: e.now(), error: null });
    expect(e.take().map((x) => [x.event, x.payload.status ?? x.payload.count, x.committedStatus])).toEqual([
      ["task:changed", "queued", "queued"],
      ["queue:ready", 1, undefined],
    ]);
    const third = claimOf(e, t!.id);
    expect(third.attempt).toBe(1);
    finishExecutions(e.deps, [succeed(third, "finally")]);
    expect(getTaskRecord(e.db, t!.id)).toMatchObject({ status: "succeeded", attempts: 3, result: "finally" });
  });

  test("retry of a succeeded, queued or unknown task is refused", () => {
    const e = engine();
    const [done, waiting] = submitTasks(e.deps, [task(), task()]);
    finishExecutions(e.deps, [succeed(claimOf(e, done!.id))]);
    const before = getTaskRecord(e.db, done!.id);
    expect(expectAppError(() => retryTask(e.deps, done!.id), 409, "conflict").message).toContain("succeeded");
    expect(getTaskRecord(e.db, done!.id)).toEqual(before);
    expect(getWorkOrderOfTask(e.db, done!.id)!.status).toBe("completed");
    expectAppError(() => retryTask(e.deps, waiting!.id), 409, "conflict");
    expectAppError(() => retryTask(e.deps, "missing"), 404, "not_found");
  });

  test("retrying a failed dependency runs the dependants that failed because of it again", () => {
    const e = engine();
    submitTasks(e.deps, [task({ id: "A" }), task({ id: "B" })]);
    submitTasks(e.deps, [task({ id: "C", depends_on: ["A"] }), task({ id: "D", depends_on: ["C"] }), task({ id: "AB", depends_on: ["A", "B"] })]);
    const claims = claimTasks(e.deps, { workerId: "w1", limit: 2 });
    const of = (id: string) => claims.find((c) => c.taskId === id)!;
    finishExecutions(e.deps, [fail(of("A"), "broken"), fail(of("B"), "also broken")]);
    expect(["C", "D", "AB"].map((id) => getTaskRecord(e.db, id)!.status)).toEqual(["failed", "failed", "failed"]);
    e.take();

    retryTask(e.deps, "A");
    expect(getTaskRecord(e.db, "C")).toMatchObject({ status: "pending", error: null, finished_at: null });
    expect(getTaskRecord(e.db, "D")).toMatchObject({ status: "pending", error: null });
    // AB still has a failed dependency (B): it stays failed rather than waiting forever.
    expect(getTaskRecord(e.db, "AB")!.status).toBe("failed");
    expect(e.take().filter((x) => x.event === "task:changed").map((x) => [x.payload.taskId, x.payload.status, x.committedStatus])).toEqual([
      ["A", "queued", "queued"],
      ["C", "pending", "pending"],
      ["D", "pending", "pending"],
    ]);

    finishExecutions(e.deps, [succeed(claimOf(e, "A"))]);
    finishExecutions(e.deps, [succeed(claimOf(e, "C"))]);
    finishExecutions(e.deps, [succeed(claimOf(e, "D"))]);
    expect(["A", "C", "D"].map((id) => getTaskRecord(e.db, id)!.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
  });
});

describe("releasing and reaping", () => {
  test("releaseWorker requeues only the named orders of that worker, without spending a retry", () => {
    const e = engine();
    const [a, b, c] = submitTasks(e.deps, [task(), task(), task()]);
    const mine = claimTasks(e.deps, { workerId: "w1", limit: 2 });
    const theirs = claimTasks(e.deps, { workerId: "w2", limit: 1 });
    expect(theirs.map((x) => x.taskId)).toEqual([c!.id]);
    const keep = mine.find((x) => x.taskId === b!.id)!;
    const give = mine.find((x) => x.taskId === a!.id)!;
    e.take();

    expect(releaseWorker(e.deps, "w1", "draining", [give.workOrderId])).toBe(1);
    expect(getTaskRecord(e.db, a!.id)!.status).toBe("queued");
    expect(getWorkOrderOfTask(e.db, a!.id)).toMatchObject({ status: "queued", retry_count: 0, errors: [expect.objectContaining({ error: "draining" })] });
    expect(execution(e.db, give.executionId)).toMatchObject({ status: "failed", error: "draining" });
    expect(getTaskRecord(e.db, b!.id)!.status).toBe("running");
    expect(e.take().map((x) => [x.event, x.payload.taskId ?? x.payload.count])).toEqual([
      ["execution:finished", a!.id],
      ["task:changed", a!.id],
      ["queue:ready", 1],
    ]);

    expect(releaseWorker(e.deps, "w1", "restarted")).toBe(1);
    expect(getTaskRecord(e.db, b!.id)!.status).toBe("queued");
    expect(execution(e.db, keep.executionId).status).toBe("failed");
    expect(getTaskRecord(e.db, c!.id)!.status).toBe("running");
    expect(claimTasks(e.deps, { workerId: "w3", limit: 5 }).map((x) => x.attempt)).toEqual([1, 1]);
  });

  test("reap fails tasks nobody claimed before they expired, and their dependants", () => {
    const e = engine();
    submitTasks(e.deps, [task({ id: "E", expires_at: T0 + 1000 }), task({ id: "keep" })]);
    submitTasks(e.deps, [task({ id: "after-E", depends_on: ["E"] })]);
    expect(reap(e.deps)).toEqual({ released: 0, expired: 0 });
    e.advance(1000);
    e.take();
    expect(reap(e.deps)).toEqual({ released: 0, expired: 1 });
    expect(getTaskRecord(e.db, "E")).toMatchObject({ status: "failed", error: "expired before any worker claimed it", finished_at: T0 + 1000 });
    expect(getWorkOrderOfTask(e.db, "E")!.status).toBe("expired");
    expect(getTaskRecord(e.db, "after-E")).toMatchObject({ status: "failed", error: "dependency E expired" });
    expect(getTaskRecord(e.db, "keep")!.status).toBe("queued");
    expect(e.take().map((x) => [x.payload.taskId, x.payload.status, x.committedStatus])).toEqual([
      ["E", "failed", "failed"],
      ["after-E", "failed", "failed"],
    ]);
  });
});
