// Retention: execution log lines and JSONL files, finished tasks and audit events older than their
// configured ages are removed in small batches — each batch one short transaction on the one writer,
// with a turn of the event loop between batches, so requests and task commits go on in between.
// Audit events are removed only under a retention record written first (migration 0008's triggers
// refuse any other DELETE), and the pass itself is an audit event.
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { EngineDeps } from "../../engine/engine-deps.ts";
import { logger } from "../../log.ts";
import { recordAudit } from "../audit/service.ts";

const log = logger("retention");
const DAY_MS = 24 * 3600 * 1000;

export interface RetentionPolicy {
  /** Execution log lines and JSONL files, in days; 0 keeps them forever. */
  logsDays: number;
  /** Finished tasks (with their executions, questions and subtasks), in days; 0 keeps them forever. */
  tasksDays: number;
  /** Audit events, in days (at least 1); 0 keeps them forever. */
  auditDays: number;
}

export interface RetentionOptions {
  deps: EngineDeps;
  /** The TaskLogger's root: <logDir>/<yyyy-mm-dd>/<execution>.jsonl */
  logDir: string;
  policy: RetentionPolicy;
  /** Rows per transaction (default 2,000 log lines, 50 tasks, 1,000 audit events). */
  batch?: { logLines?: number; tasks?: number; auditEvents?: number };
  /** Counted as they go (the metrics). */
  onDeleted?: (kind: RetentionKind, n: number) => void;
}

export type RetentionKind = "log_lines" | "log_files" | "tasks" | "audit_events";

export interface RetentionReport {
  log_lines: number;
  log_files: number;
  tasks: number;
  audit_events: number;
  batches: number;
  /** The longest a batch held the writer, in ms: what a request may have waited behind it. */
  longest_batch_ms: number;
}

/** Lets whatever waits for the writer (a request, a task commit) go before the next batch. */
const yieldToWriter = () => new Promise<void>((resolve) => setImmediate(resolve));

export class Retention {
  #first: ReturnType<typeof setTimeout> | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #running: Promise<RetentionReport> | null = null;

  constructor(private readonly opts: RetentionOptions) {}

  /** Runs a pass every `intervalMs` (the first one after `firstAfterMs`). */
  start(intervalMs: number, firstAfterMs = 60_000): void {
    const pass = () => void this.runOnce().catch((err) => log.error("retention pass failed", err as Error));
    this.#first = setTimeout(() => {
      this.#first = null;
      pass();
      this.#timer = setInterval(pass, intervalMs);
    }, firstAfterMs);
  }

  async stop(): Promise<void> {
    if (this.#first) clearTimeout(this.#first);
    if (this.#timer) clearInterval(this.#timer);
    this.#first = this.#timer = null;
    await this.#running?.catch(() => undefined);
  }

  /** One pass over everything (a second call while one runs joins it). */
  runOnce(): Promise<RetentionReport> {
    this.#running ??= this.#pass().finally(() => (this.#running = null));
    return this.#running;
  }

  async #pass(): Promise<RetentionReport> {
    const report: RetentionReport = { log_lines: 0, log_files: 0, tasks: 0, audit_events: 0, batches: 0, longest_batch_ms: 0 };
    const now = (this.opts.deps.clock ?? Date.now)();
    const { logsDays, tasksDays, auditDays } = this.opts.policy;
    if (logsDays > 0) {
      await this.#purgeLogLines(now - logsDays * DAY_MS, now, report);
      await this.#purgeLogFiles(now - logsDays * DAY_MS, report);
    }
    if (tasksDays > 0) await this.#purgeTasks(now - tasksDays * DAY_MS, report);
    if (auditDays > 0) await this.#purgeAudit(now - Math.max(1, auditDays) * DAY_MS, now, report);
    const removed = report.log_lines + report.log_files + report.tasks + report.audit_events;
    if (removed > 0) {
      log.info(
        `removed ${report.log_lines} log line(s), ${report.log_files} log file(s), ${report.tasks} task(s), ${report.audit_events} audit event(s) in ${report.batches} batch(es); longest ${report.longest_batch_ms.toFixed(1)} ms`,
      );
    }
    return report;
  }

  /** One batch: a short IMMEDIATE transaction, timed, then a turn of the event loop. */
  async #batch<T>(report: RetentionReport, fn: () => T): Promise<T> {
    const started = performance.now();
    const value = this.opts.deps.db.sqlite.transaction(fn).immediate();
    report.longest_batch_ms = Math.max(report.longest_batch_ms, performance.now() - started);
    report.batches++;
    await yieldToWriter();
    return value;
  }

  #count(report: RetentionReport, kind: RetentionKind, n: number) {
    if (n === 0) return;
    report[kind] += n;
    this.opts.onDeleted?.(kind, n);
  }

  /** Log lines of finished executions that started before `cutoff`; the execution keeps its row, marked purged. */
  async #purgeLogLines(cutoff: number, now: number, report: RetentionReport) {
    const { sqlite } = this.opts.deps.db;
    const limit = this.opts.batch?.logLines ?? 2000;
    const candidates = sqlite.query<{ id: string }, [number]>(
      `SELECT id FROM executions INDEXED BY executions_logs_kept_idx
        WHERE logs_purged_at IS NULL AND started_at < ? AND status <> 'running' ORDER BY started_at LIMIT 100`,
    );
    const deleteSome = sqlite.query(
      "DELETE FROM execution_logs WHERE execution_id = ?1 AND seq IN (SELECT seq FROM execution_logs WHERE execution_id = ?1 ORDER BY seq LIMIT ?2)",
    );
    const markPurged = sqlite.query("UPDATE executions SET logs_purged_at = ? WHERE id = ?");
    for (let ids = candidates.all(cutoff); ids.length > 0; ids = candidates.all(cutoff)) {
      for (const { id } of ids) {
        let done = false;
        while (!done) {
          const n = await this.#batch(report, () => {
            const deleted = deleteSome.run(id, limit).changes;
            if (deleted < limit) markPurged.run(now, id);
            return deleted;
          });
          this.#count(report, "log_lines", n);
          done = n < limit;
        }
      }
    }
  }

  /** JSONL day folders whose whole day is older than `cutoff`. */
  async #purgeLogFiles(cutoff: number, report: RetentionReport) {
    let days: string[];
    try {
      days = await readdir(this.opts.logDir);
    } catch {
      return; // no logs yet
    }
    for (const day of days) {
      const start = Date.parse(`${day}T00:00:00Z`);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || !Number.isFinite(start) || start + DAY_MS > cutoff) continue;
      const dir = join(this.opts.logDir, day);
      const files = (await readdir(dir).catch(() => [])).length;
      await rm(dir, { recursive: true, force: true });
      this.#count(report, "log_files", files);
    }
  }

  /** Finished top-level tasks (a plan run with its steps) that finished before `cutoff`, with everything of theirs. */
  async #purgeTasks(cutoff: number, report: RetentionReport) {
    const { sqlite } = this.opts.deps.db;
    const limit = this.opts.batch?.tasks ?? 50;
    const candidates = sqlite.query<{ id: string }, [number, number]>(
      `SELECT t.id FROM tasks t INDEXED BY tasks_retention_idx
        WHERE t.finished_at IS NOT NULL AND t.parent_task_id IS NULL AND t.finished_at < ?
          AND t.status IN ('succeeded', 'failed', 'cancelled', 'timed_out')
          AND NOT EXISTS (SELECT 1 FROM tasks c WHERE c.parent_task_id = t.id AND c.finished_at IS NULL)
        ORDER BY t.finished_at LIMIT ?`,
    );
    const countTree = sqlite.query<{ n: number }, [string]>("SELECT count(*) AS n FROM tasks WHERE id IN (SELECT value FROM json_each(?1)) OR parent_task_id IN (SELECT value FROM json_each(?1))");
    // Foreign keys cascade: work orders, executions with their lines, dependencies, questions, steps.
    const remove = sqlite.query("DELETE FROM tasks WHERE id IN (SELECT value FROM json_each(?))");
    for (;;) {
      const ids = await this.#batch(report, () => {
        const found = candidates.all(cutoff, limit).map((r) => r.id);
        if (found.length === 0) return found;
        const list = JSON.stringify(found);
        const n = countTree.get(list)!.n;
        remove.run(list);
        this.#count(report, "tasks", n);
        return found;
      });
      const at = Date.now();
      for (const taskId of ids) this.opts.deps.bus.emit("task:deleted", { taskId, at });
      if (ids.length < limit) return;
    }
  }

  /**
   * Audit events older than `cutoff`: first a retention record (permanent, refused for the last day)
   * naming the newest event it covers and an `audit.retention` event, then deletes under it in batches.
   */
  async #purgeAudit(cutoff: number, now: number, report: RetentionReport) {
    const { sqlite } = this.opts.deps.db;
    const limit = this.opts.batch?.auditEvents ?? 1000;
    const through = sqlite.query<{ id: number | null }, [number]>("SELECT max(id) AS id FROM audit_events WHERE at < ?").get(cutoff)?.id;
    if (through == null) return;
    await this.#batch(report, () => {
      sqlite.query("INSERT INTO audit_retention (through_id, cutoff_at, created_at, actor) VALUES (?, ?, ?, 'retention')").run(through, cutoff, now);
      recordAudit(this.opts.deps, {
        actor: { type: "system", id: "retention" },
        action: "audit.retention",
        resource: { type: "audit_events", id: null },
        details: { cutoff: new Date(cutoff).toISOString(), through_id: through },
      });
    });
    const remove = sqlite.query("DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE id <= ? AND at < ? ORDER BY id LIMIT ?)");
    for (;;) {
      const n = await this.#batch(report, () => remove.run(through, cutoff, limit).changes);
      this.#count(report, "audit_events", n);
      if (n < limit) return;
    }
  }
}
