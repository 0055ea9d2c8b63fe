// What the alert rules look at, each one query (or one statfs) at a given instant: the claimable queue,
// its oldest order, remote workers gone silent, tasks that finished in a window, open questions past
// their deadline, and the data directory's free space.
import { statfsSync } from "node:fs";
import type { Db } from "../../db/client.ts";
import { OFFLINE_AFTER_MS } from "../workers/service.ts";

export function claimableQueue(db: Db, now: number): { depth: number; oldestRunAt: number | null } {
  const row = db.sqlite.query<{ depth: number; oldest: number | null }, [number]>("SELECT count(*) AS depth, min(run_at) AS oldest FROM work_orders WHERE status = 'queued' AND run_at <= ?").get(now)!;
  return { depth: row.depth, oldestRunAt: row.oldest };
}

export interface SilentWorker {
  id: string;
  name: string;
  hostname: string | null;
  last_heartbeat_at: number | null;
}

/** Remote workers not drained whose last heartbeat is older than the offline threshold. */
export function silentWorkers(db: Db, now: number): SilentWorker[] {
  return db.sqlite
    .query<SilentWorker, [number]>(
      `SELECT id, name, hostname, last_heartbeat_at FROM workers
        WHERE worker_type = 'remote' AND draining = 0 AND (last_heartbeat_at IS NULL OR last_heartbeat_at < ?)`,
    )
    .all(now - OFFLINE_AFTER_MS);
}

/** Tasks that finished in (now − window, now]: how many, how many failed or timed out (cancelled ones do not count). */
export function finishedInWindow(db: Db, now: number, windowMs: number): { finished: number; failed: number } {
  const row = db.sqlite
    .query<{ finished: number; failed: number | null }, [number, number]>(
      `SELECT count(*) AS finished, sum(status IN ('failed', 'timed_out')) AS failed FROM tasks
        WHERE finished_at > ? AND finished_at <= ? AND status IN ('succeeded', 'failed', 'timed_out')`,
    )
    .get(now - windowMs, now)!;
  return { finished: row.finished, failed: row.failed ?? 0 };
}

export function overdueQuestions(db: Db, now: number, graceMs: number): { count: number; oldestDeadline: number | null; ids: string[] } {
  const rows = db.sqlite
    .query<{ id: string; deadline_at: number }, [number]>("SELECT id, deadline_at FROM worker_requests WHERE status = 'open' AND deadline_at IS NOT NULL AND deadline_at < ? ORDER BY deadline_at LIMIT 20")
    .all(now - graceMs);
  const count = db.sqlite.query<{ n: number }, [number]>("SELECT count(*) AS n FROM worker_requests WHERE status = 'open' AND deadline_at IS NOT NULL AND deadline_at < ?").get(now - graceMs)!.n;
  return { count, oldestDeadline: rows[0]?.deadline_at ?? null, ids: rows.map((r) => r.id) };
}

export interface DiskSpace {
  freeBytes: number;
  totalBytes: number;
  freePercent: number;
}

/** Free space for unprivileged writers (bavail) of the file system holding `dir`. */
export function diskSpace(dir: string): DiskSpace {
  const s = statfsSync(dir);
  const total = Number(s.blocks) * Number(s.bsize);
  const free = Number(s.bavail) * Number(s.bsize);
  return { freeBytes: free, totalBytes: total, freePercent: total > 0 ? (free / total) * 100 : 100 };
}
