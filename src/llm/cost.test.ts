// Costs at the configured prices, the worst case a budget reserves, and the token estimate.
import { expect, test } from "bun:test";
import { costOf, estimateTokens, worstCaseCost } from "./cost.ts";

const prices = { priceInputPerMTok: 3, priceOutputPerMTok: 15 };

test("cost is tokens × price per million, input and output priced apart", () => {
  expect(costOf(prices, { inputTokens: 1_000_000, outputTokens: 0 })).toBe(3);
  expect(costOf(prices, { inputTokens: 0, outputTokens: 1_000_000 })).toBe(15);
  expect(costOf(prices, { inputTokens: 2_000, outputTokens: 500 })).toBeCloseTo(0.006 + 0.0075, 12);
  expect(costOf({ priceInputPerMTok: 0, priceOutputPerMTok: 0 }, { inputTokens: 9e6, outputTokens: 9e6 })).toBe(0);
});

test("the worst case charges every allowed output token, and is never below what the call can cost", () => {
  expect(worstCaseCost(prices, 10_000, 4_096)).toBeCloseTo(0.03 + 0.06144, 12);
  expect(worstCaseCost(prices, 10_000, 4_096)).toBeGreaterThanOrEqual(costOf(prices, { inputTokens: 10_000, outputTokens: 4_000 }));
});

test("the estimate errs high: bytes / 3, so prose, code and CJK text are all counted at least as tokenisers do", () => {
  expect(estimateTokens("")).toBe(0);
  expect(estimateTokens("hello world!")).toBe(4); // 12 bytes; a tokeniser says 3
  expect(estimateTokens("const x = a?.b ?? 0;")).toBe(7); // 20 bytes
  expect(estimateTokens("東京都")).toBe(3); // 9 bytes, about one token a character
});
