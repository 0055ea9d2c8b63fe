// The life of one attempt: claim (lease work orders and open their executions), reserve and start
// (the local runner's read-ahead), and finish (record outcomes, retry or fail, queue dependants) — each
// one transaction (`transact`), events published after the commit.
import type { Db } from "../db/client.ts";
import type { TaskStatus } from "../db/schema.ts";
import { backoffMs, claimWorkOrders, completeWorkOrder, failWorkOrder, type ClaimedWorkOrder } from "../queue/work-orders.ts";
import { failDependants, queueReadyDependants } from "./dependencies.ts";
import type { EngineDeps } from "./engine-deps.ts";
import { transact } from "./transact.ts";
import { CLOSED_COLUMNS, type ClosedExecution, type TxEvents } from "./tx-events.ts";

export interface Claim {
  workOrderId: string;
  taskId: string;
  executionId: string;
  workerId: string;
  leaseToken: string;
  leaseUntil: number;
  attempt: number;
  taskType: string;
  params: Record<string, unknown>;
  timeoutSeconds: number;
  claimedAt: number;
}

export interface ClaimRequest {
  workerId: string;
  limit: number;
  capabilities?: string[];
  leaseMs?: number | null;
}

/** Leases up to `limit` orders (inside the caller's transaction) and describes them as claims. */
function leaseOrders(deps: EngineDeps, req: ClaimRequest, at: number): Claim[] {
  const orders: ClaimedWorkOrder[] = claimWorkOrders(deps.db, {
    workerId: req.workerId,
    limit: req.limit,
    now: at,
    leaseMs: req.leaseMs,
    capabilities: req.capabilities,
  });
  const out: Claim[] = [];
  for (const order of orders) {
    if (!order.task_id) continue; // bare queue entries (POST /queue/enqueue) have no task
    out.push({
      workOrderId: order.id,
      taskId: order.task_id,
      executionId: Bun.randomUUIDv7(),
      workerId: req.workerId,
      leaseToken: order.lease_token,
      leaseUntil: order.lease_until,
      attempt: order.retry_count + 1,
      taskType: String(order.payload.task_type),
      params: (order.payload.params ?? {}) as Record<string, unknown>,
      timeoutSeconds: order.timeout_seconds,
      claimedAt: at,
    });
  }
  return out;
}

/**
 * Opens an execution per started claim and marks its task running (inside the caller's transaction).
 * Guarded: a claim whose order was cancelled or moved meanwhile starts nothing. Returns those started.
 */
function openExecutions(deps: EngineDeps, starts: Array<{ claim: Claim; at: number }>, events: TxEvents): Claim[] {
  const { db } = deps;
  const insertExecution = db.sqlite.query(`INSERT INTO executions (id, task_id, work_order_id, worker_id, attempt, status, started_at)
    SELECT $id, $task, $order, $worker, $attempt, 'running', $at
     WHERE EXISTS (SELECT 1 FROM work_orders WHERE id = $order AND status = 'claimed' AND lease_token = $token)`);
  const startTask = db.sqlite.query<{ id: string; task_type: string; parent_task_id: string | null }, Record<string, string | number>>(
    `UPDATE tasks SET status = 'running', attempts = attempts + 1, started_at = coalesce(started_at, $at), updated_at = $at
      WHERE id = $id AND status = 'queued' RETURNING id, task_type, parent_task_id`,
  );
  const assign = db.sqlite.query("INSERT INTO worker_assignments (work_order_id, worker_id, execution_id, assigned_at) VALUES (?, ?, ?, ?)");
  const started: Claim[] = [];
  for (const { claim: c, at } of starts) {
    const inserted = insertExecution.run({
      id: c.executionId,
      task: c.taskId,
      order: c.workOrderId,
      worker: c.workerId,
      attempt: c.attempt,
      at,
      token: c.leaseToken,
    });
    if (inserted.changes === 0) continue;
    const task = startTask.get({ id: c.taskId, at });
    assign.run(c.workOrderId, c.workerId, c.executionId, at);
    if (task) events.taskChanged({ ...task, status: "running" }, at);
    events.add("execution:started", { executionId: c.executionId, taskId: c.taskId, workerId: c.workerId, status: "running", attempt: c.attempt, at });
    started.push(c);
  }
  return started;
}

/** Claims work for a worker that starts it at once: leases the orders, opens their executions, marks the tasks running. */
export function claimTasks(deps: EngineDeps, req: ClaimRequest): Claim[] {
  return transact(deps, ({ events, at }) => openExecutions(deps, leaseOrders(deps, req, at).map((claim) => ({ claim, at })), events));
}

/**
 * Leases orders without starting them: the local pool keeps a few claimed orders in memory so a
 * thread that finishes gets its next task without a database round trip. Their tasks stay `queued`
 * until `startExecutions` records that a thread really began them.
 */
export function reserveTasks(deps: EngineDeps, req: ClaimRequest): Claim[] {
  return transact(deps, ({ at }) => leaseOrders(deps, req, at));
}

/** Records that reserved claims started (group commit). Returns the ones still held; the rest were cancelled. */
export function startExecutions(deps: EngineDeps, starts: Array<{ claim: Claim; at: number }>): Claim[] {
  return transact(deps, ({ events }) => openExecutions(deps, starts, events));
}

export type OutcomeKind = "succeeded" | "failed" | "timed_out";

export interface Outcome {
  claim: Pick<Claim, "workOrderId" | "taskId" | "executionId" | "workerId" | "leaseToken" | "attempt">;
  kind: OutcomeKind;
  result?: unknown;
  error?: string | null;
  /** false: do not retry whatever the budget (e.g. the params can never work). */
  retryable?: boolean;
  exitCode?: number | null;
  stdout?: string | null;
  stderr?: string | null;
  durationMs?: number | null;
  cpuMs?: number | null;
  maxRssBytes?: number | null;
}

export interface FinishResult {
  executionId: string;
  /** false when the guard refused: the lease had expired, moved, or the task was cancelled. */
  accepted: boolean;
  taskStatus?: TaskStatus;
}

/** Records the outcome of many attempts in one transaction (group commit). */
export function finishExecutions(deps: EngineDeps, outcomes: Outcome[]): FinishResult[] {
  const { db } = deps;
  return transact(deps, (tx) => {
      const { events, at } = tx;
      const finishExecution = db.sqlite.query(`UPDATE executions
          SET status = $status, exit_code = $exit_code, error = $error, stdout = $stdout, stderr = $stderr,
              duration_ms = $duration_ms, cpu_ms = $cpu_ms, max_rss_bytes = $rss, finished_at = $now
        WHERE id = $id AND status = 'running'`);
      const finishTask = db.sqlite.query<{ id: string; task_type: string; parent_task_id: string | null }, Record<string, string | number | null>>(
        `UPDATE tasks SET status = $status, result = $result, error = $error, updated_at = $now,
                finished_at = CASE WHEN $final = 1 THEN $now ELSE NULL END
          WHERE id = $id AND status IN ('running', 'waiting_input')
        RETURNING id, task_type, parent_task_id`,
      );
      const release = db.sqlite.query(
        // By work order first: worker_assignments_order_idx finds the row without scanning history.
        "UPDATE worker_assignments SET released_at = ?, outcome = ? WHERE work_order_id = ? AND execution_id = ? AND released_at IS NULL",
      );
      const out: FinishResult[] = [];
      for (const o of outcomes) {
        const ref = { id: o.claim.workOrderId, workerId: o.claim.workerId, leaseToken: o.claim.leaseToken };
        const resultJson = o.result === undefined ? null : JSON.stringify(o.result);
        const execBase = {
          id: o.claim.executionId,
          exit_code: o.exitCode ?? null,
          stdout: o.stdout ?? null,
          stderr: o.stderr ?? null,
          duration_ms: o.durationMs ?? null,
          cpu_ms: o.cpuMs ?? null,
          rss: o.maxRssBytes ?? null,
          now: at,
        };
        let taskStatus: TaskStatus;
        let error: string | null = null;
        if (o.kind === "succeeded") {
          if (!completeWorkOrder(db, ref, o.result ?? null, at)) {
            out.push(refused(db, o, at, events));
            continue;
          }
          taskStatus = "succeeded";
          finishExecution.run({ ...execBase, status: "succeeded", error: null });
        } else {
          error = o.error ?? (o.kind === "timed_out" ? "timed out" : "failed");
          const failed = failWorkOrder(db, ref, {
            error,
            now: at,
            retryAt: at + backoffMs(o.claim.attempt),
            retryable: o.retryable !== false,
          });
          if (!failed) {
            out.push(refused(db, o, at, events));
            continue;
          }
          finishExecution.run({ ...execBase, status: o.kind, error });
          taskStatus = failed.status === "queued" ? "queued" : o.kind === "timed_out" ? "timed_out" : "failed";
        }
        release.run(at, taskStatus === "queued" ? "retry" : taskStatus, o.claim.workOrderId, o.claim.executionId);
        const final = taskStatus !== "queued";
        const task = finishTask.get({ id: o.claim.taskId, status: taskStatus, result: resultJson, error, now: at, final: final ? 1 : 0 });
        // The attempt's end goes out before the task's new status, so a client that stops listening at
        // the terminal status has already seen the execution finish.
        events.add("execution:finished", {
          executionId: o.claim.executionId,
          taskId: o.claim.taskId,
          workerId: o.claim.workerId,
          status: o.kind,
          attempt: o.claim.attempt,
          at,
        });
        if (task) events.taskChanged({ ...task, status: taskStatus }, at, error);
        if (taskStatus === "succeeded") queueReadyDependants(deps, o.claim.taskId, tx);
        else if (taskStatus === "queued") events.ready(1);
        else failDependants(deps, o.claim.taskId, `dependency ${o.claim.taskId} ${taskStatus}: ${error}`, tx);
        out.push({ executionId: o.claim.executionId, accepted: true, taskStatus });
      }
      return out;
  });
}

/** A late or stale outcome: the order is no longer this holder's. Close the execution, change nothing else. */
function refused(db: Db, o: Outcome, at: number, events: TxEvents): FinishResult {
  const order = db.sqlite
    .query<{ status: string }, [string]>("SELECT status FROM work_orders WHERE id = ?")
    .get(o.claim.workOrderId);
  const status = order?.status === "cancelled" ? "cancelled" : "failed";
  const closed = db.sqlite
    .query<ClosedExecution, [string, string, number, number | null, string]>(
      `UPDATE executions SET status = ?1, error = ?2, finished_at = ?3, duration_ms = coalesce(?4, ?3 - started_at) WHERE id = ?5 AND status = 'running' RETURNING ${CLOSED_COLUMNS}`,
    )
    .all(status, status === "cancelled" ? "cancelled" : "result refused: the lease had expired or moved to another worker", at, o.durationMs ?? null, o.claim.executionId);
  events.executionsClosed(closed, status, at);
  return { executionId: o.claim.executionId, accepted: false };
}
