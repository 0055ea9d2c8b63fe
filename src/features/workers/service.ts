// The workers registry: register (or resume), list, read, heartbeat, drain; status derived from heartbeats,
// failures and held work, and each change of it published once as `worker:changed`.
import type { Db } from "../../db/client.ts";
import type { WorkerStatus, WorkerType } from "../../db/schema.ts";
import { releaseWorker } from "../../engine/control.ts";
import type { EngineDeps } from "../../engine/engine-deps.ts";
import { AppError, conflict, notFound } from "../../errors.ts";
import { extendLeases } from "../../queue/work-orders.ts";
import { heartbeatHistory } from "./history.ts";
import type { HeartbeatBody, ListWorkersQuery, RegisterWorkerBody, SignOffBody } from "./schemas.ts";

/** How often a worker (and the server, for its own threads) is expected to heartbeat. */
export const HEARTBEAT_INTERVAL_MS = 5_000;
/** Three missed heartbeats: a worker silent for longer is `offline`. */
export const OFFLINE_AFTER_MS = 3 * HEARTBEAT_INTERVAL_MS;
/** A remote claim's lease: every heartbeat that lists the order moves it this far ahead (6 heartbeats of slack). */
export const REMOTE_LEASE_MS = 30_000;
/** Failed executions in a row that make a worker `error` (a success resets the count). */
export const ERROR_AFTER_FAILURES = 3;

export interface WorkerDeps extends EngineDeps {
  /** The registry's clock: tests move it instead of sleeping. */
  clock?: () => number;
}

/** Who is registering or heartbeating: an API key (worker scope) or an admin. */
export interface WorkerCaller {
  keyId: string | null;
  admin: boolean;
}

export interface WorkerLoad {
  load: number | null;
  cpu_percent: number | null;
  memory_bytes: number | null;
  running_work_order_ids: string[];
}

export interface WorkerJson {
  id: string;
  name: string;
  worker_type: WorkerType;
  status: WorkerStatus;
  draining: boolean;
  hostname: string | null;
  version: string | null;
  capabilities: string[];
  max_concurrent_tasks: number;
  timeout_seconds: number | null;
  context_window_size: number | null;
  config: Record<string, unknown>;
  /** The process that registered it last (the worker's own random id), if it said. */
  instance_id: string | null;
  consecutive_failures: number;
  /** Work orders it holds (claimed, lease not yet returned). */
  claimed_work_orders: number;
  last_heartbeat_at: string | null;
  last_load: WorkerLoad | null;
  registered_by: string | null;
  created_at: string;
  updated_at: string;
}

interface WorkerRow {
  id: string;
  name: string;
  worker_type: WorkerType;
  hostname: string | null;
  version: string | null;
  max_concurrent_tasks: number;
  timeout_seconds: number | null;
  context_window_size: number | null;
  config: string;
  draining: number;
  consecutive_failures: number;
  last_heartbeat_at: number | null;
  last_load: string | null;
  announced_status: WorkerStatus | null;
  registered_by: string | null;
  created_at: number;
  updated_at: number;
  status: WorkerStatus;
  claimed: number;
  capabilities: string | null;
}

const now = (deps: WorkerDeps) => (deps.clock ?? Date.now)();
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * The derived status, in SQL so lists can filter and page by it: silent for OFFLINE_AFTER_MS → offline;
 * else ERROR_AFTER_FAILURES failures in a row → error; else holding a claimed work order → busy; else idle.
 */
const STATUS_SQL = `CASE
    WHEN w.last_heartbeat_at IS NULL OR w.last_heartbeat_at < $now - ${OFFLINE_AFTER_MS} THEN 'offline'
    WHEN w.consecutive_failures >= ${ERROR_AFTER_FAILURES} THEN 'error'
    WHEN EXISTS (SELECT 1 FROM work_orders o WHERE o.status = 'claimed' AND o.claimed_by = w.id) THEN 'busy'
    ELSE 'idle' END`;

const SELECT_SQL = `SELECT w.*, ${STATUS_SQL} AS status,
    (SELECT count(*) FROM work_orders o WHERE o.status = 'claimed' AND o.claimed_by = w.id) AS claimed,
    (SELECT json_group_array(capability) FROM (SELECT capability FROM worker_capabilities c WHERE c.worker_id = w.id ORDER BY capability)) AS capabilities
  FROM workers w`;

/**
 * The key of `config` (JSON column) that keeps the registering process's instance id: reserved, never
 * shown in `config` (it is `instance_id`), and a worker's own value under it is replaced.
 */
export const INSTANCE_KEY = "agentvine.instance_id";

function instanceOf(config: string | Record<string, unknown>): string | null {
  const c = typeof config === "string" ? (JSON.parse(config) as Record<string, unknown>) : config;
  const v = c[INSTANCE_KEY];
  return typeof v === "string" ? v : null;
}

function shownConfig(config: string): Record<string, unknown> {
  const { [INSTANCE_KEY]: _instance, ...rest } = JSON.parse(config) as Record<string, unknown>;
  return rest;
}

function toJson(r: WorkerRow): WorkerJson {
  return {
    id: r.id,
    name: r.name,
    worker_type: r.worker_type,
    status: r.status,
    draining: r.draining === 1,
    hostname: r.hostname,
    version: r.version,
    capabilities: r.capabilities ? (JSON.parse(r.capabilities) as string[]) : [],
    max_concurrent_tasks: r.max_concurrent_tasks,
    timeout_seconds: r.timeout_seconds,
    context_window_size: r.context_window_size,
    config: shownConfig(r.config),
    instance_id: instanceOf(r.config),
    consecutive_failures: r.consecutive_failures,
    claimed_work_orders: r.claimed,
    last_heartbeat_at: iso(r.last_heartbeat_at),
    last_load: r.last_load ? (JSON.parse(r.last_load) as WorkerLoad) : null,
    registered_by: r.registered_by,
    created_at: iso(r.created_at)!,
    updated_at: iso(r.updated_at)!,
  };
}

function selectWorker(db: Db, id: string, at: number): WorkerRow | null {
  return db.sqlite.query<WorkerRow, Record<string, string | number>>(`${SELECT_SQL} WHERE w.id = $id`).get({ id, now: at });
}

export function getWorker(deps: WorkerDeps, id: string): WorkerJson {
  const row = selectWorker(deps.db, id, now(deps));
  if (!row) throw notFound("worker", id);
  return toJson(row);
}

export function listWorkers(deps: WorkerDeps, q: ListWorkersQuery) {
  const where: string[] = [];
  const params: Record<string, string | number> = { now: now(deps) };
  if (q.status) {
    where.push(`status IN (${q.status.map((_, i) => `$status${i}`).join(", ")})`);
    q.status.forEach((s, i) => (params[`status${i}`] = s));
  }
  if (q.worker_type) {
    where.push("worker_type = $type");
    params.type = q.worker_type;
  }
  // Every listed capability: the worker can run a task that requires all of them.
  (q.capability ?? []).forEach((cap, i) => {
    where.push(`EXISTS (SELECT 1 FROM worker_capabilities c WHERE c.worker_id = id AND c.capability = $cap${i})`);
    params[`cap${i}`] = cap;
  });
  const filtered = `SELECT * FROM (${SELECT_SQL}) ${where.length ? `WHERE ${where.join(" AND ")}` : ""}`;
  const rows = deps.db.sqlite
    .query<WorkerRow, Record<string, string | number>>(`${filtered} ORDER BY worker_type, name LIMIT $limit OFFSET $offset`)
    .all({ ...params, limit: q.per_page, offset: (q.page - 1) * q.per_page });
  const total = deps.db.sqlite.query<{ n: number }, Record<string, string | number>>(`SELECT count(*) AS n FROM (${filtered})`).get(params)!.n;
  return { items: rows.map(toJson), total, page: q.page, per_page: q.per_page };
}

export interface Registration {
  worker: WorkerJson;
  /** False when a worker of that name existed: it resumed its id. */
  created: boolean;
}

/**
 * Registers a worker, or resumes the one registered under the same name (same id back; it is no longer
 * draining). A name registered by another API key is refused unless the caller is an admin or that key
 * was revoked (or deleted) since — a rotated key takes its workers over — so one live worker key
 * cannot take over another's worker. A name whose worker is online (heartbeated within
 * OFFLINE_AFTER_MS) under another `instance_id` is refused too: two processes sharing one id would
 * release each other's work. Counts as a heartbeat.
 */
export function registerWorker(
  deps: WorkerDeps,
  body: RegisterWorkerBody & { worker_type?: WorkerType; id?: string },
  caller: WorkerCaller,
): Registration {
  const { db } = deps;
  const at = now(deps);
  const created = db.sqlite
    .transaction(() => {
      const existing = db.sqlite
        .query<{ id: string; registered_by: string | null; worker_type: WorkerType; config: string; last_heartbeat_at: number | null }, [string]>(
          "SELECT id, registered_by, worker_type, config, last_heartbeat_at FROM workers WHERE name = ?",
        )
        .get(body.name);
      if (existing && !caller.admin && (existing.worker_type === "local" || (existing.registered_by !== caller.keyId && keyIsLive(db, existing.registered_by)))) {
        throw conflict(`a worker named '${body.name}' was registered with another key; choose another name`, [
          { field: "name", message: "taken by a worker of another key" },
        ]);
      }
      const instance = body.instance_id ?? null;
      if (existing && existing.last_heartbeat_at !== null && existing.last_heartbeat_at >= at - OFFLINE_AFTER_MS && instanceOf(existing.config) !== instance) {
        throw conflict(
          `a worker named '${body.name}' is running already (another instance heartbeated ${Math.max(0, Math.round((at - existing.last_heartbeat_at) / 1000))} s ago): pick another --name for this one`,
          [{ field: "name", message: "in use by another running instance" }],
        );
      }
      const config: Record<string, unknown> = { ...(body.config ?? {}) };
      delete config[INSTANCE_KEY];
      if (instance !== null) config[INSTANCE_KEY] = instance;
      const id = existing?.id ?? body.id ?? Bun.randomUUIDv7();
      db.sqlite
        .query(
          `INSERT INTO workers (id, name, worker_type, hostname, version, max_concurrent_tasks, timeout_seconds, context_window_size, config,
                                draining, consecutive_failures, last_heartbeat_at, registered_by, created_at, updated_at)
           VALUES ($id, $name, $type, $hostname, $version, $max, $timeout, $window, $config, 0, 0, $now, $by, $now, $now)
           ON CONFLICT(id) DO UPDATE SET name = $name, hostname = $hostname, version = $version, max_concurrent_tasks = $max,
             timeout_seconds = $timeout, context_window_size = $window, config = $config, draining = 0, consecutive_failures = 0,
             last_heartbeat_at = $now, registered_by = coalesce($by, registered_by), updated_at = $now`,
        )
        .run({
          id,
          name: body.name,
          type: body.worker_type ?? "remote",
          hostname: body.hostname ?? null,
          version: body.version ?? null,
          max: body.max_concurrent_tasks,
          timeout: body.timeout_seconds ?? null,
          window: body.context_window_size ?? null,
          config: JSON.stringify(config),
          by: caller.keyId,
          now: at,
        });
      db.sqlite.query("DELETE FROM worker_capabilities WHERE worker_id = ?").run(id);
      const addCapability = db.sqlite.query("INSERT OR IGNORE INTO worker_capabilities (worker_id, capability) VALUES (?, ?)");
      for (const cap of body.capabilities ?? []) addCapability.run(id, cap);
      return existing ? { id, created: false } : { id, created: true };
    })
    .immediate();
  // Announced on every registration (a resumed worker is news even when its status did not change).
  announce(deps, [created.id], true);
  return { worker: getWorker(deps, created.id), created: created.created };
}

/** Whether an API key still authenticates (not revoked, not deleted); null = no key (an admin's session). */
function keyIsLive(db: Db, keyId: string | null): boolean {
  if (keyId === null) return true;
  const key = db.sqlite.query<{ revoked_at: number | null }, [string]>("SELECT revoked_at FROM api_keys WHERE id = ?").get(keyId);
  return key != null && key.revoked_at === null;
}

/** Refuses a caller acting on a worker another key registered (admins may act on any). */
function assertOwns(db: Db, id: string, caller: WorkerCaller) {
  const row = db.sqlite.query<{ registered_by: string | null }, [string]>("SELECT registered_by FROM workers WHERE id = ?").get(id);
  if (!row) throw notFound("worker", id);
  if (!caller.admin && row.registered_by !== caller.keyId) {
    throw new AppError(403, "forbidden", `worker '${id}' was registered with another key`);
  }
}

/**
 * Records a heartbeat: when, and what the worker reports (load, CPU, memory, the work orders it runs).
 * Returns the worker, whose `draining` tells it to stop claiming.
 */
export function heartbeatWorker(deps: WorkerDeps, id: string, body: HeartbeatBody, caller: WorkerCaller): WorkerJson & { extended: string[]; lost: string[] } {
  assertOwns(deps.db, id, caller);
  if (body.instance_id != null) {
    const stored = instanceOf(deps.db.sqlite.query<{ config: string }, [string]>("SELECT config FROM workers WHERE id = ?").get(id)!.config);
    if (stored !== null && stored !== body.instance_id) {
      throw conflict(`worker '${id}' was registered by another running instance (another process uses its name): stop this one, or register it with another --name`);
    }
  }
  const at = now(deps);
  const load: WorkerLoad = {
    load: body.load ?? null,
    cpu_percent: body.cpu_percent ?? null,
    memory_bytes: body.memory_bytes ?? null,
    running_work_order_ids: body.running_work_order_ids ?? [],
  };
  deps.db.sqlite.query("UPDATE workers SET last_heartbeat_at = ?, last_load = ?, updated_at = ? WHERE id = ?").run(at, JSON.stringify(load), at, id);
  heartbeatHistory(deps.db).record(id, { at, load: load.load, cpu_percent: load.cpu_percent, memory_bytes: load.memory_bytes, running: load.running_work_order_ids.length });
  // The leases of the work it says it runs move ahead; what it lists but no longer holds (expired, moved
  // on, cancelled) it has lost, and should stop: its result would be refused anyway.
  const extended = extendLeases(deps.db, id, load.running_work_order_ids, at + REMOTE_LEASE_MS, at);
  const kept = new Set(extended);
  const lost = load.running_work_order_ids.filter((o) => !kept.has(o));
  releaseUnknownClaims(deps, id, load.running_work_order_ids, at);
  announce(deps, [id]);
  return { ...getWorker(deps, id), extended, lost };
}

/**
 * A worker that stops cleanly says so (`agentvine worker` after its drain): it is offline at once rather
 * than after three missed heartbeats, and its name is free for the next start. Anything it still holds
 * goes back to the queue.
 */
export function signOffWorker(deps: WorkerDeps, id: string, body: SignOffBody, caller: WorkerCaller): WorkerJson & { released: number } {
  assertOwns(deps.db, id, caller);
  const row = deps.db.sqlite.query<{ config: string; worker_type: WorkerType }, [string]>("SELECT config, worker_type FROM workers WHERE id = ?").get(id)!;
  if (row.worker_type === "local") throw conflict(`worker '${id}' is this server's own threads: they stop with the server`);
  const stored = instanceOf(row.config);
  if (body.instance_id != null && stored !== null && stored !== body.instance_id) {
    throw conflict(`worker '${id}' was registered by another running instance since: that one is still running`);
  }
  const released = releaseWorker(deps, id, `worker '${id}' signed off; requeued`);
  deps.db.sqlite.query("UPDATE workers SET last_heartbeat_at = NULL, updated_at = ? WHERE id = ?").run(now(deps), id);
  announce(deps, [id]);
  return { ...getWorker(deps, id), released };
}

/** A claim younger than this may still be on its way to the worker: a heartbeat not listing it proves nothing. */
export const CLAIM_IN_FLIGHT_MS = 2 * HEARTBEAT_INTERVAL_MS;

/**
 * Orders a remote worker holds but does not know about — the answer to its claim was lost (the server
 * restarted, the connection dropped) — go back to the queue at its next heartbeat instead of waiting
 * out their lease. The worker lists everything it runs or still has to report, so an order claimed
 * more than CLAIM_IN_FLIGHT_MS ago that it does not list, it never received.
 */
function releaseUnknownClaims(deps: WorkerDeps, id: string, listed: string[], at: number): void {
  const unknown = deps.db.sqlite
    .query<{ id: string }, Record<string, string | number>>(
      `SELECT o.id FROM work_orders o JOIN workers w ON w.id = o.claimed_by AND w.worker_type = 'remote'
        WHERE o.status = 'claimed' AND o.claimed_by = $worker AND o.claimed_at <= $before
          AND o.id NOT IN (SELECT value FROM json_each($listed))`,
    )
    .all({ worker: id, before: at - CLAIM_IN_FLIGHT_MS, listed: JSON.stringify(listed) })
    .map((r) => r.id);
  if (unknown.length) releaseWorker(deps, id, `worker '${id}' never received this claim (it did not list it in a heartbeat); requeued`, unknown);
}

/**
 * Drains a worker: it gets no new work, and the work it holds goes back to the queue at once (its late
 * results are refused by the guarded completion). The server's own threads stop with the server instead.
 */
export function drainWorker(deps: WorkerDeps, id: string): { worker: WorkerJson; released: number } {
  const row = deps.db.sqlite.query<{ worker_type: WorkerType }, [string]>("SELECT worker_type FROM workers WHERE id = ?").get(id);
  if (!row) throw notFound("worker", id);
  if (row.worker_type === "local") {
    throw conflict(`worker '${id}' is this server's own threads: stop the server, or start it with --workers 0`);
  }
  const at = now(deps);
  deps.db.sqlite.query("UPDATE workers SET draining = 1, updated_at = ? WHERE id = ?").run(at, id);
  // Later (remote claims over HTTP) the claim endpoint refuses a draining worker; until then nothing else claims for it.
  const released = releaseWorker(deps, id, `worker '${id}' was drained; requeued`);
  announce(deps, [id], true);
  return { worker: getWorker(deps, id), released };
}

/** Counts an execution's outcome for the worker: a failure adds one, a success resets (→ `error` at 3). */
export function recordWorkerOutcome(deps: WorkerDeps, id: string, succeeded: boolean): void {
  const at = now(deps);
  deps.db.sqlite
    .query(`UPDATE workers SET consecutive_failures = CASE WHEN $ok THEN 0 ELSE consecutive_failures + 1 END, updated_at = $now WHERE id = $id`)
    .run({ ok: succeeded ? 1 : 0, now: at, id });
  announce(deps, [id]);
}

/**
 * Publishes `worker:changed` for each worker (all by default) whose derived status differs from the one
 * last announced, and records it; `always` announces the given workers even when it did not change.
 * The server runs it every HEARTBEAT_INTERVAL_MS (runOnce for tests: move the clock, call it).
 */
export function announce(deps: WorkerDeps, ids?: string[], always = false): number {
  const at = now(deps);
  const rows = deps.db.sqlite
    .query<{ id: string; status: WorkerStatus; announced_status: WorkerStatus | null; draining: number }, Record<string, number | string | null>>(
      `SELECT w.id, ${STATUS_SQL} AS status, w.announced_status, w.draining FROM workers w
        WHERE $ids IS NULL OR w.id IN (SELECT value FROM json_each($ids))`,
    )
    .all({ now: at, ids: ids ? JSON.stringify(ids) : null });
  const record = deps.db.sqlite.query("UPDATE workers SET announced_status = ? WHERE id = ?");
  let changed = 0;
  for (const r of rows) {
    if (r.status === r.announced_status && !always) continue;
    record.run(r.status, r.id);
    changed++;
    deps.bus.emit("worker:changed", { workerId: r.id, status: r.status, previous: r.announced_status, draining: r.draining === 1, at });
  }
  return changed;
}

/**
 * Why a queued task is not being picked up, if no worker could take it: none online (or all draining,
 * or with no slots), or none online with every capability it requires. Null when some worker could.
 */
export function whyNoWorker(deps: WorkerDeps, requires: readonly string[]): string | null {
  const able = deps.db.sqlite
    .query<{ n: number }, Record<string, string | number>>(
      `SELECT count(*) AS n FROM workers w
        WHERE w.draining = 0 AND w.max_concurrent_tasks > 0 AND w.last_heartbeat_at >= $since
          AND (SELECT count(*) FROM worker_capabilities c
                WHERE c.worker_id = w.id AND c.capability IN (SELECT value FROM json_each($requires))) = $needed`,
    )
    .get({ since: now(deps) - OFFLINE_AFTER_MS, requires: JSON.stringify(requires), needed: requires.length })!.n;
  if (able > 0) return null;
  if (requires.length === 0) return "No worker is online to run it: it starts as soon as one connects (agentvine worker --server URL --token KEY).";
  return `No online worker has ${requires.length === 1 ? "the capability" : "all of the capabilities"} ${requires.join(", ")}: it waits for one that does (agentvine worker --capabilities ${requires.join(",")}).`;
}

/**
 * Removes a remote worker from the registry: only once it holds no work and is drained or offline (a
 * live one would register again at its next request). Its executions keep its id as history.
 */
export function removeWorker(deps: WorkerDeps, id: string): WorkerJson {
  const worker = getWorker(deps, id);
  if (worker.worker_type === "local") throw conflict(`worker '${id}' is this server's own threads: it cannot be removed`);
  if (worker.claimed_work_orders > 0) throw conflict(`worker '${worker.name}' still holds ${worker.claimed_work_orders} work order(s): drain it first`);
  if (!worker.draining && worker.status !== "offline") {
    throw conflict(`worker '${worker.name}' is ${worker.status}: drain it (or stop it) first, or it registers again at its next request`);
  }
  deps.db.sqlite.query("DELETE FROM workers WHERE id = ?").run(id);
  deps.bus.emit("worker:changed", { workerId: id, status: "offline", previous: worker.status, draining: true, at: now(deps) });
  return worker;
}
