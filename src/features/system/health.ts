// GET /api/v1/health: each part of the server checked — database, disk space in the data dir, queue,
// local threads, controller, workers online — and one overall status a load balancer can act on:
// `ok` and `warning` answer 200, `degraded` answers 503 (the server cannot do its job: take it out).
import { z } from "zod";
import type { DiskWatch } from "../../data-dir/disk.ts";
import type { EngineDeps } from "../../engine/engine-deps.ts";
import type { LocalRunner } from "../../engine/local-runner.ts";
import { logger } from "../../log.ts";
import { countWorkOrders, oldestClaimable } from "../../queue/work-orders.ts";
import { countWorkers } from "../workers/service.ts";

const log = logger("health");

/** Below this (or 5% of a small disk) the database cannot be trusted to take writes (a full disk fails commits): 503. */
export const DISK_FAILING_BYTES = 100 * 1024 * 1024;
/** Below this (or 5% of the disk) the health says `warning`. */
export const DISK_WARNING_BYTES = 1024 * 1024 * 1024;

export const CHECK_STATUSES = ["ok", "warning", "failing"] as const;
type CheckStatus = (typeof CHECK_STATUSES)[number];

export interface HealthSources {
  deps: EngineDeps;
  /** The data dir's disk: its free space, and the last write that failed for want of it. */
  disk: DiskWatch;
  pool: LocalRunner | null;
  version: string;
  startedAt: number;
  /** The model the controller's automated handler would use now, if one is configured. */
  controllerModel: () => { provider: string; model: string } | null;
}

const check = <T extends z.ZodRawShape>(shape: T) => z.object({ status: z.enum(CHECK_STATUSES), ok: z.boolean(), message: z.string().optional(), ...shape });

export const HealthOut = z.object({
  status: z.enum(["ok", "warning", "degraded"]).describe("ok and warning answer 200; degraded answers 503"),
  version: z.string(),
  uptime_seconds: z.number(),
  checks: z.object({
    db: check({ latency_ms: z.number() }),
    disk: check({
      free_bytes: z.number().nullable(),
      total_bytes: z.number().nullable(),
      free_ratio: z.number().nullable(),
      last_failure: z
        .object({ at: z.string(), what: z.string(), error: z.string() })
        .optional()
        .describe("A write that failed for want of space, while none has worked since: the server answers 507 to writes"),
    }),
    queue: check({ queued: z.number(), claimed: z.number(), oldest_queued_seconds: z.number() }),
    threads: check({ configured: z.number(), ready: z.number(), busy: z.number() }),
    controller: check({ open_questions: z.number(), waiting_for_human: z.number(), model_configured: z.boolean(), model: z.string().nullable() }),
    workers: check({ online: z.number(), busy: z.number(), offline: z.number(), error: z.number(), local_threads: z.number() }),
  }),
});
export type Health = z.infer<typeof HealthOut>;

function result<T extends object>(status: CheckStatus, fields: T, message?: string) {
  return { status, ok: status !== "failing", ...(message ? { message } : {}), ...fields };
}

function dbCheck(s: HealthSources) {
  const started = performance.now();
  try {
    s.deps.db.sqlite.query("SELECT 1").get();
    return result("ok", { latency_ms: +(performance.now() - started).toFixed(3) });
  } catch (err) {
    log.error("health: the database did not answer", err as Error);
    return result("failing", { latency_ms: +(performance.now() - started).toFixed(3) }, "the database does not answer");
  }
}

function diskCheck(disk: DiskWatch) {
  const d = disk.check();
  if (d.free_bytes === null || d.total_bytes === null) {
    if (d.last_failure) return result("failing", { free_bytes: null, total_bytes: null, free_ratio: null, last_failure: d.last_failure }, "a write failed for want of space");
    return result("warning", { free_bytes: null, total_bytes: null, free_ratio: null }, "cannot read the disk's free space");
  }
  const free = d.free_bytes;
  const ratio = d.total_bytes > 0 ? +(free / d.total_bytes).toFixed(4) : null;
  const fields = { free_bytes: free, total_bytes: d.total_bytes, free_ratio: ratio, ...(d.last_failure ? { last_failure: d.last_failure } : {}) };
  if (d.last_failure) return result("failing", fields, `a write failed for want of space (${d.last_failure.what}): writes answer 507 until there is room`);
  const floor = Math.min(DISK_FAILING_BYTES, d.total_bytes * 0.05);
  if (free < floor) return result("failing", fields, `less than ${Math.round(floor / 1024 / 1024)} MiB free in the data dir: writes will fail`);
  if (free < DISK_WARNING_BYTES || (ratio !== null && ratio < 0.05)) return result("warning", fields, "the data dir's disk is nearly full");
  return result("ok", fields);
}

function queueCheck(s: HealthSources) {
  let queued = 0;
  let claimed = 0;
  for (const row of countWorkOrders(s.deps.db)) {
    if (row.status === "queued") queued += row.count;
    if (row.status === "claimed") claimed += row.count;
  }
  const now = (s.deps.clock ?? Date.now)();
  const times = Object.values(oldestClaimable(s.deps.db, now)).filter((t): t is number => t !== null);
  const oldest = times.length ? Math.min(...times) : null;
  return result("ok", { queued, claimed, oldest_queued_seconds: oldest == null ? 0 : Math.round((now - oldest) / 1000) });
}

function threadsCheck(pool: LocalRunner | null) {
  const fields = { configured: pool?.size ?? 0, ready: pool?.readyCount ?? 0, busy: pool?.busyCount ?? 0 };
  // No thread ready — still loading just after start, or unable to start (a broken build): the server
  // cannot run what it claims, so a load balancer should not send it work yet.
  if (pool && pool.readyCount === 0) return result("failing", fields, "no task thread is ready (starting, or failing to start: see the log)");
  return result("ok", fields);
}

function controllerCheck(s: HealthSources) {
  const rows = s.deps.db.sqlite
    .query<{ handler: string; n: number }, []>("SELECT handler, count(*) AS n FROM worker_requests WHERE status = 'open' GROUP BY handler")
    .all();
  const open = rows.reduce((n, r) => n + r.n, 0);
  const human = rows.find((r) => r.handler === "human")?.n ?? 0;
  let model: { provider: string; model: string } | null = null;
  try {
    model = s.controllerModel();
  } catch {
    model = null;
  }
  return result("ok", { open_questions: open, waiting_for_human: human, model_configured: model !== null, model: model ? `${model.provider}/${model.model}` : null });
}

function workersCheck(s: HealthSources, threads: number) {
  const counts = { idle: 0, busy: 0, offline: 0, error: 0 };
  for (const row of countWorkers(s.deps)) if (row.worker_type === "remote") counts[row.status] += row.count;
  const fields = { online: counts.idle + counts.busy, busy: counts.busy, offline: counts.offline, error: counts.error, local_threads: threads };
  if (threads === 0 && fields.online === 0) return result("warning", fields, "no local threads and no remote worker online: queued tasks wait");
  return result("ok", fields);
}

export function checkHealth(s: HealthSources): { health: Health; httpStatus: 200 | 503 } {
  const db = dbCheck(s);
  const disk = diskCheck(s.disk);
  const threads = threadsCheck(s.pool);
  const rest = db.ok
    ? { queue: queueCheck(s), controller: controllerCheck(s), workers: workersCheck(s, threads.ready) }
    : {
        queue: result("failing", { queued: 0, claimed: 0, oldest_queued_seconds: 0 }, "the database does not answer"),
        controller: result("failing", { open_questions: 0, waiting_for_human: 0, model_configured: false, model: null }, "the database does not answer"),
        workers: result("failing", { online: 0, busy: 0, offline: 0, error: 0, local_threads: threads.ready }, "the database does not answer"),
      };
  const checks = { db, disk, threads, ...rest };
  const statuses = Object.values(checks).map((c) => c.status);
  const status = statuses.includes("failing") ? "degraded" : statuses.includes("warning") ? "warning" : "ok";
  return {
    health: { status, version: s.version, uptime_seconds: Math.round((Date.now() - s.startedAt) / 1000), checks },
    httpStatus: status === "degraded" ? 503 : 200,
  };
}
