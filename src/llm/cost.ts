// Token estimates and prices: what a call costs, and the most it could cost (for budget reservations).
import type { LlmSettings } from "./settings.ts";

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

type Prices = Pick<LlmSettings, "priceInputPerMTok" | "priceOutputPerMTok">;

/**
 * A rough token count for text no model has counted yet: ceil(UTF-8 bytes / 3). English prose runs about
 * 4 characters a token and code about 3, so this errs high on purpose (callers reserve budget with it and
 * settle with the provider's counts after); counting bytes, not characters, keeps CJK text (3 bytes, about
 * one token a character) from being under-counted fourfold. Real tokenisers differ by model.
 */
export function estimateTokens(text: string): number {
  return Math.ceil(Buffer.byteLength(text, "utf8") / 3);
}

/** USD for the given usage at the settings' prices (per million tokens). */
export function costOf(settings: Prices, usage: TokenUsage): number {
  return (usage.inputTokens * settings.priceInputPerMTok + usage.outputTokens * settings.priceOutputPerMTok) / 1_000_000;
}

/** The most a call can cost: the whole prompt plus every output token it is allowed. Reserve this before calling. */
export function worstCaseCost(settings: Prices, promptTokens: number, maxTokens: number): number {
  return costOf(settings, { inputTokens: promptTokens, outputTokens: maxTokens });
}
