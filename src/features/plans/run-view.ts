// What the run page shows: the run (a `plan` task), each step's task with the steps it waits for, and
// which step to show when the user picked none.
import type { TaskStatus } from "../../db/schema.ts";
import type { EngineDeps } from "../../engine/engine-deps.ts";
import { dependenciesOfMany, type TaskJson } from "../../engine/task-record.ts";
import { notFound } from "../../errors.ts";
import { getTask } from "../tasks/service.ts";

export interface RunStep {
  taskId: string;
  name: string;
  title: string;
  taskType: string;
  status: TaskStatus;
  attempts: number;
  error: string | null;
  startedAt: number | null;
  finishedAt: number | null;
  /** Step names this one waits for. */
  depends: string[];
}

export interface RunView {
  run: TaskJson;
  planId: string | null;
  planName: string;
  version: number | null;
  /** The plan's version now (null when the plan was deleted). */
  latestVersion: number | null;
  /** The run's inputs, as it was started with them. */
  inputs: Record<string, unknown>;
  steps: RunStep[];
}

export function runView(deps: EngineDeps, runId: string): RunView {
  const run = getTask(deps, runId);
  if (run.task_type !== "plan") throw notFound("plan run", runId);
  const rows = deps.db.sqlite
    .query<
      { id: string; title: string; task_type: string; status: TaskStatus; attempts: number; error: string | null; started_at: number | null; finished_at: number | null; metadata: string | null },
      [string]
    >(
      `SELECT id, title, task_type, status, attempts, error, started_at, finished_at, metadata FROM tasks
        WHERE parent_task_id = ? ORDER BY created_at, rowid`,
    )
    .all(runId);
  const nameOf = new Map(rows.map((r) => [r.id, ((r.metadata ? JSON.parse(r.metadata) : {}) as { plan_step?: string }).plan_step ?? r.title]));
  const dependencies = dependenciesOfMany(deps.db, rows.map((r) => r.id));
  const params = run.params as { plan_id?: string; plan_name?: string; version?: number; inputs?: Record<string, unknown> };
  const latest = params.plan_id
    ? (deps.db.sqlite.query<{ version: number }, [string]>("SELECT version FROM plans WHERE id = ?").get(params.plan_id)?.version ?? null)
    : null;
  return {
    run,
    planId: params.plan_id ?? null,
    planName: params.plan_name ?? run.title,
    version: params.version ?? null,
    latestVersion: latest,
    inputs: params.inputs ?? {},
    steps: rows.map((r) => ({
      taskId: r.id,
      name: nameOf.get(r.id)!,
      title: r.title,
      taskType: r.task_type,
      status: r.status,
      attempts: r.attempts,
      error: r.error,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      depends: (dependencies.get(r.id) ?? []).map((id) => nameOf.get(id)).filter((n): n is string => n !== undefined),
    })),
  };
}

/**
 * The step worth showing when the user picked none: one that is running (the one shown, if it still
 * runs), else the one shown already — the page does not jump away when the run ends — else the first that
 * failed, else the last that started, else the first.
 */
export function autoStep(steps: RunStep[], shown?: string | null): string | null {
  const isRunning = (s: RunStep) => s.status === "running" || s.status === "waiting_input";
  const current = shown ? steps.find((s) => s.name === shown) : undefined;
  if (current && isRunning(current)) return current.name;
  const running = steps.find(isRunning);
  if (running) return running.name;
  if (current && current.startedAt !== null) return current.name;
  const failed = steps.find((s) => s.status === "failed" || s.status === "timed_out");
  if (failed) return failed.name;
  const started = steps.filter((s) => s.startedAt !== null).sort((a, b) => a.startedAt! - b.startedAt!);
  return started.at(-1)?.name ?? steps[0]?.name ?? null;
}
