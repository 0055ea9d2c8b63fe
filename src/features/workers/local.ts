// The server's side of the registry: its own threads as the `local` worker, heartbeated every
// HEARTBEAT_INTERVAL_MS, and the pass that announces every worker's status changes (offline included).
import { cpus, hostname, loadavg } from "node:os";
import { logger } from "../../log.ts";
import { announce, HEARTBEAT_INTERVAL_MS, heartbeatWorker, registerWorker, type WorkerDeps } from "./service.ts";

const log = logger("workers");
const SERVER: { keyId: null; admin: true } = { keyId: null, admin: true };

export interface LocalWorkerOptions {
  id: string;
  threads: number;
  capabilities: string[];
  version: string;
}

/** Registers the local worker and keeps it fresh; returns `stop` (the server calls it when stopping). */
export function startLocalWorker(deps: WorkerDeps, opts: LocalWorkerOptions): { stop(): void } {
  registerWorker(
    deps,
    {
      id: opts.id,
      name: `${hostname()} (local threads)`,
      worker_type: "local",
      hostname: hostname(),
      version: opts.version,
      capabilities: opts.capabilities,
      max_concurrent_tasks: opts.threads,
      config: {},
    },
    SERVER,
  );
  const beat = () => {
    try {
      const running = deps.db.sqlite
        .query<{ id: string }, [string]>("SELECT id FROM work_orders WHERE status = 'claimed' AND claimed_by = ?")
        .all(opts.id)
        .map((r) => r.id);
      const cpu = (loadavg()[0]! / Math.max(1, cpus().length)) * 100;
      heartbeatWorker(deps, opts.id, { load: loadavg()[0]!, cpu_percent: Math.round(cpu * 10) / 10, memory_bytes: process.memoryUsage.rss(), running_work_order_ids: running }, SERVER);
      announce(deps); // every worker: one that stopped heartbeating becomes offline here
    } catch (err) {
      log.error("local worker heartbeat failed:", err);
    }
  };
  const timer = setInterval(beat, HEARTBEAT_INTERVAL_MS);
  // A claim or a finish can turn a worker busy or idle: announce it then, not at the next beat.
  // Batched per microtask: a busy pool finishes thousands of executions a second.
  let pending: Set<string> | null = null;
  const onExecution = (e: { workerId: string }) => {
    if (pending) return void pending.add(e.workerId);
    pending = new Set([e.workerId]);
    queueMicrotask(() => {
      const ids = [...pending!];
      pending = null;
      try {
        announce(deps, ids);
      } catch (err) {
        log.error("announcing worker status failed:", err);
      }
    });
  };
  const offs = [deps.bus.on("execution:started", onExecution), deps.bus.on("execution:finished", onExecution)];
  return {
    stop() {
      clearInterval(timer);
      offs.forEach((off) => off());
    },
  };
}
