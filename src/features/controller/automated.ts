// The automated handler: answers a question with the configured model. The prompt comes from the context
// manager; every attempt reserves its worst case against the budgets before the call (and is refused,
// unmade, when it would overspend); retryable provider failures retry with backoff; the model may answer
// or hand the question to a human (`escalate_to_human`). What it cost is recorded on the request.
import { z } from "zod";
import type { Db } from "../../db/client.ts";
import type { TaskRecord } from "../../engine/task-record.ts";
import { callModel, estimateTokens, LlmError, retryWithBackoff, worstCaseCost, type CallModelResult, type LlmSettings, type LlmTools } from "../../llm/index.ts";
import { BudgetExceeded, release, reserve, settle, type BudgetLimits } from "./budgets.ts";
import { buildContext, DEFAULT_SOURCES, type ContextSource, type Masker } from "./context-manager.ts";
import type { RequestRow } from "./requests.ts";

export const CONTEXT_BUDGET_TOKENS = 6000;

export type AutomatedOutcome =
  | { kind: "answer"; answer: string; llm: Record<string, unknown> }
  | { kind: "escalate"; reason: string; llm: Record<string, unknown> };

export interface AutomatedDeps {
  db: Db;
  clock: () => number;
  settings: LlmSettings;
  budgets: BudgetLimits;
  masker?: Masker;
  sources?: ContextSource[];
  /** The plan run a task belongs to (its root parent), for the run budget. */
  runOf(task: TaskRecord): string | null;
  onDelta?(text: string): void;
  /** Records what the model was given before the call, so it shows while the answer streams. */
  onContext?(used: unknown): void;
  attempts?: number;
  retryBaseMs?: number;
}

const TOOLS: LlmTools = {
  answer: {
    description: "Give the task its answer. When the question lists options, `answer` must be exactly one of them.",
    inputSchema: z.object({ answer: z.string().min(1).describe("The answer the task will receive") }),
  },
  escalate_to_human: {
    description: "Hand the question to a human instead: when it needs a judgement you should not make (risk, money, production, people), or the context is not enough.",
    inputSchema: z.object({ reason: z.string().min(1).describe("Why a human should answer, shown to them") }),
  },
};

const SYSTEM = `You are the controller of AgentVine, a control plane for automated work and AI coding agents.
A running task has paused to ask a question; answer it so the task can continue, using only what you are told here.
Call the tool \`answer\` with the answer, or \`escalate_to_human\` with a reason when a person should decide.
Be brief and concrete. Never invent facts about the repository or the environment.`;

/** The question as the model sees it, with its options and the task's own context. */
function questionText(row: RequestRow): string {
  const options = JSON.parse(row.options) as string[];
  const parts = [`Question${row.category ? ` (${row.category})` : ""}: ${row.question}`];
  if (options.length) parts.push(`Options (answer with exactly one): ${options.map((o) => JSON.stringify(o)).join(", ")}`);
  if (row.context) parts.push(`What the task added: ${row.context}`);
  return parts.join("\n");
}

/** The option the model meant (exact, then case-insensitive and trimmed), or null when it named none. */
export function matchOption(answer: string, options: string[]): string | null {
  if (options.includes(answer)) return answer;
  const norm = (s: string) => s.trim().toLowerCase().replace(/[.!"']+$/g, "");
  return options.find((o) => norm(o) === norm(answer)) ?? null;
}

export async function answerAutomatically(deps: AutomatedDeps, row: RequestRow, task: TaskRecord, signal: AbortSignal): Promise<AutomatedOutcome> {
  const { settings, db } = deps;
  const context = buildContext({ db, task, requestId: row.id, question: row.question }, deps.sources ?? DEFAULT_SOURCES, CONTEXT_BUDGET_TOKENS, deps.masker);
  deps.onContext?.({ sections: context.used, omitted: context.omitted, budget_tokens: context.budgetTokens });
  const question = deps.masker ? deps.masker.maskSecrets(questionText(row)) : questionText(row);
  const messages = [{ role: "user" as const, content: `${context.text}\n\n${question}` }];
  const promptTokens = estimateTokens(SYSTEM) + estimateTokens(messages[0]!.content) + estimateTokens(JSON.stringify(Object.keys(TOOLS))) + 200;
  const maxTokens = settings.maxTokens;
  const calls: Array<Record<string, unknown>> = [];
  const summary = (extra: Record<string, unknown> = {}) => {
    const total = { input_tokens: 0, output_tokens: 0, cost_usd: 0 };
    for (const c of calls) {
      total.input_tokens += Number(c.input_tokens ?? 0);
      total.output_tokens += Number(c.output_tokens ?? 0);
      total.cost_usd += Number(c.cost_usd ?? 0);
    }
    return { provider: settings.provider, model: settings.model, attempts: calls.length, ...total, calls, ...extra };
  };
  const runId = deps.runOf(task);
  let result: CallModelResult;
  try {
    result = await retryWithBackoff(
      async () => {
        // Reserved before every attempt: a refused reservation means the call is never made.
        const reservation = reserve(
          db,
          deps.budgets,
          { taskId: task.id, runId, requestId: row.id, purpose: "question", model: settings.model, usd: worstCaseCost(settings, promptTokens, maxTokens), tokens: promptTokens + maxTokens },
          deps.clock(),
        );
        try {
          const r = await callModel({ settings, system: SYSTEM, messages, tools: TOOLS, maxTokens, signal, onTextDelta: deps.onDelta });
          settle(db, reservation, { inputTokens: r.usage.inputTokens, outputTokens: r.usage.outputTokens, costUsd: r.costUsd }, deps.clock());
          calls.push({ model: r.model, input_tokens: r.usage.inputTokens, output_tokens: r.usage.outputTokens, cost_usd: r.costUsd, latency_ms: Math.round(r.latencyMs), finish_reason: r.finishReason });
          return r;
        } catch (err) {
          release(db, reservation, deps.clock());
          calls.push({ error: err instanceof Error ? err.message : String(err), kind: err instanceof LlmError ? err.kind : undefined });
          throw err;
        }
      },
      { attempts: deps.attempts ?? 3, baseMs: deps.retryBaseMs ?? 500, maxMs: 10_000, signal },
    );
  } catch (err) {
    if (signal.aborted) throw err;
    if (err instanceof BudgetExceeded) return { kind: "escalate", reason: `not asked to the model: ${err.message}`, llm: summary({ refused: err.message }) };
    if (err instanceof LlmError) return { kind: "escalate", reason: `the model could not answer (${err.kind}${err.status ? ` ${err.status}` : ""}): ${err.message}`, llm: summary({ error: err.message }) };
    throw err;
  }
  const options = JSON.parse(row.options) as string[];
  const escalate = result.toolCalls.find((c) => c.name === "escalate_to_human" && !c.invalid);
  if (escalate) return { kind: "escalate", reason: `the model handed it to a human: ${String((escalate.input as { reason?: unknown }).reason ?? "no reason given")}`, llm: summary() };
  const call = result.toolCalls.find((c) => c.name === "answer" && !c.invalid);
  const text = (call ? String((call.input as { answer?: unknown }).answer ?? "") : result.text).trim();
  if (!text) return { kind: "escalate", reason: "the model gave no answer", llm: summary() };
  if (options.length) {
    const option = matchOption(text, options);
    if (!option) return { kind: "escalate", reason: `the model's answer ${JSON.stringify(text.slice(0, 200))} is not one of the options`, llm: summary() };
    return { kind: "answer", answer: option, llm: summary() };
  }
  return { kind: "answer", answer: text, llm: summary() };
}
