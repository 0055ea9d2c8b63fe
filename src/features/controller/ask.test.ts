// Questions from running tasks, end to end on a real server: the `ask` task type in a real thread, routed
// by policy, answered over the API, the task resuming with the answer.
import { afterEach, describe, expect, test } from "bun:test";
import { cleanup, json, startTestServer, waitFor, type TestServer } from "../../../test/helpers.ts";

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
    await waitFor(server.services.deps.bus, "task:changed", (e) => e.taskId === task.id && e.status === "waiting_input");
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
    await waitFor(server.services.deps.bus, "task:changed", (e) => e.taskId === task.id && e.status === "waiting_input");
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
    await waitFor(server.services.deps.bus, "task:changed", (e) => e.taskId === waiting.id && e.status === "waiting_input");
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
