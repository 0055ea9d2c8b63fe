// Work orders: the durable priority queue. One exported function per SQL operation; every state
// transition is one guarded statement, so a stale holder can never move an order it lost.
import type { Db } from "../db/client.ts";
import type { QueueName, WorkOrderStatus } from "../db/schema.ts";

export const QUEUE_PRIORITY: Record<QueueName, number> = { high_priority: 0, default: 1, low_priority: 2 };

export interface EnqueueInput {
  id?: string;
  taskId: string | null;
  queue: QueueName;
  payload: Record<string, unknown>;
  maxRetries: number;
  timeoutSeconds: number;
  runAt?: number;
  expiresAt?: number | null;
  requires?: string[];
}

export interface ClaimedWorkOrder {
  id: string;
  task_id: string | null;
  queue: QueueName;
  payload: Record<string, unknown>;
  retry_count: number;
  max_retries: number;
  timeout_seconds: number;
  lease_token: string;
  lease_until: number;
  claimed_at: number;
  run_at: number;
  priority: number;
}


/** Inserts orders; the caller owns the transaction (one per acknowledged batch). */
export function insertWorkOrders(db: Db, inputs: EnqueueInput[], now: number): string[] {
  const stmt = db.sqlite.query(`INSERT INTO work_orders
      (id, task_id, queue, priority, status, payload, requires, max_retries, timeout_seconds, run_at, expires_at, created_at, updated_at)
    VALUES ($id, $task_id, $queue, $priority, 'queued', $payload, $requires, $max_retries, $timeout_seconds, $run_at, $expires_at, $now, $now)`);
  const ids: string[] = [];
  for (const input of inputs) {
    const id = input.id ?? Bun.randomUUIDv7();
    stmt.run({
      id,
      task_id: input.taskId,
      queue: input.queue,
      priority: QUEUE_PRIORITY[input.queue],
      payload: JSON.stringify(input.payload),
      requires: JSON.stringify(input.requires ?? []),
      max_retries: input.maxRetries,
      timeout_seconds: input.timeoutSeconds,
      run_at: input.runAt ?? now,
      expires_at: input.expiresAt ?? null,
      now,
    });
    ids.push(id);
  }
  return ids;
}

/** Enqueues a batch in one transaction: when this returns, every order is durable. */
export function enqueueWorkOrders(db: Db, inputs: EnqueueInput[], now = Date.now()): string[] {
  return db.sqlite.transaction(() => insertWorkOrders(db, inputs, now)).immediate();
}

export interface ClaimOptions {
  workerId: string;
  limit: number;
  now: number;
  /** Lease length; by default the order's own timeout plus 30 s (local threads enforce the timeout). */
  leaseMs?: number | null;
  /** Capabilities of the claimer; an order is claimable only when it requires a subset of them. */
  capabilities?: string[];
}

/** The claim statement (exported so a test can check its query plan). */
export const CLAIM_SQL = `UPDATE work_orders
          SET status = 'claimed',
              claimed_by = $worker,
              claimed_at = $now,
              lease_token = lower(hex(randomblob(12))),
              lease_until = CASE WHEN $lease_ms IS NULL THEN $now + timeout_seconds * 1000 + 30000 ELSE $now + $lease_ms END,
              updated_at = $now
        WHERE id IN (
          SELECT id FROM work_orders INDEXED BY work_orders_claim_idx
           WHERE status = 'queued'
             AND run_at <= $now
             AND (expires_at IS NULL OR expires_at > $now)
             AND NOT EXISTS (SELECT 1 FROM queue_pause)
             AND (requires = '[]' OR NOT EXISTS (
                   SELECT 1 FROM json_each(work_orders.requires) r
                    WHERE r.value NOT IN (SELECT value FROM json_each($caps))))
           ORDER BY priority, run_at, id
           LIMIT $limit)
      RETURNING id, task_id, queue, payload, retry_count, max_retries, timeout_seconds,
                lease_token, lease_until, claimed_at, run_at, priority`;

/**
 * Claims up to `limit` orders in one `UPDATE … RETURNING` that sets a fresh lease on each.
 * The inner SELECT walks work_orders_claim_idx (priority, run_at, id WHERE status='queued') in order.
 * It is named with INDEXED BY: left to itself the planner prefers work_orders_status_idx and sorts
 * every queued row per claim (measured: ~45 claims/s instead of ~20,000/s at 100k queued).
 */
export function claimWorkOrders(db: Db, opts: ClaimOptions): ClaimedWorkOrder[] {
  const rows = db.sqlite
    .query<ClaimedWorkOrder & { payload: string }, Record<string, string | number | null>>(
      CLAIM_SQL,
    )
    .all({
      worker: opts.workerId,
      now: opts.now,
      lease_ms: opts.leaseMs ?? null,
      caps: JSON.stringify(opts.capabilities ?? []),
      limit: opts.limit,
    });
  for (const row of rows) (row as ClaimedWorkOrder).payload = JSON.parse(row.payload);
  // RETURNING order is unspecified; hand work out in queue order.
  rows.sort((a, b) => a.priority - b.priority || a.run_at - b.run_at || (a.id < b.id ? -1 : 1));
  return rows as ClaimedWorkOrder[];
}

export interface LeaseRef {
  id: string;
  workerId: string;
  leaseToken: string;
}

/** Completes an order its holder still leases. Returns the task id, or undefined when the guard refused. */
export function completeWorkOrder(db: Db, ref: LeaseRef, result: unknown, now: number): { task_id: string | null } | undefined {
  return (
    db.sqlite
      .query<{ task_id: string | null }, Record<string, string | number | null>>(
        `UPDATE work_orders
            SET status = 'completed', result = $result, error = NULL,
                lease_token = NULL, lease_until = NULL, finished_at = $now, updated_at = $now
          WHERE id = $id AND status = 'claimed' AND claimed_by = $worker AND lease_token = $token
        RETURNING task_id`,
      )
      .get({ id: ref.id, worker: ref.workerId, token: ref.leaseToken, result: JSON.stringify(result ?? null), now }) ??
    undefined
  );
}

export interface FailOptions {
  error: string;
  now: number;
  /** When the next attempt may run, if retries remain. */
  retryAt: number;
  /** false: the failure is final whatever the retry budget (e.g. invalid params). */
  retryable: boolean;
}

export interface FailOutcome {
  task_id: string | null;
  status: "queued" | "dead" | "failed";
  retry_count: number;
  run_at: number;
}

/** Fails an attempt: back to `queued` at `retryAt` while retries remain, else `dead` (or `failed` when not retryable). */
export function failWorkOrder(db: Db, ref: LeaseRef, opts: FailOptions): FailOutcome | undefined {
  return (
    db.sqlite
      .query<FailOutcome, Record<string, string | number | null>>(
        `UPDATE work_orders
            SET status = CASE WHEN $retryable = 1 AND retry_count < max_retries THEN 'queued'
                              WHEN $retryable = 1 THEN 'dead' ELSE 'failed' END,
                run_at = CASE WHEN $retryable = 1 AND retry_count < max_retries THEN $retry_at ELSE run_at END,
                finished_at = CASE WHEN $retryable = 1 AND retry_count < max_retries THEN NULL ELSE $now END,
                retry_count = CASE WHEN $retryable = 1 AND retry_count < max_retries THEN retry_count + 1 ELSE retry_count END,
                error = $error,
                errors = json_insert(errors, '$[#]', json_object('attempt', retry_count + 1, 'at', $now, 'error', $error)),
                lease_token = NULL, lease_until = NULL, updated_at = $now
          WHERE id = $id AND status = 'claimed' AND claimed_by = $worker AND lease_token = $token
        RETURNING task_id, status, retry_count, run_at`,
      )
      .get({
        id: ref.id,
        worker: ref.workerId,
        token: ref.leaseToken,
        error: opts.error,
        now: opts.now,
        retry_at: opts.retryAt,
        retryable: opts.retryable ? 1 : 0,
      }) ?? undefined
  );
}

export interface ReleasedOrder {
  id: string;
  task_id: string | null;
  claimed_by: string;
}

/**
 * Returns orders to the queue without spending a retry: their holder vanished (lease expired, the
 * server restarted, a graceful shutdown gave them back). At-least-once: they will run again.
 * `exceptWorkerId` is the calling server's own pool: it knows first-hand whether its threads still
 * hold their orders (timeouts kill them), and a crash is recovered at the next start.
 */
export function releaseExpiredLeases(db: Db, now: number, exceptWorkerId: string | null = null): ReleasedOrder[] {
  return db.sqlite
    .query<ReleasedOrder, Record<string, number | string | null>>(
      `UPDATE work_orders
          SET status = 'queued', run_at = $now,
              errors = json_insert(errors, '$[#]', json_object('attempt', retry_count + 1, 'at', $now, 'error', 'lease expired (worker ' || claimed_by || ' stopped responding)')),
              lease_token = NULL, lease_until = NULL, updated_at = $now
        WHERE status = 'claimed' AND lease_until <= $now AND claimed_by IS NOT $except
      RETURNING id, task_id, claimed_by`,
    )
    .all({ now, except: exceptWorkerId });
}

/**
 * A heartbeat: moves the lease of each order `workerId` still holds (of `ids`) to `leaseUntil`, and
 * answers the ids it extended. An order whose lease already ran out, or that another worker holds
 * now, is not extended — the worker learns it lost that order (its late completion will be refused).
 */
export function extendLeases(db: Db, workerId: string, ids: string[], leaseUntil: number, now: number): string[] {
  if (ids.length === 0) return [];
  return db.sqlite
    .query<{ id: string }, Record<string, string | number>>(
      `UPDATE work_orders SET lease_until = max(lease_until, $until), updated_at = $now
        WHERE status = 'claimed' AND claimed_by = $worker AND lease_until > $now AND id IN (SELECT value FROM json_each($ids))
      RETURNING id`,
    )
    .all({ worker: workerId, until: leaseUntil, now, ids: JSON.stringify(ids) })
    .map((r) => r.id);
}

/** Returns the orders a given worker holds to the queue (its process restarted or is shutting down). */
export function releaseWorkerLeases(db: Db, workerId: string, reason: string, now: number, ids?: string[]): ReleasedOrder[] {
  const filter = ids ? `AND id IN (SELECT value FROM json_each($ids))` : "";
  return db.sqlite
    .query<ReleasedOrder, Record<string, string | number>>(
      `UPDATE work_orders
          SET status = 'queued', run_at = $now,
              errors = json_insert(errors, '$[#]', json_object('attempt', retry_count + 1, 'at', $now, 'error', $reason)),
              lease_token = NULL, lease_until = NULL, updated_at = $now
        WHERE status = 'claimed' AND claimed_by = $worker ${filter}
      RETURNING id, task_id, claimed_by`,
    )
    .all({ worker: workerId, reason, now, ...(ids ? { ids: JSON.stringify(ids) } : {}) });
}

/** Marks orders that were never claimed before `expires_at` as expired. */
export function expireUnclaimed(db: Db, now: number): Array<{ id: string; task_id: string | null }> {
  return db.sqlite
    .query<{ id: string; task_id: string | null }, Record<string, number>>(
      `UPDATE work_orders
          SET status = 'expired', error = 'expired before any worker claimed it', finished_at = $now, updated_at = $now
        WHERE status = 'queued' AND expires_at IS NOT NULL AND expires_at <= $now
      RETURNING id, task_id`,
    )
    .all({ now });
}

/** Cancels the live order of a task. Returns who held it when it was claimed. */
export function cancelWorkOrderOfTask(
  db: Db,
  taskId: string,
  now: number,
): { id: string; previous_status: WorkOrderStatus; claimed_by: string | null } | undefined {
  const current = db.sqlite
    .query<{ id: string; status: WorkOrderStatus; claimed_by: string | null }, Record<string, string>>(
      `SELECT id, status, claimed_by FROM work_orders WHERE task_id = $task AND status IN ('queued', 'claimed')`,
    )
    .get({ task: taskId });
  if (!current) return undefined;
  db.sqlite
    .query(
      `UPDATE work_orders
          SET status = 'cancelled', error = 'cancelled', lease_token = NULL, lease_until = NULL,
              finished_at = $now, updated_at = $now
        WHERE id = $id AND status = $status`,
    )
    .run({ id: current.id, status: current.status, now });
  return { id: current.id, previous_status: current.status, claimed_by: current.claimed_by };
}

/** Puts a task's finished order back in the queue with a fresh retry budget (manual retry). */
export function resetWorkOrder(db: Db, taskId: string, queue: QueueName, payload: Record<string, unknown>, now: number): boolean {
  return (
    db.sqlite
      .query(
        `UPDATE work_orders
            SET status = 'queued', queue = $queue, priority = $priority, payload = $payload, retry_count = 0,
                run_at = $now, result = NULL, error = NULL, expires_at = NULL, finished_at = NULL, updated_at = $now
          WHERE task_id = $task AND status IN ('completed', 'failed', 'dead', 'expired', 'cancelled')`,
      )
      .run({ task: taskId, queue, priority: QUEUE_PRIORITY[queue], payload: JSON.stringify(payload), now }).changes === 1
  );
}

/** Moves a still-queued order to another queue (the task's priority changed). */
export function requeueWithPriority(db: Db, taskId: string, queue: QueueName, now: number): boolean {
  return (
    db.sqlite
      .query(
        `UPDATE work_orders SET queue = $queue, priority = $priority, updated_at = $now
          WHERE task_id = $task AND status = 'queued'`,
      )
      .run({ task: taskId, queue, priority: QUEUE_PRIORITY[queue], now }).changes === 1
  );
}

/**
 * The earliest future time a queued order becomes claimable (backoff), if any: one index seek per
 * priority, so it stays cheap however deep the queue is.
 */
export function nextRunAt(db: Db, now: number): number | null {
  const row = db.sqlite
    .query<{ at: number | null }, { now: number }>(
      `SELECT min(at) AS at FROM (
         SELECT (SELECT run_at FROM work_orders INDEXED BY work_orders_claim_idx
                  WHERE status = 'queued' AND priority = p.value AND run_at > $now ORDER BY run_at LIMIT 1) AS at
           FROM json_each('[0,1,2]') p)`,
    )
    .get({ now });
  return row?.at ?? null;
}

export interface QueueCounts {
  queue: QueueName;
  status: WorkOrderStatus;
  count: number;
}

export function countWorkOrders(db: Db): QueueCounts[] {
  return db.sqlite
    .query<QueueCounts, []>(`SELECT queue, status, count(*) AS count FROM work_orders GROUP BY status, queue`)
    .all();
}

/** Exponential backoff with ±20 % jitter: 1 s, 2 s, 4 s … capped at 10 minutes. */
export function backoffMs(attempt: number, baseMs = 1000, capMs = 600_000, random = Math.random): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  const jitter = exp * 0.2 * (random() * 2 - 1);
  return Math.max(0, Math.round(exp + jitter));
}
