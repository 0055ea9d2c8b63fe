// callModel through the real AI SDK providers against the fake provider server: answers, streams, tool
// calls, usage and cost, for Anthropic, OpenAI and an OpenAI-compatible server alike.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { z } from "zod";
import { FAKE_API_KEY, fakeSettings } from "../../test/fake-llm/settings.ts";
import { startFakeLlm, type FakeLlm, type RecordedRequest } from "../../test/fake-llm/server.ts";
import { callModel } from "./call.ts";
import type { LlmProvider } from "./settings.ts";
import type { LlmTools } from "./tools.ts";

let fake: FakeLlm;
beforeEach(() => (fake = startFakeLlm()));
afterEach(() => fake.stop());

/** Where each wire format keeps what the tests look at. */
const WIRE = {
  anthropic: {
    path: "/v1/messages",
    key: (r: RecordedRequest) => r.headers["x-api-key"],
    system: (r: RecordedRequest) => r.body.system?.map((b: { text: string }) => b.text).join(""),
    maxTokens: (r: RecordedRequest) => r.body.max_tokens,
    toolSchema: (r: RecordedRequest, name: string) => r.body.tools.find((t: any) => t.name === name)?.input_schema,
  },
  openai: {
    path: "/v1/chat/completions",
    key: (r: RecordedRequest) => r.headers["authorization"]?.replace(/^Bearer /, ""),
    system: (r: RecordedRequest) => r.body.messages.find((m: any) => m.role === "system")?.content,
    maxTokens: (r: RecordedRequest) => r.body.max_completion_tokens ?? r.body.max_tokens,
    toolSchema: (r: RecordedRequest, name: string) => r.body.tools.find((t: any) => t.function.name === name)?.function.parameters,
  },
};
const wire = (provider: LlmProvider) => WIRE[provider === "anthropic" ? "anthropic" : "openai"];

const readFile: LlmTools = {
  read_file: {
    description: "Read a file of the repository",
    inputSchema: z.object({ path: z.string(), lines: z.array(z.number()).optional() }),
  },
};

describe.each(["anthropic", "openai", "openai-compatible"] as const)("%s", (provider) => {
  test("a plain answer: text, stop reason, usage and its cost, over the provider's own path with the key", async () => {
    fake.script({ text: "Paris is the capital of France.", usage: { inputTokens: 1200, outputTokens: 30 } });
    const result = await callModel({
      settings: fakeSettings(fake, provider),
      system: "Answer in one sentence.",
      messages: [{ role: "user", content: "What is the capital of France?" }],
      maxTokens: 200,
    });
    expect(result.text).toBe("Paris is the capital of France.");
    expect(result.toolCalls).toEqual([]);
    expect(result.finishReason).toBe("stop");
    expect(result.usage).toEqual({ inputTokens: 1200, outputTokens: 30, estimated: false });
    // 1200 × $3/M + 30 × $15/M
    expect(result.costUsd).toBeCloseTo(0.0036 + 0.00045, 10);
    expect(result.model).toBe(`fake-${provider}-model`);
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);

    const [sent] = fake.requests;
    expect(sent!.path).toBe(wire(provider).path);
    expect(sent!.stream).toBe(false);
    expect(wire(provider).key(sent!)).toBe(FAKE_API_KEY);
    expect(wire(provider).system(sent!)).toBe("Answer in one sentence.");
    expect(wire(provider).maxTokens(sent!)).toBe(200);
    expect(sent!.promptText).toContain("What is the capital of France?");
  });

  test("a streamed answer: every delta in order, joined equal to the final text", async () => {
    fake.script({ text: "The quick brown fox jumps over the lazy dog.", chunkSize: 5, usage: { inputTokens: 40, outputTokens: 11 } });
    const deltas: string[] = [];
    const result = await callModel({
      settings: fakeSettings(fake, provider),
      messages: [{ role: "user", content: "Say the pangram." }],
      onTextDelta: (d) => deltas.push(d),
    });
    expect(deltas).toEqual(["The q", "uick ", "brown", " fox ", "jumps", " over", " the ", "lazy ", "dog."]);
    expect(result.text).toBe(deltas.join(""));
    expect(result.finishReason).toBe("stop");
    // Streams report usage at their end (Anthropic: message_start + message_delta; OpenAI: a usage chunk).
    expect(result.usage).toEqual({ inputTokens: 40, outputTokens: 11, estimated: false });
    expect(result.costUsd).toBeCloseTo((40 * 3 + 11 * 15) / 1e6, 12);
    expect(fake.requests[0]!.stream).toBe(true);
    if (provider !== "anthropic") expect(fake.requests[0]!.body.stream_options).toEqual({ include_usage: true });
  });

  for (const streamed of [false, true]) {
    test(`a tool call${streamed ? " streamed with its JSON arguments cut into many chunks" : ""} comes back parsed, with the schema sent`, async () => {
      const input = { path: "src/llm/call.ts", lines: [10, 20] };
      fake.script({ text: "Let me look.", toolCalls: [{ name: "read_file", input }], chunkSize: 3 });
      const result = await callModel({
        settings: fakeSettings(fake, provider),
        messages: [{ role: "user", content: "What does call.ts do?" }],
        tools: readFile,
        onTextDelta: streamed ? () => {} : undefined,
      });
      expect(result.toolCalls).toHaveLength(1);
      expect(result.toolCalls[0]).toMatchObject({ name: "read_file", input });
      expect(result.toolCalls[0]!.id).toMatch(/^(toolu|call)_fake_1_0$/);
      expect(result.toolCalls[0]!.invalid).toBeUndefined();
      expect(result.text).toBe("Let me look.");
      expect(result.finishReason).toBe("tool-calls");
      expect(wire(provider).toolSchema(fake.requests[0]!, "read_file")).toMatchObject({
        type: "object",
        properties: { path: { type: "string" } },
        required: ["path"],
      });
    });
  }

  test("a tool defined by a JSON schema works like a zod one", async () => {
    fake.script({ toolCalls: [{ name: "run_command", input: { command: "npm test" } }] });
    const result = await callModel({
      settings: fakeSettings(fake, provider),
      messages: [{ role: "user", content: "Run the tests." }],
      tools: {
        run_command: {
          description: "Run a shell command",
          inputSchema: { type: "object", properties: { command: { type: "string" } }, required: ["command"], additionalProperties: false },
        },
      },
    });
    expect(result.toolCalls).toEqual([{ id: expect.any(String), name: "run_command", input: { command: "npm test" } }]);
    expect(wire(provider).toolSchema(fake.requests[0]!, "run_command")).toMatchObject({ properties: { command: { type: "string" } } });
  });

  test("a call that does not fit the tool's schema is returned marked invalid, not thrown", async () => {
    fake.script({ toolCalls: [{ name: "read_file", input: { path: 42 } }] });
    const result = await callModel({ settings: fakeSettings(fake, provider), messages: [{ role: "user", content: "read" }], tools: readFile });
    expect(result.toolCalls[0]).toMatchObject({ name: "read_file", input: { path: 42 } });
    expect(result.toolCalls[0]!.invalid).toContain("expected string");
  });

  test("the next step carries the assistant's tool call and the tool's result in the provider's format", async () => {
    fake.script({ text: "The file exports callModel." });
    await callModel({
      settings: fakeSettings(fake, provider),
      messages: [
        { role: "user", content: "What does call.ts export?" },
        { role: "assistant", content: "", toolCalls: [{ id: "tc_1", name: "read_file", input: { path: "call.ts" } }] },
        { role: "tool", toolCallId: "tc_1", toolName: "read_file", content: "export function callModel() {}" },
      ],
      tools: readFile,
    });
    const { body, promptText } = fake.requests[0]!;
    expect(promptText).toContain("export function callModel() {}");
    if (provider === "anthropic") {
      expect(body.messages[1].content).toEqual([expect.objectContaining({ type: "tool_use", id: "tc_1", name: "read_file", input: { path: "call.ts" } })]);
      expect(body.messages[2]).toMatchObject({ role: "user", content: [{ type: "tool_result", tool_use_id: "tc_1" }] });
    } else {
      expect(body.messages[1].tool_calls).toEqual([expect.objectContaining({ id: "tc_1", function: { name: "read_file", arguments: '{"path":"call.ts"}' } })]);
      expect(body.messages[2]).toMatchObject({ role: "tool", tool_call_id: "tc_1", content: "export function callModel() {}" });
    }
  });

  test("an answer cut off at the token limit says so", async () => {
    fake.script({ text: "Once upon a", finish: "length" });
    const result = await callModel({ settings: fakeSettings(fake, provider), messages: [{ role: "user", content: "Tell a story" }], maxTokens: 3 });
    expect(result.finishReason).toBe("length");
    expect(wire(provider).maxTokens(fake.requests[0]!)).toBe(3);
  });
});

test("two tool calls in one turn: both come back, and their two results go to Anthropic in one user turn", async () => {
  fake.script({ toolCalls: [{ name: "read_file", input: { path: "a.ts" } }, { name: "read_file", input: { path: "b.ts" } }] }, { text: "Both read." });
  const settings = fakeSettings(fake, "anthropic");
  const first = await callModel({ settings, messages: [{ role: "user", content: "Read a.ts and b.ts" }], tools: readFile, onTextDelta: () => {} });
  expect(first.toolCalls.map((c) => c.input)).toEqual([{ path: "a.ts" }, { path: "b.ts" }]);
  await callModel({
    settings,
    tools: readFile,
    messages: [
      { role: "user", content: "Read a.ts and b.ts" },
      { role: "assistant", content: "", toolCalls: first.toolCalls },
      ...first.toolCalls.map((c, i) => ({ role: "tool" as const, toolCallId: c.id, toolName: c.name, content: `file ${i}`, isError: i === 1 })),
    ],
  });
  const sent = fake.requests[1]!.body.messages;
  expect(sent).toHaveLength(3);
  expect(sent[2].content).toEqual([
    expect.objectContaining({ type: "tool_result", tool_use_id: first.toolCalls[0]!.id, content: "file 0" }),
    expect.objectContaining({ type: "tool_result", tool_use_id: first.toolCalls[1]!.id, content: "file 1", is_error: true }),
  ]);
});

test("a caller cannot raise the token limit above the settings' maxTokens", async () => {
  fake.script({ text: "ok" });
  await callModel({ settings: fakeSettings(fake, "anthropic", { maxTokens: 500 }), messages: [{ role: "user", content: "hi" }], maxTokens: 100_000 });
  expect(fake.requests[0]!.body.max_tokens).toBe(500);
});

test("a server that reports no usage still costs something: usage is estimated and says so", async () => {
  fake.script({ text: "An answer of some length from a local model.", usage: null });
  const result = await callModel({
    settings: fakeSettings(fake, "openai-compatible", { apiKey: undefined }),
    messages: [{ role: "user", content: "A question that is long enough to count for a few tokens." }],
    onTextDelta: () => {},
  });
  expect(result.usage.estimated).toBe(true);
  expect(result.usage.inputTokens).toBeGreaterThan(10);
  expect(result.usage.outputTokens).toBeGreaterThan(10);
  expect(result.costUsd).toBeGreaterThan(0);
  // A local server takes no key: none is sent.
  expect(fake.requests[0]!.headers["authorization"]).toBeUndefined();
});
