// The fake provider on the wire, read raw (no SDK): what it streams, what it refuses, what it records,
// and how scripting by FIFO and by responder behaves.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { startFakeLlm, type FakeLlm } from "./server.ts";

let fake: FakeLlm;
beforeEach(() => (fake = startFakeLlm()));
afterEach(() => fake.stop());

const ANTHROPIC_HEADERS = { "content-type": "application/json", "x-api-key": "k", "anthropic-version": "2023-06-01" };
const post = (path: string, body: unknown, headers: Record<string, string> = ANTHROPIC_HEADERS) =>
  fetch(`${fake.url}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
const anthropicBody = (extra = {}) => ({ model: "m", max_tokens: 100, messages: [{ role: "user", content: "hi" }], ...extra });
const openaiBody = (extra = {}) => ({ model: "m", messages: [{ role: "user", content: "hi" }], ...extra });

/** SSE text → [{event?, data}] with data parsed when it is JSON. */
async function events(res: Response): Promise<Array<{ event?: string; data: any }>> {
  return (await res.text())
    .split("\n\n")
    .filter((block) => block.trim())
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)![1]!;
      return { event, data: data === "[DONE]" ? data : JSON.parse(data) };
    });
}

test("nothing scripted: a 500 in the provider's error shape that says what was forgotten", async () => {
  const res = await post("/v1/messages", anthropicBody());
  expect(res.status).toBe(500);
  const body = await res.json();
  expect(body).toMatchObject({ type: "error", error: { type: "api_error" } });
  expect(body.error.message).toContain("nothing scripted for request #1 (POST /v1/messages)");
  const openai = await post("/v1/chat/completions", openaiBody(), { "content-type": "application/json" });
  expect(openai.status).toBe(500);
  expect((await openai.json()).error.message).toContain("nothing scripted for request #2");
});

test("an unknown path is a 404 naming it, and is recorded", async () => {
  const res = await post("/v1/responses", { model: "m", input: "hi" });
  expect(res.status).toBe(404);
  expect((await res.json()).error.message).toBe("fake-llm does not serve POST /v1/responses");
  expect(fake.requests.map((r) => [r.path, r.format])).toEqual([["/v1/responses", undefined]]);
});

test("Anthropic without a key or without anthropic-version is refused, and no scripted answer is used up", async () => {
  fake.script({ text: "kept" });
  const noKey = await post("/v1/messages", anthropicBody(), { "content-type": "application/json", "anthropic-version": "2023-06-01" });
  expect(noKey.status).toBe(401);
  expect((await noKey.json()).error.type).toBe("authentication_error");
  const noVersion = await post("/v1/messages", anthropicBody(), { "content-type": "application/json", "x-api-key": "k" });
  expect(noVersion.status).toBe(400);
  expect((await noVersion.json()).error.message).toContain("anthropic-version");
  expect(fake.pending()).toBe(1);
  expect((await (await post("/v1/messages", anthropicBody())).json()).content).toEqual([{ type: "text", text: "kept" }]);
});

test("Anthropic streams a tool call's input as several input_json_delta pieces that join to the JSON", async () => {
  const input = { path: "README.md", lines: [1, 40] };
  fake.script({ text: "Reading.", toolCalls: [{ id: "toolu_1", name: "read_file", input }], chunkSize: 5, usage: { inputTokens: 321, outputTokens: 45 } });
  const got = await events(await post("/v1/messages", anthropicBody({ stream: true })));
  expect(got.map((e) => e.event)).toEqual([
    "message_start", "ping",
    "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
    "content_block_start", ...Array(1 + Math.ceil(JSON.stringify(input).length / 5)).fill("content_block_delta"), "content_block_stop",
    "message_delta", "message_stop",
  ]);
  expect(got.every((e) => e.data.type === e.event)).toBe(true);
  expect(got[0]!.data.message.usage.input_tokens).toBe(321);
  const json = got.filter((e) => e.data.delta?.type === "input_json_delta").map((e) => e.data.delta.partial_json);
  expect(json.length).toBeGreaterThan(3);
  expect(JSON.parse(json.join(""))).toEqual(input);
  expect(got.find((e) => e.event === "content_block_start" && e.data.index === 1)!.data.content_block).toEqual({ type: "tool_use", id: "toolu_1", name: "read_file", input: {} });
  expect(got.find((e) => e.event === "message_delta")!.data).toMatchObject({ delta: { stop_reason: "tool_use" }, usage: { output_tokens: 45 } });
});

test("OpenAI streams tool arguments by index across chunks, and a usage chunk only when asked for", async () => {
  const input = { command: "bun test src/llm" };
  fake.script({ toolCalls: [{ id: "call_1", name: "run_command", input }], chunkSize: 4, usage: { inputTokens: 9, outputTokens: 8 } }, { text: "no usage asked" });
  const got = await events(await post("/v1/chat/completions", openaiBody({ stream: true, stream_options: { include_usage: true } })));
  expect(got.at(-1)!.data).toBe("[DONE]");
  const calls = got.flatMap((e) => e.data.choices?.[0]?.delta?.tool_calls ?? []);
  expect(calls[0]).toEqual({ index: 0, id: "call_1", type: "function", function: { name: "run_command", arguments: "" } });
  expect(calls.length).toBeGreaterThan(3);
  expect(JSON.parse(calls.map((c: any) => c.function.arguments).join(""))).toEqual(input);
  expect(got.find((e) => e.data.choices?.[0]?.finish_reason)!.data.choices[0].finish_reason).toBe("tool_calls");
  expect(got.at(-2)!.data).toMatchObject({ choices: [], usage: { prompt_tokens: 9, completion_tokens: 8, total_tokens: 17 } });

  const plain = await events(await post("/v1/chat/completions", openaiBody({ stream: true })));
  expect(plain.some((e) => e.data.usage)).toBe(false);
});

test("a responder answers from what the model was sent; the FIFO goes first, the standing responder after", async () => {
  fake.respond((req) => ({ text: `You asked: ${/Question: (.*)/.exec(req.promptText)?.[1]}` }));
  fake.script({ text: "scripted first" });
  const ask = (q: string) =>
    post("/v1/messages", { model: "m", max_tokens: 10, system: "Be brief.", messages: [{ role: "user", content: [{ type: "text", text: `Question: ${q}` }] }] }).then((r) => r.json());
  expect((await ask("one")).content[0].text).toBe("scripted first");
  expect((await ask("may I deploy?")).content[0].text).toBe("You asked: may I deploy?");
  expect(fake.requests[1]!.promptText).toBe("Be brief.\nQuestion: may I deploy?");
  fake.respond(null);
  expect((await post("/v1/messages", anthropicBody())).status).toBe(500);
  fake.script(() => {
    throw new Error("no question in the prompt");
  });
  const broken = await post("/v1/messages", anthropicBody());
  expect(broken.status).toBe(500);
  expect((await broken.json()).error.message).toBe("fake-llm: the responder for request #4 threw: no question in the prompt");
});

test("every request is recorded with its headers and parsed body; waitForRequests resolves on arrival", async () => {
  const arrived = fake.waitForRequests(2);
  fake.script({ text: "a" }, { text: "b" });
  await post("/v1/chat/completions", openaiBody(), { "content-type": "application/json", authorization: "Bearer sk-x" });
  await post("/v1/messages", anthropicBody());
  const [first, second] = await arrived;
  expect(first).toMatchObject({ n: 1, method: "POST", path: "/v1/chat/completions", format: "openai", stream: false, body: openaiBody() });
  expect(first!.headers["authorization"]).toBe("Bearer sk-x");
  expect(second).toMatchObject({ n: 2, format: "anthropic", body: anthropicBody() });
  expect(await first!.done).toBe("answered");
});

test("a fake started with a key refuses any other one, in each format", async () => {
  const strict = startFakeLlm({ apiKey: "right" });
  try {
    strict.script({ text: "x" });
    const wrong = await fetch(`${strict.url}/v1/chat/completions`, { method: "POST", headers: { authorization: "Bearer wrong" }, body: JSON.stringify(openaiBody()) });
    expect(wrong.status).toBe(401);
    expect((await wrong.json()).error.code).toBe("invalid_api_key");
    const right = await fetch(`${strict.url}/v1/chat/completions`, { method: "POST", headers: { authorization: "Bearer right" }, body: JSON.stringify(openaiBody()) });
    expect((await right.json()).choices[0].message.content).toBe("x");
  } finally {
    await strict.stop();
  }
});

test("a delayed answer arrives after its delay; a client that leaves during the delay is recorded as aborted", async () => {
  fake.script({ text: "late", delayMs: 30 }, { text: "never", delayMs: 60_000 });
  const started = performance.now();
  expect((await (await post("/v1/messages", anthropicBody())).json()).content[0].text).toBe("late");
  expect(performance.now() - started).toBeGreaterThanOrEqual(25);

  const controller = new AbortController();
  const leaving = fetch(`${fake.url}/v1/messages`, { method: "POST", headers: ANTHROPIC_HEADERS, body: JSON.stringify(anthropicBody()), signal: controller.signal }).catch((e: Error) => e.name);
  const all = await fake.waitForRequests(2);
  controller.abort();
  expect(await leaving).toBe("AbortError");
  expect(await all[1]!.done).toBe("aborted");
});
