// Who may act for a registered remote worker: the API key that registered it (or an admin), never for
// the server's own threads, and not while it drains. Every worker-api call starts here.
import type { EngineDeps } from "../../engine/engine-deps.ts";
import type { TaskLogger } from "../../engine/task-logger.ts";
import type { TaskSecrets } from "../../engine/task-secrets.ts";
import { AppError, conflict, notFound } from "../../errors.ts";
import type { ClaimWaiters } from "./claim-waiters.ts";

/** What a remote worker's call needs: the engine, the TaskLogger, the SecretStore and the parked claims. */
export interface WorkerApiDeps {
  deps: EngineDeps;
  logger: TaskLogger;
  secrets?: TaskSecrets;
  claimWaiters: ClaimWaiters;
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
export function actingWorker(deps: EngineDeps, workerId: string, caller: QueueCaller): WorkerForClaim {
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

export const drainingRefusal = (workerId: string) => conflict(`worker '${workerId}' is draining: it gets no new work (register again to resume)`);

