// An agent's transcript (agent_steps): notes (the system prompt, the instruction, steering messages,
// verification feedback), model calls with what they cost, and tool calls with their results — one row
// each, numbered per task. The model's conversation is rebuilt from these rows at every step, so a
// retried or recovered task continues where it stopped.
import type { Db } from "../../db/client.ts";
import { iso } from "../../engine/task-record.ts";
import type { LlmMessage, LlmToolCall } from "../../llm/index.ts";

export type StepKind = "note" | "model" | "tool";

export interface StepRow {
  id: string;
  task_id: string;
  execution_id: string | null;
  seq: number;
  kind: StepKind;
  call_key: string | null;
  /** note: system | instruction | steering | feedback; model: the model; tool: the tool. */
  name: string | null;
  tool_call_id: string | null;
  input: string | null;
  output: string | null;
  is_error: number;
  input_tokens: number | null;
  output_tokens: number | null;
  cost_usd: number | null;
  duration_ms: number | null;
  created_at: number;
}

export interface NewStep {
  taskId: string;
  executionId: string | null;
  kind: StepKind;
  name?: string | null;
  callKey?: string | null;
  toolCallId?: string | null;
  input?: unknown;
  output?: unknown;
  isError?: boolean;
  inputTokens?: number | null;
  outputTokens?: number | null;
  costUsd?: number | null;
  durationMs?: number | null;
}

/** Appends a step (numbered after the task's last) and returns it. */
export function appendStep(db: Db, s: NewStep, now: number): StepRow {
  return db.sqlite
    .transaction(() => {
      const seq = (db.sqlite.query<{ n: number | null }, [string]>("SELECT max(seq) AS n FROM agent_steps WHERE task_id = ?").get(s.taskId)!.n ?? 0) + 1;
      return db.sqlite
        .query<StepRow, Record<string, string | number | null>>(
          `INSERT INTO agent_steps (id, task_id, execution_id, seq, kind, call_key, name, tool_call_id, input, output, is_error,
             input_tokens, output_tokens, cost_usd, duration_ms, created_at)
           VALUES ($id, $task, $exec, $seq, $kind, $key, $name, $tool_call_id, $input, $output, $is_error, $in, $out, $cost, $duration, $now)
           RETURNING *`,
        )
        .get({
          id: Bun.randomUUIDv7(),
          task: s.taskId,
          exec: s.executionId,
          seq,
          kind: s.kind,
          key: s.callKey ?? null,
          name: s.name ?? null,
          tool_call_id: s.toolCallId ?? null,
          input: s.input === undefined ? null : JSON.stringify(s.input),
          output: s.output === undefined ? null : JSON.stringify(s.output),
          is_error: s.isError ? 1 : 0,
          in: s.inputTokens ?? null,
          out: s.outputTokens ?? null,
          cost: s.costUsd ?? null,
          duration: s.durationMs ?? null,
          now,
        })!;
    })
    .immediate();
}

export function listSteps(db: Db, taskId: string, after = 0, limit = 10_000): StepRow[] {
  return db.sqlite.query<StepRow, [string, number, number]>("SELECT * FROM agent_steps WHERE task_id = ? AND seq > ? ORDER BY seq LIMIT ?").all(taskId, after, limit);
}

export function stepByKey(db: Db, taskId: string, key: string): StepRow | null {
  return db.sqlite.query<StepRow, [string, string]>("SELECT * FROM agent_steps WHERE task_id = ? AND call_key = ?").get(taskId, key);
}

const parse = (text: string | null): unknown => (text == null ? null : JSON.parse(text));

export interface ModelOutput {
  text: string;
  toolCalls: LlmToolCall[];
  finishReason?: string;
}

/** The model's conversation so far: the system prompt, then every note, answer and tool result in order. */
export function conversationOf(rows: StepRow[]): { system: string | undefined; messages: LlmMessage[] } {
  let system: string | undefined;
  const messages: LlmMessage[] = [];
  for (const r of rows) {
    if (r.kind === "note") {
      if (r.name === "system") system = String(parse(r.input) ?? "");
      else messages.push({ role: "user", content: String(parse(r.input) ?? "") });
    } else if (r.kind === "model") {
      const out = parse(r.output) as ModelOutput | null;
      if (!out) continue;
      messages.push({ role: "assistant", content: out.text, toolCalls: out.toolCalls });
    } else if (r.tool_call_id) {
      messages.push({ role: "tool", toolCallId: r.tool_call_id, toolName: r.name ?? "tool", content: typeof parse(r.output) === "string" ? (parse(r.output) as string) : JSON.stringify(parse(r.output)), isError: r.is_error === 1 });
    }
  }
  return { system, messages };
}

/** Tool calls of the last model step that have no result yet (the attempt stopped between them). */
export function pendingToolCalls(rows: StepRow[]): LlmToolCall[] {
  const lastModel = [...rows].reverse().find((r) => r.kind === "model");
  if (!lastModel) return [];
  const out = parse(lastModel.output) as ModelOutput | null;
  const done = new Set(rows.filter((r) => r.kind === "tool" && r.seq > lastModel.seq).map((r) => r.tool_call_id));
  return (out?.toolCalls ?? []).filter((c) => !done.has(c.id));
}

export interface StepJson {
  seq: number;
  kind: StepKind;
  name: string | null;
  execution_id: string | null;
  tool_call_id: string | null;
  input: unknown;
  output: unknown;
  is_error: boolean;
  usage: { input_tokens: number; output_tokens: number; cost_usd: number } | null;
  duration_ms: number | null;
  created_at: string;
}

export function toStepJson(r: StepRow): StepJson {
  return {
    seq: r.seq,
    kind: r.kind,
    name: r.name,
    execution_id: r.execution_id,
    tool_call_id: r.tool_call_id,
    input: parse(r.input),
    output: parse(r.output),
    is_error: r.is_error === 1,
    usage: r.kind === "model" ? { input_tokens: r.input_tokens ?? 0, output_tokens: r.output_tokens ?? 0, cost_usd: r.cost_usd ?? 0 } : null,
    duration_ms: r.duration_ms,
    created_at: iso(r.created_at)!,
  };
}

/** Tokens and cost an agent's model calls spent (the result's `usage`). */
export function usageOf(db: Db, taskId: string): { input_tokens: number; output_tokens: number; cost_usd: number; model_calls: number } {
  return db.sqlite
    .query<{ input_tokens: number; output_tokens: number; cost_usd: number; model_calls: number }, [string]>(
      `SELECT coalesce(sum(input_tokens), 0) AS input_tokens, coalesce(sum(output_tokens), 0) AS output_tokens,
              coalesce(sum(cost_usd), 0) AS cost_usd, count(*) AS model_calls FROM agent_steps WHERE task_id = ? AND kind = 'model'`,
    )
    .get(taskId)!;
}
