// The worker pool end to end: a real server on loopback, real task threads, real subprocesses.
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { openDatabase, type Db } from "../db/client.ts";
import { migrate } from "../db/migrate.ts";
import { claimTasks } from "./attempts.ts";
import { submitTasks } from "./submit.ts";
import { EventBus } from "../events/bus.ts";
import { localWorkerId } from "../server.ts";
import { cleanup, json, startTestServer, tempDir, until } from "../../test/helpers.ts";
import { liveWith, marker } from "../sandbox/testing.ts";

afterEach(cleanup);

type Server = Awaited<ReturnType<typeof startTestServer>>;
type Json = Record<string, any>;

async function submit(server: Server, body: Json): Promise<Json> {
  const res = await server.api("/tasks", json({ title: body.task_type, ...body }));
  expect(res.status).toBe(201);
  return (await res.json()) as Json;
}

/** Long-polls until the task is terminal. */
async function finished(server: Server, id: string): Promise<Json> {
  const res = await server.api(`/tasks/${id}/wait?timeout=25`);
  expect(res.status).toBe(200);
  return (await res.json()) as Json;
}

async function executionsOf(server: Server, taskId: string): Promise<Json[]> {
  const res = await server.api(`/executions?task_id=${taskId}&per_page=100`);
  expect(res.status).toBe(200);
  const items = ((await res.json()) as { items: Json[] }).items;
  return items.sort((a, b) => a.started_at.localeCompare(b.started_at) || a.attempt - b.attempt);
}

function statusesIn(db: Db, ids: string[]): string[] {
  return ids.map((id) => db.sqlite.query<{ status: string }, [string]>("SELECT status FROM tasks WHERE id = ?").get(id)!.status);
}

/** Resolves once every task is running at the same time (so each holds its own thread). */
function allRunning(server: Server, ids: string[]) {
  return until(server.services.deps.bus, ["task:changed"], () => statusesIn(server.db, ids).every((s) => s === "running"));
}


describe("timeouts and crashes", () => {
  test("a spinning task times out, its thread is replaced, and the pool keeps working", async () => {
    const server = await startTestServer();
    const spinners = await Promise.all([0, 1].map(() => submit(server, { task_type: "test_spin", timeout_seconds: 1 })));
    for (const s of spinners) {
      const done = await finished(server, s.id);
      expect(done.status).toBe("timed_out");
      expect(done.error).toBe("timed out after 1s");
      const [exec] = await executionsOf(server, s.id);
      expect(exec).toMatchObject({ status: "timed_out", error: "timed out after 1s" });
    }
    // Both threads were stuck in a loop; this can only run on a fresh one.
    const hello = await submit(server, { task_type: "hello", params: { name: "again" } });
    expect(await finished(server, hello.id)).toMatchObject({ status: "succeeded", result: { message: "Hello, again!" } });
    expect(server.services.pool!.size).toBe(2);
  });

  test("a timed-out shell task's process is killed with it", async () => {
    const server = await startTestServer();
    // Found by a marker in its command line: inside the sandbox `$$` is a pid of the sandbox's own namespace.
    const mark = marker();
    const task = await submit(server, {
      task_type: "shell",
      params: { command: "sh", args: ["-c", `echo started; exec sleep 300 ${mark}`] },
      timeout_seconds: 1,
    });
    expect(await finished(server, task.id)).toMatchObject({ status: "timed_out" });
    const [exec] = await executionsOf(server, task.id);
    const logs = (await (await server.api(`/executions/${exec!.id}/logs`)).json()) as { items: Json[] };
    expect(logs.items[0]!.message).toBe("started");
    expect(logs.items.at(-1)!.message).toBe("timed out after 1s; killed");
    // `exec` made the sleep take the shell's place: it must be gone, not left running for 300 s.
    expect(liveWith(mark)).toEqual([]);
  });

  test("a crashing thread fails its task with the crash, and the pool is whole again", async () => {
    const server = await startTestServer();
    const crashes = await Promise.all([0, 1].map(() => submit(server, { task_type: "test_crash" })));
    for (const c of crashes) {
      const done = await finished(server, c.id);
      expect(done.status).toBe("failed");
      expect(done.error).toContain("crashed");
      expect(done.error).toContain("boom from a task thread");
    }
    // Two long tasks running side by side: both threads were replaced.
    const sleepers = await Promise.all([0, 1].map(() => submit(server, { task_type: "test_sleep", params: { ms: 60_000 } })));
    await allRunning(server, sleepers.map((s) => s.id));
    expect(server.services.pool!.busyCount).toBe(2);
  });
});

describe("cancel", () => {
  test("cancelling a running task stops it, closes its execution and frees its thread", async () => {
    const server = await startTestServer();
    const task = await submit(server, { task_type: "test_sleep", params: { ms: 60_000 } });
    await allRunning(server, [task.id]);

    const res = await server.api(`/tasks/${task.id}/cancel`, { method: "POST" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "cancelled", error: "cancelled by user" });
    const [exec] = await executionsOf(server, task.id);
    expect(exec).toMatchObject({ status: "cancelled" });

    // Both threads take new work: the cancelled one did not stay busy.
    const next = await Promise.all([0, 1].map(() => submit(server, { task_type: "test_sleep", params: { ms: 60_000 } })));
    await allRunning(server, next.map((s) => s.id));
    expect((await finished(server, task.id)).status).toBe("cancelled");
    expect((await executionsOf(server, task.id)).map((e) => e.status)).toEqual(["cancelled"]);
    const order = server.db.sqlite.query<{ status: string }, [string]>("SELECT status FROM work_orders WHERE task_id = ?").get(task.id);
    expect(order!.status).toBe("cancelled");
  });
});

describe("shutdown and restart", () => {
  test("a graceful stop requeues unfinished work, and a restart runs it again", async () => {
    const server = await startTestServer();
    const dataDir = server.services.config.dataDir;
    const tasks = await Promise.all([0, 1].map(() => submit(server, { task_type: "test_sleep", params: { ms: 60_000 } })));
    const ids = tasks.map((t) => t.id);
    await allRunning(server, ids);

    expect(await server.stop(0)).toEqual({ requeued: 2 });
    const db = openDatabase(join(dataDir, "agentvine.db"));
    try {
      expect(statusesIn(db, ids)).toEqual(["queued", "queued"]);
      for (const id of ids) {
        const order = db.sqlite.query<Json, [string]>("SELECT status, retry_count, claimed_by FROM work_orders WHERE task_id = ?").get(id);
        expect(order).toMatchObject({ status: "queued", retry_count: 0 });
        const execs = db.sqlite.query<Json, [string]>("SELECT status, error FROM executions WHERE task_id = ?").all(id);
        expect(execs).toEqual([{ status: "failed", error: "server shut down before the task finished" }]);
      }
    } finally {
      db.close();
    }

    const again = await startTestServer({ dataDir });
    expect(again.recovered).toBe(0); // nothing was left claimed
    await allRunning(again, ids);
    for (const id of ids) expect((await executionsOf(again, id)).map((e) => e.status)).toEqual(["failed", "running"]);
  });

  test("a task that finishes within the grace period is recorded as succeeded; nothing new is started", async () => {
    const server = await startTestServer();
    const dataDir = server.services.config.dataDir;
    const running = await Promise.all([0, 1].map(() => submit(server, { task_type: "test_sleep", params: { ms: 500 } })));
    await allRunning(server, running.map((t) => t.id));
    const waiting = await submit(server, { task_type: "test_sleep", params: { ms: 500 } });

    expect(await server.stop(5)).toEqual({ requeued: 0 });
    const db = openDatabase(join(dataDir, "agentvine.db"));
    try {
      for (const t of running) {
        const row = db.sqlite.query<Json, [string]>("SELECT status, result FROM tasks WHERE id = ?").get(t.id)!;
        expect(row).toEqual({ status: "succeeded", result: JSON.stringify({ slept: 500 }) });
        const order = db.sqlite.query<Json, [string]>("SELECT status FROM work_orders WHERE task_id = ?").get(t.id)!;
        expect(order.status).toBe("completed");
        expect(db.sqlite.query<Json, [string]>("SELECT status FROM executions WHERE task_id = ?").all(t.id)).toEqual([{ status: "succeeded" }]);
      }
      expect(statusesIn(db, [waiting.id])).toEqual(["queued"]);
      expect(db.sqlite.query<Json, [string]>("SELECT count(*) AS n FROM executions WHERE task_id = ?").get(waiting.id)).toEqual({ n: 0 });
    } finally {
      db.close();
    }
  });

  test("work this server's threads held when it died is requeued at startup and runs to success", async () => {
    const dataDir = tempDir();
    // The previous process claimed a task for its local threads, then died without a word.
    const db = openDatabase(join(dataDir, "agentvine.db"));
    migrate(db);
    const deps = { db, bus: new EventBus() };
    const [task] = submitTasks(deps, [{ title: "survivor", task_type: "hello", params: { name: "again" }, timeout_seconds: 3600, max_retries: 0 }]);
    const [claim] = claimTasks(deps, { workerId: localWorkerId(), limit: 1 });
    expect(claim!.taskId).toBe(task!.id);
    db.close();

    const server = await startTestServer({ dataDir });
    expect(server.recovered).toBe(1);
    expect(await finished(server, task!.id)).toMatchObject({ status: "succeeded", result: { message: "Hello, again!" } });
    const execs = await executionsOf(server, task!.id);
    expect(execs.map((e) => [e.status, e.attempt])).toEqual([
      ["failed", 1],
      ["succeeded", 1],
    ]);
    expect(execs[0]!.error).toBe("the server stopped while the task ran; requeued at restart");
  });
});

describe("task logs", () => {
  test("a shell task's stdout and stderr lines land in execution_logs and the JSONL file, in order", async () => {
    const server = await startTestServer();
    const script = "for i in 1 2 3; do echo out $i; done; echo err 1 >&2; echo out 4; echo err 2 >&2";
    const task = await submit(server, { task_type: "shell", params: { command: script, shell: true } });
    expect(await finished(server, task.id)).toMatchObject({ status: "succeeded", result: { exit_code: 0 } });
    const [exec] = await executionsOf(server, task.id);

    const rows = server.db.sqlite
      .query<Json, [string]>("SELECT seq, level, message, metadata FROM execution_logs WHERE execution_id = ? ORDER BY seq")
      .all(exec!.id)
      .map((r): Json => ({ ...r, metadata: JSON.parse(r.metadata) }));
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
    const stream = (name: string) => rows.filter((r) => r.metadata?.stream === name);
    expect(stream("stdout").map((r) => [r.level, r.message])).toEqual([
      ["info", "out 1"],
      ["info", "out 2"],
      ["info", "out 3"],
      ["info", "out 4"],
    ]);
    expect(stream("stderr").map((r) => [r.level, r.message])).toEqual([
      ["warn", "err 1"],
      ["warn", "err 2"],
    ]);
    expect(rows).toHaveLength(6);
    expect(exec).toMatchObject({ log_count: 6, stdout: "out 1\nout 2\nout 3\nout 4\n", stderr: "err 1\nerr 2\n" });

    const day = exec!.started_at.slice(0, 10);
    await server.services.logger.drain(); // the JSONL copy is written off the main thread
    const file = join(server.services.config.dataDir, "logs", day, `${exec!.id}.jsonl`);
    const one = (await (await server.api(`/executions/${exec!.id}`)).json()) as Json;
    expect(one.log_file).toBe(file);
    const lines = readFileSync(file, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as Json);
    expect(lines.map(({ seq, level, message, metadata }): Json => ({ seq, level, message, metadata }))).toEqual(rows);
    for (const l of lines) expect(Number.isNaN(Date.parse(l.ts))).toBe(false);
  });
});

describe("the reserve of claimed orders", () => {
  const orderStatus = (db: Db, taskId: string) =>
    db.sqlite.query<{ status: string; claimed_by: string | null }, [string]>("SELECT status, claimed_by FROM work_orders WHERE task_id = ?").get(taskId)!;

  test("while tasks are short, orders wait claimed in memory with their tasks still queued; a cancel there runs nothing", async () => {
    // Every task counts as short here, so the reserve does not depend on how busy the machine is.
    const server = await startTestServer({ shortTaskMs: 60_000 });
    // Both threads busy for a while.
    const sleepers = await Promise.all([0, 1].map(() => submit(server, { task_type: "test_sleep", params: { ms: 60_000 } })));
    await allRunning(server, sleepers.map((s) => s.id));
    // One batch, one wake-up: the pool claims all six in one statement. (Enqueued one by one, it stops
    // refilling once it holds more than one per thread — enough to keep the threads busy.)
    const waiting = submitTasks(
      server.services.deps,
      Array.from({ length: 6 }, (_, i) => ({ title: `r${i}`, task_type: "hello", params: { name: `r${i}` }, timeout_seconds: 60, max_retries: 0 })),
    );
    // The pool claims in the microtask after the enqueue's wake-up; one turn of the loop covers it
    // (reserving publishes no event to wait on: nothing changed that a client could see).
    await new Promise((resolve) => setImmediate(resolve));
    expect(server.services.pool!.reserved).toBe(6);
    for (const t of waiting) {
      expect(orderStatus(server.db, t.id)).toEqual({ status: "claimed", claimed_by: localWorkerId() });
      expect(statusesIn(server.db, [t.id])).toEqual(["queued"]); // no thread started it: not "running"
    }

    const victim = waiting[2]!;
    expect((await server.api(`/tasks/${victim.id}/cancel`, { method: "POST" })).status).toBe(200);
    expect(server.services.pool!.reserved).toBe(5);
    for (const s of sleepers) expect((await server.api(`/tasks/${s.id}/cancel`, { method: "POST" })).status).toBe(200);

    for (const t of waiting.filter((t) => t !== victim)) expect((await finished(server, t.id)).status).toBe("succeeded");
    expect((await finished(server, victim.id)).status).toBe("cancelled");
    expect(await executionsOf(server, victim.id)).toEqual([]); // it never ran
  });

  test("long tasks get no reserve: a queued order stays unclaimed while every thread is busy", async () => {
    const server = await startTestServer();
    const sleepers = await Promise.all([0, 1].map(() => submit(server, { task_type: "test_sleep", params: { ms: 60_000 } })));
    await allRunning(server, sleepers.map((s) => s.id));
    const next = await submit(server, { task_type: "hello", params: { name: "later" } });
    // The pool reacts to the enqueue in the same turn; by the time a GET answers, it has decided.
    expect((await server.api(`/tasks/${next.id}`)).status).toBe(200);
    expect(orderStatus(server.db, next.id)).toEqual({ status: "queued", claimed_by: null });
    expect(server.services.pool!.reserved).toBe(0);
  });
});

describe("no orphaned processes", () => {
  test("stopping the server at once kills what a task started, even before the pool heard of its pid", async () => {
    const server = await startTestServer();
    const marker = `agentvine-orphan-check-${Bun.randomUUIDv7()}`;
    const task = await submit(server, { task_type: "shell", params: { command: `sleep 300; : ${marker}`, shell: true } });
    await allRunning(server, [task.id]);
    await server.stop(0);
    const found = Bun.spawnSync(["pgrep", "-f", marker]);
    expect(found.stdout.toString().trim()).toBe(""); // nothing left running
  });
});
