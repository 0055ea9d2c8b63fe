// Log lines a remote worker streams back, alone or in a report with its outcomes: only for executions it
// holds now; the TaskLogger masks them. A report stores the lines first, then every outcome at once.
import type { Db } from "../../db/client.ts";
import type { ErrorDetail } from "../../errors.ts";
import { conflict } from "../../errors.ts";
import type { LogTuple } from "../../thread-pool/protocol.ts";
import { actingWorker, drainingRefusal, type QueueCaller, type WorkerApiDeps } from "./acting-worker.ts";
import { recordOutcomes } from "./outcomes.ts";
import type { LogsBody, ReportBody, ReportContent, ReportOut } from "./schemas.ts";

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
function appendHeld(s: WorkerApiDeps, lines: LogsBody["lines"], held: Map<string, string>): number {
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
export function appendRemoteLogs(s: WorkerApiDeps, body: LogsBody, caller: QueueCaller): { accepted: number } {
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
function deliverReport(s: WorkerApiDeps, workerId: string, report: ReportContent): ReportOut {
  const ids = [...new Set(report.logs.map((l) => l.execution_id))];
  const held = ids.length > 0 ? heldExecutions(s.deps.db, workerId, ids) : new Map<string, string>();
  const accepted = appendHeld(s, report.logs, held);
  const outcomes = recordOutcomes(s, workerId, report.outcomes).map((r) => (r.accepted ? r : { execution_id: r.execution_id, accepted: false, reason: r.error.message }));
  return { outcomes, logs: { accepted, refused: ids.filter((id) => !held.has(id)) } };
}

/** POST /queue/report: a worker's log lines and outcomes in one request (404/403/409 when the worker may not act). */
export function reportForWorker(s: WorkerApiDeps, body: ReportBody, caller: QueueCaller): ReportOut {
  actingWorker(s.deps, body.worker_id, caller);
  return deliverReport(s, body.worker_id, body);
}

/**
 * The report a claim carries, delivered before the claim. A worker that may not claim (unknown, another
 * key's, draining) is refused before anything of the report is stored, so it can deliver it again alone.
 */
export function reportBeforeClaim(s: WorkerApiDeps, workerId: string, report: ReportContent, caller: QueueCaller): ReportOut {
  const worker = actingWorker(s.deps, workerId, caller);
  if (worker.draining) throw drainingRefusal(workerId);
  return deliverReport(s, workerId, report);
}
