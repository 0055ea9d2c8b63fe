// How provider answers become LlmError fields: status → kind, Retry-After → a wait, keys out of messages.
import { expect, test } from "bun:test";
import { kindOfStatus, retryAfterMs, safeMessage, toLlmError } from "./errors.ts";

test("each status maps to the kind a caller acts on", () => {
  const table = { 400: "bad_request", 401: "auth", 403: "auth", 404: "bad_request", 408: "timeout", 413: "bad_request", 429: "rate_limited", 500: "server", 502: "server", 503: "server", 529: "server" };
  for (const [status, kind] of Object.entries(table)) expect([status, kindOfStatus(Number(status))]).toEqual([status, kind]);
});

test("Retry-After in seconds, in milliseconds (OpenAI), as an HTTP date, and nonsense", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  expect(retryAfterMs({ "retry-after": "12" }, now)).toBe(12_000);
  expect(retryAfterMs({ "Retry-After": "1.5" }, now)).toBe(1_500);
  expect(retryAfterMs({ "retry-after-ms": "250", "retry-after": "9" }, now)).toBe(250);
  expect(retryAfterMs({ "retry-after": "Thu, 01 Jan 2026 00:00:30 GMT" }, now)).toBe(30_000);
  expect(retryAfterMs({ "retry-after": "Wed, 31 Dec 2025 23:59:00 GMT" }, now)).toBeUndefined(); // in the past
  expect(retryAfterMs({ "retry-after": "soon" }, now)).toBeUndefined();
  expect(retryAfterMs({}, now)).toBeUndefined();
  expect(retryAfterMs(undefined, now)).toBeUndefined();
});

test("a message never carries the key, whole or as a provider echoes part of it", () => {
  const key = "sk-ant-api03-SECRETSECRETSECRET";
  expect(safeMessage(`invalid key ${key}`, key)).toBe("invalid key [key]");
  expect(safeMessage("Incorrect API key provided: sk-proj-abc123**********wxyz.")).toBe("Incorrect API key provided: [key].");
  expect(safeMessage("x".repeat(2000)).length).toBeLessThanOrEqual(501);
});

test("an error that is not the SDK's is left alone (null), so a bug is not retried as a provider failure", () => {
  expect(toLlmError(new RangeError("bug"), { provider: "openai" })).toBeNull();
  expect(toLlmError("a string", { provider: "openai" })).toBeNull();
});
