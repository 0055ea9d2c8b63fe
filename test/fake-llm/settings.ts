// LLM settings pointing at a running fake, one per provider: what tests of the LLM layer and its callers use.
import type { LlmProvider, LlmSettings } from "../../src/llm/settings.ts";
import type { FakeLlm } from "./server.ts";

export const FAKE_API_KEY = "sk-fake-0123456789abcdef";

/** Cheap, round prices so a test can check cost by hand: $3 / $15 per million tokens in / out. */
export function fakeSettings(fake: FakeLlm, provider: LlmProvider, overrides: Partial<LlmSettings> = {}): LlmSettings {
  return {
    provider,
    baseUrl: provider === "anthropic" ? fake.anthropicBaseUrl : fake.openaiBaseUrl,
    model: `fake-${provider}-model`,
    apiKey: FAKE_API_KEY,
    maxTokens: 1024,
    priceInputPerMTok: 3,
    priceOutputPerMTok: 15,
    ...overrides,
  };
}
