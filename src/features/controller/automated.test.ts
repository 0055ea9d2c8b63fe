// The automated handler end to end: a real server, real task threads, the real AI SDK providers talking
// to a scripted fake model on loopback in each provider's wire format (test/fake-llm).
import { afterEach, describe, expect, test } from "bun:test";
import { cleanup, json, startTestServer, until, type TestServer } from "../../../test/helpers.ts";
import { type FakeLlm } from "../../../test/fake-llm/server.ts";
import { fakeModelPerTest } from "../../../test/fake-llm/per-test.ts";
import { FAKE_API_KEY } from "../../../test/fake-llm/settings.ts";
import type { StartOptions } from "../../server.ts";

afterEach(cleanup);

const fakeModel = fakeModelPerTest();

function llmOptions(fake: FakeLlm, provider: "anthropic" | "openai", extra: Partial<StartOptions> = {}): Partial<StartOptions> {
  return {
    llmProvider: provider,
    llmBaseUrl: provider === "anthropic" ? fake.anthropicBaseUrl : fake.openaiBaseUrl,
    llmModel: `fake-${provider}`,
    llmApiKey: FAKE_API_KEY,
    llmPriceInput: 3,
    llmPriceOutput: 15,
    controllerRetryBaseMs: 1,
    ...extra,
  };
}

async function submit(server: TestServer, body: Record<string, unknown>) {
  const res = await server.api("/tasks", json(body));
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string };
}

/** The task's open question with `handler`, once it has one (checked after every request event). */
function openQuestion(server: TestServer, taskId: string, handler: "human" | "automated") {
  return until(server.services.deps.bus, ["request:created", "request:updated", "request:resolved"], () =>
    server.db.sqlite
      .query<{ id: string; question: string; escalation_reason: string | null }, [string, string]>(
        "SELECT id, question, escalation_reason FROM worker_requests WHERE task_id = ? AND status = 'open' AND handler = ?",
      )
      .get(taskId, handler),
  );
}

const getRequest = async (server: TestServer, id: string) => (await (await server.api(`/requests/${id}`)).json()) as Record<string, any>;

describe.each(["anthropic", "openai"] as const)("with %s", (provider) => {
  test("a task asks two questions: the model answers the clarification, a human the approval; the task succeeds with both", async () => {
    const fake = fakeModel();
    fake.respond((req) =>
      req.promptText.includes("Which branch")
        ? { toolCalls: [{ name: "answer", input: { answer: "release/2.4" } }], usage: { inputTokens: 1200, outputTokens: 40 } }
        : { error: { status: 400, message: `unexpected prompt: ${req.promptText.slice(0, 80)}` } },
    );
    const server = await startTestServer(llmOptions(fake, provider));
    const task = await submit(server, { title: "cut the release", task_type: "test_two_questions", params: { topic: "v2.4" } });

    const approval = await openQuestion(server, task.id, "human");
    expect(approval.question).toBe("Cut v2.4 from release/2.4?");
    await server.api(`/requests/${approval.id}/respond`, json({ answer: "approve" }));
    const done = await (await server.api(`/tasks/${task.id}/wait?timeout=20`)).json();
    expect(done.status).toBe("succeeded");
    expect(done.result.clarification).toMatchObject({ answer: "release/2.4", status: "answered", answered_by: { type: "automated", id: `fake-${provider}` } });
    expect(done.result.approval).toMatchObject({ answer: "approve", answered_by: { type: "human" } });

    // One call, through the provider's real endpoint, streamed; its prompt had the task and the question.
    expect(fake.requests).toHaveLength(1);
    const call = fake.requests[0]!;
    expect(call.path).toBe(provider === "anthropic" ? "/v1/messages" : "/v1/chat/completions");
    expect(call.stream).toBe(true);
    expect(call.promptText).toContain("cut the release");
    expect(call.promptText).toContain("Which branch should v2.4 be cut from?");

    // What it cost is on the request and in the ledger: 1200 in × $3 + 40 out × $15 per million.
    const clarification = await getRequest(server, done.result.clarification.request_id);
    expect(clarification.llm).toMatchObject({ provider, model: `fake-${provider}`, attempts: 1, input_tokens: 1200, output_tokens: 40 });
    expect(clarification.llm.cost_usd).toBeCloseTo(0.0036 + 0.0006, 10);
    expect(clarification.context_used.sections.map((s: { title: string }) => s.title)).toContain("The task");
    const spent = server.db.sqlite.query<{ cost: number }, [string]>("SELECT sum(cost_usd) AS cost FROM llm_ledger WHERE task_id = ? AND status = 'settled'").get(task.id)!;
    expect(spent.cost).toBeCloseTo(0.0042, 10);
  });
});

describe("the automated handler", () => {
  test("the model hands the question to a human with escalate_to_human: the reason is shown, the human's answer reaches the task", async () => {
    const fake = fakeModel();
    fake.script({ toolCalls: [{ name: "escalate_to_human", input: { reason: "this touches production credentials" } }] });
    const server = await startTestServer(llmOptions(fake, "anthropic"));
    const task = await submit(server, { title: "ask", task_type: "ask", params: { question: "Rotate the API key?", category: "clarification" } });
    const q = await openQuestion(server, task.id, "human");
    expect(q.escalation_reason).toContain("this touches production credentials");
    await server.api(`/requests/${q.id}/respond`, json({ answer: "yes, rotate it" }));
    const done = await (await server.api(`/tasks/${task.id}/wait?timeout=20`)).json();
    expect(done).toMatchObject({ status: "succeeded", result: { answer: "yes, rotate it", answered_by: { type: "human" } } });
  });

  test("a budget too small for the next call refuses it before it is made: no request reaches the model, a human answers, the task says why", async () => {
    const fake = fakeModel();
    const server = await startTestServer(llmOptions(fake, "openai", { budgetTaskUsd: 0.0001 }));
    const task = await submit(server, { title: "thrifty", task_type: "ask", params: { question: "Use tabs or spaces?", category: "clarification" } });
    const q = await openQuestion(server, task.id, "human");
    expect(q.escalation_reason).toContain("not asked to the model: the task budget of $0.0001 would be exceeded");
    expect(fake.requests).toHaveLength(0);
    const req = await getRequest(server, q.id);
    expect(req.llm).toMatchObject({ attempts: 0 });
    expect(String(req.llm.refused)).toContain("task budget");
    // Visible on the task: its log says the question went to a human and why.
    server.services.logger.flush();
    const lines = server.db.sqlite
      .query<{ message: string }, [string]>("SELECT l.message FROM execution_logs l JOIN executions e ON e.id = l.execution_id WHERE e.task_id = ?")
      .all(task.id)
      .map((r) => r.message);
    expect(lines.some((l) => l.includes("question handed to a human: not asked to the model: the task budget"))).toBe(true);
    expect(server.db.sqlite.query<{ n: number }, []>("SELECT count(*) AS n FROM llm_ledger WHERE status <> 'released'").get()!.n).toBe(0);
  });

  test("provider failures retry with backoff and then succeed; failures that persist go to a human with the error", async () => {
    const fake = fakeModel();
    fake.script({ error: { status: 500, message: "upstream hiccup" } }, { error: { status: 429 } }, { toolCalls: [{ name: "answer", input: { answer: "spaces" } }] });
    const server = await startTestServer(llmOptions(fake, "anthropic"));
    const task = await submit(server, { title: "retry", task_type: "ask", params: { question: "Tabs or spaces?", category: "clarification" } });
    const done = await (await server.api(`/tasks/${task.id}/wait?timeout=20`)).json();
    expect(done).toMatchObject({ status: "succeeded", result: { answer: "spaces", answered_by: { type: "automated" } } });
    expect((await getRequest(server, done.result.request_id)).llm).toMatchObject({ attempts: 3 });
    expect(fake.requests).toHaveLength(3);

    fake.script({ error: { status: 503 } }, { error: { status: 503 } }, { error: { status: 503 } });
    const second = await submit(server, { title: "down", task_type: "ask", params: { question: "Tabs or spaces, again?", category: "clarification" } });
    const q = await openQuestion(server, second.id, "human");
    expect(q.escalation_reason).toContain("the model could not answer (server 503)");
    // Failed attempts spent nothing.
    expect(server.db.sqlite.query<{ n: number }, [string]>("SELECT count(*) AS n FROM llm_ledger WHERE task_id = ? AND status = 'released'").get(second.id)!.n).toBe(3);
  });

  test("an answer that is not one of the options goes to a human rather than to the task", async () => {
    const fake = fakeModel();
    fake.script({ toolCalls: [{ name: "answer", input: { answer: "maybe later" } }] });
    const server = await startTestServer(llmOptions(fake, "openai"));
    const task = await submit(server, { title: "opts", task_type: "ask", params: { question: "Ship?", category: "clarification", options: ["Ship", "Hold"] } });
    const q = await openQuestion(server, task.id, "human");
    expect(q.escalation_reason).toContain('"maybe later" is not one of the options');
  });
});
