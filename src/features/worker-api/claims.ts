// What a remote worker may claim: checks who is acting for which registered worker, leases matching work
// within its free slots (the engine's claimTasks, like the local runner's), resolves secrets in what is
// handed out, and parks a long-poll on the ClaimWaiters until work it can do is queued.
import type { Db } from "../../db/client.ts";
import { claimTasks, type Outcome } from "../../engine/attempts.ts";
import { paramsForRun } from "../../engine/task-secrets.ts";
import { REMOTE_LEASE_MS } from "../workers/service.ts";
import { actingWorker, drainingRefusal, type QueueCaller, type WorkerApiDeps } from "./acting-worker.ts";
import { recordFailures } from "./outcomes.ts";
import type { ClaimItem } from "./schemas.ts";
import { grantsOf } from "../auth/key-grants.ts";

/** Orders the worker holds now (claimed, lease not returned): they count against its max_concurrent_tasks. */
function heldOrders(db: Db, workerId: string): number {
  return db.sqlite
    .query<{ n: number }, [string]>("SELECT count(*) AS n FROM work_orders WHERE status = 'claimed' AND claimed_by = ?")
    .get(workerId)!.n;
}

/** Orders every worker registered with key `keyId` holds: together they count against the key's granted slots. */
function heldByKey(db: Db, keyId: string): number {
  return db.sqlite
    .query<{ n: number }, [string]>(
      "SELECT count(*) AS n FROM work_orders WHERE status = 'claimed' AND claimed_by IN (SELECT id FROM workers WHERE registered_by = ?)",
    )
    .get(keyId)!.n;
}

/**
 * One claim attempt for a remote worker: as many orders as it asked for and has free slots, that
 * require only capabilities it has. Each is leased, its execution opened and its task marked running
 * (claimTasks). An order whose `{{secrets.…}}` cannot be resolved fails at once, like in the local pool,
 * and is not handed out. Throws 404/403/409 when the worker may not claim (drained meanwhile included).
 */
export function claimOnce(s: WorkerApiDeps, workerId: string, limit: number, caller: QueueCaller): ClaimItem[] {
  const { deps, logger, secrets } = s;
  const worker = actingWorker(deps, workerId, caller);
  if (worker.draining) throw drainingRefusal(workerId);
  // Within what the worker's key was granted (checked at registration, and again here: an admin may have
  // narrowed it since): its capabilities, and its slots across all of the key's workers.
  const grants = grantsOf(deps.db, worker.registered_by);
  const capabilities = grants ? worker.capabilities.filter((c) => grants.capabilities.includes(c)) : worker.capabilities;
  const keyRoom = grants && worker.registered_by ? grants.max_concurrent_tasks - heldByKey(deps.db, worker.registered_by) : Infinity;
  const room = Math.min(limit, worker.max_concurrent_tasks - heldOrders(deps.db, workerId), keyRoom);
  if (room <= 0) return [];
  // Orders naming a secret that may not leave the server stay for the server's own threads.
  const claims = claimTasks(deps, { workerId, limit: room, capabilities, leaseMs: REMOTE_LEASE_MS, exceptSecrets: secrets?.localOnly() });
  const items: ClaimItem[] = [];
  const unresolvable: Outcome[] = [];
  for (const claim of claims) {
    const run = paramsForRun(secrets, claim, true);
    if ("error" in run) {
      logger.append(claim.executionId, claim.taskId, [["error", run.error, null, Date.now()]]);
      unresolvable.push({ claim, kind: "failed", error: run.error, retryable: false, durationMs: 0 });
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
      params: run.params,
      ...(run.secretValues.length ? { secret_values: run.secretValues } : {}),
      timeout_seconds: claim.timeoutSeconds,
      correlation_id: claim.correlationId,
    });
  }
  if (unresolvable.length > 0) recordFailures(s, unresolvable);
  return items;
}

/**
 * Claims for a remote worker, waiting up to `waitMs` for matching work when there is none now.
 * Resolves with [] when nothing came within the wait (or the request went away).
 */
export function claimForWorker(s: WorkerApiDeps, workerId: string, limit: number, waitMs: number, caller: QueueCaller, signal?: AbortSignal): Promise<ClaimItem[]> {
  return s.claimWaiters.claim(workerId, () => claimOnce(s, workerId, limit, caller), waitMs, signal);
}

