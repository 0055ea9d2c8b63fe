// Task dependencies: dependants queued when their dependencies all succeeded (with `{{steps.…}}`
// templates resolved then), failed when one failed for good, revived when it is retried.
import type { Db } from "../db/client.ts";
import type { Priority } from "../db/schema.ts";
import { insertWorkOrders, type EnqueueInput } from "../queue/work-orders.ts";
import type { EngineDeps } from "./engine-deps.ts";
import type { Tx } from "./tx-events.ts";
import { PRIORITY_QUEUE } from "./task-record.ts";
import { dig, hasTemplates, renderTemplates, TemplateError } from "./templates.ts";

interface OrderSource {
  task_type: string;
  params: Record<string, unknown>;
  priority?: Priority;
  requires?: string[];
  timeout_seconds: number;
  max_retries: number;
  expires_at?: number | null;
  correlation_id?: string | null;
}

export function workOrderFor(taskId: string, t: OrderSource): EnqueueInput {
  return {
    taskId,
    queue: PRIORITY_QUEUE[t.priority ?? "default"],
    // The correlation id rides the queue with the work, to whichever worker claims it.
    payload: t.correlation_id ? { task_type: t.task_type, params: t.params, correlation_id: t.correlation_id } : { task_type: t.task_type, params: t.params },
    maxRetries: t.max_retries,
    timeoutSeconds: t.timeout_seconds,
    requires: t.requires ?? [],
    expiresAt: t.expires_at ?? null,
  };
}

/**
 * Queues pending dependants whose dependencies have now all succeeded. A plan step's
 * `{{steps.NAME.result…}}` templates are resolved here, against its run's finished steps; one that
 * cannot be resolved fails the step with the reason. Inside the caller's transaction.
 */
export function queueReadyDependants(deps: EngineDeps, taskId: string, tx: Tx): number {
  const { db } = deps;
  // Most tasks have no dependants: one index probe answers that before the join below.
  if (!db.sqlite.query("SELECT 1 FROM task_dependencies WHERE depends_on_id = ? LIMIT 1").get(taskId)) return 0;
  const ready = db.sqlite
    .query<Record<string, any>, [string]>(
      `SELECT t.* FROM task_dependencies d INDEXED BY task_dependencies_depends_on_idx JOIN tasks t ON t.id = d.task_id
        WHERE d.depends_on_id = ? AND t.status = 'pending'
          AND NOT EXISTS (SELECT 1 FROM task_dependencies d2 JOIN tasks t2 ON t2.id = d2.depends_on_id
                           WHERE d2.task_id = t.id AND t2.status <> 'succeeded')`,
    )
    .all(taskId);
  let queued = 0;
  for (const row of ready) if (queuePending(deps, row, tx)) queued++;
  return queued;
}

/**
 * Queues one pending task (a raw `tasks` row) whose dependencies all succeeded, resolving a plan
 * step's `{{steps.…}}` templates first; fails it when they cannot be resolved. Inside a transaction.
 */
export function queuePending(deps: EngineDeps, row: Record<string, any>, tx: Tx): boolean {
  const { db } = deps;
  let params = JSON.parse(row.params) as Record<string, unknown>;
  const metadata = row.metadata ? (JSON.parse(row.metadata) as Record<string, unknown>) : null;
  if (row.parent_task_id && typeof metadata?.plan_step === "string" && hasTemplates(params)) {
    try {
      params = resolveStepTemplates(db, row.parent_task_id, params);
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      const error = `cannot resolve params: ${err.message}`;
      db.sqlite
        .query("UPDATE tasks SET status = 'failed', error = ?, finished_at = ?, updated_at = ? WHERE id = ? AND status = 'pending'")
        .run(error, tx.at, tx.at, row.id);
      tx.events.taskChanged({ id: row.id, status: "failed", task_type: row.task_type, parent_task_id: row.parent_task_id }, tx.at, error);
      failDependants(deps, row.id, `dependency ${row.id} failed: ${error}`, tx);
      return false;
    }
  }
  db.sqlite.query("UPDATE tasks SET status = 'queued', params = ?, updated_at = ? WHERE id = ? AND status = 'pending'").run(JSON.stringify(params), tx.at, row.id);
  insertWorkOrders(
    db,
    [
      workOrderFor(row.id, {
        task_type: row.task_type,
        params,
        priority: row.priority,
        requires: JSON.parse(row.requires),
        timeout_seconds: row.timeout_seconds,
        max_retries: row.max_retries,
        correlation_id: row.correlation_id,
      }),
    ],
    tx.at,
  );
  tx.events.taskChanged({ id: row.id, status: "queued", task_type: row.task_type, parent_task_id: row.parent_task_id }, tx.at);
  tx.events.ready(1);
  return true;
}

/** `{{steps.NAME.result.path}}` → the result of the step NAME of the same run. */
function resolveStepTemplates(db: Db, parentId: string, params: Record<string, unknown>): Record<string, unknown> {
  const siblings = db.sqlite
    .query<{ status: string; result: string | null; step: string | null }, [string]>(
      "SELECT status, result, json_extract(metadata, '$.plan_step') AS step FROM tasks WHERE parent_task_id = ?",
    )
    .all(parentId);
  const byStep = new Map(siblings.filter((s) => s.step).map((s) => [s.step!, s]));
  return renderTemplates(params, ["steps"], (ref) => {
    const [step, field, ...rest] = ref.path;
    if (!step || field !== "result") return { ok: false, error: "write it as steps.<step>.result[.path]" };
    const sibling = byStep.get(step);
    if (!sibling) return { ok: false, error: `this run has no step '${step}'` };
    if (sibling.status !== "succeeded") return { ok: false, error: `step '${step}' has not succeeded` };
    return dig(sibling.result == null ? null : JSON.parse(sibling.result), rest);
  }) as Record<string, unknown>;
}

/** Fails every pending task downstream of `taskId` (they can never run). Inside the caller's transaction. */
export function failDependants(deps: EngineDeps, taskId: string, reason: string, tx: Tx) {
  const failed = deps.db.sqlite
    .query<{ id: string; task_type: string; parent_task_id: string | null }, Record<string, string | number>>(
      `WITH RECURSIVE downstream(id) AS (
          SELECT task_id FROM task_dependencies WHERE depends_on_id = $task
          UNION SELECT d.task_id FROM task_dependencies d JOIN downstream ON d.depends_on_id = downstream.id)
        UPDATE tasks SET status = 'failed', error = $reason, finished_at = $now, updated_at = $now
         WHERE id IN (SELECT id FROM downstream) AND status = 'pending'
        RETURNING id, task_type, parent_task_id`,
    )
    .all({ task: taskId, reason, now: tx.at });
  for (const t of failed) tx.events.taskChanged({ ...t, status: "failed" }, tx.at, reason);
}

/**
 * Puts the dependants that failed because a dependency failed back to `pending`, once none of their
 * dependencies is failed anymore; they are queued when their dependencies succeed. Inside a retry's transaction.
 */
export function reviveDependants(deps: EngineDeps, taskId: string, tx: Tx) {
  const { db } = deps;
  const candidates = db.sqlite
    .query<{ id: string; task_type: string; parent_task_id: string | null }, [string]>(
      `WITH RECURSIVE downstream(id) AS (
          SELECT task_id FROM task_dependencies WHERE depends_on_id = ?1
          UNION SELECT d.task_id FROM task_dependencies d JOIN downstream ON d.depends_on_id = downstream.id)
        SELECT id, task_type, parent_task_id FROM tasks
         WHERE id IN (SELECT id FROM downstream) AND status = 'failed' AND error LIKE 'dependency %'`,
    )
    .all(taskId);
  const blockedBy = db.sqlite.query<{ id: string }, [string]>(
    `SELECT t.id FROM task_dependencies d JOIN tasks t ON t.id = d.depends_on_id
      WHERE d.task_id = ? AND t.status IN ('failed', 'cancelled', 'timed_out') LIMIT 1`,
  );
  const revive = db.sqlite.query("UPDATE tasks SET status = 'pending', error = NULL, finished_at = NULL, updated_at = ? WHERE id = ?");
  // Until nothing changes: reviving one task can unblock a task further down.
  const left = new Map(candidates.map((c) => [c.id, c]));
  for (let changed = true; changed; ) {
    changed = false;
    for (const c of left.values()) {
      if (blockedBy.get(c.id)) continue;
      revive.run(tx.at, c.id);
      tx.events.taskChanged({ ...c, status: "pending" }, tx.at);
      left.delete(c.id);
      changed = true;
    }
  }
}
