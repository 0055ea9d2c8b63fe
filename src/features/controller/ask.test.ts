// Questions from running tasks, end to end on a real server: the `ask` task type in a real thread, routed
// by policy, answered over the API, the task resuming with the answer.
import { afterEach, describe, expect, test } from "bun:test";
import { cleanup, json, startTestServer, tempDir, until, waitFor, type TestServer } from "../../../test/helpers.ts";
import { RemoteWorker } from "../../remote-worker/remote-worker.ts";
import { SYSTEM_ACTOR } from "../audit/service.ts";
import { createApiKey } from "../auth/api-keys.ts";
import { findUserByLogin } from "../auth/users.ts";

afterEach(cleanup);

async function policy(server: TestServer, body: Record<string, unknown>) {
  const res = await server.api("/policies", json(body));
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string };
}

async function submitAsk(server: TestServer, params: Record<string, unknown>) {
  const res = await server.api("/tasks", json({ title: "gate", task_type: "ask", params }));
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string };
}

/** Resolves once the task waits for input (checked at once, then after each task event: no race with the thread). */
const waitingInput = (server: TestServer, taskId: string) =>
  until(server.services.deps.bus, ["task:changed"], () =>
    server.db.sqlite.query<{ status: string }, [string]>("SELECT status FROM tasks WHERE id = ?").get(taskId)?.status === "waiting_input",
  );

const taskOf = async (server: TestServer, id: string) => (await (await server.api(`/tasks/${id}`)).json()) as Record<string, any>;
const openRequestOf = async (server: TestServer, taskId: string) => {
  const res = await server.api(`/requests?task_id=${taskId}&status=open`);
  return ((await res.json()) as { items: Array<Record<string, any>> }).items[0]!;
};

describe("the ask task type", () => {
  test("an auto-approve policy answers at once with the first option; the task succeeds with the resolution", async () => {
    const server = await startTestServer();
    await policy(server, { name: "smoke approves", match: { category: "smoke" }, action: "auto_approve" });
    const task = await submitAsk(server, { question: "Ship it?", options: ["yes", "no"], category: "smoke" });
    const done = await (await server.api(`/tasks/${task.id}/wait?timeout=20`)).json();
    expect(done.status).toBe("succeeded");
    expect(done.result).toMatchObject({ answer: "yes", status: "answered", answered_by: { type: "auto_approve" } });
  });

  test("a human answers over the API: the task waits for input, then resumes with the answer; a second answer is 409", async () => {
    const server = await startTestServer();
    const task = await submitAsk(server, { question: "Deploy to production?", options: ["approve", "reject"] });
    await waitingInput(server, task.id);
    const open = await openRequestOf(server, task.id);
    expect(open).toMatchObject({ status: "open", handler: "human", question: "Deploy to production?", options: ["approve", "reject"] });
    expect(open.route.policy_name).toBe("approvals go to a human");
    expect(open.deadline_at).toBeString();

    const wrong = await server.api(`/requests/${open.id}/respond`, json({ answer: "maybe" }));
    expect(wrong.status).toBe(400);
    expect((await wrong.json()).error.details[0].field).toBe("answer");

    const ok = await server.api(`/requests/${open.id}/respond`, json({ answer: "approve" }));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ status: "answered", answer: "approve", answered_by: { type: "human" } });
    const done = await (await server.api(`/tasks/${task.id}/wait?timeout=20`)).json();
    expect(done.status).toBe("succeeded");
    expect(done.result).toMatchObject({ answer: "approve", answered_by: { type: "human" } });

    const again = await server.api(`/requests/${open.id}/respond`, json({ answer: "reject" }));
    expect(again.status).toBe(409);
    expect((await again.json()).error.message).toContain("answered by a person");
  });

  test("fail_on: an answer listed there fails the step, naming the answer", async () => {
    const server = await startTestServer();
    const task = await submitAsk(server, { question: "Deploy?", options: ["approve", "reject"], fail_on: ["reject"] });
    await waitingInput(server, task.id);
    const open = await openRequestOf(server, task.id);
    await server.api(`/requests/${open!.id}/respond`, json({ answer: "reject" }));
    const done = await (await server.api(`/tasks/${task.id}/wait?timeout=20`)).json();
    expect(done.status).toBe("failed");
    expect(done.error).toContain('answered "reject"');
  });

  test("a deny policy fails the step at once; cancelling a waiting task cancels its question", async () => {
    const server = await startTestServer();
    await policy(server, { name: "no drops", position: 1, match: { pattern: "drop table" }, action: "deny" });
    const denied = await submitAsk(server, { question: "May I DROP TABLE users?" });
    const d = await (await server.api(`/tasks/${denied.id}/wait?timeout=20`)).json();
    expect(d.status).toBe("failed");
    expect(d.error).toContain("denied by policy");

    const waiting = await submitAsk(server, { question: "Proceed?" });
    await waitingInput(server, waiting.id);
    const open = await openRequestOf(server, waiting.id);
    const resolved = waitFor(server.services.deps.bus, "request:resolved", (e) => e.requestId === open!.id);
    expect((await server.api(`/tasks/${waiting.id}/cancel`, { method: "POST" })).status).toBe(200);
    expect((await resolved).status).toBe("cancelled");
    const late = await server.api(`/requests/${open!.id}/respond`, json({ answer: "yes" }));
    expect(late.status).toBe(409);
    expect((await late.json()).error.message).toContain("cancelled");
    expect((await taskOf(server, waiting.id)).status).toBe("cancelled");
  });
});

describe("asking from a remote worker", () => {
  test("the worker asks over HTTP for its task, waits on /requests/:id/wait, and the task resumes with the human's answer", async () => {
    const server = await startTestServer({ workers: 0 });
    const admin = findUserByLogin(server.services.auth, "admin")!;
    const { key } = createApiKey(server.services.auth, { name: "remote", scope: "worker", capabilities: ["git", "gpu", "node", "shell", "Has Space"], max_concurrent_tasks: 64 }, { userId: admin.id, actor: SYSTEM_ACTOR });
    const worker = new RemoteWorker({ server: server.url, token: key, name: "asker", concurrency: 1, stateDir: tempDir(), shutdownGraceMs: 5000, claimWaitSeconds: 5 });
    await worker.start();
    try {
      const task = await submitAsk(server, { question: "Merge the release branch?", options: ["merge", "wait"] });
      await waitingInput(server, task.id);
      const open = await openRequestOf(server, task.id);
      expect(open.execution_id).toBeString();
      expect(server.db.sqlite.query<{ worker_id: string }, [string]>("SELECT worker_id FROM executions WHERE id = ?").get(open.execution_id)!.worker_id).toBe(worker.id!);
      // The worker's long-poll is parked on the question; the answer reaches it at once.
      await server.api(`/requests/${open.id}/respond`, json({ answer: "merge" }));
      const done = await (await server.api(`/tasks/${task.id}/wait?timeout=20`)).json();
      expect(done).toMatchObject({ status: "succeeded", result: { answer: "merge", answered_by: { type: "human" } } });
    } finally {
      await worker.drain();
    }
  });

  test("a worker key may only ask for an attempt running on its own workers", async () => {
    const server = await startTestServer({ workers: 0 });
    const admin = findUserByLogin(server.services.auth, "admin")!;
    const { key } = createApiKey(server.services.auth, { name: "other", scope: "worker", capabilities: ["git", "gpu", "node", "shell", "Has Space"], max_concurrent_tasks: 64 }, { userId: admin.id, actor: SYSTEM_ACTOR });
    const task = await submitAsk(server, { question: "x?" });
    const asWorker = { headers: { authorization: `Bearer ${key}` } };
    const noExecution = await server.api("/requests", { ...json({ task_id: task.id, question: "y?" }), ...asWorker });
    expect(noExecution.status).toBe(400);
    const notHeld = await server.api("/requests", { ...json({ task_id: task.id, execution_id: "someone-elses", question: "y?" }), ...asWorker });
    expect(notHeld.status).toBe(409);
    expect((await notHeld.json()).error.message).toContain("not running on a worker of this key");
  });
});

describe("waiting does not count against the task's timeout", () => {
  test("a task with a 1 s timeout waits 2 s for a question that is then answered by its deadline, and succeeds", async () => {
    const server = await startTestServer();
    await policy(server, { name: "quick default", position: 1, match: { category: "quick" }, action: "human", timeout_seconds: 2, on_timeout: "auto_answer", on_timeout_answer: "go ahead" });
    const res = await server.api("/tasks", json({ title: "patient", task_type: "ask", timeout_seconds: 1, params: { question: "Anyone?", category: "quick" } }));
    const task = (await res.json()) as { id: string };
    const done = await (await server.api(`/tasks/${task.id}/wait?timeout=20`)).json();
    expect(done.status).toBe("succeeded");
    expect(done.result).toMatchObject({ answer: "go ahead", status: "timed_out", answered_by: { type: "timeout" } });
    const req = await (await server.api(`/requests/${done.result.request_id}`)).json();
    // Resolved by its deadline: within a second of it.
    expect(Date.parse(req.resolved_at) - Date.parse(req.deadline_at)).toBeLessThan(1000);
    expect(Date.parse(req.resolved_at)).toBeGreaterThanOrEqual(Date.parse(req.deadline_at));
  });
});
