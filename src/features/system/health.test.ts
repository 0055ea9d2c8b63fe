// GET /api/v1/health: every part reported, and the overall status a load balancer acts on — 200 while the
// server can do its job (ok, or warning), 503 when it cannot (degraded).
import { afterEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { openDatabase } from "../../db/client.ts";
import { migrate } from "../../db/migrate.ts";
import { DiskWatch } from "../../data-dir/disk.ts";
import { EventBus } from "../../events/bus.ts";
import { SYSTEM_ACTOR } from "../audit/service.ts";
import { createApiKey } from "../auth/api-keys.ts";
import { findUserByLogin } from "../auth/users.ts";
import { cleanup, json, startTestApp, startTestServer, tempDir } from "../../../test/helpers.ts";
import { checkHealth, type Health } from "./health.ts";

afterEach(cleanup);

async function health(server: { request: (path: string) => Promise<Response> }) {
  const res = await server.request("/api/v1/health"); // no credentials: load balancers send none
  return { status: res.status, body: (await res.json()) as Health };
}

describe("GET /api/v1/health", () => {
  test("with threads up: 200 ok, each part with its figures", async () => {
    const server = await startTestServer();
    // A task that ran proves a thread has loaded (right after start they may still be loading: 503).
    const task = (await (await server.api("/tasks", json({ title: "warm", task_type: "hello", params: { name: "w" } }))).json()) as { id: string };
    await server.api(`/tasks/${task.id}/wait?timeout=20`);
    const { status, body } = await health(server);
    expect(status).toBe(200);
    expect(body.status).toBe("ok");
    expect(Object.keys(body.checks).sort()).toEqual(["controller", "db", "disk", "queue", "threads", "workers"]);
    for (const check of Object.values(body.checks)) expect(check).toMatchObject({ status: "ok", ok: true });
    expect(body.checks.threads).toMatchObject({ configured: 2 });
    expect(body.checks.threads.ready).toBeGreaterThanOrEqual(1);
    expect(body.checks.disk.free_bytes).toBeGreaterThan(0);
    expect(body.checks.controller).toMatchObject({ open_questions: 0, model_configured: false, model: null });
    // Public: nothing about where the data lives.
    expect(JSON.stringify(body)).not.toContain(server.services.config.dataDir);
  });

  test("no local threads and no remote worker online: 200 with a warning (queued work waits); a worker coming online clears it", async () => {
    const server = await startTestApp({ workers: 0 });
    let { status, body } = await health(server);
    expect(status).toBe(200);
    expect(body.status).toBe("warning");
    expect(body.checks.workers).toMatchObject({ status: "warning", ok: true, online: 0, local_threads: 0 });
    expect(body.checks.workers.message).toContain("no remote worker online");

    const admin = findUserByLogin(server.services.auth, "admin")!;
    const key = createApiKey(server.services.auth, { name: "w", scope: "worker" }, { userId: admin.id, actor: SYSTEM_ACTOR }).key;
    expect((await server.api("/workers", { ...json({ name: "builder-1" }), headers: { authorization: `Bearer ${key}` } })).status).toBe(201);
    ({ status, body } = await health(server));
    expect(status).toBe(200);
    expect(body.status).toBe("ok");
    expect(body.checks.workers).toMatchObject({ status: "ok", online: 1 });
  });

  test("task threads that cannot start: 503 degraded, the threads check says why", async () => {
    const dir = tempDir();
    const broken = join(dir, "broken-thread.ts");
    writeFileSync(broken, 'throw new Error("a broken build");\n');
    const server = await startTestServer({ workers: 1, threadUrl: Bun.pathToFileURL(broken) });
    const { status, body } = await health(server);
    expect(status).toBe(503);
    expect(body.status).toBe("degraded");
    expect(body.checks.threads).toMatchObject({ status: "failing", ok: false, configured: 1, ready: 0 });
    expect(body.checks.threads.message).toContain("no task thread is ready");
  });

  test("a configured model and open questions are reported by the controller check", async () => {
    const server = await startTestApp({ workers: 0, llmProvider: "openai-compatible", llmBaseUrl: "http://127.0.0.1:9/v1", llmModel: "local-llama" });
    server.db.sqlite.run(
      `INSERT INTO tasks (id, title, task_type, params, status, timeout_seconds, max_retries, created_at, updated_at) VALUES ('t1', 't', 'ask', '{}', 'waiting_input', 60, 0, 1, 1)`,
    );
    server.db.sqlite.run(
      `INSERT INTO worker_requests (id, task_id, question, status, handler, route_action, on_timeout, created_at, updated_at)
       VALUES ('q1', 't1', 'ok?', 'open', 'human', 'human', 'fail_task', 1, 1), ('q2', 't1', 'sure?', 'open', 'automated', 'automated', 'fail_task', 1, 1)`,
    );
    const { body } = await health(server);
    expect(body.checks.controller).toMatchObject({ status: "ok", open_questions: 2, waiting_for_human: 1, model_configured: true, model: "openai-compatible/local-llama" });
  });

  test("a database that does not answer: degraded, and the parts that need it say so", () => {
    const dir = tempDir();
    const db = openDatabase(join(dir, "agentvine.db"));
    migrate(db);
    db.close();
    const { health: h, httpStatus } = checkHealth({ deps: { db, bus: new EventBus() }, disk: new DiskWatch(dir), pool: null, version: "t", startedAt: Date.now(), controllerModel: () => null });
    expect(httpStatus).toBe(503);
    expect(h.status).toBe("degraded");
    expect(h.checks.db).toMatchObject({ status: "failing", ok: false, message: "the database does not answer" });
    expect(h.checks.queue.status).toBe("failing");
    expect(h.checks.disk.status).not.toBe("failing");
  });
});
