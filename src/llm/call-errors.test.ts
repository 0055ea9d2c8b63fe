// callModel's failures through the real SDK against the fake: each provider error as one LlmError kind,
// Retry-After, keys kept out of messages, abort, timeout, a server that is not there.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { FAKE_API_KEY, fakeSettings } from "../../test/fake-llm/settings.ts";
import { startFakeLlm, type FakeLlm } from "../../test/fake-llm/server.ts";
import { callModel, type CallModelOptions } from "./call.ts";
import { LlmError } from "./errors.ts";
import type { LlmProvider } from "./settings.ts";

let fake: FakeLlm;
beforeEach(() => (fake = startFakeLlm({ apiKey: FAKE_API_KEY })));
afterEach(() => fake.stop());

const ask = [{ role: "user" as const, content: "Is the build green?" }];

/** The LlmError the call rejected with (fails the test when it resolved or threw something else). */
async function failure(options: CallModelOptions): Promise<LlmError> {
  const err = await callModel(options).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LlmError);
  return err as LlmError;
}

describe.each(["anthropic", "openai", "openai-compatible"] as const)("%s", (provider: LlmProvider) => {
  for (const streamed of [false, true]) {
    const mode = streamed ? "streamed" : "not streamed";
    const options = (overrides = {}): CallModelOptions => ({
      settings: fakeSettings(fake, provider, overrides),
      messages: ask,
      onTextDelta: streamed ? () => {} : undefined,
    });

    test(`429 (${mode}): rate_limited, retryable, with the Retry-After wait`, async () => {
      fake.script({ error: { status: 429, retryAfter: "7", message: "Rate limit reached for requests" } });
      const err = await failure(options());
      expect(err).toMatchObject({ kind: "rate_limited", status: 429, retryable: true, retryAfterMs: 7000 });
      expect(err.message).toContain("Rate limit reached");
      expect(fake.requests).toHaveLength(1); // SDK retries are off: one attempt, one request
    });

    test(`500 (${mode}): server, retryable`, async () => {
      fake.script({ error: { status: 500, message: "Internal server error" } });
      const err = await failure(options());
      expect(err).toMatchObject({ kind: "server", status: 500, retryable: true });
      expect(err.retryAfterMs).toBeUndefined();
      expect(fake.requests).toHaveLength(1);
    });

    test(`a wrong key (${mode}): auth, not retryable, and the key is not in the message`, async () => {
      const wrongKey = "sk-wrong-9f8e7d6c5b4a39281706";
      fake.script({ text: "never sent" });
      const err = await failure(options({ apiKey: wrongKey }));
      expect(err).toMatchObject({ kind: "auth", status: 401, retryable: false });
      expect(err.message).not.toContain(wrongKey);
      expect(err.message).not.toContain("9f8e7d6c");
      expect(fake.pending()).toBe(1); // refused before any answer was taken
    });
  }

  test("400: bad_request, not retryable", async () => {
    fake.script({ error: { status: 400, message: "messages: roles must alternate" } });
    const err = await failure({ settings: fakeSettings(fake, provider), messages: ask });
    expect(err).toMatchObject({ kind: "bad_request", status: 400, retryable: false });
    expect(err.message).toContain("roles must alternate");
  });

  for (const streamed of [false, true]) {
    test(`an abort while the provider has not answered rejects with the abort at once (${streamed ? "streamed" : "not streamed"})`, async () => {
      fake.script({ hang: "before-response" });
      const controller = new AbortController();
      const call = callModel({ settings: fakeSettings(fake, provider), messages: ask, signal: controller.signal, onTextDelta: streamed ? () => {} : undefined });
      const [request] = await fake.waitForRequests(1);
      controller.abort();
      const err = await call.then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(DOMException);
      expect((err as DOMException).name).toBe("AbortError");
      expect(await request!.done).toBe("aborted"); // the connection really went away
    });
  }

  test("an abort in the middle of a stream: the deltas so far arrived, then the abort", async () => {
    fake.script({ text: "Checking the build now, one moment", hang: "mid-stream" });
    const controller = new AbortController();
    const deltas: string[] = [];
    let firstDelta!: () => void;
    const gotFirst = new Promise<void>((r) => (firstDelta = r));
    const call = callModel({
      settings: fakeSettings(fake, provider),
      messages: ask,
      signal: controller.signal,
      onTextDelta: (d) => (deltas.push(d), firstDelta()),
    });
    await gotFirst;
    controller.abort(new Error("operator cancelled"));
    await expect(call).rejects.toThrow("operator cancelled");
    expect(deltas).toEqual(["Chec"]);
    expect(await fake.requests[0]!.done).toBe("aborted");
  });

  test("no answer within timeoutMs: timeout, retryable", async () => {
    fake.script({ hang: "before-response" });
    const err = await failure({ settings: fakeSettings(fake, provider, { timeoutMs: 100 }), messages: ask });
    expect(err).toMatchObject({ kind: "timeout", retryable: true });
    expect(err.message).toContain("100 ms");
    expect(await fake.requests[0]!.done).toBe("aborted");
  });
});

test("Anthropic 529 overloaded: server, retryable", async () => {
  fake.script({ error: { status: 529, message: "Overloaded" } });
  const err = await failure({ settings: fakeSettings(fake, "anthropic"), messages: ask });
  expect(err).toMatchObject({ kind: "server", status: 529, retryable: true });
});

test("OpenAI's retry-after-ms wins over retry-after", async () => {
  fake.script({ error: { status: 429, retryAfter: "20", headers: { "retry-after-ms": "1500" } } });
  const err = await failure({ settings: fakeSettings(fake, "openai"), messages: ask });
  expect(err.retryAfterMs).toBe(1500);
});

test("nothing listening at baseUrl: network, retryable", async () => {
  const gone = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = gone.port;
  await gone.stop(true);
  const err = await failure({ settings: fakeSettings(fake, "openai", { baseUrl: `http://127.0.0.1:${port}/v1` }), messages: ask });
  expect(err).toMatchObject({ kind: "network", retryable: true });
  expect(err.status).toBeUndefined();
});

test("an already aborted signal makes no request at all", async () => {
  const controller = new AbortController();
  controller.abort();
  await expect(callModel({ settings: fakeSettings(fake, "anthropic"), messages: ask, signal: controller.signal })).rejects.toThrow();
  expect(fake.requests).toHaveLength(0);
});

test("a fake with nothing scripted answers a loud 500 naming the omission", async () => {
  const err = await failure({ settings: fakeSettings(fake, "anthropic"), messages: ask });
  expect(err.kind).toBe("server");
  expect(err.message).toContain("nothing scripted for request #1");
});

describe.each(["anthropic", "openai"] as const)("%s", (provider) => {
  test("an error event after the stream started: server, retryable, after the first delta arrived", async () => {
    const deltas: string[] = [];
    fake.script({ text: "Half an answ", streamError: { message: "Overloaded" } });
    const err = await failure({ settings: fakeSettings(fake, provider), messages: ask, onTextDelta: (d) => deltas.push(d) });
    expect(err).toMatchObject({ kind: "server", retryable: true });
    expect(err.message).toContain("Overloaded");
    expect(deltas).toEqual(["Half"]);
  });
});
