// /api/v1/tasks over real HTTP: a real server, SQLite file and worker threads per test.
import { afterEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TaskJson } from "../../engine/task-record.ts";
import { AWAIT_GATE, gate } from "../../../test/gate.ts";
import { cleanup, json, startTestServer, tempDir, until, startTestApp } from "../../../test/helpers.ts";
import { dataOf, openSse } from "../../../test/sse.ts";

afterEach(cleanup);

type Server = Awaited<ReturnType<typeof startTestServer>>;
type Page = { items: TaskJson[]; total: number; page: number; per_page: number };

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

async function create(server: Server, body: Record<string, unknown>): Promise<TaskJson> {
  const res = await server.api("/tasks", json(body));
  if (res.status !== 201) throw new Error(`POST /tasks answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as TaskJson;
}

const hello = (name = "world", extra: Record<string, unknown> = {}) => ({ title: `hi ${name}`, task_type: "hello", params: { name }, ...extra });
/** A task that stays queued: no local thread has the `gpu` capability. */
const parked = (extra: Record<string, unknown> = {}) => hello("parked", { requires: ["gpu"], ...extra });

async function list(server: Server, query: string): Promise<Page> {
  const res = await server.api(`/tasks?${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}
const idsOf = (page: Page) => page.items.map((t) => t.id).sort();

async function waitDone(server: Server, id: string): Promise<TaskJson> {
  const res = await server.api(`/tasks/${id}/wait?timeout=20`);
  expect(res.status).toBe(200);
  return (await res.json()) as TaskJson;
}

function statusOf(server: Server, id: string): string | undefined {
  return server.db.sqlite.query<{ status: string }, [string]>("SELECT status FROM tasks WHERE id = ?").get(id)?.status;
}

async function untilStatus(server: Server, id: string, status: string) {
  await until(server.services.deps.bus, ["task:changed"], () => statusOf(server, id) === status);
}

describe("POST /tasks", () => {
  test("answers 201 with a Location and the stored task, params completed with the type's defaults", async () => {
    const server = await startTestApp();
    const res = await server.api("/tasks", json({ title: "list files", task_type: "shell", params: { command: "ls", args: ["-l"] }, requires: ["gpu"] }));
    expect(res.status).toBe(201);
    const task = (await res.json()) as TaskJson;
    expect(typeof task.id).toBe("string");
    expect(task.id.length).toBeGreaterThan(0);
    expect(res.headers.get("location")).toBe(`/api/v1/tasks/${task.id}`);
    expect(task).toMatchObject({
      title: "list files",
      task_type: "shell",
      status: "queued",
      priority: "default",
      params: { command: "ls", args: ["-l"], shell: false, env: {} },
      depends_on: [],
      requires: ["gpu"],
      timeout_seconds: 3600,
      max_retries: 0,
      attempts: 0,
      result: null,
      error: null,
      parent_task_id: null,
      started_at: null,
      finished_at: null,
    });
    expect(task.created_at).toMatch(ISO);
    expect(task.updated_at).toMatch(ISO);
    expect(Math.abs(Date.parse(task.created_at) - Date.now())).toBeLessThan(60_000);

    // The Location answers with the same task.
    const again = await server.get(res.headers.get("location")!);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(task);

    const http = await create(server, { title: "ping", task_type: "http", params: { url: "http://example.test/" }, requires: ["gpu"] });
    expect(http.params).toEqual({ url: "http://example.test/", method: "GET", headers: {}, timeout_seconds: 30, follow_redirects: true });
  });

  test("context and metadata are stored as sent, nested structures included", async () => {
    const server = await startTestApp();
    let deep: unknown = { leaf: true };
    for (let i = 0; i < 50; i++) deep = { level: i, next: deep };
    const task = await create(server, parked({ context: { issue: "fix #7", deep }, metadata: { team: "core", tags: ["a", "b"] } }));
    expect(task.context).toEqual({ issue: "fix #7", deep });
    expect(task.metadata).toEqual({ team: "core", tags: ["a", "b"] });
    expect(((await (await server.api(`/tasks/${task.id}`)).json()) as TaskJson).context).toEqual({ issue: "fix #7", deep });
  });

  test("hello world: POST then GET /tasks/:id/wait answers succeeded with the greeting", async () => {
    const server = await startTestServer();
    const created = await create(server, { title: "hi", task_type: "hello", params: { name: "world" } });
    const done = await waitDone(server, created.id);
    expect(done.id).toBe(created.id);
    expect(done.status).toBe("succeeded");
    expect((done.result as { message: string }).message).toBe("Hello, world!");
    expect(done.attempts).toBe(1);
    expect(done.started_at).toMatch(ISO);
    expect(done.finished_at).toMatch(ISO);
  });
});

describe("concurrent submissions", () => {
  test("share a commit, yet one bad submission fails alone with its own error and the rest are stored", async () => {
    const server = await startTestApp();
    const bodies = Array.from({ length: 40 }, (_, i) => parked({ title: `batch ${i}` }));
    bodies[17] = parked({ title: "bad one", depends_on: ["no-such-task"] });
    const responses = await Promise.all(bodies.map((b) => server.api("/tasks", json(b))));
    expect(responses.map((r) => r.status)).toEqual(bodies.map((_, i) => (i === 17 ? 400 : 201)));
    const bad = (await responses[17]!.json()) as { error: { code: string; details: Array<{ field: string }> } };
    expect(bad.error.code).toBe("validation_failed");
    expect(bad.error.details[0]!.field).toBe("depends_on"); // not "tasks[17].depends_on": it failed alone
    const stored = server.db.sqlite.query<{ n: number }, []>("SELECT count(*) AS n FROM tasks WHERE title LIKE 'batch %'").get();
    expect(stored!.n).toBe(39);
    expect(server.db.sqlite.query("SELECT 1 FROM tasks WHERE title = 'bad one'").get()).toBeNull();
  });
});

describe("GET /tasks", () => {
  test("filters by one status or a comma-separated list", async () => {
    const server = await startTestApp();
    const queued = await create(server, parked({ title: "queued" }));
    const pending = await create(server, hello("p", { title: "pending", depends_on: [queued.id] }));
    const cancelled = await create(server, parked({ title: "cancelled" }));
    expect((await server.api(`/tasks/${cancelled.id}/cancel`, { method: "POST" })).status).toBe(200);
    const failed = await create(server, hello("f", { title: "failed", depends_on: [cancelled.id] }));
    expect(pending.status).toBe("pending");
    expect(failed.status).toBe("failed");

    expect(idsOf(await list(server, "status=pending"))).toEqual([pending.id]);
    expect(idsOf(await list(server, "status=failed"))).toEqual([failed.id]);
    const several = await list(server, "status=queued,cancelled");
    expect(idsOf(several)).toEqual([queued.id, cancelled.id].sort());
    expect(several.total).toBe(2);
    expect((await list(server, "status=succeeded")).total).toBe(0);
    expect((await list(server, "")).total).toBe(4);
  });

  test("filters by task_type and priority", async () => {
    const server = await startTestApp();
    const high = await create(server, parked({ priority: "high" }));
    const low = await create(server, parked({ priority: "low" }));
    const shell = await create(server, { title: "sh", task_type: "shell", params: { command: "true" }, requires: ["gpu"] });

    expect(idsOf(await list(server, "task_type=shell"))).toEqual([shell.id]);
    expect(idsOf(await list(server, "task_type=hello"))).toEqual([high.id, low.id].sort());
    expect(idsOf(await list(server, "priority=high"))).toEqual([high.id]);
    expect(idsOf(await list(server, "priority=low"))).toEqual([low.id]);
    expect(idsOf(await list(server, "priority=default"))).toEqual([shell.id]);
    expect(idsOf(await list(server, "task_type=hello&priority=default"))).toEqual([]);
  });

  test("q searches title and description, taking % and _ literally", async () => {
    const server = await startTestApp();
    const percent = await create(server, parked({ title: "50% off" }));
    await create(server, parked({ title: "50 off" }));
    const underscore = await create(server, parked({ title: "snake_case" }));
    await create(server, parked({ title: "snakeXcase" }));
    const described = await create(server, parked({ title: "plain", description: "mentions Refactor in the body" }));

    expect(idsOf(await list(server, `q=${encodeURIComponent("50%")}`))).toEqual([percent.id]);
    expect(idsOf(await list(server, "q=e_c"))).toEqual([underscore.id]);
    expect(idsOf(await list(server, "q=refactor"))).toEqual([described.id]);
    expect(idsOf(await list(server, "q=off"))).toHaveLength(2);
    expect((await list(server, "q=nothing-like-this")).total).toBe(0);
  });

  test("filters by parent_task_id", async () => {
    const server = await startTestApp();
    const parent = await create(server, parked({ title: "parent" }));
    const a = await create(server, parked({ title: "child a", parent_task_id: parent.id }));
    const b = await create(server, parked({ title: "child b", parent_task_id: parent.id }));
    await create(server, parked({ title: "unrelated" }));
    expect(a.parent_task_id).toBe(parent.id);

    const children = await list(server, `parent_task_id=${parent.id}`);
    expect(idsOf(children)).toEqual([a.id, b.id].sort());
    expect(children.total).toBe(2);
  });

  test("pages newest first with page/per_page and a total; per_page over 100 is refused", async () => {
    const server = await startTestApp();
    const created: string[] = [];
    for (let i = 0; i < 5; i++) created.push((await create(server, parked({ title: `t${i}` }))).id);
    const newestFirst = [...created].reverse();

    const first = await list(server, "per_page=2");
    expect(first).toMatchObject({ total: 5, page: 1, per_page: 2 });
    expect(first.items.map((t) => t.id)).toEqual(newestFirst.slice(0, 2));
    const second = await list(server, "page=2&per_page=2");
    expect(second.items.map((t) => t.id)).toEqual(newestFirst.slice(2, 4));
    const third = await list(server, "page=3&per_page=2");
    expect(third.items.map((t) => t.id)).toEqual(newestFirst.slice(4));
    const beyond = await list(server, "page=4&per_page=2");
    expect(beyond).toMatchObject({ items: [], total: 5, page: 4 });

    const defaults = await list(server, "");
    expect(defaults).toMatchObject({ page: 1, per_page: 20, total: 5 });

    const tooMany = await server.api("/tasks?per_page=101");
    expect(tooMany.status).toBe(400);
    const body = (await tooMany.json()) as { error: { code: string; details: Array<{ field?: string }> } };
    expect(body.error.code).toBe("validation_failed");
    expect(body.error.details.map((d) => d.field)).toContain("per_page");
  });
});

describe("GET/PATCH /tasks/:id", () => {
  test("GET returns the task with its dependencies", async () => {
    const server = await startTestApp();
    const a = await create(server, parked());
    const b = await create(server, hello("b", { depends_on: [a.id] }));
    const res = await server.api(`/tasks/${b.id}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: b.id, status: "pending", depends_on: [a.id] });
  });

  test("PATCH edits the title", async () => {
    const server = await startTestApp();
    const task = await create(server, parked({ title: "before" }));
    const res = await server.api(`/tasks/${task.id}`, { method: "PATCH", body: JSON.stringify({ title: "after", description: "now described" }) });
    expect(res.status).toBe(200);
    const patched = (await res.json()) as TaskJson;
    expect(patched).toMatchObject({ id: task.id, title: "after", description: "now described", status: "queued" });
    expect(Date.parse(patched.updated_at)).toBeGreaterThanOrEqual(Date.parse(task.updated_at));
    expect(await (await server.api(`/tasks/${task.id}`)).json()).toMatchObject({ title: "after" });
  });

  test("PATCH priority of a queued task moves its work order to that queue", async () => {
    const server = await startTestApp();
    const task = await create(server, parked());
    const queueStatus = async () => (await (await server.api("/queue/status")).json()) as { queues: Record<string, { queued: number }> };
    expect((await queueStatus()).queues.default!.queued).toBe(1);

    const res = await server.api(`/tasks/${task.id}`, { method: "PATCH", body: JSON.stringify({ priority: "high" }) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as TaskJson).priority).toBe("high");
    const after = await queueStatus();
    expect(after.queues.high_priority!.queued).toBe(1);
    expect(after.queues.default!.queued).toBe(0);
    const order = server.db.sqlite.query<{ queue: string }, [string]>("SELECT queue FROM work_orders WHERE task_id = ?").get(task.id);
    expect(order?.queue).toBe("high_priority");
  });

  test("PATCH with an unknown field or an empty body is refused and changes nothing", async () => {
    const server = await startTestApp();
    const task = await create(server, parked({ title: "unchanged" }));

    const unknown = await server.api(`/tasks/${task.id}`, { method: "PATCH", body: JSON.stringify({ title: "x", status: "succeeded" }) });
    expect(unknown.status).toBe(400);
    const unknownBody = (await unknown.json()) as { error: { code: string; details: Array<{ field?: string; message: string }> } };
    expect(unknownBody.error.code).toBe("validation_failed");
    expect(unknownBody.error.details).toContainEqual(expect.objectContaining({ field: "status", message: "unknown field" }));

    const empty = await server.api(`/tasks/${task.id}`, { method: "PATCH", body: "{}" });
    expect(empty.status).toBe(400);
    const emptyBody = (await empty.json()) as { error: { code: string; message: string } };
    expect(emptyBody.error.code).toBe("validation_failed");
    expect(emptyBody.error.message).toContain("nothing to update");

    expect(await (await server.api(`/tasks/${task.id}`)).json()).toEqual(task);
  });
});

describe("DELETE /tasks/:id", () => {
  test("deletes a finished task with its executions and log lines (204)", async () => {
    const server = await startTestServer();
    const task = await create(server, hello());
    expect((await waitDone(server, task.id)).status).toBe("succeeded");
    const executions = (await (await server.api(`/executions?task_id=${task.id}`)).json()) as { items: Array<{ id: string }> };
    expect(executions.items).toHaveLength(1);
    const executionId = executions.items[0]!.id;

    const res = await server.api(`/tasks/${task.id}`, { method: "DELETE" });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect((await server.api(`/tasks/${task.id}`)).status).toBe(404);
    expect((await server.api(`/executions/${executionId}`)).status).toBe(404);
    expect(((await (await server.api(`/executions?task_id=${task.id}`)).json()) as { total: number }).total).toBe(0);
    const logRows = server.db.sqlite.query<{ n: number }, [string]>("SELECT count(*) AS n FROM execution_logs WHERE execution_id = ?").get(executionId);
    expect(logRows?.n).toBe(0);
  });

  test("deleting a parent removes its subtasks and tells their waiters; a task outside still waiting on one blocks it", async () => {
    const server = await startTestApp();
    const parent = await create(server, parked({ title: "parent" }));
    const child = await create(server, parked({ title: "child", parent_task_id: parent.id }));
    const outsider = await create(server, parked({ title: "outsider", depends_on: [child.id] }));

    const blocked = await server.api(`/tasks/${parent.id}`, { method: "DELETE" });
    expect(blocked.status).toBe(409);
    expect(((await blocked.json()) as { error: { message: string } }).error.message).toContain(outsider.id);
    expect(statusOf(server, child.id)).toBe("queued"); // untouched by the refused delete

    expect((await server.api(`/tasks/${outsider.id}`, { method: "DELETE" })).status).toBe(204);
    const deleted: string[] = [];
    server.services.deps.bus.on("task:deleted", (e) => deleted.push(e.taskId));
    expect((await server.api(`/tasks/${parent.id}`, { method: "DELETE" })).status).toBe(204);
    expect(deleted.sort()).toEqual([parent.id, child.id].sort());
    expect((await server.api(`/tasks/${child.id}`)).status).toBe(404);
  });

  test("refuses a running task with 409 and keeps it; cancelled, it can be deleted", async () => {
    const server = await startTestServer();
    const task = await create(server, { title: "long", task_type: "test_sleep", params: { ms: 60_000 } });
    await untilStatus(server, task.id, "running");

    const res = await server.api(`/tasks/${task.id}`, { method: "DELETE" });
    expect(res.status).toBe(409);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("conflict");
    expect(body.error.message).toContain("running");
    expect((await server.api(`/tasks/${task.id}`)).status).toBe(200);

    expect((await server.api(`/tasks/${task.id}/cancel`, { method: "POST" })).status).toBe(200);
    expect((await server.api(`/tasks/${task.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await server.api(`/tasks/${task.id}`)).status).toBe(404);
  });

  test("answers 404 for an unknown task", async () => {
    const server = await startTestApp();
    const res = await server.api("/tasks/no-such-task", { method: "DELETE" });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });
});

describe("POST /tasks/:id/cancel and /retry", () => {
  test("cancel moves a queued or a pending task to cancelled", async () => {
    const server = await startTestApp();
    const queued = await create(server, parked());
    const pending = await create(server, hello("later", { depends_on: [queued.id] }));
    expect(pending.status).toBe("pending");

    const res = await server.api(`/tasks/${pending.id}/cancel`, { method: "POST" });
    expect(res.status).toBe(200);
    const cancelledPending = (await res.json()) as TaskJson;
    expect(cancelledPending).toMatchObject({ id: pending.id, status: "cancelled", error: "cancelled by user" });
    expect(cancelledPending.finished_at).toMatch(ISO);
    expect(statusOf(server, queued.id)).toBe("queued");

    const res2 = await server.api(`/tasks/${queued.id}/cancel`, { method: "POST" });
    expect(res2.status).toBe(200);
    expect(((await res2.json()) as TaskJson).status).toBe("cancelled");
    // Its work order left the queue: nothing is left for a worker to claim.
    const status = (await (await server.api("/queue/status")).json()) as { totals: Record<string, number> };
    expect(status.totals.queued).toBe(0);
    expect(status.totals.cancelled).toBe(1);
  });

  test("cancel of a finished task is a 409 and changes nothing", async () => {
    const server = await startTestServer();
    const task = await create(server, hello());
    const done = await waitDone(server, task.id);
    expect(done.status).toBe("succeeded");

    const res = await server.api(`/tasks/${task.id}/cancel`, { method: "POST" });
    expect(res.status).toBe(409);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("conflict");
    expect(body.error.message).toContain("succeeded");
    expect(await (await server.api(`/tasks/${task.id}`)).json()).toEqual(done);
  });

  test("retry puts a failed task back in the queue and it runs again", async () => {
    const server = await startTestServer();
    const marker = join(tempDir(), "ready");
    const task = await create(server, { title: "needs marker", task_type: "shell", params: { command: 'test -e "$MARKER"', shell: true, env: { MARKER: marker } } });
    const failed = await waitDone(server, task.id);
    expect(failed.status).toBe("failed");
    expect(failed.error).toContain("exited with code 1");

    writeFileSync(marker, "");
    const res = await server.api(`/tasks/${task.id}/retry`, { method: "POST" });
    expect(res.status).toBe(200);
    const retried = (await res.json()) as TaskJson;
    expect(retried).toMatchObject({ id: task.id, status: "queued", error: null, finished_at: null });

    const done = await waitDone(server, task.id);
    expect(done.status).toBe("succeeded");
    expect(done.attempts).toBe(2);
    const executions = (await (await server.api(`/executions?task_id=${task.id}`)).json()) as { items: Array<{ status: string }> };
    expect(executions.items.map((e) => e.status).sort()).toEqual(["failed", "succeeded"]);
  });

  test("retry of a succeeded task is a 409", async () => {
    const server = await startTestServer();
    const task = await create(server, hello());
    expect((await waitDone(server, task.id)).status).toBe("succeeded");
    const res = await server.api(`/tasks/${task.id}/retry`, { method: "POST" });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("conflict");
    expect(statusOf(server, task.id)).toBe("succeeded");
  });
});

describe("dependencies and waiting", () => {
  test("depends_on: B waits for A, C for B, then both run in order", async () => {
    const server = await startTestServer();
    const g = gate();
    const a = await create(server, { title: "A", task_type: "shell", params: { command: AWAIT_GATE, shell: true, env: g.env } });
    const b = await create(server, hello("B", { depends_on: [a.id] }));
    const c = await create(server, hello("C", { depends_on: [b.id] }));
    expect(b).toMatchObject({ status: "pending", depends_on: [a.id] });
    expect(c).toMatchObject({ status: "pending", depends_on: [b.id] });

    await untilStatus(server, a.id, "running");
    const stillPending = await server.api(`/tasks/${b.id}/wait?timeout=0`);
    expect(((await stillPending.json()) as TaskJson).status).toBe("pending");

    g.open();
    const doneC = await waitDone(server, c.id);
    expect(doneC.status).toBe("succeeded");
    const doneA = (await (await server.api(`/tasks/${a.id}`)).json()) as TaskJson;
    const doneB = (await (await server.api(`/tasks/${b.id}`)).json()) as TaskJson;
    expect(doneA.status).toBe("succeeded");
    expect(doneB.status).toBe("succeeded");
    expect(Date.parse(doneB.started_at!)).toBeGreaterThanOrEqual(Date.parse(doneA.finished_at!));
    expect(Date.parse(doneC.started_at!)).toBeGreaterThanOrEqual(Date.parse(doneB.finished_at!));
  });

  test("wait with timeout=0 answers at once with the current status", async () => {
    const server = await startTestApp();
    const task = await create(server, parked());
    const started = performance.now();
    const res = await server.api(`/tasks/${task.id}/wait?timeout=0`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as TaskJson).status).toBe("queued");
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe("GET /tasks/:id/events (SSE)", () => {
  test("streams task changes through to succeeded, with execution and log events", async () => {
    const server = await startTestServer();
    const g = gate();
    const task = await create(server, {
      title: "streamed",
      task_type: "shell",
      params: { command: `${AWAIT_GATE}; echo after the gate`, shell: true, env: g.env },
    });
    const { res, sse } = await openSse(`${server.url}/api/v1/tasks/${task.id}/events`, { token: server.token });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    try {
      const first = await sse.next();
      expect(first?.event).toBe("task");
      expect(dataOf<TaskJson>(first!).id).toBe(task.id);
      // The gate is still closed, so the task cannot have finished: everything below arrives live.
      if (dataOf<TaskJson>(first!).status !== "running") await sse.until((f) => f.event === "task" && dataOf<TaskJson>(f).status === "running");
      g.open();
      // Read until both the task and its execution have reported the end (their order is not part of the contract).
      let taskDone = false;
      let executionDone = false;
      const frames = await sse.until((f) => {
        if (f.event === "task" && dataOf<TaskJson>(f).status === "succeeded") taskDone = true;
        if (f.event === "execution" && dataOf<{ status: string }>(f).status === "succeeded") executionDone = true;
        return taskDone && executionDone;
      });

      const logs = frames.filter((f) => f.event === "log").map((f) => dataOf<{ message: string; level: string; seq: number }>(f));
      expect(logs).toContainEqual(expect.objectContaining({ message: "after the gate", level: "info" }));
      const logFrame = frames.find((f) => f.event === "log")!;
      expect(logFrame.id).toMatch(/^[\w-]+:\d+$/);
      const finished = frames.filter((f) => f.event === "execution").map((f) => dataOf<{ status: string; taskId: string }>(f));
      expect(finished).toContainEqual(expect.objectContaining({ status: "succeeded", taskId: task.id }));
      const last = dataOf<TaskJson>(frames.findLast((f) => f.event === "task")!);
      expect(last.result).toMatchObject({ exit_code: 0, stdout: "after the gate\n" });
    } finally {
      await sse.close();
    }
  });

  test("sends `deleted` and ends the stream when the task is deleted", async () => {
    const server = await startTestServer();
    const task = await create(server, parked());
    const { sse } = await openSse(`${server.url}/api/v1/tasks/${task.id}/events`, { token: server.token });
    try {
      expect((await sse.next())?.event).toBe("task");
      expect((await server.api(`/tasks/${task.id}`, { method: "DELETE" })).status).toBe(204);
      const rest = await sse.rest();
      expect(rest.map((f) => f.event)).toEqual(["deleted"]);
      expect(dataOf(rest[0]!)).toEqual({ id: task.id });
    } finally {
      await sse.close();
    }
  });

  test("ends with `end` once the task finishes (cancelled here), so `curl -N` returns", async () => {
    const server = await startTestServer();
    const task = await create(server, parked());
    const { sse } = await openSse(`${server.url}/api/v1/tasks/${task.id}/events`, { token: server.token });
    try {
      expect((await sse.next())?.event).toBe("task");
      expect((await server.api(`/tasks/${task.id}/cancel`, { method: "POST" })).status).toBe(200);
      const rest = await sse.rest();
      expect(rest.map((f) => f.event)).toEqual(["task", "end"]);
      expect(dataOf<TaskJson>(rest[0]!).status).toBe("cancelled");
      expect(dataOf(rest[1]!)).toEqual({ status: "cancelled" });
    } finally {
      await sse.close();
    }
  });

  test("of a task that already finished: the task, then `end`, and the stream closes", async () => {
    const server = await startTestServer();
    const task = await create(server, { title: "done", task_type: "hello", params: { name: "x" } });
    expect(((await (await server.api(`/tasks/${task.id}/wait?timeout=20`)).json()) as TaskJson).status).toBe("succeeded");
    const { sse } = await openSse(`${server.url}/api/v1/tasks/${task.id}/events`, { token: server.token });
    try {
      const frames = await sse.rest();
      expect(frames.map((f) => f.event)).toEqual(["task", "end"]);
      expect(dataOf(frames[1]!)).toEqual({ status: "succeeded" });
    } finally {
      await sse.close();
    }
  });
});

describe("API answers on a terminal", () => {
  test("JSON bodies end with a newline — successes and errors alike; pages and streams are untouched", async () => {
    const server = await startTestApp();
    for (const res of [await server.api("/tasks"), await server.api("/tasks/nope"), await server.api("/no-such-route"), await server.api("/health")]) {
      const text = await res.text();
      expect(res.headers.get("content-type")).toStartWith("application/json");
      expect(text.endsWith("}\n")).toBe(true);
      expect(() => JSON.parse(text)).not.toThrow();
    }
  });

  test("an empty filter (?task_id=) is a 400 naming it, never a filter that matches everything", async () => {
    const server = await startTestApp();
    for (const [path, field] of [
      ["/executions?task_id=", "task_id"],
      ["/tasks?status=", "status"],
      ["/tasks?page=1&q=", "q"],
      ["/executions?worker_id=%20", "worker_id"],
      ["/audit?actor=", "actor"],
    ] as const) {
      const res = await server.api(path);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string; details: Array<{ field: string }> } };
      expect(body.error.code).toBe("validation_failed");
      expect(body.error.message).toContain(`${field}: is empty`);
      expect(body.error.details.map((d) => d.field)).toEqual([field]);
    }
  });
});
