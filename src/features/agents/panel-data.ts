// What a coding agent's task page shows: its transcript (notes, model calls with their tokens, tool calls
// with their results), whether it is paused, what it has spent, and — once it finished — its branch,
// commit, tests and diff from the result.
import type { Db } from "../../db/client.ts";
import { getTaskRecord } from "../../engine/task-record.ts";
import { listSteps, toStepJson, usageOf, type StepJson } from "./steps.ts";

export const AGENT_TYPES: ReadonlySet<string> = new Set(["feature", "bugfix", "test", "docs"]);

export interface AgentPanel {
  taskId: string;
  status: string;
  steps: StepJson[];
  usage: { input_tokens: number; output_tokens: number; cost_usd: number; model_calls: number };
  paused: boolean;
  /** From the result (finished tasks): the branch, commit, diff and tests. */
  outcome: {
    branch: string | null;
    commit: string | null;
    summary: string | null;
    diff: string | null;
    diffStat: { files_changed: number; insertions: number; deletions: number } | null;
    tests: { command: string | null; before: { exit_code: number; passed: boolean } | null; after: { exit_code: number; passed: boolean } | null } | null;
    pullRequest: { number: number; url: string } | null;
  } | null;
}

/** The panel of a coding-agent task, or null for any other task. */
export function agentPanel(db: Db, taskId: string): AgentPanel | null {
  const task = getTaskRecord(db, taskId);
  if (!task || !AGENT_TYPES.has(task.task_type)) return null;
  const paused = (db.sqlite.query("SELECT paused FROM agent_control WHERE task_id = ?").get(taskId) as { paused: number } | null)?.paused === 1;
  const r = (task.result ?? null) as Record<string, any> | null;
  return {
    taskId,
    status: task.status,
    steps: listSteps(db, taskId).map(toStepJson),
    usage: usageOf(db, taskId),
    paused,
    outcome: r
      ? {
          branch: r.branch ?? null,
          commit: r.commit ?? null,
          summary: r.summary ?? null,
          diff: typeof r.diff === "string" ? r.diff : null,
          diffStat: r.diff_stat ?? null,
          tests: r.tests ?? null,
          pullRequest: r.pull_request ?? null,
        }
      : null,
  };
}
