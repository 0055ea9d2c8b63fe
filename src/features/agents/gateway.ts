// The agent gateway: what a coding agent's thread calls (ctx.call) for its loop, wherever it runs — the
// model steps stay on the server (keys, budgets, the transcript). Each step rebuilds the conversation from
// the stored steps, checks the task, plan-run and daily budgets and clamps max_tokens to what they allow,
// reserves the worst case before the call (refusing it, unmade, when nothing is left), calls the model
// once (no SDK retries: a retry reserves again), settles what it cost and stores the step.
import type { Db } from "../../db/client.ts";
import type { EventBus } from "../../events/bus.ts";
import { getTaskRecord, planRunOf } from "../../engine/task-record.ts";
import { AppError, conflict, invalid, notFound } from "../../errors.ts";
import { callModel, estimateTokens, LlmError, retryWithBackoff, type LlmSettings, type LlmTools } from "../../llm/index.ts";
import { BudgetExceeded, release, reserve, settle, spendOf, utcDay, type BudgetLimits } from "../controller/budgets.ts";
import { documentsForContext } from "../context/for-agents.ts";
import { appendStep, conversationOf, listSteps, pendingToolCalls, stepByKey, usageOf, type ModelOutput, type StepRow } from "./steps.ts";

export interface AgentGatewayDeps {
  db: Db;
  bus: EventBus;
  clock: () => number;
  llm: () => LlmSettings | null;
  budgets: () => BudgetLimits;
  masker?: { maskSecrets(text: string): string };
  retryBaseMs?: number;
}

/** What an agent's instruction may carry of the team's documents. */
const DOCUMENTS_BUDGET_TOKENS = 3000;

/** Fewer output tokens than this left in a budget: the step is refused rather than cut to nothing. */
const MIN_OUTPUT_TOKENS = 64;

/** A refusal the thread turns into a question (extend the budget?) or a pause, never an error. */
export type StepAnswer =
  | { kind: "step"; seq: number; text: string; toolCalls: ModelOutput["toolCalls"]; usage: { input_tokens: number; output_tokens: number; cost_usd: number }; finish_reason: string }
  | { kind: "budget"; scope: string; message: string }
  | { kind: "paused"; by: string | null; at: number | null };

export class AgentGateway {
  constructor(private readonly deps: AgentGatewayDeps) {}

  /** Routes a thread's call; every method names the task and the attempt it is for. */
  async call(taskId: string, executionId: string, method: string, params: unknown, signal: AbortSignal): Promise<unknown> {
    const p = (params ?? {}) as Record<string, any>;
    switch (method) {
      case "agent.start":
        return this.start(taskId, executionId, String(p.system ?? ""), String(p.instruction ?? ""), p.budget ?? {});
      case "agent.note":
        return this.note(taskId, executionId, String(p.name ?? "feedback"), String(p.text ?? ""));
      case "agent.step":
        return this.step(taskId, executionId, { tools: p.tools ?? {}, maxTokens: Number(p.maxTokens ?? 0) || undefined, callKey: p.callKey ? String(p.callKey) : undefined }, signal);
      case "agent.tool":
        return this.tool(taskId, executionId, p as ToolRecord);
      case "agent.extend":
        return this.extend(taskId, p.by ? String(p.by) : null);
      case "agent.usage":
        return usageOf(this.deps.db, taskId);
      case "agent.task":
        return this.facts(taskId);
      case "agent.link_pr":
        return this.linkPullRequest(taskId, Number(p.pr_number));
      case "agent.documents":
        return this.documents(taskId, String(p.query ?? ""));
      default:
        throw invalid(`no call '${method}' (agent.task, agent.start, agent.note, agent.step, agent.tool, agent.extend, agent.usage, agent.link_pr)`);
    }
  }

  /**
   * Begins (or resumes) an agent's transcript: the first attempt stores the system prompt, the instruction
   * and the budget from the task's params; a later one changes nothing. Returns where it stands.
   */
  start(taskId: string, executionId: string, system: string, instruction: string, budget: { usd?: number; tokens?: number }) {
    const { db, clock } = this.deps;
    if (!getTaskRecord(db, taskId)) throw notFound("task", taskId);
    let rows = listSteps(db, taskId);
    const resumed = rows.length > 0;
    if (!resumed) {
      appendStep(db, { taskId, executionId, kind: "note", name: "system", input: system }, clock());
      appendStep(db, { taskId, executionId, kind: "note", name: "instruction", input: this.#mask(instruction) }, clock());
      if (budget.usd !== undefined || budget.tokens !== undefined) {
        db.sqlite
          .query("INSERT INTO agent_budgets (task_id, usd, tokens, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(task_id) DO NOTHING")
          .run(taskId, budget.usd ?? null, budget.tokens ?? null, clock());
      }
      rows = listSteps(db, taskId);
      this.#emit(rows.at(-1)!);
    }
    const modelSteps = rows.filter((r) => r.kind === "model").length;
    return { resumed, steps: rows.length, model_steps: modelSteps, pending_tool_calls: pendingToolCalls(rows), usage: usageOf(db, taskId) };
  }

  /** The task's fields the agent works from (remote workers are handed only its params). */
  facts(taskId: string) {
    const t = getTaskRecord(this.deps.db, taskId);
    if (!t) throw notFound("task", taskId);
    return { title: t.title, description: t.description, repository_url: t.repository_url, branch_name: t.branch_name, permission_level: t.permission_level, issue_number: t.issue_number, pr_number: t.pr_number };
  }

  /**
   * The team's documents that match the instruction (same repository first, then by rank), within a
   * stated token budget: the text the agent puts in its instruction, and which ones it was given.
   */
  documents(taskId: string, query: string) {
    const task = getTaskRecord(this.deps.db, taskId);
    if (!task) throw notFound("task", taskId);
    const found = documentsForContext(this.deps.db, { query, repositoryUrl: task.repository_url, budgetTokens: DOCUMENTS_BUDGET_TOKENS });
    const text = found.documents.map((d) => this.#mask(d.text)).join("\n\n");
    return {
      text: text || null,
      used: found.documents.map((d) => ({ id: d.id, title: d.title, version: d.version, tokens: d.tokens })),
      omitted: found.omitted,
      budget_tokens: found.budgetTokens,
    };
  }

  /** The pull request an agent opened, linked back on its task. */
  linkPullRequest(taskId: string, prNumber: number) {
    if (!Number.isInteger(prNumber) || prNumber < 1) throw invalid("pr_number must be a positive whole number");
    this.deps.db.sqlite.query("UPDATE tasks SET pr_number = ?, updated_at = ? WHERE id = ?").run(prNumber, this.deps.clock(), taskId);
    this.deps.bus.emit("task:updated", { taskId, at: this.deps.clock() });
    return { pr_number: prNumber };
  }

  /** A note for the model's next step: a person's steering message, or the runner's feedback. */
  note(taskId: string, executionId: string, name: string, text: string) {
    const row = appendStep(this.deps.db, { taskId, executionId, kind: "note", name, input: this.#mask(text) }, this.deps.clock());
    this.#emit(row);
    return { seq: row.seq };
  }

  tool(taskId: string, executionId: string, t: ToolRecord) {
    if (!t.toolCallId || !t.name) throw invalid("agent.tool needs toolCallId and name");
    const row = appendStep(
      this.deps.db,
      { taskId, executionId, kind: "tool", name: t.name, toolCallId: t.toolCallId, input: t.input, output: this.#mask(String(t.output ?? "")), isError: t.isError === true, durationMs: t.durationMs ?? null },
      this.deps.clock(),
    );
    this.#emit(row);
    return { seq: row.seq };
  }

  /** Raises the task's budget by its original amount again (a person said so when it ran out). */
  extend(taskId: string, by: string | null) {
    const { db, clock } = this.deps;
    const limits = this.#limits(taskId);
    const usd = limits.taskUsd ? limits.taskUsd * 2 : null;
    const tokens = limits.taskTokens ? limits.taskTokens * 2 : null;
    db.sqlite
      .query(
        `INSERT INTO agent_budgets (task_id, usd, tokens, extended_by, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(task_id) DO UPDATE SET usd = ?2, tokens = ?3, extended_by = ?4, updated_at = ?5`,
      )
      .run(taskId, usd, tokens, by, clock());
    return { budget: { usd, tokens } };
  }

  /** The budgets of a task: its own (from params, extended) over the configured per-task default. */
  #limits(taskId: string): BudgetLimits {
    const limits = { ...this.deps.budgets() };
    const own = this.deps.db.sqlite.query<{ usd: number | null; tokens: number | null }, [string]>("SELECT usd, tokens FROM agent_budgets WHERE task_id = ?").get(taskId);
    if (own?.usd != null) limits.taskUsd = own.usd;
    if (own?.tokens != null) limits.taskTokens = own.tokens;
    return limits;
  }

  async step(taskId: string, executionId: string, req: { tools: LlmTools; maxTokens?: number; callKey?: string }, signal: AbortSignal): Promise<StepAnswer> {
    const { db, clock } = this.deps;
    const task = getTaskRecord(db, taskId);
    if (!task) throw notFound("task", taskId);
    if (req.callKey) {
      // The same call sent again (its answer was lost on the way): the step it already made.
      const done = stepByKey(db, taskId, req.callKey);
      if (done) return stepAnswer(done);
    }
    const control = db.sqlite.query<{ paused: number; paused_by: string | null; paused_at: number | null }, [string]>("SELECT paused, paused_by, paused_at FROM agent_control WHERE task_id = ?").get(taskId);
    if (control?.paused === 1) return { kind: "paused", by: control.paused_by, at: control.paused_at };
    const settings = this.deps.llm();
    if (!settings) throw conflict("no model is configured (Settings → Models, or AGENTVINE_LLM_*): an agent cannot run without one");
    const rows = listSteps(db, taskId);
    const { system, messages } = conversationOf(rows);
    if (messages.length === 0) throw conflict("the agent has not started (agent.start first)");
    const promptTokens = estimateTokens((system ?? "") + JSON.stringify(messages) + JSON.stringify(req.tools)) + 100;
    const limits = this.#limits(taskId);
    const runId = planRunOf(db, task.parent_task_id);
    const maxTokens = this.#clamp(settings, limits, taskId, runId, promptTokens, Math.min(req.maxTokens ?? settings.maxTokens, settings.maxTokens));
    if (typeof maxTokens === "object") return maxTokens;
    const started = performance.now();
    try {
      const result = await retryWithBackoff(
        async () => {
          const reservation = reserve(db, limits, { taskId, runId, purpose: "agent_step", model: settings.model, usd: (promptTokens * settings.priceInputPerMTok + maxTokens * settings.priceOutputPerMTok) / 1e6, tokens: promptTokens + maxTokens }, clock());
          try {
            const r = await callModel({ settings, system, messages, tools: req.tools, maxTokens, signal });
            settle(db, reservation, { inputTokens: r.usage.inputTokens, outputTokens: r.usage.outputTokens, costUsd: r.costUsd }, clock());
            return r;
          } catch (err) {
            release(db, reservation, clock());
            throw err;
          }
        },
        { attempts: 3, baseMs: this.deps.retryBaseMs ?? 500, maxMs: 10_000, signal },
      );
      const output: ModelOutput = { text: result.text, toolCalls: result.toolCalls, finishReason: result.finishReason };
      const row = appendStep(
        db,
        { taskId, executionId, kind: "model", name: result.model, callKey: req.callKey ?? null, output, inputTokens: result.usage.inputTokens, outputTokens: result.usage.outputTokens, costUsd: result.costUsd, durationMs: Math.round(performance.now() - started) },
        clock(),
      );
      this.#emit(row);
      return stepAnswer(row);
    } catch (err) {
      if (err instanceof BudgetExceeded) return { kind: "budget", scope: err.scope, message: err.message };
      if (err instanceof LlmError) throw Object.assign(new AppError(503, "internal", `the model could not answer (${err.kind}${err.status ? ` ${err.status}` : ""}): ${err.message}`), { retryable: err.retryable });
      throw err;
    }
  }

  /**
   * The output tokens this step may use: the request, cut to what the task, run and daily budgets have
   * left after the prompt; a budget answer when that is under MIN_OUTPUT_TOKENS.
   */
  #clamp(settings: LlmSettings, limits: BudgetLimits, taskId: string, runId: string | null, promptTokens: number, wanted: number): number | StepAnswer {
    const { db, clock } = this.deps;
    const scopes: Array<[string, { usd: number; tokens: number }, number | undefined, number | undefined]> = [
      ["task", spendOf(db, { taskId }), limits.taskUsd, limits.taskTokens],
      ...(runId ? [["plan run", spendOf(db, { runId }), limits.runUsd, limits.runTokens] as [string, { usd: number; tokens: number }, number | undefined, number | undefined]] : []),
      ["daily", spendOf(db, { day: utcDay(clock()) }), limits.dailyUsd, limits.dailyTokens],
    ];
    let allowed = wanted;
    for (const [scope, spent, usd, tokens] of scopes) {
      if (tokens) allowed = Math.min(allowed, tokens - spent.tokens - promptTokens);
      if (usd && settings.priceOutputPerMTok > 0) {
        const left = usd - spent.usd - (promptTokens * settings.priceInputPerMTok) / 1e6;
        allowed = Math.min(allowed, Math.floor((left * 1e6) / settings.priceOutputPerMTok));
      }
      if (allowed < MIN_OUTPUT_TOKENS) {
        const what = usd ? `$${usd.toFixed(4)} (spent $${spent.usd.toFixed(4)})` : `${tokens} tokens (spent ${spent.tokens})`;
        return { kind: "budget", scope, message: `the ${scope} budget of ${what} leaves too little for the next step (a prompt of ~${promptTokens} tokens)` };
      }
    }
    return allowed;
  }

  #mask(text: string): string {
    return this.deps.masker ? this.deps.masker.maskSecrets(text) : text;
  }

  #emit(row: StepRow) {
    this.deps.bus.emit("agent:step", { taskId: row.task_id, seq: row.seq, kind: row.kind, at: row.created_at });
  }

  /** Pauses an agent between steps (its next step answers `paused`), or lets it go on. */
  setPaused(taskId: string, paused: boolean, by: string | null): void {
    this.deps.db.sqlite
      .query(
        `INSERT INTO agent_control (task_id, paused, paused_by, paused_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(task_id) DO UPDATE SET paused = ?2, paused_by = ?3, paused_at = ?4`,
      )
      .run(taskId, paused ? 1 : 0, by, paused ? this.deps.clock() : null);
    this.deps.bus.emit("agent:step", { taskId, seq: 0, kind: paused ? "paused" : "resumed", at: this.deps.clock() });
  }
}

export interface ToolRecord {
  toolCallId: string;
  name: string;
  input?: unknown;
  output?: unknown;
  isError?: boolean;
  durationMs?: number;
}

function stepAnswer(row: StepRow): StepAnswer {
  const out = JSON.parse(row.output ?? "null") as ModelOutput;
  return {
    kind: "step",
    seq: row.seq,
    text: out.text,
    toolCalls: out.toolCalls,
    usage: { input_tokens: row.input_tokens ?? 0, output_tokens: row.output_tokens ?? 0, cost_usd: row.cost_usd ?? 0 },
    finish_reason: out.finishReason ?? "other",
  };
}
