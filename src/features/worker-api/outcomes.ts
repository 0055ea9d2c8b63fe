// Outcomes a remote worker reports (complete, fail, or batched in a report): each checked to be this
// worker's current attempt under a live lease, masked, and recorded in one engine transaction
// (finishExecutions) — a late or stale one is refused with the reason.
import type { Db } from "../../db/client.ts";
import type { WorkOrderStatus } from "../../db/schema.ts";
import { finishExecutions, type Outcome } from "../../engine/attempts.ts";
import { maskOutcome } from "../../engine/task-secrets.ts";
import { AppError, conflict, notFound } from "../../errors.ts";
import { recordWorkerOutcome } from "../workers/service.ts";
import { actingWorker, type QueueCaller, type WorkerApiDeps } from "./acting-worker.ts";
import type { CompleteBody, FailBody, ReportOutcome } from "./schemas.ts";

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

/** Records outcomes (log lines first, like the local runner) and forgets the executions' log sequence. */
export function recordFailures(s: Pick<WorkerApiDeps, "deps" | "logger">, outcomes: Outcome[]) {
  return finish(s, outcomes);
}

function finish(s: Pick<WorkerApiDeps, "deps" | "logger">, outcomes: Outcome[]) {
  s.logger.flush();
  const results = finishExecutions(s.deps, outcomes);
  for (const o of outcomes) s.logger.close(o.claim.executionId);
  return results;
}

/** 409 explaining why the engine refused an outcome: the order was cancelled, moved, or its lease ran out. */
export function refusal(db: Db, workOrderId: string, workerId: string): AppError {
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

/** One outcome as a worker reports it, whichever endpoint carried it (complete, fail, report). */
export type ReportedOutcome = Omit<ReportOutcome, "retryable"> & { retryable?: boolean };

/** An outcome's answer: recorded (with `retry_at` when a failure queued the task again), or why not. */
export type OutcomeResult = { execution_id: string; accepted: true; retry_at?: number } | { execution_id: string; accepted: false; error: AppError };

/**
 * Records a worker's outcomes in ONE engine transaction (finishExecutions), results and output masked.
 * Each is first checked to be this worker's attempt at that order; a refused one gets its reason and
 * does not stop the others. The caller has checked the worker may act (actingWorker).
 */
export function recordOutcomes(s: WorkerApiDeps, workerId: string, reported: ReportedOutcome[]): OutcomeResult[] {
  const { deps } = s;
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
    const output = { exitCode: o.exit_code, stdout: o.stdout, stderr: o.stderr, durationMs: o.duration_ms };
    const outcome: Outcome =
      o.status === "succeeded"
        ? { claim, kind: "succeeded", result: o.result, ...output, cpuMs: o.cpu_ms, maxRssBytes: o.max_rss_bytes }
        : { claim, kind: o.status, error: o.error ?? o.status, retryable: o.retryable ?? true, ...output };
    outcomes.push(maskOutcome(s.secrets, outcome));
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
function recordOne(s: WorkerApiDeps, workerId: string, outcome: ReportedOutcome): { accepted: true; retry_at?: number } {
  const [answer] = recordOutcomes(s, workerId, [outcome]);
  if (!answer!.accepted) throw answer!.error;
  return answer!.retry_at === undefined ? { accepted: true } : { accepted: true, retry_at: answer!.retry_at };
}

export function completeExecution(s: WorkerApiDeps, body: CompleteBody, caller: QueueCaller): { accepted: true } {
  actingWorker(s.deps, body.worker_id, caller);
  const { worker_id, ...outcome } = body;
  recordOne(s, worker_id, { ...outcome, status: "succeeded" });
  return { accepted: true };
}

export function failExecution(s: WorkerApiDeps, body: FailBody, caller: QueueCaller): { accepted: true; retry_at?: number } {
  actingWorker(s.deps, body.worker_id, caller);
  const { worker_id, timed_out, ...outcome } = body;
  return recordOne(s, worker_id, { ...outcome, status: timed_out ? "timed_out" : "failed" });
}

