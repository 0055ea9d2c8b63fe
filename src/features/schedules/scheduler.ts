// The scheduler: each pass (`runOnce(now)`, every second in the server; tests call it with the time they
// want) starts the schedules whose next slot has come, applying the overlap policy, records slots missed
// while the server was down (and catches up once, if the schedule says so), and starts queued runs once
// the run before them finished. Each slot is handled in one transaction with the task it starts, and a
// unique index makes a slot happen once, so a crash or two servers racing cannot start it twice.
import { TERMINAL_TASK_STATUSES, type TaskStatus } from "../../db/schema.ts";
import { cancelTask } from "../../engine/control.ts";
import type { EngineDeps } from "../../engine/engine-deps.ts";
import { submitTasks } from "../../engine/submit.ts";
import { AppError } from "../../errors.ts";
import { logger } from "../../log.ts";
import type { Acting } from "../audit/service.ts";
import { runPlan, type RunDefaults } from "../plans/service.ts";
import { CreateTaskBody } from "../tasks/schemas.ts";
import { toNewTask } from "../tasks/service.ts";
import { nextSlot, slotsBetween } from "./cron.ts";
import type { RunTrigger, ScheduleRunJson } from "./schemas.ts";
import { requireSchedule, runToJson, type ScheduleRow, type ScheduleRunRow } from "./service.ts";

const log = logger("scheduler");

export interface SchedulerDeps extends EngineDeps {
  /** The task defaults of POST /tasks (timeout, retries). */
  defaults: RunDefaults;
  /** The clock of the passes the server's timer makes; tests pass `now` to runOnce instead. */
  clock?: () => number;
}

export interface SchedulerOptions {
  /** A slot found later than this is a missed one (the server was not running at its time). */
  graceMs?: number;
  /** How often the server's timer runs a pass; 0: never (tests drive runOnce). */
  intervalMs?: number;
  /** At most this many missed slots of one schedule are recorded one by one (the rest are counted). */
  maxMissedRows?: number;
}

export interface PassResult {
  started: number;
  skipped: number;
  waiting: number;
  missed: number;
  failed: number;
}

const TERMINAL: readonly TaskStatus[] = TERMINAL_TASK_STATUSES;

/** Who a scheduled run acts as: the system on behalf of the schedule's author (its tasks are theirs). */
const actingFor = (s: ScheduleRow): Acting => ({ actor: { type: "system", id: `schedule:${s.id}` }, userId: s.created_by, ip: null });

export class Scheduler {
  readonly graceMs: number;
  #timer: ReturnType<typeof setInterval> | null = null;
  #off: (() => void) | null = null;
  #pendingWake = false;

  constructor(
    private readonly deps: SchedulerDeps,
    private readonly options: SchedulerOptions = {},
  ) {
    this.graceMs = options.graceMs ?? 60_000;
  }

  start(): void {
    const interval = this.options.intervalMs ?? 1000;
    if (interval > 0) {
      this.#timer = setInterval(() => this.#safePass(), interval);
      this.#timer.unref?.();
    }
    // A queued run starts as soon as the run before it finished, not at the next tick.
    this.#off = this.deps.bus.on("task:changed", (e) => {
      if (!TERMINAL.includes(e.status) || this.#pendingWake) return;
      this.#pendingWake = true;
      queueMicrotask(() => {
        this.#pendingWake = false;
        try {
          this.startWaiting((this.deps.clock ?? Date.now)());
        } catch (err) {
          log.error("starting queued scheduled runs failed:", err);
        }
      });
    });
    this.#safePass();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#off?.();
    this.#off = null;
  }

  #safePass() {
    try {
      this.runOnce((this.deps.clock ?? Date.now)());
    } catch (err) {
      log.error("scheduler pass failed:", err);
    }
  }

  /** One pass at `now`: every due schedule, then the queued runs whose turn has come. */
  runOnce(now: number): PassResult {
    const result: PassResult = { started: 0, skipped: 0, waiting: 0, missed: 0, failed: 0 };
    const due = this.deps.db.sqlite
      .query<ScheduleRow, [number]>("SELECT * FROM schedules WHERE enabled = 1 AND next_run_at IS NOT NULL AND next_run_at <= ? ORDER BY next_run_at")
      .all(now);
    for (const row of due) {
      try {
        this.#fireDue(row, now, result);
      } catch (err) {
        log.error(`schedule '${row.name}' could not be handled:`, err);
      }
    }
    const more = this.startWaiting(now);
    result.started += more;
    return result;
  }

  /** Runs the schedule now, outside its cron (the page's Run now): the overlap policy applies as to any run. */
  runNow(idOrName: string, now = (this.deps.clock ?? Date.now)()): ScheduleRunJson {
    const row = requireSchedule(this.deps, idOrName);
    const run = this.deps.db.sqlite.transaction(() => this.#startSlot(row, now, "manual", now)).immediate();
    return runToJson(run);
  }

  #fireDue(row: ScheduleRow, now: number, result: PassResult) {
    const spec = { cron: row.cron, timezone: row.timezone };
    const limit = this.options.maxMissedRows ?? 100;
    const { slots, more } = slotsBetween(spec, row.next_run_at!, now, limit);
    const { sqlite } = this.deps.db;
    sqlite
      .transaction(() => {
        // Guarded: a pass that raced this one (or a schedule changed meanwhile) leaves it alone.
        const moved = sqlite.query("UPDATE schedules SET next_run_at = ? WHERE id = ? AND next_run_at = ? AND enabled = 1").run(nextSlot(spec, now), row.id, row.next_run_at).changes;
        if (!moved || slots.length === 0) return;
        const latest = slots.at(-1)!;
        const down = "the server was not running at this time";
        slots.slice(0, -1).forEach((slot, i) => {
          const reason = i === 0 && more ? `${down} (and earlier slots not listed)` : down;
          if (this.#record(row.id, slot, "cron", "missed", null, reason, now)) result.missed++;
        });
        const late = now - latest > this.graceMs;
        if (late && row.catch_up === "none") {
          if (this.#record(row.id, latest, "cron", "missed", null, `${down}; catch-up is off`, now)) result.missed++;
          return;
        }
        if (this.#hasSlot(row.id, latest)) return;
        const run = this.#startSlot(row, latest, late ? "catch_up" : "cron", now);
        result[run.outcome === "started" ? "started" : run.outcome === "waiting" ? "waiting" : run.outcome === "skipped" ? "skipped" : "failed"]++;
      })
      .immediate();
  }

  #hasSlot(scheduleId: string, slot: number): boolean {
    return Boolean(this.deps.db.sqlite.query("SELECT 1 FROM schedule_runs WHERE schedule_id = ? AND scheduled_for = ? AND trigger <> 'manual'").get(scheduleId, slot));
  }

  /** Inserts a run row; false when the slot was already recorded (the unique index). */
  #record(scheduleId: string, slot: number, trigger: RunTrigger, outcome: ScheduleRunRow["outcome"], taskId: string | null, reason: string | null, now: number): ScheduleRunRow | null {
    const row: ScheduleRunRow = { id: Bun.randomUUIDv7(), schedule_id: scheduleId, scheduled_for: slot, trigger, outcome, task_id: taskId, reason, created_at: now, updated_at: now };
    const changes = this.deps.db.sqlite
      .query(
        `INSERT INTO schedule_runs (id, schedule_id, scheduled_for, trigger, outcome, task_id, reason, created_at, updated_at)
         VALUES ($id, $schedule_id, $scheduled_for, $trigger, $outcome, $task_id, $reason, $created_at, $updated_at) ON CONFLICT DO NOTHING`,
      )
      .run({ $id: row.id, $schedule_id: scheduleId, $scheduled_for: slot, $trigger: trigger, $outcome: outcome, $task_id: taskId, $reason: reason, $created_at: now, $updated_at: now }).changes;
    return changes ? row : null;
  }

  /** The unfinished task of the schedule's previous run, if any. */
  #unfinishedPrevious(row: ScheduleRow): string | null {
    if (!row.last_task_id) return null;
    const task = this.deps.db.sqlite.query<{ status: TaskStatus }, [string]>("SELECT status FROM tasks WHERE id = ?").get(row.last_task_id);
    return task && !TERMINAL.includes(task.status) ? row.last_task_id : null;
  }

  /** Applies the overlap policy to one slot and records what became of it. Runs inside the caller's transaction. */
  #startSlot(row: ScheduleRow, slot: number, trigger: RunTrigger, now: number): ScheduleRunRow {
    const previous = this.#unfinishedPrevious(row);
    const queuedBefore = this.deps.db.sqlite.query("SELECT 1 FROM schedule_runs WHERE schedule_id = ? AND outcome = 'waiting' LIMIT 1").get(row.id);
    if ((previous || queuedBefore) && row.overlap !== "cancel") {
      const outcome = row.overlap === "skip" ? "skipped" : "waiting";
      const reason = previous
        ? `${outcome === "skipped" ? "skipped: " : "waits: "}the previous run (task ${previous}) is still running`
        : "waits: earlier runs are queued before it";
      return this.#record(row.id, slot, trigger, outcome, null, reason, now) ?? this.#existing(row.id, slot);
    }
    if (previous) {
      try {
        cancelTask(this.deps, previous, `cancelled by schedule '${row.name}': a new run started (overlap: cancel)`);
      } catch (err) {
        if (!(err instanceof AppError) || err.status !== 409) throw err; // it finished meanwhile
      }
    }
    return this.#launch(row, slot, trigger, now, null);
  }

  #existing(scheduleId: string, slot: number): ScheduleRunRow {
    return this.deps.db.sqlite.query<ScheduleRunRow, [string, number]>("SELECT * FROM schedule_runs WHERE schedule_id = ? AND scheduled_for = ? AND trigger <> 'manual'").get(scheduleId, slot)!;
  }

  /** Submits the schedule's task or plan run; a refusal (the plan is gone, a secret was deleted) is a failed run. */
  #launch(row: ScheduleRow, slot: number, trigger: RunTrigger, now: number, waitingRunId: string | null): ScheduleRunRow {
    const { sqlite } = this.deps.db;
    let taskId: string | null = null;
    let reason: string | null = null;
    try {
      taskId = this.#submit(row, slot);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      reason = `could not start: ${err.message}`;
    }
    const outcome = taskId ? "started" : "failed";
    if (taskId) sqlite.query("UPDATE schedules SET last_task_id = ? WHERE id = ?").run(taskId, row.id);
    if (waitingRunId) {
      sqlite.query("UPDATE schedule_runs SET outcome = ?, task_id = ?, reason = ?, updated_at = ? WHERE id = ? AND outcome = 'waiting'").run(outcome, taskId, reason, now, waitingRunId);
      return sqlite.query<ScheduleRunRow, [string]>("SELECT * FROM schedule_runs WHERE id = ?").get(waitingRunId)!;
    }
    const run = this.#record(row.id, slot, trigger, outcome, taskId, reason, now);
    if (!run) throw new Error(`slot ${new Date(slot).toISOString()} of schedule '${row.name}' was handled twice`); // rolls the task back
    if (reason) log.warn(`schedule '${row.name}': ${reason}`);
    return run;
  }

  #submit(row: ScheduleRow, slot: number): string {
    const acting = actingFor(row);
    if (row.target === "plan") {
      const inputs = row.inputs ? (JSON.parse(row.inputs) as Record<string, unknown>) : {};
      return runPlan(this.deps, row.plan!, { inputs }, this.deps.defaults, acting).id;
    }
    const body = CreateTaskBody.parse(JSON.parse(row.task!));
    body.metadata = { ...(body.metadata ?? {}), schedule_id: row.id, schedule: row.name, scheduled_for: new Date(slot).toISOString() };
    const [task] = submitTasks(this.deps, [toNewTask(body, this.deps.defaults, acting.userId)]);
    return task!.id;
  }

  /** Starts the oldest queued run of each schedule whose previous run has finished; returns how many started. */
  startWaiting(now: number): number {
    const { sqlite } = this.deps.db;
    const ids = sqlite.query<{ schedule_id: string }, []>("SELECT DISTINCT schedule_id FROM schedule_runs WHERE outcome = 'waiting'").all();
    let started = 0;
    for (const { schedule_id } of ids) {
      sqlite
        .transaction(() => {
          const row = sqlite.query<ScheduleRow, [string]>("SELECT * FROM schedules WHERE id = ?").get(schedule_id);
          if (!row || this.#unfinishedPrevious(row)) return;
          const next = sqlite
            .query<ScheduleRunRow, [string]>("SELECT * FROM schedule_runs WHERE schedule_id = ? AND outcome = 'waiting' ORDER BY scheduled_for, created_at LIMIT 1")
            .get(schedule_id);
          if (!next) return;
          const run = this.#launch(row, next.scheduled_for, next.trigger, now, next.id);
          if (run.outcome === "started") started++;
        })
        .immediate();
    }
    return started;
  }
}
