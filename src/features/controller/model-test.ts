// "Test the model": one short question to the configured model, through callModel like every other call,
// reserved against the daily budget first (refused, unmade, when it would overspend) and settled with what
// it used — so a test costs what it costs, in the same ledger, and shows in the cost view.
import type { Db } from "../../db/client.ts";
import { callModel, estimateTokens, LlmError, worstCaseCost, type LlmSettings } from "../../llm/index.ts";
import { BudgetExceeded, release, reserve, settle, type BudgetLimits } from "./budgets.ts";

const SYSTEM = "You are being tested by AgentVine, a control plane for AI coding agents. Answer in one short sentence.";
const QUESTION = "Reply with one short sentence: which model are you, and is the connection working?";
/** Enough for one sentence; the reservation's worst case is this many output tokens. */
const MAX_TOKENS = 64;

export type ModelTestResult =
  | { ok: true; answer: string; model: string; latencyMs: number; inputTokens: number; outputTokens: number; costUsd: number; estimated: boolean }
  | { ok: false; error: string; kind: "budget" | "provider" | "other" };

export async function testModel(deps: { db: Db; clock: () => number }, settings: LlmSettings, budgets: BudgetLimits, signal?: AbortSignal): Promise<ModelTestResult> {
  const maxTokens = Math.min(MAX_TOKENS, settings.maxTokens);
  const promptTokens = estimateTokens(SYSTEM) + estimateTokens(QUESTION) + 20;
  let reservation: string;
  try {
    reservation = reserve(
      deps.db,
      budgets,
      { taskId: null, runId: null, purpose: "model-test", model: settings.model, usd: worstCaseCost(settings, promptTokens, maxTokens), tokens: promptTokens + maxTokens },
      deps.clock(),
    );
  } catch (err) {
    if (err instanceof BudgetExceeded) return { ok: false, kind: "budget", error: `Not asked: ${err.message}` };
    throw err;
  }
  try {
    const r = await callModel({ settings, system: SYSTEM, messages: [{ role: "user", content: QUESTION }], maxTokens, signal });
    settle(deps.db, reservation, { inputTokens: r.usage.inputTokens, outputTokens: r.usage.outputTokens, costUsd: r.costUsd }, deps.clock());
    return {
      ok: true,
      answer: r.text.trim() || "(the model answered with no text)",
      model: r.model,
      latencyMs: r.latencyMs,
      inputTokens: r.usage.inputTokens,
      outputTokens: r.usage.outputTokens,
      costUsd: r.costUsd,
      estimated: r.usage.estimated,
    };
  } catch (err) {
    release(deps.db, reservation, deps.clock());
    if (err instanceof LlmError) return { ok: false, kind: "provider", error: `${settings.provider} said no (${err.kind}${err.status ? ` ${err.status}` : ""}): ${err.message}` };
    return { ok: false, kind: "other", error: err instanceof Error ? err.message : String(err) };
  }
}
