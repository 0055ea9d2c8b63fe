// The task lifecycle: every transition that spans tasks, work orders, executions and dependencies,
// each in one synchronous transaction, with bus events published only after the commit.
import type { Db } from "../db/client.ts";
import type { Priority, TaskStatus } from "../db/schema.ts";
import type { EventBus, EventMap } from "../events/bus.ts";
import { conflict, invalid, notFound } from "../http/errors.ts";
import {
  backoffMs,
  cancelWorkOrderOfTask,
  claimWorkOrders,
  completeWorkOrder,
  expireUnclaimed,
  failWorkOrder,
  insertWorkOrders,
  releaseExpiredLeases,
  releaseWorkerLeases,
  resetWorkOrder,
  type ClaimedWorkOrder,
  type ReleasedOrder,
} from "../queue/work-orders.ts";
import { getTaskRecord, PRIORITY_QUEUE, type TaskRecord } from "./task-record.ts";

export interface EngineDeps {
  db: Db;
  bus: EventBus;
  clock?: () => number;
}

const now = (deps: EngineDeps) => (deps.clock ?? Date.now)();

/** Events collected inside a transaction and published once it committed. */
class Outbox {
  #events: Array<[keyof EventMap, unknown]> = [];
  add<K extends keyof EventMap>(event: K, payload: EventMap[K]) {
    this.#events.push([event, payload]);
  }
  taskChanged(t: { id: string; status: TaskStatus; task_type: string; parent_task_id: string | null }, at: number, error?: string | null) {
    this.add("task:changed", { taskId: t.id, status: t.status, taskType: t.task_type, parentTaskId: t.parent_task_id, at, error });
  }
  /** An execution closed outside a normal finish (cancel, release, refused): its log tail must end too. */
  executionsClosed(rows: Array<{ id: string; task_id: string; worker_id: string; attempt: number }>, status: string, at: number) {
    for (const r of rows) this.add("execution:finished", { executionId: r.id, taskId: r.task_id, workerId: r.worker_id, status, attempt: r.attempt, at });
  }
  publish(bus: EventBus) {
    for (const [event, payload] of this.#events) bus.emit(event, payload as never);
  }
}

export interface NewTask {
  id?: string;
  title: string;
  description?: string | null;
  task_type: string;
  params: Record<string, unknown>;
  priority?: Priority;
  depends_on?: string[];
  parent_task_id?: string | null;
  requires?: string[];
  timeout_seconds: number;
  max_retries: number;
  repository_url?: string | null;
  branch_name?: string | null;
  issue_number?: number | null;
  pr_number?: number | null;
  context?: unknown;
  metadata?: Record<string, unknown> | null;
  created_by?: string | null;
  assigned_to?: string | null;
  expires_at?: number | null;
}

const FAILED_STATES: TaskStatus[] = ["failed", "cancelled", "timed_out"];

interface ClosedExecution {
  id: string;
  task_id: string;
  worker_id: string;
  attempt: number;
}
const CLOSED_COLUMNS = "id, task_id, worker_id, attempt";

/**
 * Inserts tasks, their dependency edges and the work orders of those ready to run, in one transaction.
 * Dependencies may name existing tasks or earlier tasks of the same batch.
 */
export function submitTasks(deps: EngineDeps, inputs: NewTask[]): TaskRecord[] {
  const { db } = deps;
  const at = now(deps);
  const outbox = new Outbox();
  let queued = 0;
  const ids = db.sqlite
    .transaction(() => {
      const inBatch = new Map<string, TaskStatus>();
      const statusOf = db.sqlite.query<{ status: TaskStatus; title: string }, [string]>("SELECT status, title FROM tasks WHERE id = ?");
      const insertTask = db.sqlite.query(`INSERT INTO tasks
          (id, title, description, task_type, params, priority, status, error, repository_url, branch_name, issue_number,
           pr_number, context, metadata, parent_task_id, requires, timeout_seconds, max_retries, created_by, assigned_to,
           created_at, updated_at, finished_at)
        VALUES ($id, $title, $description, $task_type, $params, $priority, $status, $error, $repository_url, $branch_name,
           $issue_number, $pr_number, $context, $metadata, $parent_task_id, $requires, $timeout_seconds, $max_retries,
           $created_by, $assigned_to, $now, $now, $finished_at)`);
      const insertDep = db.sqlite.query("INSERT INTO task_dependencies (task_id, depends_on_id) VALUES (?, ?)");
      const created: string[] = [];
      inputs.forEach((input, index) => {
        const id = input.id ?? Bun.randomUUIDv7();
        const prefix = inputs.length > 1 ? `tasks[${index}].` : "";
        if (input.parent_task_id && !inBatch.has(input.parent_task_id) && !statusOf.get(input.parent_task_id)) {
          throw invalid(`parent task '${input.parent_task_id}' does not exist`, [
            { field: `${prefix}parent_task_id`, message: `no task with id '${input.parent_task_id}'` },
          ]);
        }
        const dependsOn = [...new Set(input.depends_on ?? [])];
        let status: TaskStatus = "queued";
        let error: string | null = null;
        for (const depId of dependsOn) {
          const depStatus = inBatch.get(depId) ?? statusOf.get(depId)?.status;
          if (!depStatus) {
            throw invalid(`dependency '${depId}' does not exist`, [
              { field: `${prefix}depends_on`, message: `no task with id '${depId}'` },
            ]);
          }
          if (FAILED_STATES.includes(depStatus)) {
            status = "failed";
            error = `dependency ${depId} ended ${depStatus}`;
          } else if (depStatus !== "succeeded" && status === "queued") status = "pending";
        }
        insertTask.run({
          id,
          title: input.title,
          description: input.description ?? null,
          task_type: input.task_type,
          params: JSON.stringify(input.params),
          priority: input.priority ?? "default",
          status,
          error,
          repository_url: input.repository_url ?? null,
          branch_name: input.branch_name ?? null,
          issue_number: input.issue_number ?? null,
          pr_number: input.pr_number ?? null,
          context: input.context === undefined ? null : JSON.stringify(input.context),
          metadata: input.metadata == null ? null : JSON.stringify(input.metadata),
          parent_task_id: input.parent_task_id ?? null,
          requires: JSON.stringify(input.requires ?? []),
          timeout_seconds: input.timeout_seconds,
          max_retries: input.max_retries,
          created_by: input.created_by ?? null,
          assigned_to: input.assigned_to ?? null,
          now: at,
          finished_at: status === "failed" ? at : null,
        });
        for (const depId of dependsOn) insertDep.run(id, depId);
        if (status === "queued") {
          insertWorkOrders(db, [workOrderFor(id, input)], at);
          queued++;
        }
        inBatch.set(id, status);
        created.push(id);
        outbox.taskChanged({ id, status, task_type: input.task_type, parent_task_id: input.parent_task_id ?? null }, at, error);
      });
      return created;
    })
    .immediate();
  outbox.publish(deps.bus);
  if (queued > 0) deps.bus.emit("queue:ready", { count: queued });
  return ids.map((id) => getTaskRecord(db, id)!);
}

function workOrderFor(taskId: string, t: Pick<NewTask, "task_type" | "params" | "priority" | "requires" | "timeout_seconds" | "max_retries" | "expires_at">) {
  return {
    taskId,
    queue: PRIORITY_QUEUE[t.priority ?? "default"],
    payload: { task_type: t.task_type, params: t.params },
    maxRetries: t.max_retries,
    timeoutSeconds: t.timeout_seconds,
    requires: t.requires ?? [],
    expiresAt: t.expires_at ?? null,
  };
}

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
function openExecutions(deps: EngineDeps, starts: Array<{ claim: Claim; at: number }>, outbox: Outbox): Claim[] {
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
    if (task) outbox.taskChanged({ ...task, status: "running" }, at);
    outbox.add("execution:started", { executionId: c.executionId, taskId: c.taskId, workerId: c.workerId, status: "running", attempt: c.attempt, at });
    started.push(c);
  }
  return started;
}

/** Claims work for a worker that starts it at once: leases the orders, opens their executions, marks the tasks running. */
export function claimTasks(deps: EngineDeps, req: ClaimRequest): Claim[] {
  const at = now(deps);
  const outbox = new Outbox();
  const claims = deps.db.sqlite
    .transaction(() => openExecutions(deps, leaseOrders(deps, req, at).map((claim) => ({ claim, at })), outbox))
    .immediate();
  outbox.publish(deps.bus);
  return claims;
}

/**
 * Leases orders without starting them: the local pool keeps a few claimed orders in memory so a
 * thread that finishes gets its next task without a database round trip. Their tasks stay `queued`
 * until `startExecutions` records that a thread really began them.
 */
export function reserveTasks(deps: EngineDeps, req: ClaimRequest): Claim[] {
  const at = now(deps);
  return deps.db.sqlite.transaction(() => leaseOrders(deps, req, at)).immediate();
}

/** Records that reserved claims started (group commit). Returns the ones still held; the rest were cancelled. */
export function startExecutions(deps: EngineDeps, starts: Array<{ claim: Claim; at: number }>): Claim[] {
  const outbox = new Outbox();
  const started = deps.db.sqlite.transaction(() => openExecutions(deps, starts, outbox)).immediate();
  outbox.publish(deps.bus);
  return started;
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
  const at = now(deps);
  const outbox = new Outbox();
  let readied = 0;
  const results = db.sqlite
    .transaction(() => {
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
            out.push(refused(db, o, at, outbox));
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
            out.push(refused(db, o, at, outbox));
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
        outbox.add("execution:finished", {
          executionId: o.claim.executionId,
          taskId: o.claim.taskId,
          workerId: o.claim.workerId,
          status: o.kind,
          attempt: o.claim.attempt,
          at,
        });
        if (task) outbox.taskChanged({ ...task, status: taskStatus }, at, error);
        if (taskStatus === "succeeded") readied += queueReadyDependants(deps, o.claim.taskId, at, outbox);
        else if (taskStatus === "queued") readied++;
        else failDependants(deps, o.claim.taskId, `dependency ${o.claim.taskId} ${taskStatus}: ${error}`, at, outbox);
        out.push({ executionId: o.claim.executionId, accepted: true, taskStatus });
      }
      return out;
    })
    .immediate();
  outbox.publish(deps.bus);
  if (readied > 0) deps.bus.emit("queue:ready", { count: readied });
  return results;
}

/** A late or stale outcome: the order is no longer this holder's. Close the execution, change nothing else. */
function refused(db: Db, o: Outcome, at: number, outbox: Outbox): FinishResult {
  const order = db.sqlite
    .query<{ status: string }, [string]>("SELECT status FROM work_orders WHERE id = ?")
    .get(o.claim.workOrderId);
  const status = order?.status === "cancelled" ? "cancelled" : "failed";
  const closed = db.sqlite
    .query<ClosedExecution, [string, string, number, string]>(
      `UPDATE executions SET status = ?, error = ?, finished_at = ? WHERE id = ? AND status = 'running' RETURNING ${CLOSED_COLUMNS}`,
    )
    .all(status, status === "cancelled" ? "cancelled" : "result refused: the lease had expired or moved to another worker", at, o.claim.executionId);
  outbox.executionsClosed(closed, status, at);
  return { executionId: o.claim.executionId, accepted: false };
}

/** Queues pending dependants whose dependencies have now all succeeded. Runs inside the caller's transaction. */
function queueReadyDependants(deps: EngineDeps, taskId: string, at: number, outbox: Outbox): number {
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
  const queue = db.sqlite.query("UPDATE tasks SET status = 'queued', updated_at = ? WHERE id = ? AND status = 'pending'");
  for (const row of ready) {
    queue.run(at, row.id);
    insertWorkOrders(
      db,
      [
        workOrderFor(row.id, {
          task_type: row.task_type,
          params: JSON.parse(row.params),
          priority: row.priority,
          requires: JSON.parse(row.requires),
          timeout_seconds: row.timeout_seconds,
          max_retries: row.max_retries,
        }),
      ],
      at,
    );
    outbox.taskChanged({ id: row.id, status: "queued", task_type: row.task_type, parent_task_id: row.parent_task_id }, at);
  }
  return ready.length;
}

/** Fails every pending task downstream of `taskId` (they can never run). Inside the caller's transaction. */
function failDependants(deps: EngineDeps, taskId: string, reason: string, at: number, outbox: Outbox) {
  const failed = deps.db.sqlite
    .query<{ id: string; task_type: string; parent_task_id: string | null }, Record<string, string | number>>(
      `WITH RECURSIVE downstream(id) AS (
          SELECT task_id FROM task_dependencies WHERE depends_on_id = $task
          UNION SELECT d.task_id FROM task_dependencies d JOIN downstream ON d.depends_on_id = downstream.id)
        UPDATE tasks SET status = 'failed', error = $reason, finished_at = $now, updated_at = $now
         WHERE id IN (SELECT id FROM downstream) AND status = 'pending'
        RETURNING id, task_type, parent_task_id`,
    )
    .all({ task: taskId, reason, now: at });
  for (const t of failed) outbox.taskChanged({ ...t, status: "failed" }, at, reason);
}

/** Cancels a task that has not finished. A running attempt is told to stop; its late result is refused. */
export function cancelTask(deps: EngineDeps, taskId: string, reason = "cancelled by user"): TaskRecord {
  const { db } = deps;
  const at = now(deps);
  const outbox = new Outbox();
  db.sqlite
    .transaction(() => {
      const task = getTaskRecord(db, taskId);
      if (!task) throw notFound("task", taskId);
      if (["succeeded", "failed", "cancelled", "timed_out"].includes(task.status)) {
        throw conflict(`task '${taskId}' already ${task.status}; only unfinished tasks can be cancelled`);
      }
      const order = cancelWorkOrderOfTask(db, taskId, at);
      db.sqlite
        .query("UPDATE tasks SET status = 'cancelled', error = ?, finished_at = ?, updated_at = ? WHERE id = ?")
        .run(reason, at, at, taskId);
      const closed = db.sqlite
        .query<ClosedExecution, [string, number, string]>(
          `UPDATE executions SET status = 'cancelled', error = ?, finished_at = ? WHERE task_id = ? AND status = 'running' RETURNING ${CLOSED_COLUMNS}`,
        )
        .all(reason, at, taskId);
      db.sqlite
        .query("UPDATE worker_assignments SET released_at = ?, outcome = 'cancelled' WHERE work_order_id = ? AND released_at IS NULL")
        .run(at, order?.id ?? "");
      if (order?.previous_status === "claimed" && order.claimed_by) {
        outbox.add("task:cancel_requested", { taskId, workOrderId: order.id, claimedBy: order.claimed_by });
      }
      outbox.executionsClosed(closed, "cancelled", at);
      outbox.taskChanged({ ...task, status: "cancelled" }, at, reason);
      failDependants(deps, taskId, `dependency ${taskId} cancelled`, at, outbox);
    })
    .immediate();
  outbox.publish(deps.bus);
  return getTaskRecord(db, taskId)!;
}

/** Runs a finished task again with a fresh retry budget (and its dependants again, if they failed because of it). */
export function retryTask(deps: EngineDeps, taskId: string): TaskRecord {
  const { db } = deps;
  const at = now(deps);
  const outbox = new Outbox();
  let queued = 0;
  db.sqlite
    .transaction(() => {
      const task = getTaskRecord(db, taskId);
      if (!task) throw notFound("task", taskId);
      if (!["failed", "cancelled", "timed_out"].includes(task.status)) {
        throw conflict(`task '${taskId}' is ${task.status}; only failed, cancelled or timed-out tasks can be retried`);
      }
      const blocked = db.sqlite
        .query<{ id: string; status: TaskStatus }, [string]>(
          `SELECT t.id, t.status FROM task_dependencies d JOIN tasks t ON t.id = d.depends_on_id
            WHERE d.task_id = ? AND t.status <> 'succeeded'`,
        )
        .all(taskId);
      const status: TaskStatus = blocked.length === 0 ? "queued" : "pending";
      db.sqlite
        .query("UPDATE tasks SET status = ?, error = NULL, result = NULL, finished_at = NULL, updated_at = ? WHERE id = ?")
        .run(status, at, taskId);
      if (status === "queued") {
        const payload = { task_type: task.task_type, params: task.params };
        if (!resetWorkOrder(db, taskId, PRIORITY_QUEUE[task.priority], payload, at)) {
          insertWorkOrders(db, [workOrderFor(taskId, task)], at);
        }
        queued++;
      }
      outbox.taskChanged({ ...task, status }, at);
      reviveDependants(deps, taskId, at, outbox);
    })
    .immediate();
  outbox.publish(deps.bus);
  if (queued) deps.bus.emit("queue:ready", { count: queued });
  return getTaskRecord(db, taskId)!;
}

/**
 * Puts the dependants that failed because a dependency failed back to `pending`, once none of their
 * dependencies is failed anymore; they are queued when their dependencies succeed. Inside retryTask's transaction.
 */
function reviveDependants(deps: EngineDeps, taskId: string, at: number, outbox: Outbox) {
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
      revive.run(at, c.id);
      outbox.taskChanged({ ...c, status: "pending" }, at);
      left.delete(c.id);
      changed = true;
    }
  }
}

/** Puts released orders' tasks back to `queued` and closes their open executions. Inside a transaction. */
function requeueReleased(deps: EngineDeps, released: ReleasedOrder[], reason: string, at: number, outbox: Outbox) {
  const requeue = deps.db.sqlite.query<{ id: string; task_type: string; parent_task_id: string | null }, Record<string, string | number>>(
    `UPDATE tasks SET status = 'queued', updated_at = $now WHERE id = $id AND status IN ('running', 'waiting_input')
      RETURNING id, task_type, parent_task_id`,
  );
  const closeExecutions = deps.db.sqlite.query<ClosedExecution, [string, number, string]>(
    `UPDATE executions SET status = 'failed', error = ?, finished_at = ? WHERE work_order_id = ? AND status = 'running' RETURNING ${CLOSED_COLUMNS}`,
  );
  const release = deps.db.sqlite.query(
    "UPDATE worker_assignments SET released_at = ?, outcome = 'released' WHERE work_order_id = ? AND released_at IS NULL",
  );
  for (const order of released) {
    const closed = closeExecutions.all(reason, at, order.id);
    release.run(at, order.id);
    outbox.executionsClosed(closed, "failed", at);
    if (!order.task_id) continue;
    const task = requeue.get({ id: order.task_id, now: at });
    if (task) outbox.taskChanged({ ...task, status: "queued" }, at, reason);
  }
}

/** Returns the leases a worker holds to the queue (restart recovery, graceful shutdown, drain). */
export function releaseWorker(deps: EngineDeps, workerId: string, reason: string, workOrderIds?: string[]): number {
  const at = now(deps);
  const outbox = new Outbox();
  const released = deps.db.sqlite
    .transaction(() => {
      const released = releaseWorkerLeases(deps.db, workerId, reason, at, workOrderIds);
      requeueReleased(deps, released, reason, at, outbox);
      return released;
    })
    .immediate();
  outbox.publish(deps.bus);
  if (released.length) deps.bus.emit("queue:ready", { count: released.length });
  return released.length;
}

export interface ReapResult {
  released: number;
  expired: number;
}

/** The reaper's pass: expired leases go back to the queue, orders past `expires_at` fail their tasks. */
export function reap(deps: EngineDeps, opts: { exceptWorkerId?: string } = {}): ReapResult {
  const at = now(deps);
  const outbox = new Outbox();
  const result = deps.db.sqlite
    .transaction(() => {
      const released = releaseExpiredLeases(deps.db, at, opts.exceptWorkerId ?? null);
      requeueReleased(deps, released, "lease expired: the worker stopped responding", at, outbox);
      const expired = expireUnclaimed(deps.db, at);
      const failTask = deps.db.sqlite.query<{ id: string; task_type: string; parent_task_id: string | null }, Record<string, string | number>>(
        `UPDATE tasks SET status = 'failed', error = $error, finished_at = $now, updated_at = $now
          WHERE id = $id AND status = 'queued' RETURNING id, task_type, parent_task_id`,
      );
      for (const order of expired) {
        if (!order.task_id) continue;
        const error = "expired before any worker claimed it";
        const task = failTask.get({ id: order.task_id, error, now: at });
        if (task) outbox.taskChanged({ ...task, status: "failed" }, at, error);
        failDependants(deps, order.task_id, `dependency ${order.task_id} expired`, at, outbox);
      }
      return { released: released.length, expired: expired.length };
    })
    .immediate();
  outbox.publish(deps.bus);
  if (result.released) deps.bus.emit("queue:ready", { count: result.released });
  return result;
}
