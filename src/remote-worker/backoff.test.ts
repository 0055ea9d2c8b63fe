import { describe, expect, test } from "bun:test";
import { Backoff, backoffDelay } from "./backoff.ts";

describe("backoffDelay", () => {
  test("doubles from the base and stops at the cap", () => {
    const top = (attempt: number) => backoffDelay(attempt, { baseMs: 250, capMs: 10_000, random: () => 0.999999 });
    expect([0, 1, 2, 3, 4, 5, 6, 20].map(top)).toEqual([250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  test("jitter keeps each delay between half and all of its ceiling", () => {
    expect(backoffDelay(3, { baseMs: 250, random: () => 0 })).toBe(1000);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(10);
      expect(d).toBeGreaterThanOrEqual(5000);
      expect(d).toBeLessThanOrEqual(10_000);
    }
  });

  test("a success starts the sequence over", () => {
    const b = new Backoff({ baseMs: 100, random: () => 0.999999 });
    expect([b.next(), b.next(), b.next()]).toEqual([100, 200, 400]);
    b.reset();
    expect(b.next()).toBe(100);
  });
});
