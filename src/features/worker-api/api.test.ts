// The queue over HTTP for remote workers, on a real server without local threads: claim (long-poll,
// capabilities, concurrency, secrets), complete and fail guarded by the lease, logs into the TaskLogger.
import { afterEach, describe, expect, test } from "bun:test";
import { bearer, errorOf, expectOk, send } from "../../../test/auth.ts";
import { cleanup, json, startTestApp, type TestServer } from "../../../test/helpers.ts";
import { reap } from "../../engine/control.ts";
import type { TaskJson } from "../../engine/task-record.ts";
import { SYSTEM_ACTOR } from "../audit/service.ts";
import { createApiKey } from "../auth/api-keys.ts";
import { findUserByLogin } from "../auth/users.ts";
import type { ClaimItem } from "./schemas.ts";

afterEach(cleanup);

const SECRET = "tok_5b4a39281706f9e8d7c6";
/** Secrets stay on the server unless their allow-list lets remote workers have them. */
const REMOTE_OK = { roles: ["admin"], remote_workers: true };

interface Remote {
  id: string;
  key: string;
  /** POST /api/v1/queue/<op> as this worker, with its id in the body. */
  call: (op: "claim" | "complete" | "fail" | "logs" | "report", body?: Record<string, unknown>) => Promise<Response>;
}

/** A worker key and a registered remote worker (POST /workers with that key). */
async function remoteWorker(server: TestServer, name: string, opts: { capabilities?: string[]; max_concurrent_tasks?: number } = {}): Promise<Remote> {
  const auth = server.services.auth;
  const admin = findUserByLogin(auth, "admin")!;
  // Granted what the tests' workers declare (a worker key is trusted with its grants only).
  const key = createApiKey(auth, { name: `key of ${name}`, scope: "worker", capabilities: ["git", "gpu", "node", "shell"], max_concurrent_tasks: 64 }, { userId: admin.id, actor: SYSTEM_ACTOR }).key;
  const worker = await expectOk(await server.api("/workers", bearer(key, json({ name, ...opts }))), 201);
  return {
    id: worker.id,
    key,
    call: (op, body = {}) => server.api(`/queue/${op}`, bearer(key, json({ worker_id: worker.id, ...body }))),
  };
}

async function claimed(res: Response): Promise<ClaimItem[]> {
  return (await expectOk(res)).items;
}

async function submit(server: TestServer, body: Record<string, unknown>): Promise<TaskJson> {
  return expectOk(await server.api("/tasks", json({ task_type: "hello", params: { name: "remote" }, ...body })), 201);
}

const taskOf = async (server: TestServer, id: string): Promise<TaskJson> => expectOk(await server.api(`/tasks/${id}`));
const leaseOf = (item: ClaimItem) => ({ work_order_id: item.work_order_id, lease_token: item.lease_token, execution_id: item.execution_id });

describe("POST /queue/claim", () => {
  test("hands out a queued task with its secrets resolved, leased to the worker and running", async () => {
    const server = await startTestApp({ workers: 0 });
    await expectOk(await server.api("/secrets", json({ name: "TOKEN", value: SECRET, allow: REMOTE_OK })), 201);
    const w = await remoteWorker(server, "alpha");
    const task = await submit(server, { title: "with a secret", task_type: "shell", params: { command: "echo", args: ["{{secrets.TOKEN}}"] }, timeout_seconds: 90 });

    const before = Date.now();
    const [item, ...rest] = await claimed(await w.call("claim"));
    expect(rest).toEqual([]);
    expect(item).toMatchObject({ task_id: task.id, attempt: 1, task_type: "shell", timeout_seconds: 90 });
    expect(item!.params).toMatchObject({ command: "echo", args: [SECRET] });
    // The values resolved into params: the worker's thread never cuts output inside one.
    expect(item!.secret_values).toEqual([SECRET]);
    expect(item!.lease_until).toBeGreaterThanOrEqual(before + 30_000);
    expect(item!.lease_until).toBeLessThan(Date.now() + 31_000);

    // The stored task keeps the template; it runs on the worker now.
    const stored = await taskOf(server, task.id);
    expect(stored.status).toBe("running");
    expect(stored.params).toMatchObject({ args: ["{{secrets.TOKEN}}"] });
    const execution = await expectOk(await server.api(`/executions/${item!.execution_id}`));
    expect(execution).toMatchObject({ task_id: task.id, worker_id: w.id, status: "running" });
    // Nothing else is queued.
    expect((await w.call("claim")).status).toBe(204);
  });

  test("a task naming a secret that may not leave the server is not handed to a remote worker until its allow-list says so", async () => {
    const server = await startTestApp({ workers: 0 });
    await expectOk(await server.api("/secrets", json({ name: "LOCAL", value: "stays-on-the-server" })), 201);
    const w = await remoteWorker(server, "alpha");
    const task = await submit(server, { title: "local only", task_type: "shell", params: { command: "echo", args: ["{{secrets.LOCAL}}"] } });
    expect((await w.call("claim")).status).toBe(204);
    expect((await taskOf(server, task.id)).status).toBe("queued"); // left for the server's own threads
    await expectOk(await server.api("/secrets/LOCAL", send("PUT", { allow: REMOTE_OK })));
    const [item] = await claimed(await w.call("claim"));
    expect(item).toMatchObject({ task_id: task.id, params: { args: ["stays-on-the-server"] } });
  });

  test("a task whose secret was deleted fails at the claim and is not handed out", async () => {
    const server = await startTestApp({ workers: 0 });
    await expectOk(await server.api("/secrets", json({ name: "GONE", value: "soon-deleted-value", allow: REMOTE_OK })), 201);
    const w = await remoteWorker(server, "alpha");
    const task = await submit(server, { title: "secret gone", task_type: "shell", params: { command: "echo", args: ["{{secrets.GONE}}"] } });
    expect((await server.api("/secrets/GONE", send("DELETE"))).status).toBe(204);

    expect((await w.call("claim")).status).toBe(204);
    const failed = await taskOf(server, task.id);
    expect(failed.status).toBe("failed");
    expect(failed.error).toContain("cannot resolve {{secrets.…}}");
  });

  test("a long-poll answers as soon as a task is submitted, not after wait_seconds", async () => {
    const server = await startTestApp({ workers: 0 });
    const w = await remoteWorker(server, "alpha");
    const started = performance.now();
    const pending = w.call("claim", { wait_seconds: 30 });
    await server.services.claimWaiters.untilWaiting(1);
    // Parked with nothing queued: the task below did not exist when the claim began.
    const task = await submit(server, { title: "arrives later" });
    const [item] = await claimed(await pending);
    const elapsed = performance.now() - started;
    expect(item!.task_id).toBe(task.id);
    expect(elapsed).toBeLessThan(5_000);
    expect(server.services.claimWaiters.size).toBe(0);
  });

  test("a worker has one parked long-poll: a second one answers the first at once (204) and gets the work", async () => {
    const server = await startTestApp({ workers: 0 });
    const w = await remoteWorker(server, "alpha");
    const waiters = server.services.claimWaiters;
    const first = w.call("claim", { wait_seconds: 30 });
    await waiters.untilWaiting(1);
    const started = performance.now();
    const second = w.call("claim", { wait_seconds: 30 });
    expect((await first).status).toBe(204);
    expect(performance.now() - started).toBeLessThan(5_000);
    await waiters.untilWaiting(1);
    expect(waiters.size).toBe(1);
    const task = await submit(server, { title: "for the newest poll" });
    const [item] = await claimed(await second);
    expect(item!.task_id).toBe(task.id);
  });

  test("stopping the server answers a parked long-poll with 204 instead of dropping the connection", async () => {
    const server = await startTestApp({ workers: 0 });
    const w = await remoteWorker(server, "alpha");
    const pending = w.call("claim", { wait_seconds: 30 });
    await server.services.claimWaiters.untilWaiting(1);
    await server.stop(0);
    expect((await pending).status).toBe(204);
  });

  test("204 when nothing matching comes within wait_seconds", async () => {
    const server = await startTestApp({ workers: 0 });
    const w = await remoteWorker(server, "alpha");
    const started = performance.now();
    const res = await w.call("claim", { wait_seconds: 0.3 });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  test("a task requiring a capability goes only to a worker that has it", async () => {
    const server = await startTestApp({ workers: 0 });
    const plain = await remoteWorker(server, "plain", { capabilities: ["git"] });
    const gpu = await remoteWorker(server, "gpu-box", { capabilities: ["git", "gpu"] });
    // The plain worker is waiting when the gpu task arrives: it is woken, and still not given it.
    const waiting = plain.call("claim", { wait_seconds: 0.5 });
    await server.services.claimWaiters.untilWaiting(1);
    const task = await submit(server, { title: "needs a gpu", requires: ["gpu"] });
    expect((await waiting).status).toBe(204);
    expect((await plain.call("claim", { limit: 32 })).status).toBe(204);
    const [item] = await claimed(await gpu.call("claim"));
    expect(item!.task_id).toBe(task.id);
  });

  test("a worker gets no more than max_concurrent_tasks minus what it holds; a finish frees a slot for its long-poll", async () => {
    const server = await startTestApp({ workers: 0 });
    const w = await remoteWorker(server, "pair", { max_concurrent_tasks: 2 });
    for (let i = 0; i < 4; i++) await submit(server, { title: `t${i}` });
    const first = await claimed(await w.call("claim", { limit: 32 }));
    expect(first).toHaveLength(2);
    expect((await w.call("claim", { limit: 32 })).status).toBe(204);

    // At capacity, the worker long-polls; completing one of its tasks lets that poll take the next.
    const pending = w.call("claim", { limit: 32, wait_seconds: 30 });
    await server.services.claimWaiters.untilWaiting(1);
    await expectOk(await w.call("complete", { ...leaseOf(first[0]!), result: { ok: true } }));
    const next = await claimed(await pending);
    expect(next).toHaveLength(1);
    expect(first.map((i) => i.task_id)).not.toContain(next[0]!.task_id);
    const held = server.db.sqlite.query<{ n: number }, [string]>("SELECT count(*) AS n FROM work_orders WHERE status = 'claimed' AND claimed_by = ?").get(w.id)!.n;
    expect(held).toBe(2);
  });

  test("unknown worker → 404, drained worker → 409, a worker of another key → 403", async () => {
    const server = await startTestApp({ workers: 0 });
    const w = await remoteWorker(server, "alpha");
    const other = await remoteWorker(server, "beta");
    const unknown = await server.api("/queue/claim", bearer(w.key, json({ worker_id: "no-such-worker" })));
    expect(unknown.status).toBe(404);
    const foreign = await server.api("/queue/claim", bearer(other.key, json({ worker_id: w.id })));
    expect(foreign.status).toBe(403);
    expect(await errorOf(foreign)).toMatchObject({ code: "forbidden" });
    await expectOk(await server.api(`/workers/${w.id}`, send("DELETE")));
    const drained = await w.call("claim");
    expect(drained.status).toBe(409);
    expect((await errorOf(drained)).message).toContain("draining");
  });
});

describe("POST /queue/complete and /queue/fail", () => {
  test("complete: the task succeeds with the result, secrets masked in result and output", async () => {
    const server = await startTestApp({ workers: 0 });
    await expectOk(await server.api("/secrets", json({ name: "TOKEN", value: SECRET, allow: REMOTE_OK })), 201);
    const w = await remoteWorker(server, "alpha");
    const task = await submit(server, { title: "done remotely", task_type: "shell", params: { command: "echo", args: ["{{secrets.TOKEN}}"] } });
    const [item] = await claimed(await w.call("claim"));
    const res = await w.call("complete", {
      ...leaseOf(item!),
      result: { echoed: SECRET, n: 1 },
      exit_code: 0,
      stdout: `token=${SECRET}\n`,
      stderr: SECRET.slice(4), // not the value: workers cut output only between whole values, so this is left as it is
      duration_ms: 12,
    });
    expect(await expectOk(res)).toEqual({ accepted: true });
    const done = await taskOf(server, task.id);
    expect(done.status).toBe("succeeded");
    expect(done.result).toEqual({ echoed: "***", n: 1 });
    const execution = await expectOk(await server.api(`/executions/${item!.execution_id}`));
    expect(execution).toMatchObject({ status: "succeeded", exit_code: 0, stdout: "token=***\n", duration_ms: 12 });
    expect(execution.stderr).toBe(SECRET.slice(4));
    // A second completion of the same attempt is refused: the task is not marked twice.
    expect((await w.call("complete", { ...leaseOf(item!), result: { n: 2 } })).status).toBe(409);
    expect((await taskOf(server, task.id)).result).toEqual({ echoed: "***", n: 1 });
  });

  test("fail, retryable: the task is queued again with backoff; not retryable: failed", async () => {
    const server = await startTestApp({ workers: 0 });
    const w = await remoteWorker(server, "alpha");
    const task = await submit(server, { title: "flaky", max_retries: 2 });
    const [item] = await claimed(await w.call("claim"));
    const before = Date.now();
    const body = await expectOk(await w.call("fail", { ...leaseOf(item!), error: "network down", retryable: true, exit_code: 1 }));
    expect(body.accepted).toBe(true);
    expect(body.retry_at).toBeGreaterThan(before + 500); // first backoff: ~1 s ± 20 %
    const queued = await taskOf(server, task.id);
    expect(queued.status).toBe("queued");
    expect(queued.error).toBe("network down");
    const order = server.db.sqlite.query<{ run_at: number; retry_count: number }, [string]>("SELECT run_at, retry_count FROM work_orders WHERE task_id = ?").get(task.id)!;
    expect(order).toEqual({ run_at: body.retry_at, retry_count: 1 });
    // Not claimable before its run_at; a long-poll wakes for it at that time (no polling interval).
    expect((await w.call("claim")).status).toBe(204);
    const [again] = await claimed(await w.call("claim", { wait_seconds: 10 }));
    expect(again).toMatchObject({ task_id: task.id, attempt: 2 });
    expect(Date.now()).toBeGreaterThanOrEqual(body.retry_at);

    const final = await expectOk(await w.call("fail", { ...leaseOf(again!), error: "bad params", retryable: false }));
    expect(final).toEqual({ accepted: true });
    const failed = await taskOf(server, task.id);
    expect(failed).toMatchObject({ status: "failed", error: "bad params" });
  });

  test("a completion after the lease ran out is refused at once, before the reaper requeues the order", async () => {
    const server = await startTestApp({ workers: 0, reapIntervalMs: 3_600_000 }); // the reaper stays out of it
    const a = await remoteWorker(server, "alpha");
    const task = await submit(server, { title: "lease runs out" });
    const [held] = await claimed(await a.call("claim"));
    server.db.sqlite.query("UPDATE work_orders SET lease_until = ? WHERE id = ?").run(Date.now() - 1, held!.work_order_id);
    const late = await a.call("complete", { ...leaseOf(held!), result: { by: "alpha" } });
    expect(late.status).toBe(409);
    expect((await errorOf(late)).message).toContain("its lease expired");
    // Not recorded: the task is still running until the reaper returns it to the queue.
    expect((await taskOf(server, task.id)).status).toBe("running");
    expect(reap(server.services.deps).released).toBe(1);
    expect((await taskOf(server, task.id)).status).toBe("queued");
  });

  test("a late completion after the lease expired and the work moved is refused (409); the task is recorded once", async () => {
    const server = await startTestApp({ workers: 0 });
    const a = await remoteWorker(server, "alpha");
    const b = await remoteWorker(server, "beta");
    const task = await submit(server, { title: "lease runs out" });
    const [first] = await claimed(await a.call("claim"));
    // Alpha went silent for longer than its lease (30 s without a heartbeat): the reaper returns the order.
    server.db.sqlite.query("UPDATE work_orders SET lease_until = ? WHERE id = ?").run(Date.now() - 1, first!.work_order_id);
    expect(reap(server.services.deps).released).toBe(1);
    expect((await taskOf(server, task.id)).status).toBe("queued");

    // Before anyone claims it again: alpha's result is refused, the lease expired.
    const expired = await a.call("complete", { ...leaseOf(first!), result: { by: "alpha" } });
    expect(expired.status).toBe(409);
    expect((await errorOf(expired)).message).toContain("expired");

    const [second] = await claimed(await b.call("claim"));
    expect(second).toMatchObject({ task_id: task.id, work_order_id: first!.work_order_id });
    const moved = await a.call("complete", { ...leaseOf(first!), result: { by: "alpha" } });
    expect(moved.status).toBe(409);
    expect((await errorOf(moved)).message).toContain(`moved to worker '${b.id}'`);
    await expectOk(await b.call("complete", { ...leaseOf(second!), result: { by: "beta" } }));

    const done = await taskOf(server, task.id);
    expect(done).toMatchObject({ status: "succeeded", result: { by: "beta" } });
    const executions = server.db.sqlite
      .query<{ worker_id: string; status: string }, [string]>("SELECT worker_id, status FROM executions WHERE task_id = ? ORDER BY started_at, id")
      .all(task.id);
    expect(executions).toEqual([
      { worker_id: a.id, status: "failed" },
      { worker_id: b.id, status: "succeeded" },
    ]);
  });

  test("an earlier attempt's execution id cannot close the current attempt, even with the current lease token (409)", async () => {
    const server = await startTestApp({ workers: 0 });
    const a = await remoteWorker(server, "alpha");
    const task = await submit(server, { title: "claimed twice" });
    const [first] = await claimed(await a.call("claim"));
    server.db.sqlite.query("UPDATE work_orders SET lease_until = ? WHERE id = ?").run(Date.now() - 1, first!.work_order_id);
    expect(reap(server.services.deps).released).toBe(1);
    const [second] = await claimed(await a.call("claim"));
    expect(second).toMatchObject({ work_order_id: first!.work_order_id });
    expect(second!.execution_id).not.toBe(first!.execution_id);

    const stale = await a.call("complete", { ...leaseOf(second!), execution_id: first!.execution_id, result: { via: "old execution" } });
    expect(stale.status).toBe(409);
    expect((await errorOf(stale)).message).toContain("earlier attempt");
    expect((await taskOf(server, task.id)).status).toBe("running");
    const report = await expectOk(await a.call("report", { outcomes: [{ ...leaseOf(second!), execution_id: first!.execution_id, status: "succeeded" }] }));
    expect(report.outcomes[0]).toMatchObject({ accepted: false });

    await expectOk(await a.call("complete", { ...leaseOf(second!), result: { via: "current execution" } }));
    expect(await taskOf(server, task.id)).toMatchObject({ status: "succeeded", result: { via: "current execution" } });
  });

  test("another worker cannot complete or fail an execution it does not hold (409); the holder still can", async () => {
    const server = await startTestApp({ workers: 0 });
    const a = await remoteWorker(server, "alpha");
    const b = await remoteWorker(server, "beta");
    const task = await submit(server, { title: "alpha's" });
    const [item] = await claimed(await a.call("claim"));
    const stolen = await b.call("complete", { ...leaseOf(item!), result: { by: "beta" } });
    expect(stolen.status).toBe(409);
    expect((await errorOf(stolen)).message).toContain(`not worker '${b.id}''s attempt`);
    expect((await b.call("fail", { ...leaseOf(item!), error: "nope" })).status).toBe(409);
    expect((await taskOf(server, task.id)).status).toBe("running");
    await expectOk(await a.call("complete", { ...leaseOf(item!), result: { by: "alpha" } }));
    expect(await taskOf(server, task.id)).toMatchObject({ status: "succeeded", result: { by: "alpha" } });
  });

  test("the holder's late result after a cancel is refused with the reason", async () => {
    const server = await startTestApp({ workers: 0 });
    const a = await remoteWorker(server, "alpha");
    const task = await submit(server, { title: "cancelled meanwhile" });
    const [item] = await claimed(await a.call("claim"));
    await expectOk(await server.api(`/tasks/${task.id}/cancel`, send("POST")));
    const res = await a.call("complete", { ...leaseOf(item!), result: {} });
    expect(res.status).toBe(409);
    expect((await errorOf(res)).message).toContain("cancelled");
    expect((await taskOf(server, task.id)).status).toBe("cancelled");
  });
});

describe("POST /queue/logs", () => {
  test("lines go to the execution's log, masked; lines of an execution not held refuse the whole batch", async () => {
    const server = await startTestApp({ workers: 0 });
    await expectOk(await server.api("/secrets", json({ name: "TOKEN", value: SECRET, allow: REMOTE_OK })), 201);
    const a = await remoteWorker(server, "alpha");
    const b = await remoteWorker(server, "beta");
    await submit(server, { title: "one" });
    await submit(server, { title: "two" });
    const [mine] = await claimed(await a.call("claim"));
    const [theirs] = await claimed(await b.call("claim"));
    const ts = Date.now();
    const res = await a.call("logs", {
      lines: [
        { execution_id: mine!.execution_id, level: "info", message: "starting", ts },
        { execution_id: mine!.execution_id, level: "warn", message: `using ${SECRET}`, metadata: { token: SECRET }, ts: ts + 1 },
      ],
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 2 });
    const logs = await expectOk(await server.api(`/executions/${mine!.execution_id}/logs`));
    expect(logs.items.map((l: { level: string; message: string; metadata: unknown }) => [l.level, l.message, l.metadata])).toEqual([
      ["info", "starting", null],
      ["warn", "using ***", { token: "***" }],
    ]);

    const refused = await a.call("logs", {
      lines: [
        { execution_id: mine!.execution_id, level: "info", message: "fine", ts },
        { execution_id: theirs!.execution_id, level: "info", message: "not mine", ts },
      ],
    });
    expect(refused.status).toBe(409);
    expect((await errorOf(refused)).message).toContain(theirs!.execution_id);
    // All or nothing: neither line was stored.
    expect((await expectOk(await server.api(`/executions/${mine!.execution_id}/logs`))).items).toHaveLength(2);
    expect((await expectOk(await server.api(`/executions/${theirs!.execution_id}/logs`))).items).toHaveLength(0);

    // Once the execution is finished, its lines are refused too.
    await expectOk(await a.call("complete", { ...leaseOf(mine!), result: {} }));
    expect((await a.call("logs", { lines: [{ execution_id: mine!.execution_id, level: "info", message: "late", ts }] })).status).toBe(409);
  });
});

describe("log lines with a time out of range", () => {
  test("a line whose ts is past the end of the Date range is refused (400), nothing stored", async () => {
    const server = await startTestApp({ workers: 0 });
    const a = await remoteWorker(server, "alpha");
    await submit(server, { title: "one" });
    const [item] = await claimed(await a.call("claim"));
    const lines = [
      { execution_id: item!.execution_id, level: "info", message: "innocent", ts: Date.now() },
      { execution_id: item!.execution_id, level: "info", message: "evil", ts: 9e15 },
    ];
    const viaLogs = await a.call("logs", { lines });
    expect(viaLogs.status).toBe(400);
    expect(JSON.stringify(await errorOf(viaLogs))).toContain("ts");
    expect((await a.call("report", { logs: lines })).status).toBe(400);
    expect((await expectOk(await server.api(`/executions/${item!.execution_id}/logs`))).items).toEqual([]);
  });

  test("a line the logger cannot date is kept at the server's time and loses no other line; the server stops cleanly", async () => {
    const server = await startTestApp({ workers: 0 });
    const a = await remoteWorker(server, "alpha", { max_concurrent_tasks: 2 });
    await submit(server, { title: "one" });
    await submit(server, { title: "two" });
    const [one, two] = await claimed(await a.call("claim", { limit: 2 }));
    const logger = server.services.logger;
    const ts = Date.now();
    // Straight into the TaskLogger (the API refuses such a line): 9e15 ms is no Date.
    logger.append(one!.execution_id, one!.task_id, [["info", "innocent line", null, ts]]);
    logger.append(two!.execution_id, two!.task_id, [["info", "evil", null, 9e15], ["info", "after the evil one", null, ts]]);
    expect(() => logger.flush()).not.toThrow();
    const messages = async (id: string) => (await expectOk(await server.api(`/executions/${id}/logs`))).items.map((l: { message: string }) => l.message);
    expect(await messages(one!.execution_id)).toEqual(["innocent line"]);
    // The undatable line is kept, at the server's time of arrival.
    expect(await messages(two!.execution_id)).toEqual(["evil", "after the evil one"]);
    logger.append(one!.execution_id, one!.task_id, [["info", "evil again", null, 9e15]]);
    await server.stop(0);
  });
});

describe("POST /queue/report", () => {
  const logsOf = async (server: TestServer, executionId: string) =>
    (await expectOk(await server.api(`/executions/${executionId}/logs`))).items.map((l: { message: string }) => l.message);

  test("logs first, then every outcome in one go: a moved lease is refused with its reason, the others recorded; masked", async () => {
    const server = await startTestApp({ workers: 0 });
    await expectOk(await server.api("/secrets", json({ name: "TOKEN", value: SECRET, allow: REMOTE_OK })), 201);
    const a = await remoteWorker(server, "alpha", { max_concurrent_tasks: 4 });
    const b = await remoteWorker(server, "beta");
    const ok = await submit(server, { title: "ok" });
    const flaky = await submit(server, { title: "flaky", max_retries: 2 });
    const moved = await submit(server, { title: "moved" });
    const items = await claimed(await a.call("claim", { limit: 3 }));
    const by = (task: TaskJson) => items.find((i) => i.task_id === task.id)!;
    // Alpha's lease on `moved` ran out and beta took it.
    server.db.sqlite.query("UPDATE work_orders SET lease_until = ? WHERE id = ?").run(Date.now() - 1, by(moved).work_order_id);
    expect(reap(server.services.deps).released).toBe(1);
    const [again] = await claimed(await b.call("claim"));
    expect(again!.task_id).toBe(moved.id);

    const ts = Date.now();
    const before = Date.now();
    const res = await a.call("report", {
      logs: [
        { execution_id: by(ok).execution_id, level: "info", message: `using ${SECRET}`, ts },
        { execution_id: by(flaky).execution_id, level: "warn", message: "retrying soon", ts },
        { execution_id: by(ok).execution_id, level: "info", message: "done", ts: ts + 1 },
      ],
      outcomes: [
        { ...leaseOf(by(ok)), status: "succeeded", result: { echoed: SECRET }, stdout: `${SECRET}\n`, exit_code: 0, duration_ms: 5 },
        { ...leaseOf(by(moved)), status: "succeeded", result: { by: "alpha" } },
        { ...leaseOf(by(flaky)), status: "failed", error: "network down", retryable: true },
      ],
    });
    const body = await expectOk(res);
    expect(body.logs).toEqual({ accepted: 3, refused: [] });
    expect(body.outcomes.map((o: { execution_id: string; accepted: boolean }) => [o.execution_id, o.accepted])).toEqual([
      [by(ok).execution_id, true],
      [by(moved).execution_id, false],
      [by(flaky).execution_id, true],
    ]);
    expect(body.outcomes[1].reason).toContain(`moved to worker '${b.id}'`);
    expect(body.outcomes[2].retry_at).toBeGreaterThan(before + 500);

    // The lines were stored before the outcome closed the execution, masked.
    expect(await logsOf(server, by(ok).execution_id)).toEqual(["using ***", "done"]);
    expect(await logsOf(server, by(flaky).execution_id)).toEqual(["retrying soon"]);
    expect(await taskOf(server, ok.id)).toMatchObject({ status: "succeeded", result: { echoed: "***" } });
    expect(await expectOk(await server.api(`/executions/${by(ok).execution_id}`))).toMatchObject({ status: "succeeded", stdout: "***\n", duration_ms: 5 });
    expect(await taskOf(server, flaky.id)).toMatchObject({ status: "queued", error: "network down" });
    // Beta's attempt was untouched and still completes.
    expect((await taskOf(server, moved.id)).status).toBe("running");
    await expectOk(await b.call("report", { outcomes: [{ ...leaseOf(again!), status: "succeeded", result: { by: "beta" } }] }));
    expect(await taskOf(server, moved.id)).toMatchObject({ status: "succeeded", result: { by: "beta" } });
    // As if one at a time: the success reset alpha's count of failures in a row, the failure after it counts.
    expect(server.db.sqlite.query<{ n: number }, [string]>("SELECT consecutive_failures AS n FROM workers WHERE id = ?").get(a.id)!.n).toBe(1);
  });

  test("lines of an execution the worker does not hold are refused for that execution only", async () => {
    const server = await startTestApp({ workers: 0 });
    const a = await remoteWorker(server, "alpha");
    const b = await remoteWorker(server, "beta");
    await submit(server, { title: "one" });
    await submit(server, { title: "two" });
    const [mine] = await claimed(await a.call("claim"));
    const [theirs] = await claimed(await b.call("claim"));
    const ts = Date.now();
    const body = await expectOk(
      await a.call("report", {
        logs: [
          { execution_id: mine!.execution_id, level: "info", message: "mine", ts },
          { execution_id: theirs!.execution_id, level: "info", message: "not mine", ts },
          { execution_id: "no-such-execution", level: "info", message: "unknown", ts },
        ],
      }),
    );
    expect(body).toEqual({ outcomes: [], logs: { accepted: 1, refused: [theirs!.execution_id, "no-such-execution"] } });
    expect(await logsOf(server, mine!.execution_id)).toEqual(["mine"]);
    expect(await logsOf(server, theirs!.execution_id)).toEqual([]);
    // Someone else's outcome in a report is refused, and recorded nowhere.
    const stolen = await expectOk(await a.call("report", { outcomes: [{ ...leaseOf(theirs!), status: "succeeded" }] }));
    expect(stolen.outcomes[0]).toMatchObject({ accepted: false, reason: expect.stringContaining(`not worker '${a.id}''s attempt`) });
    expect(server.db.sqlite.query<{ status: string }, [string]>("SELECT status FROM executions WHERE id = ?").get(theirs!.execution_id)!.status).toBe("running");
  });

  test("past 1,000 log lines or 256 outcomes, or a failure without its error, the request is refused (400) and nothing stored", async () => {
    const server = await startTestApp({ workers: 0 });
    const a = await remoteWorker(server, "alpha");
    await submit(server, { title: "one" });
    const [item] = await claimed(await a.call("claim"));
    const lines = (n: number) => Array.from({ length: n }, (_, i) => ({ execution_id: item!.execution_id, level: "info", message: `l${i}`, ts: 1 }));
    const outcomes = (n: number) => Array.from({ length: n }, () => ({ ...leaseOf(item!), status: "succeeded" }));
    for (const body of [{ logs: lines(1001) }, { outcomes: outcomes(257) }, { outcomes: [{ ...leaseOf(item!), status: "failed" }] }]) {
      const res = await a.call("report", body);
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe("validation_failed");
    }
    // The claim refuses a report past the limits too, and claims nothing.
    expect((await a.call("claim", { report: { logs: lines(1001) } })).status).toBe(400);
    expect(await logsOf(server, item!.execution_id)).toEqual([]);
    expect((await taskOf(server, item!.task_id)).status).toBe("running");
    // At the limits it is fine.
    expect((await expectOk(await a.call("report", { logs: lines(1000) }))).logs).toEqual({ accepted: 1000, refused: [] });
  });

  test("a claim carrying a report delivers it first and answers it, even when no work came (200, not 204)", async () => {
    const server = await startTestApp({ workers: 0 });
    const a = await remoteWorker(server, "alpha", { max_concurrent_tasks: 1 });
    const first = await submit(server, { title: "first" });
    const second = await submit(server, { title: "second" });
    const [item] = await claimed(await a.call("claim"));
    expect(item!.task_id).toBe(first.id);
    // At capacity: only the outcome in the report frees the slot the claim then fills.
    const res = await expectOk(
      await a.call("claim", {
        report: { logs: [{ execution_id: item!.execution_id, level: "info", message: "bye", ts: 1 }], outcomes: [{ ...leaseOf(item!), status: "succeeded", result: { n: 1 } }] },
      }),
    );
    expect(res.report).toEqual({ outcomes: [{ execution_id: item!.execution_id, accepted: true }], logs: { accepted: 1, refused: [] } });
    expect(res.items.map((i: ClaimItem) => i.task_id)).toEqual([second.id]);
    expect(await taskOf(server, first.id)).toMatchObject({ status: "succeeded", result: { n: 1 } });
    expect(await logsOf(server, item!.execution_id)).toEqual(["bye"]);

    const last = await expectOk(await a.call("claim", { report: { outcomes: [{ ...leaseOf(res.items[0]), status: "succeeded" }] } }));
    expect(last).toEqual({ items: [], report: { outcomes: [{ execution_id: res.items[0].execution_id, accepted: true }], logs: { accepted: 0, refused: [] } } });

    // A drained worker's claim is refused before its report is stored: the worker sends it again alone.
    await submit(server, { title: "third" });
    const [third] = await claimed(await a.call("claim"));
    await expectOk(await server.api(`/workers/${a.id}`, send("DELETE")));
    const drained = await a.call("claim", { report: { outcomes: [{ ...leaseOf(third!), status: "succeeded" }] } });
    expect(drained.status).toBe(409);
  });
});

describe("POST /queue/enqueue", () => {
  test("an operator submits a batch in one go; a bad task refuses the batch and names it", async () => {
    const server = await startTestApp({ workers: 0 });
    const w = await remoteWorker(server, "alpha", { max_concurrent_tasks: 4 });
    const body = await expectOk(
      await server.api("/queue/enqueue", json({ tasks: [{ title: "a", task_type: "hello", params: { name: "a" } }, { title: "b", task_type: "hello", params: { name: "b" }, priority: "high" }] })),
      201,
    );
    expect(body.items.map((t: TaskJson) => [t.title, t.status])).toEqual([
      ["a", "queued"],
      ["b", "queued"],
    ]);
    const items = await claimed(await w.call("claim", { limit: 32 }));
    expect(items.map((i) => i.params.name)).toEqual(["b", "a"]); // high priority first

    const bad = await server.api("/queue/enqueue", json({ tasks: [{ title: "ok", task_type: "hello", params: { name: "ok" } }, { title: "bad", task_type: "hello", params: {} }] }));
    expect(bad.status).toBe(400);
    const { error } = (await bad.json()) as { error: { message: string; details: Array<{ field: string }> } };
    expect(error.message).toContain("tasks[1]");
    expect(error.details[0]!.field).toStartWith("tasks[1].params");
    const count = server.db.sqlite.query<{ n: number }, []>("SELECT count(*) AS n FROM tasks").get()!.n;
    expect(count).toBe(2);
  });
});
