// The queue over HTTP: status, enqueue, and what remote workers do — claim (with long-poll), complete,
// fail, logs, and report (logs and outcomes batched). The engine does each transition; this file checks
// who may act and mirrors the local pool (src/runtime/pool.ts): secrets resolved in what is handed out,
// masked in what comes back.
import { QUEUES, WORK_ORDER_STATUSES, type QueueName, type WorkOrderStatus } from "../../db/schema.ts";
import type { Db } from "../../db/client.ts";
import { claimWaitersOf } from "../../engine/claim-waiters.ts";
import { claimTasks, finishExecutions, type Outcome } from "../../engine/attempts.ts";
import { submitTasks } from "../../engine/submit.ts";
import { type EngineDeps } from "../../engine/engine-deps.ts";
import type { TaskLogger } from "../../engine/task-logger.ts";
import { taskToJson, type TaskJson } from "../../engine/task-record.ts";
import { AppError, conflict, notFound, type ErrorDetail } from "../../errors.ts";
import type { AppServices } from "../../http/context.ts";
import { countWorkOrders } from "../../queue/work-orders.ts";
import type { PoolSecrets } from "../../runtime/pool.ts";
import type { LogTuple } from "../../runtime/protocol.ts";
import { getTaskType } from "../../task-types/index.ts";
import { assertMayRun, audited, type Acting } from "../audit/service.ts";
import { toNewTask, type TaskDefaults } from "../tasks/service.ts";
import { recordWorkerOutcome, REMOTE_LEASE_MS } from "../workers/service.ts";
import type { ClaimItem, CompleteBody, EnqueueBody, FailBody, LogsBody, ReportBody, ReportContent, ReportOut, ReportOutcome } from "./schemas.ts";

type Counts = Record<WorkOrderStatus, number>;
const zero = (): Counts => Object.fromEntries(WORK_ORDER_STATUSES.map((s) => [s, 0])) as Counts;

export function queueStatus(s: Pick<AppServices, "deps" | "pool" | "workerId">) {
  const queues = Object.fromEntries(QUEUES.map((q) => [q, zero()])) as Record<QueueName, Counts>;
  const totals = zero();
  for (const row of countWorkOrders(s.deps.db)) {
    queues[row.queue][row.status] += row.count;
    totals[row.status] += row.count;
  }
  return {
    queues,
    totals,
    local_workers: { worker_id: s.workerId, threads: s.pool?.size ?? 0, busy: s.pool?.busyCount ?? 0 },
  };
}

/** Submits a batch of tasks in one transaction (all or none), each audited with it. */
export function enqueueTasks(deps: EngineDeps, body: EnqueueBody, defaults: TaskDefaults, acting?: Acting): TaskJson[] {
  const inputs = body.tasks.map((task, i) => {
    assertMayRun(acting, task.task_type, getTaskType(task.task_type)?.runsOnHost === true, `tasks[${i}]: `);
    try {
      return toNewTask(task, defaults, acting?.userId ?? null);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      // Name the task of the batch the error is about.
      const details = err.details.map((d) => ({ ...d, field: d.field ? `tasks[${i}].${d.field}` : `tasks[${i}]` }));
      throw new AppError(err.status, err.code, `tasks[${i}]: ${err.message}`, details);
    }
  });
  const records = submitTasks(deps, inputs, (_tx, ids) =>
    ids.forEach((id, i) => audited(deps, acting, "task.created", { type: "task", id }, { title: body.tasks[i]!.title, task_type: body.tasks[i]!.task_type })),
  );
  return records.map((task, i) => taskToJson(task, [...new Set(body.tasks[i]!.depends_on ?? [])]));
}

// ---- remote workers --------------------------------------------------------------------------------

/** What a remote call needs: the engine, the TaskLogger and the SecretStore. */
export interface RemoteQueueDeps {
  deps: EngineDeps;
  logger: TaskLogger;
  secrets?: PoolSecrets;
}

/** Who is calling: the API key (a worker may only act for the workers its key registered) or an admin. */
export interface QueueCaller {
  keyId: string | null;
  admin: boolean;
}

export interface WorkerForClaim {
  worker_type: string;
  capabilities: string[];
  max_concurrent_tasks: number;
  draining: boolean;
  registered_by: string | null;
}

/** The registry row a claim needs (table `workers` and `worker_capabilities`), or null for an unknown id. */
export function workerForClaim(deps: EngineDeps, id: string): WorkerForClaim | null {
  const row = deps.db.sqlite
    .query<{ worker_type: string; max_concurrent_tasks: number; draining: number; registered_by: string | null; capabilities: string }, [string]>(
      `SELECT worker_type, max_concurrent_tasks, draining, registered_by,
              (SELECT json_group_array(capability) FROM worker_capabilities c WHERE c.worker_id = w.id) AS capabilities
         FROM workers w WHERE id = ?`,
    )
    .get(id);
  if (!row) return null;
  return {
    worker_type: row.worker_type,
    capabilities: JSON.parse(row.capabilities) as string[],
    max_concurrent_tasks: row.max_concurrent_tasks,
    draining: row.draining === 1,
    registered_by: row.registered_by,
  };
}

/** 404 for an unknown worker, 403 for one another key registered, 409 for the server's own threads. */
function actingWorker(deps: EngineDeps, workerId: string, caller: QueueCaller): WorkerForClaim {
  const worker = workerForClaim(deps, workerId);
  if (!worker) throw notFound("worker", workerId);
  if (worker.worker_type !== "remote") {
    throw conflict(`worker '${workerId}' is this server's own threads, not a remote worker: register one with POST /api/v1/workers`);
  }
  if (!caller.admin && worker.registered_by !== caller.keyId) {
    throw new AppError(403, "forbidden", `worker '${workerId}' was registered with another key`);
  }
  return worker;
}

const drainingRefusal = (workerId: string) => conflict(`worker '${workerId}' is draining: it gets no new work (register again to resume)`);

/** Orders the worker holds now (claimed, lease not returned): they count against its max_concurrent_tasks. */
function heldOrders(db: Db, workerId: string): number {
  return db.sqlite
    .query<{ n: number }, [string]>("SELECT count(*) AS n FROM work_orders WHERE status = 'claimed' AND claimed_by = ?")
    .get(workerId)!.n;
}

/**
 * One claim attempt for a remote worker: as many orders as it asked for and has free slots, that
 * require only capabilities it has. Each is leased, its execution opened and its task marked running
 * (claimTasks). An order whose `{{secrets.…}}` cannot be resolved fails at once, like in the local pool,
 * and is not handed out. Throws 404/403/409 when the worker may not claim (drained meanwhile included).
 */
export function claimOnce(s: RemoteQueueDeps, workerId: string, limit: number, caller: QueueCaller): ClaimItem[] {
  const { deps, logger, secrets } = s;
  const worker = actingWorker(deps, workerId, caller);
  if (worker.draining) throw drainingRefusal(workerId);
  const room = Math.min(limit, worker.max_concurrent_tasks - heldOrders(deps.db, workerId));
  if (room <= 0) return [];
  const claims = claimTasks(deps, { workerId, limit: room, capabilities: worker.capabilities, leaseMs: REMOTE_LEASE_MS });
  const items: ClaimItem[] = [];
  const unresolvable: Outcome[] = [];
  for (const claim of claims) {
    let params: Record<string, unknown>;
    try {
      params = secrets ? secrets.resolveSecretTemplates(claim.params) : claim.params;
    } catch (err) {
      // A secret deleted (or undecryptable) since submission: retrying cannot help until someone stores it again.
      const error = `cannot resolve {{secrets.…}} in params: ${(err as Error).message}`;
      logger.append(claim.executionId, claim.taskId, [["error", error, null, Date.now()]]);
      unresolvable.push({ claim, kind: "failed", error, retryable: false, durationMs: 0 });
      continue;
    }
    items.push({
      work_order_id: claim.workOrderId,
      task_id: claim.taskId,
      execution_id: claim.executionId,
      lease_token: claim.leaseToken,
      lease_until: claim.leaseUntil,
      attempt: claim.attempt,
      task_type: claim.taskType,
      params,
      timeout_seconds: claim.timeoutSeconds,
    });
  }
  if (unresolvable.length > 0) finish(s, unresolvable);
  return items;
}

/**
 * Claims for a remote worker, waiting up to `waitMs` for matching work when there is none now.
 * Resolves with [] when nothing came within the wait (or the request went away).
 */
export function claimForWorker(s: RemoteQueueDeps, workerId: string, limit: number, waitMs: number, caller: QueueCaller, signal?: AbortSignal): Promise<ClaimItem[]> {
  return claimWaitersOf(s.deps).claim(workerId, () => claimOnce(s, workerId, limit, caller), waitMs, signal);
}

interface HeldExecution {
  task_id: string;
  work_order_id: string;
  worker_id: string;
  attempt: number;
  status: string;
}

/** The execution a complete/fail names, checked to be this worker's attempt at this order (else 404/409). */
function executionOf(db: Db, ref: { execution_id: string; worker_id: string; work_order_id: string }, now: number): HeldExecution {
  const row = db.sqlite
    .query<HeldExecution, [string]>("SELECT task_id, work_order_id, worker_id, attempt, status FROM executions WHERE id = ?")
    .get(ref.execution_id);
  if (!row) throw notFound("execution", ref.execution_id);
  // Checked before the engine sees it: a refused outcome closes the execution, and this one may be someone else's.
  if (row.worker_id !== ref.worker_id || row.work_order_id !== ref.work_order_id) {
    throw conflict(`execution '${ref.execution_id}' is not worker '${ref.worker_id}''s attempt at work order '${ref.work_order_id}'`);
  }
  // Only the current attempt is running: an earlier one's id (its lease reaped, the order claimed again) cannot close it.
  if (row.status !== "running") {
    const order = db.sqlite
      .query<{ n: number }, [string, string]>("SELECT count(*) AS n FROM work_orders WHERE id = ? AND status = 'claimed' AND claimed_by = ?")
      .get(ref.work_order_id, ref.worker_id)!;
    // Why the order is not this worker's (expired, moved, cancelled), or: it is, under a newer attempt.
    if (order.n === 0) throw refusal(db, ref.work_order_id, ref.worker_id);
    throw conflict(
      `execution '${ref.execution_id}' is ${row.status}: it is an earlier attempt at work order '${ref.work_order_id}', not the current one; the outcome was not recorded`,
    );
  }
  // A lease that ran out is gone even before the reaper's next pass (≤ 1 s) requeues the order: the
  // work may already be promised to someone else. (The local pool's reserved claims never come here.)
  const lease = db.sqlite
    .query<{ lease_until: number | null }, [string, string]>("SELECT lease_until FROM work_orders WHERE id = ? AND status = 'claimed' AND claimed_by = ?")
    .get(ref.work_order_id, ref.worker_id);
  if (lease?.lease_until != null && lease.lease_until <= now) {
    throw conflict(
      `work order '${ref.work_order_id}' is no longer held by worker '${ref.worker_id}': its lease expired at ${new Date(lease.lease_until).toISOString()} (no heartbeat listed it); the outcome was not recorded`,
    );
  }
  return row;
}

/** Records outcomes (log lines first, like the pool) and forgets the executions' log sequence. */
function finish(s: RemoteQueueDeps, outcomes: Outcome[]) {
  s.logger.flush();
  const results = finishExecutions(s.deps, outcomes);
  for (const o of outcomes) s.logger.close(o.claim.executionId);
  return results;
}

/** 409 explaining why the engine refused an outcome: the order was cancelled, moved, or its lease ran out. */
function refusal(db: Db, workOrderId: string, workerId: string): AppError {
  const order = db.sqlite
    .query<{ status: WorkOrderStatus; claimed_by: string | null }, [string]>("SELECT status, claimed_by FROM work_orders WHERE id = ?")
    .get(workOrderId);
  const why =
    order?.status === "cancelled"
      ? "the task was cancelled"
      : order?.status === "claimed" && order.claimed_by !== workerId
        ? `its lease moved to worker '${order.claimed_by}'`
        : order?.status === "claimed"
          ? "the lease token does not match the current lease"
          : "its lease expired and it went back to the queue (or it was already finished)";
  return conflict(`work order '${workOrderId}' is no longer held by worker '${workerId}': ${why}; the outcome was not recorded`);
}

/** Values a task type keeps may have been cut inside a secret: fragments at the edges are masked too (as the pool does). */
function masking(secrets: PoolSecrets | undefined) {
  return {
    text: (t: string | null | undefined) => (secrets && t ? secrets.maskSecrets(t, { edges: true }) : t),
    deep: <T>(v: T) => (secrets && v !== undefined ? secrets.maskSecretsDeep(v, { edges: true }) : v),
  };
}

/** One outcome as a worker reports it, whichever endpoint carried it (complete, fail, report). */
type ReportedOutcome = Omit<ReportOutcome, "retryable"> & { retryable?: boolean };

/** An outcome's answer: recorded (with `retry_at` when a failure queued the task again), or why not. */
type OutcomeResult = { execution_id: string; accepted: true; retry_at?: number } | { execution_id: string; accepted: false; error: AppError };

/**
 * Records a worker's outcomes in ONE engine transaction (finishExecutions), results and output masked.
 * Each is first checked to be this worker's attempt at that order; a refused one gets its reason and
 * does not stop the others. The caller has checked the worker may act (actingWorker).
 */
function recordOutcomes(s: RemoteQueueDeps, workerId: string, reported: ReportedOutcome[]): OutcomeResult[] {
  const { deps } = s;
  const mask = masking(s.secrets);
  const answers: Array<OutcomeResult | null> = [];
  const outcomes: Outcome[] = [];
  const sent: ReportedOutcome[] = [];
  for (const o of reported) {
    let exec: HeldExecution;
    try {
      exec = executionOf(deps.db, { execution_id: o.execution_id, worker_id: workerId, work_order_id: o.work_order_id }, (deps.clock ?? Date.now)());
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      answers.push({ execution_id: o.execution_id, accepted: false, error: err });
      continue;
    }
    const claim = { workOrderId: o.work_order_id, taskId: exec.task_id, executionId: o.execution_id, workerId, leaseToken: o.lease_token, attempt: exec.attempt };
    const output = { exitCode: o.exit_code, stdout: mask.text(o.stdout), stderr: mask.text(o.stderr), durationMs: o.duration_ms };
    outcomes.push(
      o.status === "succeeded"
        ? { claim, kind: "succeeded", result: mask.deep(o.result), ...output, cpuMs: o.cpu_ms, maxRssBytes: o.max_rss_bytes }
        : { claim, kind: o.status, error: mask.text(o.error ?? o.status), retryable: o.retryable ?? true, ...output },
    );
    sent.push(o);
    answers.push(null);
  }
  const results = outcomes.length > 0 ? finish(s, outcomes) : [];
  const requeued = deps.db.sqlite.query<{ run_at: number }, [string]>("SELECT run_at FROM work_orders WHERE id = ? AND status = 'queued'");
  const okInOrder: boolean[] = [];
  let next = 0;
  const out = answers.map((answer): OutcomeResult => {
    if (answer) return answer;
    const o = sent[next]!;
    const result = results[next++];
    if (!result?.accepted) return { execution_id: o.execution_id, accepted: false, error: refusal(deps.db, o.work_order_id, workerId) };
    okInOrder.push(o.status === "succeeded");
    const order = o.status !== "succeeded" && result.taskStatus === "queued" ? requeued.get(o.work_order_id) : null;
    return order ? { execution_id: o.execution_id, accepted: true, retry_at: order.run_at } : { execution_id: o.execution_id, accepted: true };
  });
  // Failures in a row put the worker in `error` (a broken toolchain fails everything it runs); a success
  // resets it. Replayed as if one at a time: the last success resets, the failures after it count.
  const lastOk = okInOrder.lastIndexOf(true);
  if (lastOk >= 0) recordWorkerOutcome(deps, workerId, true);
  for (let i = lastOk + 1; i < okInOrder.length; i++) recordWorkerOutcome(deps, workerId, false);
  return out;
}

/** One outcome alone: recorded, or its refusal thrown (404 unknown execution, 409 not held). */
function recordOne(s: RemoteQueueDeps, workerId: string, outcome: ReportedOutcome): { accepted: true; retry_at?: number } {
  const [answer] = recordOutcomes(s, workerId, [outcome]);
  if (!answer!.accepted) throw answer!.error;
  return answer!.retry_at === undefined ? { accepted: true } : { accepted: true, retry_at: answer!.retry_at };
}

export function completeExecution(s: RemoteQueueDeps, body: CompleteBody, caller: QueueCaller): { accepted: true } {
  actingWorker(s.deps, body.worker_id, caller);
  const { worker_id, ...outcome } = body;
  recordOne(s, worker_id, { ...outcome, status: "succeeded" });
  return { accepted: true };
}

export function failExecution(s: RemoteQueueDeps, body: FailBody, caller: QueueCaller): { accepted: true; retry_at?: number } {
  actingWorker(s.deps, body.worker_id, caller);
  const { worker_id, timed_out, ...outcome } = body;
  return recordOne(s, worker_id, { ...outcome, status: timed_out ? "timed_out" : "failed" });
}

/** The executions among `ids` this worker holds now (running, its lease current), with their task ids. */
function heldExecutions(db: Db, workerId: string, ids: string[]): Map<string, string> {
  return new Map(
    db.sqlite
      .query<{ id: string; task_id: string }, Record<string, string>>(
        `SELECT e.id, e.task_id FROM executions e JOIN work_orders w ON w.id = e.work_order_id
          WHERE e.id IN (SELECT value FROM json_each($ids)) AND e.worker_id = $worker AND e.status = 'running'
            AND w.status = 'claimed' AND w.claimed_by = $worker`,
      )
      .all({ ids: JSON.stringify(ids), worker: workerId })
      .map((r) => [r.id, r.task_id]),
  );
}

/** Appends the lines of held executions to the TaskLogger (which masks them), grouped per execution; the others are skipped. */
function appendHeld(s: RemoteQueueDeps, lines: LogsBody["lines"], held: Map<string, string>): number {
  const byExecution = new Map<string, LogTuple[]>();
  let accepted = 0;
  for (const line of lines) {
    if (!held.has(line.execution_id)) continue;
    let tuples = byExecution.get(line.execution_id);
    if (!tuples) byExecution.set(line.execution_id, (tuples = []));
    tuples.push([line.level, line.message, line.metadata ?? null, line.ts]);
    accepted++;
  }
  for (const [executionId, tuples] of byExecution) s.logger.append(executionId, held.get(executionId)!, tuples);
  return accepted;
}

/**
 * Appends a remote worker's log lines to the TaskLogger (which masks them). All or nothing: a line of an
 * execution this worker does not hold now (finished, lease lost, someone else's) refuses the batch.
 */
export function appendRemoteLogs(s: RemoteQueueDeps, body: LogsBody, caller: QueueCaller): { accepted: number } {
  actingWorker(s.deps, body.worker_id, caller);
  const ids = [...new Set(body.lines.map((l) => l.execution_id))];
  const held = heldExecutions(s.deps.db, body.worker_id, ids);
  const notHeld = ids.filter((id) => !held.has(id));
  if (notHeld.length > 0) {
    const details: ErrorDetail[] = notHeld.map((id) => ({ field: "lines.execution_id", message: `execution '${id}' is not running on worker '${body.worker_id}'` }));
    throw conflict(`worker '${body.worker_id}' does not hold execution(s) ${notHeld.map((id) => `'${id}'`).join(", ")}: no line was stored`, details);
  }
  return { accepted: appendHeld(s, body.lines, held) };
}

/**
 * Everything a worker has to tell in one go: log lines first (those of executions it does not hold are
 * refused per execution), then every outcome in one transaction — so a task's lines, sent with its
 * outcome, are stored before the outcome closes the execution. The caller checked the worker (actingWorker).
 */
function deliverReport(s: RemoteQueueDeps, workerId: string, report: ReportContent): ReportOut {
  const ids = [...new Set(report.logs.map((l) => l.execution_id))];
  const held = ids.length > 0 ? heldExecutions(s.deps.db, workerId, ids) : new Map<string, string>();
  const accepted = appendHeld(s, report.logs, held);
  const outcomes = recordOutcomes(s, workerId, report.outcomes).map((r) => (r.accepted ? r : { execution_id: r.execution_id, accepted: false, reason: r.error.message }));
  return { outcomes, logs: { accepted, refused: ids.filter((id) => !held.has(id)) } };
}

/** POST /queue/report: a worker's log lines and outcomes in one request (404/403/409 when the worker may not act). */
export function reportForWorker(s: RemoteQueueDeps, body: ReportBody, caller: QueueCaller): ReportOut {
  actingWorker(s.deps, body.worker_id, caller);
  return deliverReport(s, body.worker_id, body);
}

/**
 * The report a claim carries, delivered before the claim. A worker that may not claim (unknown, another
 * key's, draining) is refused before anything of the report is stored, so it can deliver it again alone.
 */
export function reportBeforeClaim(s: RemoteQueueDeps, workerId: string, report: ReportContent, caller: QueueCaller): ReportOut {
  const worker = actingWorker(s.deps, workerId, caller);
  if (worker.draining) throw drainingRefusal(workerId);
  return deliverReport(s, workerId, report);
}
