// The task lifecycle: submit, claim, start and finish — each in one transaction (`transact`), with
// bus events published only after the commit. Cancel, retry, release and reap are in control.ts.
import type { Db } from "../db/client.ts";
import type { Priority, TaskStatus } from "../db/schema.ts";
import { invalid, type ErrorDetail } from "../http/errors.ts";
import { backoffMs, claimWorkOrders, completeWorkOrder, failWorkOrder, insertWorkOrders, type ClaimedWorkOrder } from "../queue/work-orders.ts";
import { failDependants, queueReadyDependants, workOrderFor } from "./dependencies.ts";
import type { EngineDeps, SecretReferences } from "./deps.ts";
import { getTaskType } from "../task-types/index.ts";
import { transact, type Outbox, type Tx } from "./outbox.ts";
import { getTaskRecord, type TaskRecord } from "./task-record.ts";

export type { EngineDeps } from "./deps.ts";
export { cancelTask, reap, releaseWorker, retryTask, type ReapResult } from "./control.ts";

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

export interface ClosedExecution {
  id: string;
  task_id: string;
  worker_id: string;
  attempt: number;
}
const CLOSED_COLUMNS = "id, task_id, worker_id, attempt";

/**
 * Inserts tasks, their dependency edges and the work orders of those ready to run, in one transaction
 * (with whatever `within` adds to it). Dependencies may name existing tasks or earlier tasks of the batch.
 */
export function submitTasks(deps: EngineDeps, inputs: NewTask[], within?: (tx: Tx, ids: string[]) => void): TaskRecord[] {
  const { db } = deps;
  if (deps.secrets) refuseUnknownSecrets(deps.secrets, inputs);
  const ids = transact(deps, (tx) => {
      const { outbox, at } = tx;
      const inBatch = new Map<string, TaskStatus>();
      const statusOf = db.sqlite.query<{ status: TaskStatus; title: string }, [string]>("SELECT status, title FROM tasks WHERE id = ?");
      const insertTask = db.sqlite.query(`INSERT INTO tasks
          (id, title, description, task_type, params, priority, status, error, repository_url, branch_name, issue_number,
           pr_number, context, metadata, parent_task_id, requires, timeout_seconds, max_retries, created_by, assigned_to,
           created_at, updated_at, started_at, finished_at)
        VALUES ($id, $title, $description, $task_type, $params, $priority, $status, $error, $repository_url, $branch_name,
           $issue_number, $pr_number, $context, $metadata, $parent_task_id, $requires, $timeout_seconds, $max_retries,
           $created_by, $assigned_to, $now, $now, $started_at, $finished_at)`);
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
        // A parent (a plan run) never runs itself: it is running from the start, its children do the work.
        const isParent = getTaskType(input.task_type)?.kind === "parent";
        let status: TaskStatus = isParent ? "running" : "queued";
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
          started_at: isParent ? at : null,
          finished_at: status === "failed" ? at : null,
        });
        for (const depId of dependsOn) insertDep.run(id, depId);
        if (status === "queued") {
          insertWorkOrders(db, [workOrderFor(id, input)], at);
          outbox.ready(1);
        }
        inBatch.set(id, status);
        created.push(id);
        outbox.taskChanged({ id, status, task_type: input.task_type, parent_task_id: input.parent_task_id ?? null }, at, error);
      });
      within?.(tx, created);
      return created;
  });
  return ids.map((id) => getTaskRecord(db, id)!);
}

/**
 * 400 naming each param that refers to a secret that does not exist (or cannot be decrypted). The
 * params keep the template; the value is resolved when a thread is given the task.
 */
function refuseUnknownSecrets(secrets: SecretReferences, inputs: NewTask[]) {
  const details: ErrorDetail[] = [];
  inputs.forEach((input, index) => {
    const prefix = inputs.length > 1 ? `tasks[${index}].` : "";
    const step = typeof input.metadata?.plan_step === "string" ? `step '${input.metadata.plan_step}': ` : "";
    for (const ref of secrets.missingSecretRefs(input.params)) {
      const why = ref.unreadable ? `secret '${ref.name}' cannot be decrypted with this server's secrets key` : `unknown secret '${ref.name}'`;
      details.push({ field: `${prefix}params.${ref.path}`, message: `${step}${why}` });
    }
  });
  if (details.length === 0) return;
  const first = details[0]!;
  const more = details.length > 1 ? ` (and ${details.length - 1} more)` : "";
  throw invalid(`${first.field}: ${first.message}${more}`, details);
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
  return transact(deps, ({ outbox, at }) => openExecutions(deps, leaseOrders(deps, req, at).map((claim) => ({ claim, at })), outbox));
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
  return transact(deps, ({ outbox }) => openExecutions(deps, starts, outbox));
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
      const { outbox, at } = tx;
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
        if (taskStatus === "succeeded") queueReadyDependants(deps, o.claim.taskId, tx);
        else if (taskStatus === "queued") outbox.ready(1);
        else failDependants(deps, o.claim.taskId, `dependency ${o.claim.taskId} ${taskStatus}: ${error}`, tx);
        out.push({ executionId: o.claim.executionId, accepted: true, taskStatus });
      }
      return out;
  });
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
