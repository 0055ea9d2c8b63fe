// Settings validation: what passes, and messages that name each bad field without echoing a key.
import { expect, test } from "bun:test";
import { LlmSettingsError, parseLlmSettings } from "./settings.ts";

const valid = { provider: "anthropic", model: "claude-sonnet-4-5", apiKey: "sk-ant-secret-123", maxTokens: 4096, priceInputPerMTok: 3, priceOutputPerMTok: 15 };

function issues(input: unknown): Record<string, string> {
  try {
    parseLlmSettings(input);
  } catch (err) {
    expect(err).toBeInstanceOf(LlmSettingsError);
    return Object.fromEntries((err as LlmSettingsError).issues.map((i) => [i.field, i.message]));
  }
  throw new Error("expected the settings to be refused");
}

test("valid settings parse as given; a local server needs no key", () => {
  expect(parseLlmSettings(valid)).toEqual(valid as never);
  const local = { provider: "openai-compatible", baseUrl: "http://127.0.0.1:11434/v1", model: "qwen2.5-coder", maxTokens: 2048, priceInputPerMTok: 0, priceOutputPerMTok: 0 };
  expect(parseLlmSettings(local).apiKey).toBeUndefined();
});

test("every bad field is named with what is wrong", () => {
  expect(issues({ ...valid, provider: "gemini", maxTokens: 0, temperature: 3, priceInputPerMTok: -1, baseUrl: "ftp://x", timeoutMs: 1.5 })).toEqual({
    provider: "must be one of anthropic, openai, openai-compatible",
    maxTokens: "must be at least 1",
    temperature: "must be between 0 and 2",
    priceInputPerMTok: "must be 0 or more (USD per million tokens)",
    baseUrl: "must be an http(s) URL, e.g. http://127.0.0.1:11434/v1",
    timeoutMs: "must be a whole number of milliseconds",
  });
  expect(issues({ provider: "openai" })).toMatchObject({ model: expect.stringContaining("required"), maxTokens: expect.any(String), priceOutputPerMTok: expect.any(String) });
});

test("a hosted provider needs its key; an OpenAI-compatible one needs its URL", () => {
  expect(issues({ ...valid, apiKey: undefined })).toEqual({ apiKey: "is required for provider anthropic" });
  expect(issues({ ...valid, provider: "openai-compatible", apiKey: undefined })).toEqual({ baseUrl: expect.stringContaining("is required for provider openai-compatible") });
});

test("the error message names fields, never the key's value", () => {
  const err = (() => {
    try {
      parseLlmSettings({ ...valid, maxTokens: -5 });
    } catch (e) {
      return e as Error;
    }
  })();
  expect(err?.message).toBe("invalid LLM settings: maxTokens: must be at least 1");
  expect(err?.message).not.toContain("sk-ant-secret");
});
