// GET /metrics on a real server after real work: HTTP by route pattern, tasks by status and type, the
// queue's counters and depth, workers, SSE streams, questions and LLM spend — and the exposition passes
// `promtool check metrics` (Debian's prometheus package) when it is installed.
import { afterEach, describe, expect, test } from "bun:test";
import { reap } from "../../engine/control.ts";
import type { TaskJson } from "../../engine/task-record.ts";
import { SYSTEM_ACTOR } from "../audit/service.ts";
import { createApiKey } from "../auth/api-keys.ts";
import { findUserByLogin } from "../auth/users.ts";
import { cleanup, json, startTestServer, until, type TestServer } from "../../../test/helpers.ts";
import { openSse } from "../../../test/sse.ts";

afterEach(cleanup);

const PROMTOOL = Bun.which("promtool");

/** name{labels} → value, from the text exposition. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

async function scrape(server: TestServer): Promise<{ text: string; value: (series: string) => number | undefined }> {
  const res = await server.get("/metrics");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain");
  const text = await res.text();
  const all = samples(text);
  return { text, value: (series) => all.get(series) };
}

async function submit(server: TestServer, body: Record<string, unknown>): Promise<TaskJson> {
  const res = await server.api("/tasks", json(body));
  expect(res.status).toBe(201);
  return (await res.json()) as TaskJson;
}
const waitTask = async (server: TestServer, id: string) => (await (await server.api(`/tasks/${id}/wait?timeout=20`)).json()) as TaskJson;

describe("GET /metrics", () => {
  test("counts tasks, attempts, retries and HTTP requests by route pattern; gauges the queue, threads and workers", async () => {
    const server = await startTestServer();
    const hellos = await Promise.all([1, 2, 3].map((i) => submit(server, { title: `h${i}`, task_type: "hello", params: { name: `n${i}` } })));
    const failing = await submit(server, { title: "fails twice", task_type: "shell", params: { command: "false" }, max_retries: 1 });
    const parked = await submit(server, { title: "parked", task_type: "hello", params: { name: "p" }, requires: ["gpu"] });
    for (const t of hellos) expect((await waitTask(server, t.id)).status).toBe("succeeded");
    expect((await waitTask(server, failing.id)).status).toBe("failed");
    expect((await server.api(`/tasks/${parked.id}`)).status).toBe(200);

    const { value } = await scrape(server);
    expect(value('agentvine_tasks{status="succeeded",task_type="hello"}')).toBe(3);
    expect(value('agentvine_tasks{status="queued",task_type="hello"}')).toBe(1);
    expect(value('agentvine_tasks{status="failed",task_type="shell"}')).toBe(1);
    expect(value('agentvine_tasks_finished_total{task_type="hello",status="succeeded"}')).toBe(3);
    expect(value('agentvine_task_duration_seconds_count{task_type="hello",status="succeeded"}')).toBe(3);
    expect(value('agentvine_task_duration_seconds_count{task_type="shell",status="failed"}')).toBe(1);
    expect(value('agentvine_queue_claims_total{worker_type="local"}')).toBe(5); // 3 hellos, 2 attempts of the shell task
    expect(value("agentvine_queue_completions_total")).toBe(3);
    expect(value('agentvine_queue_failures_total{reason="failed"}')).toBe(2);
    expect(value('agentvine_queue_retries_total{task_type="shell"}')).toBe(1);
    expect(value('agentvine_queue_depth{queue="default"}')).toBe(1);
    expect(value('agentvine_queue_depth{queue="high_priority"}')).toBe(0);
    expect(value('agentvine_queue_oldest_age_seconds{queue="default"}')).toBeGreaterThanOrEqual(0);
    expect(value('agentvine_work_orders{queue="default",status="completed"}')).toBe(3);
    expect(value('agentvine_local_threads{state="total"}')).toBe(2);
    expect(value('agentvine_workers{worker_type="local",status="idle"}')).toBe(1);
    // Routes by their pattern, never the raw path (one series per route, whatever the ids).
    expect(value('agentvine_http_requests_total{method="POST",route="/api/v1/tasks",status="201"}')).toBe(5);
    expect(value('agentvine_http_requests_total{method="GET",route="/api/v1/tasks/:id",status="200"}')).toBe(1);
    expect(value('agentvine_http_request_duration_seconds_count{method="GET",route="/api/v1/tasks/:id/wait",status="200"}')).toBe(4);
    expect(value("process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(value("nodejs_eventloop_lag_p99_seconds")).toBeGreaterThanOrEqual(0);
  });

  test("open event streams, questions asked and answered with their latency, LLM tokens and cost, lease expiries", async () => {
    const server = await startTestServer();
    const { sse } = await openSse(`${server.url}/events?topics=tasks`, { token: server.token });
    expect((await scrape(server)).value("agentvine_sse_connections")).toBe(1);
    await sse.close();
    // A chat WebSocket: counted once its first frame arrived.
    const conversation = (await (await server.api("/chat/conversations", json({ title: "ops" }))).json()) as { id: string };
    const ws = new WebSocket(`${server.url.replace(/^http/, "ws")}/api/v1/chat/ws/${conversation.id}`, { headers: { authorization: `Bearer ${server.token}` } } as never);
    await new Promise((resolve, reject) => ((ws.onmessage = resolve), (ws.onerror = reject)));
    expect((await scrape(server)).value("agentvine_websocket_connections")).toBe(1);
    const closed = new Promise((resolve) => (ws.onclose = resolve));
    ws.close();
    await closed;

    // A question for a human, answered over the API.
    const ask = await submit(server, { title: "gate", task_type: "ask", params: { question: "Ship it?", options: ["yes", "no"] } });
    // The thread may ask before the 201 is read: check the row first, then wait on the events.
    const statusOf = () => server.db.sqlite.query<{ status: string }, [string]>("SELECT status FROM tasks WHERE id = ?").get(ask.id)?.status;
    await until(server.services.deps.bus, ["task:changed"], () => statusOf() === "waiting_input");
    let m = await scrape(server);
    expect(m.value('agentvine_questions{status="open",handler="human"}')).toBe(1);
    expect(m.value('agentvine_questions_asked_total{handler="human"}')).toBe(1);
    const open = ((await (await server.api(`/requests?task_id=${ask.id}&status=open`)).json()) as { items: Array<{ id: string }> }).items[0]!;
    expect((await server.api(`/requests/${open.id}/respond`, json({ answer: "yes" }))).status).toBe(200);
    expect((await waitTask(server, ask.id)).status).toBe("succeeded");

    // The ledger's settled calls (what the automated handler writes).
    const insert = server.db.sqlite.query(
      `INSERT INTO llm_ledger (id, purpose, model, status, day, reserved_usd, reserved_tokens, input_tokens, output_tokens, cost_usd, created_at, settled_at)
       VALUES (?, 'answer', ?, ?, '2026-01-01', 1, 1000, ?, ?, ?, 1, 2)`,
    );
    insert.run("l1", "claude-x", "settled", 1200, 300, 0.0081);
    insert.run("l2", "claude-x", "settled", 800, 100, 0.0039);
    insert.run("l3", "claude-x", "reserved", null, null, null);

    // A remote worker's claim whose lease runs out.
    const admin = findUserByLogin(server.services.auth, "admin")!;
    const key = createApiKey(server.services.auth, { name: "w", scope: "worker", capabilities: ["gpu"] }, { userId: admin.id, actor: SYSTEM_ACTOR }).key;
    const auth = { authorization: `Bearer ${key}` };
    const worker = (await (await server.api("/workers", { ...json({ name: "gpu-box", capabilities: ["gpu"] }), headers: auth })).json()) as { id: string };
    await submit(server, { title: "on the gpu", task_type: "hello", params: { name: "g" }, requires: ["gpu"] });
    expect((await server.api("/queue/claim", { ...json({ worker_id: worker.id }), headers: auth })).status).toBe(200);
    server.db.sqlite.run("UPDATE work_orders SET lease_until = 1 WHERE status = 'claimed'");
    expect(reap(server.services.deps).released).toBe(1);

    m = await scrape(server);
    expect(m.value("agentvine_sse_connections")).toBe(0);
    expect(m.value("agentvine_websocket_connections")).toBe(0);
    expect(m.value('agentvine_questions{status="answered",handler="human"}')).toBe(1);
    expect(m.value('agentvine_questions_resolved_total{status="answered",handler="human"}')).toBe(1);
    expect(m.value('agentvine_question_answer_seconds_count{handler="human",status="answered"}')).toBe(1);
    expect(m.value('agentvine_llm_tokens_total{model="claude-x",direction="input"}')).toBe(2000);
    expect(m.value('agentvine_llm_tokens_total{model="claude-x",direction="output"}')).toBe(400);
    expect(m.value('agentvine_llm_cost_usd_total{model="claude-x"}')).toBeCloseTo(0.012, 6);
    expect(m.value('agentvine_llm_calls_total{model="claude-x"}')).toBe(2);
    expect(m.value('agentvine_queue_claims_total{worker_type="remote"}')).toBe(1);
    expect(m.value("agentvine_queue_lease_expiries_total")).toBe(1);
    expect(m.value('agentvine_workers{worker_type="remote",status="idle"}')).toBe(1);
  });

  test.skipIf(!PROMTOOL)("the exposition passes `promtool check metrics` (no errors, no lint problems)", async () => {
    const server = await startTestServer();
    const t = await submit(server, { title: "one", task_type: "hello", params: { name: "x" } });
    await waitTask(server, t.id);
    const { text } = await scrape(server);
    const check = Bun.spawnSync([PROMTOOL!, "check", "metrics"], { stdin: new TextEncoder().encode(text) });
    expect(`${check.stdout.toString()}${check.stderr.toString()}`.trim()).toBe("");
    expect(check.exitCode).toBe(0);
  });

  test("a viewer may scrape; anonymous callers get 401", async () => {
    const server = await startTestServer({ workers: 0 });
    expect((await server.request("/metrics")).status).toBe(401);
    expect((await server.get("/metrics")).status).toBe(200);
  });
});

if (!PROMTOOL) console.warn("metrics.test.ts: promtool not found (apt-get install prometheus): the exposition lint is skipped");
