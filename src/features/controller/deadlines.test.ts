// Deadlines: an answer and a deadline racing each other end exactly one way, and the task sees what the
// database recorded; open questions survive a kill -9 of the server, overdue ones resolve at once on the
// next start, and a re-run task's keyed question is not asked twice.
import { Database } from "bun:sqlite";
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanup, json, startTestServer, until } from "../../../test/helpers.ts";
import { createAdminKey, spawnServer, waitHealthy, type ServerProcess } from "../../../test/process.ts";
import { openSse } from "../../../test/sse.ts";

afterEach(cleanup);

describe("an answer and a deadline at the same instant", () => {
  test("300 questions answered as their deadline fires: each ends one way, and the task got what the database recorded", async () => {
    const server = await startTestServer({ workers: 1 });
    await server.api("/policies", json({ name: "race", position: 1, match: { category: "race" }, action: "human", timeout_seconds: 3600, on_timeout: "auto_answer", on_timeout_answer: "by the deadline" }));
    const COUNT = 300;
    const res = await server.api("/tasks", json({ title: "racer", task_type: "test_many_questions", params: { count: COUNT, deadline_seconds: 2 } }));
    const task = (await res.json()) as { id: string };
    const db = server.db.sqlite;
    const open = () => db.query<{ id: string; request_key: string; deadline_at: number }, [string]>("SELECT id, request_key, deadline_at FROM worker_requests WHERE task_id = ? AND status = 'open'").all(task.id);
    const rows = await until(server.services.deps.bus, ["request:created"], () => (open().length === COUNT ? open() : null));

    // Aim every answer at its own question's deadline (the timer aims the race; nothing waits on it).
    const deadline = Math.min(...rows.map((r) => r.deadline_at));
    const answered = new Map<string, number>();
    await new Promise<void>((resolve) => {
      let left = rows.length;
      setTimeout(() => {
        for (const r of rows) {
          void server.api(`/requests/${r.id}/respond`, json({ answer: `human ${r.request_key}` })).then(async (response) => {
            answered.set(r.id, response.status);
            await response.body?.cancel();
            if (--left === 0) resolve();
          });
        }
      }, Math.max(0, deadline - Date.now()));
    });

    const done = await (await server.api(`/tasks/${task.id}/wait?timeout=30`)).json();
    expect(done.status).toBe("succeeded");
    const final = db.query<{ id: string; request_key: string; status: string; answer: string; answered_by_type: string }, [string]>("SELECT id, request_key, status, answer, answered_by_type FROM worker_requests WHERE task_id = ?").all(task.id);
    expect(final).toHaveLength(COUNT);
    const byHuman = final.filter((r) => r.status === "answered");
    const byDeadline = final.filter((r) => r.status === "timed_out");
    expect(byHuman.length + byDeadline.length).toBe(COUNT);
    for (const r of final) {
      // Exactly one way: a 200 means the person won (and the row says so), a 409 that the deadline did.
      expect(answered.get(r.id)).toBe(r.status === "answered" ? 200 : 409);
      expect(r.answer).toBe(r.status === "answered" ? `human ${r.request_key}` : "by the deadline");
      expect(r.answered_by_type).toBe(r.status === "answered" ? "human" : "timeout");
      // And the task received exactly what was recorded.
      expect(done.result[r.request_key]).toMatchObject({ request_id: r.id, status: r.status, answer: r.answer });
    }
    console.log(`race: ${byHuman.length} answered by a person, ${byDeadline.length} by the deadline`);
  }, 60_000);
});

describe("questions survive a kill -9", () => {
  const root = join(import.meta.dir, "..", "..", "..");
  const dataDir = mkdtempSync(join(tmpdir(), "agentvine-questions-"));
  const program = [process.execPath, join(root, "src/main.ts")];
  const servers: ServerProcess[] = [];
  afterAll(() => {
    for (const s of servers) s.proc.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("open questions stay open, an overdue one resolves at once on start, a re-run task's keyed question is not asked again", async () => {
    const key = createAdminKey(program, { cwd: dataDir, dataDir });
    const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
    const start = async () => {
      const s = await spawnServer([...program, "serve", "--port", "0", "--workers", "2", "--data-dir", dataDir], { cwd: dataDir });
      servers.push(s);
      await waitHealthy(s.url);
      return s;
    };
    const call = async (s: ServerProcess, path: string, body?: unknown) => {
      const res = await fetch(`${s.url}/api/v1${path}`, { method: body === undefined ? "GET" : "POST", headers, body: body === undefined ? undefined : JSON.stringify(body) });
      return (await res.json()) as any;
    };
    /** Resolves once the task is waiting for input, watching its event stream. */
    const waitingInput = async (s: ServerProcess, taskId: string) => {
      const { sse } = await openSse(`${s.url}/api/v1/tasks/${taskId}/events`, { token: key });
      await sse.until((f) => f.event === "task" && JSON.parse(f.data).status === "waiting_input", 20_000);
      await sse.close();
    };

    const first = await start();
    await call(first, "/policies", { name: "later", position: 1, match: { category: "later" }, action: "human", timeout_seconds: 3600 });
    await call(first, "/policies", { name: "soon", position: 2, match: { category: "soon" }, action: "human", timeout_seconds: 3600, on_timeout: "auto_answer", on_timeout_answer: "go on without me" });
    const later = await call(first, "/tasks", { title: "waits for a person", task_type: "ask", params: { question: "Which region?", category: "later" } });
    const soon = await call(first, "/tasks", { title: "has a fallback", task_type: "ask", params: { question: "Proceed?", category: "soon" } });
    await Promise.all([waitingInput(first, later.id), waitingInput(first, soon.id)]);

    first.proc.kill("SIGKILL");
    expect(await first.proc.exited).not.toBe(0);
    // While the server is down, the "soon" question's deadline passes.
    const db = new Database(join(dataDir, "agentvine.db"));
    db.query("UPDATE worker_requests SET deadline_at = ? WHERE task_id = ?").run(Date.now() - 1000, soon.id);
    db.close();

    const second = await start();
    const startedAt = Date.now();
    const soonDone = await call(second, `/tasks/${soon.id}/wait?timeout=30`);
    expect(soonDone).toMatchObject({ status: "succeeded", result: { answer: "go on without me", answered_by: { type: "timeout" } } });
    const soonReq = (await call(second, `/requests?task_id=${soon.id}`)).items;
    expect(soonReq).toHaveLength(1); // asked once, before the kill: the re-run got the recorded answer
    expect(Date.parse(soonReq[0].resolved_at) - startedAt).toBeLessThan(5000);

    // The other is still open — the same row, re-attached to the task's new attempt.
    await waitingInput(second, later.id);
    const laterReqs = (await call(second, `/requests?task_id=${later.id}`)).items;
    expect(laterReqs).toHaveLength(1);
    expect(laterReqs[0].status).toBe("open");
    await call(second, `/requests/${laterReqs[0].id}/respond`, { answer: "eu-west-1" });
    expect(await call(second, `/tasks/${later.id}/wait?timeout=30`)).toMatchObject({ status: "succeeded", result: { answer: "eu-west-1" } });
  }, 90_000);
});
