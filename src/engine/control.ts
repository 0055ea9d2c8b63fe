// Steering work already in the system: cancel (cascading to subtasks), retry, returning a worker's
// leases to the queue, and the reaper's pass. Each is one transaction (`transact`).
import type { TaskStatus } from "../db/schema.ts";
import { conflict, notFound } from "../errors.ts";
import {
  cancelWorkOrderOfTask,
  expireUnclaimed,
  insertWorkOrders,
  releaseExpiredLeases,
  releaseWorkerLeases,
  resetWorkOrder,
  type ReleasedOrder,
} from "../queue/work-orders.ts";
import { getTaskType } from "../task-types/index.ts";
import { failDependants, queuePending, reviveDependants, workOrderFor } from "./dependencies.ts";
import type { EngineDeps } from "./engine-deps.ts";
import { transact } from "./transact.ts";
import { CLOSED_COLUMNS, type ClosedExecution, type Tx } from "./tx-events.ts";
import { getTaskRecord, PRIORITY_QUEUE, type TaskRecord } from "./task-record.ts";
import { hasTemplates } from "./templates.ts";

const TERMINAL: readonly TaskStatus[] = ["succeeded", "failed", "cancelled", "timed_out"];
const RETRYABLE: readonly TaskStatus[] = ["failed", "cancelled", "timed_out"];

/**
 * Cancels a task that has not finished, and every unfinished subtask under it (a plan run's steps).
 * A running attempt is told to stop; its late result is refused.
 */
export function cancelTask(deps: EngineDeps, taskId: string, reason = "cancelled by user", within?: (tx: Tx) => void): TaskRecord {
  const { db } = deps;
  transact(deps, (tx) => {
    within?.(tx);
    const task = getTaskRecord(db, taskId);
    if (!task) throw notFound("task", taskId);
    if (TERMINAL.includes(task.status)) {
      throw conflict(`task '${taskId}' already ${task.status}; only unfinished tasks can be cancelled`);
    }
    const subtasks = db.sqlite
      .query<{ id: string }, [string]>(
        `WITH RECURSIVE sub(id) AS (SELECT id FROM tasks WHERE parent_task_id = ?1
            UNION SELECT t.id FROM tasks t JOIN sub ON t.parent_task_id = sub.id)
         SELECT tasks.id FROM tasks JOIN sub ON sub.id = tasks.id
          WHERE tasks.status IN ('pending', 'queued', 'running', 'waiting_input')`,
      )
      .all(taskId);
    // The parent first, so following its children does not move it once it is cancelled.
    const cancelled = [taskId];
    cancelOne(deps, taskId, reason, tx);
    for (const s of subtasks) if (cancelOne(deps, s.id, `${reason} (parent task ${taskId} cancelled)`, tx)) cancelled.push(s.id);
    // Dependants fail only once the whole subtree is cancelled: a pending step is cancelled, not failed
    // because the step before it was cancelled a moment earlier.
    for (const id of cancelled) failDependants(deps, id, `dependency ${id} cancelled`, tx);
  });
  return getTaskRecord(db, taskId)!;
}

/** Cancels one unfinished task (not its dependants: the caller fails those). False when it had finished. */
function cancelOne(deps: EngineDeps, taskId: string, reason: string, tx: Tx): boolean {
  const { db } = deps;
  const { events, at } = tx;
  const task = getTaskRecord(db, taskId);
  if (!task || TERMINAL.includes(task.status)) return false;
  const order = cancelWorkOrderOfTask(db, taskId, at);
  db.sqlite.query("UPDATE tasks SET status = 'cancelled', error = ?, finished_at = ?, updated_at = ? WHERE id = ?").run(reason, at, at, taskId);
  const closed = db.sqlite
    .query<ClosedExecution, [string, number, string]>(
      `UPDATE executions SET status = 'cancelled', error = ?1, finished_at = ?2, duration_ms = ?2 - started_at WHERE task_id = ?3 AND status = 'running' RETURNING ${CLOSED_COLUMNS}`,
    )
    .all(reason, at, taskId);
  if (order) {
    db.sqlite
      .query("UPDATE worker_assignments SET released_at = ?, outcome = 'cancelled' WHERE work_order_id = ? AND released_at IS NULL")
      .run(at, order.id);
  }
  if (order?.previous_status === "claimed" && order.claimed_by) {
    events.add("task:cancel_requested", { taskId, workOrderId: order.id, claimedBy: order.claimed_by });
  }
  events.executionsClosed(closed, "cancelled", at);
  events.taskChanged({ ...task, status: "cancelled" }, at, reason);
  return true;
}

/**
 * Runs a finished task again with a fresh retry budget, and its dependants that failed because of it.
 * A parent (a plan run) retries every step that did not succeed.
 */
export function retryTask(deps: EngineDeps, taskId: string, within?: (tx: Tx) => void): TaskRecord {
  const { db } = deps;
  transact(deps, (tx) => {
    within?.(tx);
    const task = getTaskRecord(db, taskId);
    if (!task) throw notFound("task", taskId);
    if (!RETRYABLE.includes(task.status)) {
      throw conflict(`task '${taskId}' is ${task.status}; only failed, cancelled or timed-out tasks can be retried`);
    }
    if (getTaskType(task.task_type)?.kind === "parent") {
      // Every step that did not succeed starts over as pending (those a cancel left behind too, not only
      // those failed by a dependency); then the ones whose dependencies all succeeded are queued.
      const steps = db.sqlite
        .query<{ id: string }, [string, number]>(
          `UPDATE tasks SET status = 'pending', error = NULL, result = NULL, finished_at = NULL, updated_at = ?2
            WHERE parent_task_id = ?1 AND status IN ('failed', 'cancelled', 'timed_out') RETURNING id`,
        )
        .all(taskId, tx.at);
      db.sqlite.query("UPDATE tasks SET status = 'running', error = NULL, result = NULL, finished_at = NULL, updated_at = ? WHERE id = ?").run(tx.at, taskId);
      tx.events.taskChanged({ ...task, status: "running" }, tx.at);
      for (const { id } of steps) {
        const step = getTaskRecord(db, id)!;
        if (step.status !== "pending") continue; // failed again meanwhile: a step it depends on could not start
        if (startIfReady(deps, step, tx) === "pending") tx.events.taskChanged({ ...step, status: "pending" }, tx.at);
      }
      return;
    }
    retryOne(deps, taskId, tx);
  });
  return getTaskRecord(db, taskId)!;
}

function retryOne(deps: EngineDeps, taskId: string, tx: Tx) {
  const { db } = deps;
  // Started and finished describe the run now beginning: it has not started yet.
  db.sqlite.query("UPDATE tasks SET status = 'pending', error = NULL, result = NULL, started_at = NULL, finished_at = NULL, updated_at = ? WHERE id = ?").run(tx.at, taskId);
  const task = getTaskRecord(db, taskId)!;
  const status = startIfReady(deps, task, tx);
  if (status === "pending") tx.events.taskChanged({ ...task, status }, tx.at);
  if (status !== "failed") reviveDependants(deps, taskId, tx);
}

/**
 * Queues a pending task whose dependencies all succeeded (reusing its work order if it ran before);
 * otherwise it stays pending. A plan step whose `{{steps.…}}` templates were never resolved (why it
 * failed, or it never got that far) resolves them now, and fails again if they still cannot be.
 */
function startIfReady(deps: EngineDeps, task: TaskRecord, tx: Tx): "queued" | "pending" | "failed" {
  const { db } = deps;
  const blocked = db.sqlite
    .query(`SELECT 1 FROM task_dependencies d JOIN tasks t ON t.id = d.depends_on_id WHERE d.task_id = ? AND t.status <> 'succeeded' LIMIT 1`)
    .get(task.id);
  if (blocked) return "pending";
  if (task.parent_task_id && typeof task.metadata?.plan_step === "string" && hasTemplates(task.params)) {
    const row = db.sqlite.query<Record<string, any>, [string]>("SELECT * FROM tasks WHERE id = ?").get(task.id)!;
    return queuePending(deps, row, tx) ? "queued" : "failed";
  }
  db.sqlite.query("UPDATE tasks SET status = 'queued', updated_at = ? WHERE id = ?").run(tx.at, task.id);
  const payload = { task_type: task.task_type, params: task.params };
  if (!resetWorkOrder(db, task.id, PRIORITY_QUEUE[task.priority], payload, tx.at)) {
    insertWorkOrders(db, [workOrderFor(task.id, task)], tx.at);
  }
  tx.events.ready(1);
  tx.events.taskChanged({ ...task, status: "queued" }, tx.at);
  return "queued";
}

/** Puts released orders' tasks back to `queued` and closes their open executions. Inside a transaction. */
function requeueReleased(deps: EngineDeps, released: ReleasedOrder[], reason: string, tx: Tx) {
  const { events, at } = tx;
  const requeue = deps.db.sqlite.query<{ id: string; task_type: string; parent_task_id: string | null }, Record<string, string | number>>(
    `UPDATE tasks SET status = 'queued', updated_at = $now WHERE id = $id AND status IN ('running', 'waiting_input')
      RETURNING id, task_type, parent_task_id`,
  );
  const closeExecutions = deps.db.sqlite.query<ClosedExecution, [string, number, string]>(
    `UPDATE executions SET status = 'failed', error = ?1, finished_at = ?2, duration_ms = ?2 - started_at WHERE work_order_id = ?3 AND status = 'running' RETURNING ${CLOSED_COLUMNS}`,
  );
  const release = deps.db.sqlite.query(
    "UPDATE worker_assignments SET released_at = ?, outcome = 'released' WHERE work_order_id = ? AND released_at IS NULL",
  );
  for (const order of released) {
    const closed = closeExecutions.all(reason, at, order.id);
    release.run(at, order.id);
    events.executionsClosed(closed, "failed", at);
    if (!order.task_id) continue;
    const task = requeue.get({ id: order.task_id, now: at });
    if (task) events.taskChanged({ ...task, status: "queued" }, at, reason);
  }
  events.ready(released.length);
}

/** Returns the leases a worker holds to the queue (restart recovery, graceful shutdown, drain). */
export function releaseWorker(deps: EngineDeps, workerId: string, reason: string, workOrderIds?: string[]): number {
  return transact(deps, (tx) => {
    const released = releaseWorkerLeases(deps.db, workerId, reason, tx.at, workOrderIds);
    requeueReleased(deps, released, reason, tx);
    return released.length;
  });
}

export interface ReapResult {
  released: number;
  expired: number;
}

/** The reaper's pass: expired leases go back to the queue, orders past `expires_at` fail their tasks. */
export function reap(deps: EngineDeps, opts: { exceptWorkerId?: string } = {}): ReapResult {
  return transact(deps, (tx) => {
    const released = releaseExpiredLeases(deps.db, tx.at, opts.exceptWorkerId ?? null);
    requeueReleased(deps, released, "lease expired: the worker stopped responding", tx);
    const expired = expireUnclaimed(deps.db, tx.at);
    const failTask = deps.db.sqlite.query<{ id: string; task_type: string; parent_task_id: string | null }, Record<string, string | number>>(
      `UPDATE tasks SET status = 'failed', error = $error, finished_at = $now, updated_at = $now
        WHERE id = $id AND status = 'queued' RETURNING id, task_type, parent_task_id`,
    );
    for (const order of expired) {
      if (!order.task_id) continue;
      const error = "expired before any worker claimed it";
      const task = failTask.get({ id: order.task_id, error, now: tx.at });
      if (task) tx.events.taskChanged({ ...task, status: "failed" }, tx.at, error);
      failDependants(deps, order.task_id, `dependency ${order.task_id} expired`, tx);
    }
    return { released: released.length, expired: expired.length };
  });
}
