// Retention against a real SQLite file with a hand-driven clock: what is old goes (log lines, JSONL day
// folders, finished tasks with everything of theirs, audit events under a permanent record), what is
// recent or unfinished stays, batches leave the writer free in between, and the audit log refuses any
// other way of deleting.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { claimTasks, finishExecutions } from "../../engine/attempts.ts";
import type { EngineDeps } from "../../engine/engine-deps.ts";
import { submitTasks, type NewTask } from "../../engine/submit.ts";
import { TaskLogger } from "../../engine/task-logger.ts";
import type { LogTuple } from "../../thread-pool/protocol.ts";
import { cleanup, freshDeps } from "../../../test/helpers.ts";
import { recordAudit, SYSTEM_ACTOR } from "../audit/service.ts";
import { Retention, type RetentionPolicy } from "./retention.ts";

afterEach(cleanup);

const DAY = 24 * 3600 * 1000;
const NOW = Date.parse("2026-06-01T12:00:00Z");

function world() {
  const fresh = freshDeps();
  let time = NOW;
  const deps: EngineDeps = { db: fresh.db, bus: fresh.bus, clock: () => time };
  const logDir = join(fresh.dir, "logs");
  const logger = new TaskLogger({ db: fresh.db, bus: fresh.bus, logDir });
  const at = (t: number) => (time = t);
  const count = (sql: string) => fresh.db.sqlite.query<{ n: number }, []>(sql).get()!.n;
  /** Submits, runs and finishes tasks at time `t`, each with `lines` log lines. */
  const finished = (t: number, inputs: NewTask[], opts: { lines?: number; kind?: "succeeded" | "failed" } = {}) => {
    at(t);
    const records = submitTasks(deps, inputs);
    const claims = claimTasks(deps, { workerId: "w", limit: inputs.length });
    for (const c of claims) {
      const lines: LogTuple[] = Array.from({ length: opts.lines ?? 0 }, (_, i) => ["info", `line ${i}`, null, t]);
      if (lines.length) logger.append(c.executionId, c.taskId, lines);
    }
    logger.flush();
    finishExecutions(deps, claims.map((claim) => ({ claim, kind: opts.kind ?? "succeeded", error: opts.kind === "failed" ? "no" : undefined, retryable: false })));
    return records;
  };
  const retention = (policy: Partial<RetentionPolicy> = {}, batch?: { logLines?: number; tasks?: number; auditEvents?: number }) =>
    new Retention({ deps, logDir, policy: { logsDays: 30, tasksDays: 90, auditDays: 30, ...policy }, batch });
  return { deps, db: fresh.db, logDir, at, count, finished, retention, logger };
}

const task = (title: string, extra: Partial<NewTask> = {}): NewTask => ({ title, task_type: "hello", params: { name: title }, timeout_seconds: 60, max_retries: 0, ...extra });

describe("retention", () => {
  test("old log lines, JSONL days, finished tasks and audit events go; recent and unfinished ones stay", async () => {
    const w = world();
    w.finished(NOW - 100 * DAY, [task("old a"), task("old b")], { lines: 2500 });
    // A parent with a step (never claimed itself: nothing has its capability), finished long ago.
    const [oldRun] = submitTasks(w.deps, [task("old run", { requires: ["parent-only"] })]);
    w.finished(NOW - 100 * DAY, [task("old step", { parent_task_id: oldRun!.id })]);
    w.db.sqlite.query("UPDATE tasks SET status = 'succeeded', finished_at = ? WHERE id = ?").run(NOW - 100 * DAY, oldRun!.id);
    w.at(NOW - 100 * DAY);
    const [stillQueued] = submitTasks(w.deps, [task("queued long ago", { requires: ["gpu"] })]);
    const [recent] = w.finished(NOW - 10 * DAY, [task("recent")], { lines: 40 });
    const [middle] = w.finished(NOW - 60 * DAY, [task("middle-aged")], { lines: 10 });
    for (const [t, action] of [[NOW - 200 * DAY, "a"], [NOW - 100 * DAY, "b"], [NOW - 31 * DAY, "c"], [NOW - 2 * DAY, "d"]] as const) {
      w.at(t);
      recordAudit(w.deps, { actor: SYSTEM_ACTOR, action: `test.${action}` });
    }
    for (const day of ["2026-02-20", "2026-05-31"]) {
      mkdirSync(join(w.logDir, day), { recursive: true });
      writeFileSync(join(w.logDir, day, "x.jsonl"), "{}\n");
    }

    w.at(NOW);
    const report = await w.retention({}, { logLines: 1000, tasks: 1, auditEvents: 1 }).runOnce();

    // Log lines of executions older than 30 days: old a, old b and the middle-aged one (its task stays).
    expect(report.log_lines).toBe(2500 * 2 + 10);
    expect(w.count(`SELECT count(*) AS n FROM execution_logs e JOIN executions x ON x.id = e.execution_id WHERE x.task_id = '${recent!.id}'`)).toBe(40);
    expect(w.db.sqlite.query("SELECT log_count, logs_purged_at FROM executions WHERE task_id = ?").get(middle!.id)).toEqual({ log_count: 10, logs_purged_at: NOW });
    // Finished top-level tasks older than 90 days, with their steps; never an unfinished one.
    const ids = w.db.sqlite.query<{ id: string }, []>("SELECT id FROM tasks").all().map((r) => r.id).sort();
    expect(ids).toEqual([stillQueued!.id, recent!.id, middle!.id].sort());
    expect(report.tasks).toBe(4); // old a, old b, old run and its step
    expect(w.count("SELECT count(*) AS n FROM executions")).toBe(2);
    // JSONL folders of whole days before the cutoff.
    expect(existsSync(join(w.logDir, "2026-02-20"))).toBe(false);
    expect(existsSync(join(w.logDir, "2026-05-31", "x.jsonl"))).toBe(true);
    expect(report.log_files).toBe(1);
    // Audit events older than 30 days, under one permanent record; the pass is itself an audit event.
    expect(report.audit_events).toBe(3);
    expect(w.db.sqlite.query<{ action: string }, []>("SELECT action FROM audit_events ORDER BY id").all().map((r) => r.action)).toEqual(["test.d", "audit.retention"]);
    expect(w.db.sqlite.query("SELECT cutoff_at, actor FROM audit_retention").all()).toEqual([{ cutoff_at: NOW - 30 * DAY, actor: "retention" }]);
    // Small batches: one transaction per task (batch of 1), per 1,000 lines, per audit event.
    expect(report.batches).toBeGreaterThanOrEqual(4 + 6 + 3);

    // A second pass finds nothing more.
    const again = await w.retention().runOnce();
    expect(again.log_lines + again.tasks + again.audit_events + again.log_files).toBe(0);
  });

  test("0 keeps forever", async () => {
    const w = world();
    w.finished(NOW - 1000 * DAY, [task("ancient")], { lines: 5 });
    const report = await w.retention({ logsDays: 0, tasksDays: 0, auditDays: 0 }).runOnce();
    expect(report).toMatchObject({ log_lines: 0, tasks: 0, audit_events: 0, batches: 0 });
    expect(w.count("SELECT count(*) AS n FROM tasks")).toBe(1);
  });

  test("between batches the writer is free: a submission made while a pass runs commits before the pass ends", async () => {
    const w = world();
    w.finished(NOW - 100 * DAY, [task("big")], { lines: 6000 });
    w.at(NOW);
    const order: string[] = [];
    const pass = w.retention({ tasksDays: 0, auditDays: 0 }, { logLines: 500 })
      .runOnce()
      .then((r) => (order.push("pass done"), r));
    setImmediate(() => {
      submitTasks(w.deps, [task("meanwhile")]);
      order.push("submitted");
    });
    const report = await pass;
    expect(report.log_lines).toBe(6000);
    expect(report.batches).toBeGreaterThanOrEqual(12);
    expect(order).toEqual(["submitted", "pass done"]);
  });

  test("the audit log refuses any DELETE no retention record covers, and the records are permanent and never reach the last day", () => {
    const w = world();
    w.at(NOW - 400 * DAY);
    recordAudit(w.deps, { actor: SYSTEM_ACTOR, action: "test.old" });
    w.at(NOW);
    recordAudit(w.deps, { actor: SYSTEM_ACTOR, action: "test.new" });
    expect(() => w.db.sqlite.run("DELETE FROM audit_events")).toThrow(/append-only/);
    expect(() => w.db.sqlite.run("UPDATE audit_events SET action = 'x'")).toThrow(/append-only/);
    // A record that would reach into the last day is refused.
    expect(() =>
      w.db.sqlite.query("INSERT INTO audit_retention (through_id, cutoff_at, created_at, actor) VALUES (999, ?, ?, 'someone')").run(NOW - 3600_000, NOW),
    ).toThrow(/last day/);
    // Under a record, only what it covers can go: the old event, not the new one.
    w.db.sqlite.query("INSERT INTO audit_retention (through_id, cutoff_at, created_at, actor) VALUES (999, ?, ?, 'retention')").run(NOW - 300 * DAY, NOW);
    expect(() => w.db.sqlite.run("DELETE FROM audit_events WHERE action = 'test.new'")).toThrow(/append-only/);
    expect(w.db.sqlite.run("DELETE FROM audit_events WHERE action = 'test.old'").changes).toBe(1);
    expect(() => w.db.sqlite.run("DELETE FROM audit_retention")).toThrow(/append-only/);
    expect(() => w.db.sqlite.run("UPDATE audit_retention SET cutoff_at = 0")).toThrow(/append-only/);
  });
});
