// A parent task (a plan run) following its children, with the engine alone and a hand-driven clock:
// its status in the same transaction as theirs, cancel cascading to every unfinished step, retry.
import { afterEach, describe, expect, test } from "bun:test";
import type { TaskStatus } from "../db/schema.ts";
import { cleanup, freshDeps } from "../../test/helpers.ts";
import { cancelTask, retryTask } from "./control.ts";
import { claimTasks, finishExecutions, type Claim } from "./attempts.ts";
import { submitTasks, type NewTask } from "./submit.ts";
import { type EngineDeps } from "./engine-deps.ts";
import { parentOutcome } from "./parent-status.ts";
import { getTaskRecord } from "./task-record.ts";

afterEach(cleanup);

const T0 = 1_700_000_000_000;

/** A run: parent `plan` task plus one hello child per step; `after` maps a step to the steps it waits for. */
function startRun(deps: EngineDeps, steps: Record<string, string[]>, params: Record<string, Record<string, unknown>> = {}) {
  const parentId = Bun.randomUUIDv7();
  const ids = Object.fromEntries(Object.keys(steps).map((name) => [name, Bun.randomUUIDv7()]));
  const parent: NewTask = {
    id: parentId,
    title: "run",
    task_type: "plan",
    params: { plan_id: "p", plan_name: "p", version: 1, inputs: {} },
    timeout_seconds: 60,
    max_retries: 0,
  };
  const children: NewTask[] = Object.entries(steps).map(([name, after]) => ({
    id: ids[name],
    title: name,
    task_type: "hello",
    params: params[name] ?? { name },
    depends_on: after.map((a) => ids[a]!),
    parent_task_id: parentId,
    timeout_seconds: 60,
    max_retries: 0,
    metadata: { plan_step: name, plan_run_id: parentId },
  }));
  submitTasks(deps, [parent, ...children]);
  return { parentId, ids: ids as Record<string, string> };
}

function engine() {
  const fresh = freshDeps();
  let time = T0;
  const deps: EngineDeps = { db: fresh.db, bus: fresh.bus, clock: () => time };
  const changes: Array<{ taskId: string; status: TaskStatus }> = [];
  fresh.bus.on("task:changed", (e) => changes.push({ taskId: e.taskId, status: e.status }));
  // A claim leases every ready order at once: keep the ones not asked for yet.
  const held = new Map<string, Claim>();
  return {
    deps,
    changes,
    advance: (ms: number) => (time += ms),
    status: (id: string) => getTaskRecord(fresh.db, id)!.status,
    claim: (taskId: string): Claim => {
      for (const c of claimTasks(deps, { workerId: "w1", limit: 100 })) held.set(c.taskId, c);
      const claim = held.get(taskId);
      if (!claim) throw new Error(`task ${taskId} was not claimable`);
      held.delete(taskId);
      return claim;
    },
  };
}

describe("parentOutcome", () => {
  const child = (step: string, status: TaskStatus, extra: { error?: string; result?: unknown } = {}) => ({
    id: `id-${step}`,
    step,
    status,
    error: extra.error ?? null,
    result: extra.result === undefined ? null : JSON.stringify(extra.result),
  });

  test("running while any child is unfinished, even when one has failed", () => {
    for (const active of ["pending", "queued", "running", "waiting_input"] as const) {
      expect(parentOutcome([child("a", "failed", { error: "x" }), child("b", active)]).status).toBe("running");
    }
  });

  test("succeeded when all did, with each step's result by name", () => {
    expect(parentOutcome([child("a", "succeeded", { result: { n: 1 } }), child("b", "succeeded")])).toEqual({
      status: "succeeded",
      result: { steps: { a: { n: 1 }, b: null } },
      error: null,
    });
  });

  test("failed naming the root causes before the steps that failed because of them", () => {
    const out = parentOutcome([
      child("a", "succeeded"),
      child("b", "failed", { error: "dependency x failed: boom" }),
      child("c", "timed_out", { error: "timed out" }),
      child("d", "cancelled", { error: "cancelled by user" }),
    ]);
    expect(out).toEqual({ status: "failed", result: null, error: "3 of 4 steps did not succeed: c timed_out (timed out); d cancelled (cancelled by user)" });
    const many = parentOutcome(Array.from({ length: 7 }, (_, i) => child(`s${i}`, "failed", { error: "e" })));
    expect(many.error).toEndWith("s4 failed (e); and 2 more");
  });
});

describe("a run's parent with the engine alone", () => {
  test("is running from the start, and succeeds in the transaction of its last step", () => {
    const e = engine();
    const { parentId, ids } = startRun(e.deps, { a: [], b: ["a"] });
    expect(getTaskRecord(e.deps.db, parentId)).toMatchObject({ status: "running", started_at: T0 });
    expect(e.status(ids.a!)).toBe("queued");
    expect(e.status(ids.b!)).toBe("pending");
    // The parent itself is never queued: only its steps have work orders.
    expect(e.deps.db.sqlite.query("SELECT 1 FROM work_orders WHERE task_id = ?").get(parentId)).toBeNull();

    finishExecutions(e.deps, [{ claim: e.claim(ids.a!), kind: "succeeded", result: { message: "A" } }]);
    expect(e.status(parentId)).toBe("running");
    e.advance(10);
    finishExecutions(e.deps, [{ claim: e.claim(ids.b!), kind: "succeeded", result: { message: "B" } }]);
    expect(getTaskRecord(e.deps.db, parentId)).toMatchObject({
      status: "succeeded",
      finished_at: T0 + 10,
      result: { steps: { a: { message: "A" }, b: { message: "B" } } },
    });
    expect(e.changes.filter((c) => c.taskId === parentId).map((c) => c.status)).toEqual(["running", "succeeded"]);
  });

  test("cancel: the parent and every unfinished step end cancelled — pending ones too, not failed by the step before", () => {
    const e = engine();
    const { parentId, ids } = startRun(e.deps, { done: [], run: ["done"], next: ["run"], last: ["next"] });
    finishExecutions(e.deps, [{ claim: e.claim(ids.done!), kind: "succeeded", result: {} }]);
    const running = e.claim(ids.run!);
    const cancelRequested: string[] = [];
    e.deps.bus.on("task:cancel_requested", (p) => cancelRequested.push(p.taskId));

    const parent = cancelTask(e.deps, parentId);
    expect(parent).toMatchObject({ status: "cancelled", error: "cancelled by user" });
    expect(e.status(ids.done!)).toBe("succeeded");
    for (const step of ["run", "next", "last"]) {
      expect(getTaskRecord(e.deps.db, ids[step]!)).toMatchObject({ status: "cancelled", error: `cancelled by user (parent task ${parentId} cancelled)` });
    }
    expect(cancelRequested).toEqual([ids.run!]);
    // The running step's late result is refused and changes nothing.
    const [late] = finishExecutions(e.deps, [{ claim: running, kind: "succeeded", result: {} }]);
    expect(late!.accepted).toBe(false);
    expect(e.status(ids.run!)).toBe("cancelled");
    expect(e.status(parentId)).toBe("cancelled");
  });

  test("cancel still fails a task outside the run that waits on one of its steps", () => {
    const e = engine();
    const { parentId, ids } = startRun(e.deps, { a: [] });
    const [outside] = submitTasks(e.deps, [{ title: "outside", task_type: "hello", params: { name: "o" }, depends_on: [ids.a!], timeout_seconds: 60, max_retries: 0 }]);
    cancelTask(e.deps, parentId);
    expect(getTaskRecord(e.deps.db, outside!.id)).toMatchObject({ status: "failed", error: `dependency ${ids.a} cancelled` });
  });

  test("retry of a cancelled run: ready steps are queued, the others wait as pending, and the run can succeed", () => {
    const e = engine();
    const { parentId, ids } = startRun(e.deps, { a: [], b: ["a"], c: ["b"] });
    e.claim(ids.a!);
    cancelTask(e.deps, parentId);
    e.changes.length = 0;

    expect(retryTask(e.deps, parentId)).toMatchObject({ status: "running", error: null, finished_at: null });
    expect([e.status(ids.a!), e.status(ids.b!), e.status(ids.c!)]).toEqual(["queued", "pending", "pending"]);
    expect(e.changes).toEqual(
      expect.arrayContaining([
        { taskId: parentId, status: "running" },
        { taskId: ids.a!, status: "queued" },
        { taskId: ids.b!, status: "pending" },
        { taskId: ids.c!, status: "pending" },
      ]),
    );
    for (const step of ["a", "b", "c"]) finishExecutions(e.deps, [{ claim: e.claim(ids[step]!), kind: "succeeded", result: { step } }]);
    expect(getTaskRecord(e.deps.db, parentId)).toMatchObject({ status: "succeeded", result: { steps: { a: { step: "a" }, b: { step: "b" }, c: { step: "c" } } } });
    expect(getTaskRecord(e.deps.db, ids.a!)!.attempts).toBe(2);
  });

  test("retry of a failed run re-runs the failed step and revives the steps that failed because of it", () => {
    const e = engine();
    const { parentId, ids } = startRun(e.deps, { a: [], b: ["a"], side: [] });
    finishExecutions(e.deps, [{ claim: e.claim(ids.side!), kind: "succeeded", result: {} }]);
    finishExecutions(e.deps, [{ claim: e.claim(ids.a!), kind: "failed", error: "boom" }]);
    expect(getTaskRecord(e.deps.db, ids.b!)).toMatchObject({ status: "failed", error: `dependency ${ids.a} failed: boom` });
    expect(getTaskRecord(e.deps.db, parentId)).toMatchObject({ status: "failed", error: "2 of 3 steps did not succeed: a failed (boom)" });

    retryTask(e.deps, parentId);
    expect([e.status(ids.a!), e.status(ids.b!), e.status(ids.side!)]).toEqual(["queued", "pending", "succeeded"]);
    expect(getTaskRecord(e.deps.db, ids.b!)!.error).toBeNull();
    finishExecutions(e.deps, [{ claim: e.claim(ids.a!), kind: "succeeded", result: {} }]);
    finishExecutions(e.deps, [{ claim: e.claim(ids.b!), kind: "succeeded", result: {} }]);
    expect(e.status(parentId)).toBe("succeeded");
  });

  test("retry of a step whose {{steps…}} template cannot be resolved fails it again, and its dependants with it", () => {
    const e = engine();
    const { parentId, ids } = startRun(e.deps, { a: [], b: ["a"], c: ["b"] }, { b: { name: "{{steps.a.result.missing}}" } });
    finishExecutions(e.deps, [{ claim: e.claim(ids.a!), kind: "succeeded", result: { present: 1 } }]);
    const error = "cannot resolve params: {{steps.a.result.missing}}: the value has no 'missing'";
    expect(getTaskRecord(e.deps.db, ids.b!)).toMatchObject({ status: "failed", error });
    expect(e.status(parentId)).toBe("failed");

    retryTask(e.deps, parentId);
    // Not queued with the template text: failed again with the reason, and the run with it.
    expect(getTaskRecord(e.deps.db, ids.b!)).toMatchObject({ status: "failed", error, params: { name: "{{steps.a.result.missing}}" } });
    expect(getTaskRecord(e.deps.db, ids.c!)).toMatchObject({ status: "failed", error: `dependency ${ids.b} failed: ${error}` });
    expect(e.status(parentId)).toBe("failed");
    expect(e.deps.db.sqlite.query("SELECT 1 FROM work_orders WHERE task_id = ?").get(ids.b!)).toBeNull();
  });

  test("retry of a step whose template resolves now queues it with the values filled in", () => {
    const e = engine();
    const { parentId, ids } = startRun(e.deps, { a: [], b: ["a"] }, { b: { name: "{{steps.a.result.who}}" } });
    finishExecutions(e.deps, [{ claim: e.claim(ids.a!), kind: "succeeded", result: { who: "Ada" } }]);
    expect(e.status(ids.b!)).toBe("queued");
    cancelTask(e.deps, ids.b!); // cancelled while queued: its params were already resolved
    expect(e.status(parentId)).toBe("failed");
    retryTask(e.deps, ids.b!);
    const claim = e.claim(ids.b!);
    expect(claim.params).toEqual({ name: "Ada" });
    finishExecutions(e.deps, [{ claim, kind: "succeeded", result: {} }]);
    expect(e.status(parentId)).toBe("succeeded");
  });
});
