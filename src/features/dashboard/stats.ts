// The dashboard's figures: task counts by status and queue depth (queried, cached until the next change),
// plus an in-memory ring of per-minute samples for the last hour — queue depth, tasks finished and
// failed — and the recent activity, both fed by the event bus. The ring starts empty at each server
// start (no history table); depth is sampled after changes, at most every DEPTH_SAMPLE_MS.
import { QUEUES, TASK_STATUSES, type QueueName, type TaskStatus } from "../../db/schema.ts";
import type { EngineDeps } from "../../engine/engine-deps.ts";

const MINUTES = 60;
const DEPTH_SAMPLE_MS = 2000;
const ACTIVITY = 12;

export interface MinuteSample {
  /** Epoch minute. */
  minute: number;
  /** Highest number of queued work orders seen in that minute, per queue (null: no sample, carry forward). */
  depth: Record<QueueName, number> | null;
  succeeded: number;
  failed: number;
}

export interface ActivityItem {
  taskId: string;
  title: string | null;
  taskType: string;
  status: TaskStatus;
  at: number;
  error: string | null;
}

export interface DashboardSnapshot {
  at: number;
  counts: Record<TaskStatus, number>;
  total: number;
  queues: Record<QueueName, { queued: number; running: number }>;
  /** One entry per minute of the last hour, oldest first, depth carried forward where unsampled. */
  series: Array<{ minute: number; depth: Record<QueueName, number>; succeeded: number; failed: number }>;
  finishedLastHour: number;
  failedLastHour: number;
  /** Tasks finished per minute, averaged over the minutes observed (at most the last hour). */
  throughputPerMinute: number;
  failureRate: number | null;
  activity: ActivityItem[];
}

const zeroDepth = (): Record<QueueName, number> => ({ high_priority: 0, default: 0, low_priority: 0 });

export class DashboardStats {
  #ring: MinuteSample[] = [];
  #activity: Omit<ActivityItem, "title">[] = [];
  #since: number;
  #depthTimer: ReturnType<typeof setTimeout> | null = null;
  #lastDepthAt = 0;
  #cache: DashboardSnapshot | null = null;
  #offs: Array<() => void>;

  constructor(
    private readonly deps: EngineDeps,
    private readonly clock: () => number = deps.clock ?? Date.now,
  ) {
    this.#since = this.clock();
    this.#seedActivity();
    this.#sampleDepth();
    const { bus } = deps;
    this.#offs = [
      bus.on("task:changed", (e) => {
        this.#cache = null;
        if (e.status === "succeeded") this.#bucket().succeeded++;
        else if (e.status === "failed" || e.status === "timed_out") this.#bucket().failed++;
        this.#activity = [
          { taskId: e.taskId, taskType: e.taskType, status: e.status, at: e.at, error: e.error ?? null },
          ...this.#activity.filter((a) => a.taskId !== e.taskId),
        ].slice(0, ACTIVITY);
        this.#markDepth();
      }),
      bus.on("task:updated", () => (this.#cache = null)),
      bus.on("task:deleted", (e) => {
        this.#cache = null;
        this.#activity = this.#activity.filter((a) => a.taskId !== e.taskId);
        this.#markDepth();
      }),
      bus.on("queue:ready", () => this.#markDepth()),
    ];
  }

  close() {
    for (const off of this.#offs) off();
    if (this.#depthTimer) clearTimeout(this.#depthTimer);
  }

  /** The figures now; queried at most once per change (every viewer refreshing after one event shares it). */
  snapshot(): DashboardSnapshot {
    const now = this.clock();
    // The window slides every minute, so a cached snapshot also expires with its minute.
    if (this.#cache && Math.floor(this.#cache.at / 60_000) === Math.floor(now / 60_000)) return this.#cache;
    const { sqlite } = this.deps.db;
    const counts = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
    for (const r of sqlite.query<{ status: TaskStatus; n: number }, []>("SELECT status, count(*) AS n FROM tasks GROUP BY status").all()) {
      counts[r.status] = r.n;
    }
    const queues = Object.fromEntries(QUEUES.map((q) => [q, { queued: 0, running: 0 }])) as DashboardSnapshot["queues"];
    for (const r of this.#queueRows()) {
      if (r.status === "queued") queues[r.queue].queued = r.n;
      else queues[r.queue].running = r.n;
    }
    this.#recordDepth(queues, now);

    const series = this.#series(now);
    const finished = series.reduce((n, m) => n + m.succeeded + m.failed, 0);
    const failed = series.reduce((n, m) => n + m.failed, 0);
    const minutesObserved = Math.max(1, Math.min(MINUTES, (now - this.#since) / 60_000));
    const titles = this.#titles(this.#activity.map((a) => a.taskId));
    this.#cache = {
      at: now,
      counts,
      total: Object.values(counts).reduce((a, b) => a + b, 0),
      queues,
      series,
      finishedLastHour: finished,
      failedLastHour: failed,
      throughputPerMinute: finished / minutesObserved,
      failureRate: finished > 0 ? failed / finished : null,
      activity: this.#activity.map((a) => ({ ...a, title: titles.get(a.taskId) ?? null })),
    };
    return this.#cache;
  }

  #series(now: number): DashboardSnapshot["series"] {
    const current = Math.floor(now / 60_000);
    const byMinute = new Map(this.#ring.map((s) => [s.minute, s]));
    let depth = zeroDepth();
    // Carry the last depth seen before the window into it.
    for (const s of this.#ring) if (s.minute <= current - MINUTES && s.depth) depth = s.depth;
    const out: DashboardSnapshot["series"] = [];
    for (let m = current - MINUTES + 1; m <= current; m++) {
      const s = byMinute.get(m);
      if (s?.depth) depth = s.depth;
      out.push({ minute: m, depth, succeeded: s?.succeeded ?? 0, failed: s?.failed ?? 0 });
    }
    return out;
  }

  #bucket(): MinuteSample {
    const minute = Math.floor(this.clock() / 60_000);
    let last = this.#ring.at(-1);
    if (!last || last.minute !== minute) {
      last = { minute, depth: null, succeeded: 0, failed: 0 };
      this.#ring.push(last);
      // Keep one sample older than the window so its depth can be carried into it.
      while (this.#ring.length > MINUTES + 1) this.#ring.shift();
    }
    return last;
  }

  #queueRows() {
    return this.deps.db.sqlite
      .query<{ queue: QueueName; status: "queued" | "claimed"; n: number }, []>(
        "SELECT queue, status, count(*) AS n FROM work_orders WHERE status IN ('queued', 'claimed') GROUP BY queue, status",
      )
      .all();
  }

  #recordDepth(queues: DashboardSnapshot["queues"], now: number) {
    this.#lastDepthAt = now;
    const bucket = this.#bucket();
    const depth = bucket.depth ?? zeroDepth();
    // The first sample of a minute sets it; later ones keep the highest.
    for (const q of QUEUES) depth[q] = bucket.depth ? Math.max(depth[q], queues[q].queued) : queues[q].queued;
    bucket.depth = depth;
  }

  #sampleDepth() {
    try {
      const queues = Object.fromEntries(QUEUES.map((q) => [q, { queued: 0, running: 0 }])) as DashboardSnapshot["queues"];
      for (const r of this.#queueRows()) if (r.status === "queued") queues[r.queue].queued = r.n;
      this.#recordDepth(queues, this.clock());
    } catch {
      // The database closed under us (server stopping): nothing to sample anymore.
    }
  }

  /** Depth changes only when tasks do: sample after a change, at most every DEPTH_SAMPLE_MS. */
  #markDepth() {
    if (this.#depthTimer) return;
    const delay = Math.max(0, this.#lastDepthAt + DEPTH_SAMPLE_MS - this.clock());
    this.#depthTimer = setTimeout(() => {
      this.#depthTimer = null;
      this.#sampleDepth();
    }, delay);
    (this.#depthTimer as { unref?: () => void }).unref?.();
  }

  #seedActivity() {
    const rows = this.deps.db.sqlite
      .query<{ id: string; task_type: string; status: TaskStatus; updated_at: number; error: string | null }, [number]>(
        "SELECT id, task_type, status, updated_at, error FROM tasks ORDER BY created_at DESC LIMIT ?",
      )
      .all(ACTIVITY);
    this.#activity = rows
      .map((r) => ({ taskId: r.id, taskType: r.task_type, status: r.status, at: r.updated_at, error: r.error }))
      .sort((a, b) => b.at - a.at);
  }

  #titles(ids: string[]): Map<string, string> {
    if (ids.length === 0) return new Map();
    const rows = this.deps.db.sqlite
      .query<{ id: string; title: string }, [string]>("SELECT id, title FROM tasks WHERE id IN (SELECT value FROM json_each(?))")
      .all(JSON.stringify(ids));
    return new Map(rows.map((r) => [r.id, r.title]));
  }
}
