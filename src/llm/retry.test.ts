// retryWithBackoff: around callModel against the fake (two failures, then an answer) and on its own
// (jittered waits, the cap, Retry-After, what is never retried, abort while waiting).
import { afterEach, beforeEach, expect, test } from "bun:test";
import { fakeSettings } from "../../test/fake-llm/settings.ts";
import { startFakeLlm, type FakeLlm } from "../../test/fake-llm/server.ts";
import { callModel } from "./call.ts";
import { LlmError, type LlmErrorKind } from "./errors.ts";
import { backoffDelay, retryWithBackoff } from "./retry.ts";

let fake: FakeLlm;
beforeEach(() => (fake = startFakeLlm()));
afterEach(() => fake.stop());

const ask = [{ role: "user" as const, content: "Summarise the diff." }];
const providerError = (kind: LlmErrorKind, retryAfterMs?: number) => new LlmError({ kind, message: `fake ${kind}`, retryAfterMs });

test("two provider failures, then the answer: the caller gets the answer and saw both retries", async () => {
  fake.script({ error: { status: 529 } }, { error: { status: 429, retryAfter: "0" } }, { text: "Two files changed." });
  const retries: Array<{ kind: string; attempt: number; delayMs: number }> = [];
  const attemptsMade: number[] = [];
  const result = await retryWithBackoff(
    (attempt) => {
      attemptsMade.push(attempt);
      return callModel({ settings: fakeSettings(fake, "anthropic"), messages: ask });
    },
    { attempts: 3, baseMs: 1, random: () => 0.5, onRetry: ({ error, attempt, delayMs }) => retries.push({ kind: error.kind, attempt, delayMs }) },
  );
  expect(result.text).toBe("Two files changed.");
  expect(attemptsMade).toEqual([1, 2, 3]);
  // The 529 waits the jittered backoff (1 ms ceiling → 1 ms); the 429 waits what Retry-After said (0 s).
  expect(retries).toEqual([
    { kind: "server", attempt: 1, delayMs: 1 },
    { kind: "rate_limited", attempt: 2, delayMs: 0 },
  ]);
  expect(fake.requests).toHaveLength(3);
});

test("an auth failure is not retried: one request, the error as it was", async () => {
  fake.script({ error: { status: 401 } }, { text: "never" });
  let retried = false;
  const err = await retryWithBackoff(() => callModel({ settings: fakeSettings(fake, "openai"), messages: ask }), {
    attempts: 5,
    baseMs: 1,
    onRetry: () => (retried = true),
  }).catch((e: unknown) => e);
  expect(err).toMatchObject({ kind: "auth", retryable: false });
  expect(retried).toBe(false);
  expect(fake.requests).toHaveLength(1);
});

test("when every attempt fails, the last error comes out after exactly `attempts` requests", async () => {
  fake.script({ error: { status: 500, message: "first" } }, { error: { status: 502, message: "second" } }, { error: { status: 503, message: "third" } });
  const err = await retryWithBackoff(() => callModel({ settings: fakeSettings(fake, "openai"), messages: ask }), { attempts: 3, baseMs: 1 }).catch(
    (e: unknown) => e,
  );
  expect(err).toMatchObject({ kind: "server", status: 503 });
  expect((err as Error).message).toContain("third");
  expect(fake.requests).toHaveLength(3);
});

test("backoff doubles per attempt, is jittered between half and all of it, and is capped", () => {
  expect([1, 2, 3, 4].map((a) => backoffDelay(a, 100, 10_000, () => 0))).toEqual([50, 100, 200, 400]);
  expect([1, 2, 3, 4].map((a) => backoffDelay(a, 100, 10_000, () => 0.999999))).toEqual([100, 200, 400, 800]);
  expect(backoffDelay(20, 100, 5_000, () => 0.999999)).toBe(5_000);
});

test("a Retry-After longer than maxMs ends the retries at once instead of holding the caller", async () => {
  let calls = 0;
  const err = await retryWithBackoff(
    async () => {
      calls++;
      throw providerError("rate_limited", 3_600_000);
    },
    { attempts: 5, baseMs: 1, maxMs: 60_000 },
  ).catch((e: unknown) => e);
  expect(err).toMatchObject({ kind: "rate_limited", retryAfterMs: 3_600_000 });
  expect(calls).toBe(1);
});

test("errors that are not provider errors (our own bugs) are never retried", async () => {
  let calls = 0;
  const err = await retryWithBackoff(
    async () => {
      calls++;
      throw new TypeError("cannot read properties of undefined");
    },
    { attempts: 5, baseMs: 1 },
  ).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(TypeError);
  expect(calls).toBe(1);
});

test("an abort while waiting to retry rejects at once with the abort's reason, with no further attempt", async () => {
  const controller = new AbortController();
  let calls = 0;
  const run = retryWithBackoff(
    async () => {
      calls++;
      throw providerError("server");
    },
    // A one-hour wait: only the abort can end this test in time.
    { attempts: 5, baseMs: 3_600_000, maxMs: 3_600_000, signal: controller.signal, onRetry: () => queueMicrotask(() => controller.abort(new Error("task cancelled"))) },
  );
  await expect(run).rejects.toThrow("task cancelled");
  expect(calls).toBe(1);
});

test("an already aborted signal makes no attempt", async () => {
  const controller = new AbortController();
  controller.abort(new Error("gone"));
  let calls = 0;
  await expect(retryWithBackoff(async () => ++calls, { attempts: 3, baseMs: 1, signal: controller.signal })).rejects.toThrow("gone");
  expect(calls).toBe(0);
});
