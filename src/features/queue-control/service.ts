// The queue as an admin steers it: pause (nothing new is claimed, by this server's threads or any remote
// worker), resume, and purge (cancel every task still waiting to start). Each is audited.
import type { QueueName } from "../../db/schema.ts";
import { cancelTask } from "../../engine/control.ts";
import type { EngineDeps } from "../../engine/engine-deps.ts";
import { iso } from "../../engine/task-record.ts";
import { audited, type Acting } from "../audit/service.ts";

export interface QueuePause {
  paused_at: string;
  /** The user who paused it (null when the CLI or the system did). */
  paused_by: string | null;
}

const now = (deps: EngineDeps) => (deps.clock ?? Date.now)();

/** Whether the queue is paused, since when and by whom. */
export function queuePause(deps: Pick<EngineDeps, "db">): QueuePause | null {
  const row = deps.db.sqlite.query<{ paused_at: number; paused_by: string | null }, []>("SELECT paused_at, paused_by FROM queue_pause WHERE id = 1").get();
  return row ? { paused_at: iso(row.paused_at)!, paused_by: row.paused_by } : null;
}

/**
 * Stops every claim (the claim statement itself checks the switch): queued tasks stay queued, what is
 * running finishes. Pausing a paused queue changes nothing (not even who paused it).
 */
export function pauseQueue(deps: EngineDeps, acting?: Acting): { pause: QueuePause; changed: boolean } {
  const at = now(deps);
  const changed = deps.db.sqlite.transaction(() => {
    const inserted = deps.db.sqlite.query("INSERT OR IGNORE INTO queue_pause (id, paused_at, paused_by) VALUES (1, ?, ?)").run(at, acting?.userId ?? null).changes > 0;
    if (inserted) audited(deps, acting, "queue.paused", { type: "queue", id: "all" });
    return inserted;
  })();
  return { pause: queuePause(deps)!, changed };
}

/** Lets claims happen again and wakes every claimer (the local threads, parked remote long-polls). */
export function resumeQueue(deps: EngineDeps, acting?: Acting): { changed: boolean } {
  const changed = deps.db.sqlite.transaction(() => {
    const deleted = deps.db.sqlite.query("DELETE FROM queue_pause WHERE id = 1").run().changes > 0;
    if (deleted) audited(deps, acting, "queue.resumed", { type: "queue", id: "all" });
    return deleted;
  })();
  if (changed) {
    const queued = deps.db.sqlite.query<{ n: number }, []>("SELECT count(*) AS n FROM work_orders WHERE status = 'queued'").get()!.n;
    if (queued > 0) deps.bus.emit("queue:ready", { count: queued });
  }
  return { changed };
}

export interface PurgeOptions {
  /** Only this queue (by priority); all by default. */
  queue?: QueueName;
  task_type?: string;
  /** Also tasks still waiting on their dependencies (`pending`); by default only `queued` ones. */
  include_pending?: boolean;
}

/**
 * Cancels every task waiting to start (queued, and pending with `include_pending`) that matches: the
 * work nobody has begun. Running tasks are left alone. One audit record names the filter and the count.
 */
export function purgeQueue(deps: EngineDeps, opts: PurgeOptions, acting?: Acting): { cancelled: number } {
  const statuses = opts.include_pending ? ["queued", "pending"] : ["queued"];
  const ids = deps.db.sqlite
    .query<{ id: string }, Record<string, string | null>>(
      `SELECT t.id FROM tasks t LEFT JOIN work_orders o ON o.task_id = t.id
        WHERE t.status IN (SELECT value FROM json_each($statuses))
          AND ($type IS NULL OR t.task_type = $type)
          AND ($queue IS NULL OR o.queue = $queue OR (o.id IS NULL AND t.priority = $priority))
        ORDER BY t.created_at DESC, t.id DESC`,
    )
    .all({
      statuses: JSON.stringify(statuses),
      type: opts.task_type ?? null,
      queue: opts.queue ?? null,
      priority: opts.queue === "high_priority" ? "high" : opts.queue === "low_priority" ? "low" : "default",
    })
    .map((r) => r.id);
  let cancelled = 0;
  // Newest first: a waiting dependant is cancelled before its dependency (which would otherwise fail it).
  for (const id of ids) {
    try {
      cancelTask(deps, id, "purged from the queue");
      cancelled++;
    } catch {
      // Started, finished or removed meanwhile (or cancelled with its parent): not waiting any more.
    }
  }
  audited(deps, acting, "queue.purged", { type: "queue", id: opts.queue ?? "all" }, { cancelled, ...opts });
  return { cancelled };
}
