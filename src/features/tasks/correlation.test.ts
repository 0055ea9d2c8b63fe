// The correlation id: taken from X-Correlation-Id (or the request id), stored on the task, carried by its
// work order to a thread or a remote worker, inherited by a plan's steps, kept by a retry, searchable,
// shown on the task page — and on every server log line about the task and the request.
import { afterEach, describe, expect, test } from "bun:test";
import { Writable } from "node:stream";
import type { TaskJson } from "../../engine/task-record.ts";
import { configureLogging } from "../../log.ts";
import { SYSTEM_ACTOR } from "../audit/service.ts";
import { createApiKey } from "../auth/api-keys.ts";
import { findUserByLogin } from "../auth/users.ts";
import { cleanup, json, startTestApp, startTestServer, type TestServer } from "../../../test/helpers.ts";
import { createPlan, helloStep, waitTask } from "../../../test/plans.ts";

afterEach(async () => {
  await cleanup();
  configureLogging({ level: "warn", format: "json" });
});

/** The server log, as JSON objects, from now on. */
function captureLog() {
  let text = "";
  configureLogging({
    level: "debug",
    format: "json",
    destination: new Writable({
      write(chunk, _encoding, done) {
        text += String(chunk);
        done();
      },
    }),
  });
  return () => text.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
}

async function submit(server: TestServer, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await server.api("/tasks", { ...json(body), headers });
  expect(res.status).toBe(201);
  return { res, task: (await res.json()) as TaskJson };
}

const hello = (name: string, extra: Record<string, unknown> = {}) => ({ title: `hi ${name}`, task_type: "hello", params: { name }, ...extra });

describe("correlation ids", () => {
  test("X-Correlation-Id is stored on the task, echoed, searchable, and on the log lines of the request and of the task's end", async () => {
    const lines = captureLog();
    const server = await startTestServer();
    const { res, task } = await submit(server, hello("a"), { "x-correlation-id": "deploy-42" });
    expect(res.headers.get("x-correlation-id")).toBe("deploy-42");
    expect(task.correlation_id).toBe("deploy-42");
    await submit(server, hello("other"));
    expect((await waitTask(server, task.id)).status).toBe("succeeded");

    const found = (await (await server.api("/tasks?correlation_id=deploy-42")).json()) as { items: TaskJson[]; total: number };
    expect(found.total).toBe(1);
    expect(found.items[0]!.id).toBe(task.id);

    const requestId = res.headers.get("x-request-id");
    const access = lines().find((l) => l.scope === "http" && l.method === "POST" && l.req_id === requestId);
    expect(access).toMatchObject({ correlation_id: "deploy-42", route: "/api/v1/tasks", status: 201, level: 20 }); // access lines are debug
    const end = lines().find((l) => l.scope === "tasks" && l.task_id === task.id && l.status === "succeeded");
    expect(end).toMatchObject({ correlation_id: "deploy-42", task_type: "hello", level: 30 });
    // Every line about the task (created, started, finished) carries its correlation id.
    const about = lines().filter((l) => l.task_id === task.id);
    expect(about.length).toBeGreaterThanOrEqual(3);
    expect(about.every((l) => l.correlation_id === "deploy-42")).toBe(true);
  });

  test("without the header the request id is the correlation id; one that is not a plain token is ignored", async () => {
    const server = await startTestApp();
    const first = await submit(server, hello("b"));
    expect(first.task.correlation_id).toBe(first.res.headers.get("x-request-id")!);
    const odd = await submit(server, hello("c"), { "x-correlation-id": 'has "quotes" and spaces' });
    expect(odd.task.correlation_id).toBe(odd.res.headers.get("x-request-id")!);
  });

  test("a plan run's steps carry the run's correlation id; a retry keeps the task's", async () => {
    const server = await startTestServer();
    await createPlan(server, { name: "two", steps: [helloStep("one"), helloStep("two")] });
    const res = await server.api("/plans/two/run", { method: "POST", headers: { "x-correlation-id": "nightly-7" } });
    const run = (await res.json()) as TaskJson;
    expect(run.correlation_id).toBe("nightly-7");
    expect((await waitTask(server, run.id)).status).toBe("succeeded");
    const steps = (await (await server.api("/tasks?correlation_id=nightly-7")).json()) as { items: TaskJson[] };
    expect(steps.items.map((t) => t.id).sort()).toEqual([run.id, ...steps.items.filter((t) => t.parent_task_id === run.id).map((t) => t.id)].sort());
    expect(steps.items).toHaveLength(3);

    const { task } = await submit(server, { title: "bad", task_type: "shell", params: { command: "false" } }, { "x-correlation-id": "first-try" });
    expect((await waitTask(server, task.id)).status).toBe("failed");
    const retried = await server.api(`/tasks/${task.id}/retry`, { method: "POST", headers: { "x-correlation-id": "second-try" } });
    expect(((await retried.json()) as TaskJson).correlation_id).toBe("first-try");
    const order = server.db.sqlite.query<{ payload: string }, [string]>("SELECT payload FROM work_orders WHERE task_id = ?").get(task.id)!;
    expect(JSON.parse(order.payload).correlation_id).toBe("first-try");
  });

  test("a remote worker's claim carries the task's correlation id", async () => {
    const server = await startTestApp({ workers: 0 });
    const admin = findUserByLogin(server.services.auth, "admin")!;
    const key = createApiKey(server.services.auth, { name: "w", scope: "worker" }, { userId: admin.id, actor: SYSTEM_ACTOR }).key;
    const auth = { authorization: `Bearer ${key}` };
    const worker = (await (await server.api("/workers", { ...json({ name: "w1" }), headers: auth })).json()) as { id: string };
    const { task } = await submit(server, hello("remote"), { "x-correlation-id": "ticket-99" });
    const claim = await server.api("/queue/claim", { ...json({ worker_id: worker.id }), headers: auth });
    const { items } = (await claim.json()) as { items: Array<{ task_id: string; correlation_id: string | null }> };
    expect(items).toEqual([expect.objectContaining({ task_id: task.id, correlation_id: "ticket-99" })]);
  });

  test("the task page shows it, linked to the other tasks of the request; the tasks page filters by it", async () => {
    const server = await startTestApp();
    const { task } = await submit(server, hello("page"), { "x-correlation-id": "pr-1234" });
    await submit(server, hello("elsewhere"));
    const detail = await (await server.get(`/tasks/${task.id}`)).text();
    expect(detail).toContain('href="/tasks?correlation_id=pr-1234"');
    const list = await (await server.get("/tasks?correlation_id=pr-1234")).text();
    expect(list).toContain("hi page");
    expect(list).not.toContain("hi elsewhere");
  });

  test("a correlation_id filter longer than 128 characters is a 400 naming it", async () => {
    const server = await startTestApp();
    const res = await server.api(`/tasks?correlation_id=${"x".repeat(129)}`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; details: Array<{ field: string }> } };
    expect(body.error.code).toBe("validation_failed");
    expect(body.error.details.map((d) => d.field)).toContain("correlation_id");
  });
});
