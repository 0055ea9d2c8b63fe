// What the workers pages show beyond the registry's own rows: the stats over every worker, the tasks each
// one runs now, a worker's recent executions and its heartbeat history. Read-only queries.
import type { Db } from "../../db/client.ts";
import { WORKER_STATUSES, WORKER_TYPES, type WorkerStatus, type WorkerType } from "../../db/schema.ts";
import { heartbeatHistory, type HeartbeatSample } from "./history.ts";
import { listWorkers, type WorkerDeps, type WorkerJson } from "./service.ts";

export interface WorkerStats {
  total: number;
  byStatus: Record<WorkerStatus, number>;
  byType: Record<WorkerType, number>;
  draining: number;
  /** Every capability some worker has, for the filter. */
  capabilities: string[];
}

export function workerStats(deps: WorkerDeps): WorkerStats {
  const byStatus = Object.fromEntries(WORKER_STATUSES.map((s) => [s, 0])) as Record<WorkerStatus, number>;
  const byType = Object.fromEntries(WORKER_TYPES.map((t) => [t, 0])) as Record<WorkerType, number>;
  let total = 0;
  let draining = 0;
  // Through the registry, so the derived status is the one the cards show; a fleet is small.
  for (let page = 1; ; page++) {
    const { items } = listWorkers(deps, { page, per_page: 100 });
    for (const w of items) {
      byStatus[w.status]++;
      byType[w.worker_type]++;
      if (w.draining) draining++;
    }
    total += items.length;
    if (items.length < 100) break;
  }
  const capabilities = deps.db.sqlite
    .query<{ capability: string }, []>("SELECT DISTINCT capability FROM worker_capabilities ORDER BY capability LIMIT 500")
    .all()
    .map((r) => r.capability);
  return { total, byStatus, byType, draining, capabilities };
}

export interface RunningTask {
  worker_id: string;
  work_order_id: string;
  task_id: string;
  title: string;
  status: string;
  claimed_at: number | null;
  lease_until: number | null;
}

/** The tasks of the work orders these workers hold (claimed), oldest claim first. */
export function runningTasks(db: Db, workerIds: string[]): Map<string, RunningTask[]> {
  const byWorker = new Map<string, RunningTask[]>();
  if (workerIds.length === 0) return byWorker;
  const rows = db.sqlite
    .query<RunningTask, [string]>(
      `SELECT o.claimed_by AS worker_id, o.id AS work_order_id, t.id AS task_id, t.title, t.status, o.claimed_at, o.lease_until
         FROM work_orders o JOIN tasks t ON t.id = o.task_id
        WHERE o.status = 'claimed' AND o.claimed_by IN (SELECT value FROM json_each(?))
        ORDER BY o.claimed_at, o.id`,
    )
    .all(JSON.stringify(workerIds));
  for (const r of rows) {
    let list = byWorker.get(r.worker_id);
    if (!list) byWorker.set(r.worker_id, (list = []));
    list.push(r);
  }
  return byWorker;
}

export interface WorkerExecution {
  id: string;
  task_id: string;
  title: string;
  attempt: number;
  status: string;
  duration_ms: number | null;
  started_at: number;
  finished_at: number | null;
}

export const RECENT_EXECUTIONS = 20;

/** The worker's latest executions, newest first. */
export function recentExecutions(db: Db, workerId: string, limit = RECENT_EXECUTIONS): WorkerExecution[] {
  return db.sqlite
    .query<WorkerExecution, [string, number]>(
      `SELECT e.id, e.task_id, t.title, e.attempt, e.status, e.duration_ms, e.started_at, e.finished_at
         FROM executions e JOIN tasks t ON t.id = e.task_id
        WHERE e.worker_id = ?
        ORDER BY e.started_at DESC, e.id DESC LIMIT ?`,
    )
    .all(workerId, limit);
}

export interface WorkerDetail {
  worker: WorkerJson;
  running: RunningTask[];
  executions: WorkerExecution[];
  heartbeats: HeartbeatSample[];
}

export function workerDetail(deps: WorkerDeps, worker: WorkerJson): WorkerDetail {
  return {
    worker,
    running: runningTasks(deps.db, [worker.id]).get(worker.id) ?? [],
    executions: recentExecutions(deps.db, worker.id),
    heartbeats: heartbeatHistory(deps.db).of(worker.id),
  };
}
