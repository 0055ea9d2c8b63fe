// Schedules: create, read, change, enable/disable and delete them, each change checked (the cron, the time
// zone, the task's params or the plan's existence, secrets it names) and audited in its transaction.
// Saving or enabling one that would run a task type that runs commands on the server's host needs the
// shell role (--shell-role), as submitting such a task does.
import type { EngineDeps } from "../../engine/engine-deps.ts";
import { iso } from "../../engine/task-record.ts";
import { AppError, conflict, invalid, notFound, type ErrorDetail } from "../../errors.ts";
import { getTaskType } from "../../task-types/index.ts";
import { assertMayRun, audited, type Acting } from "../audit/service.ts";
import { getPlan } from "../plans/service.ts";
import { validateTaskParams } from "../tasks/service.ts";
import { cronProblems, nextSlot, nextSlots } from "./cron.ts";
import type { CatchUpPolicy, OverlapPolicy, RunOutcome, RunTrigger, ScheduleBody, ScheduleJson, SchedulePatch, ScheduleRunJson, ScheduledTask } from "./schemas.ts";

export interface ScheduleDeps extends EngineDeps {
  clock?: () => number;
}

export interface ScheduleRow {
  id: string;
  name: string;
  description: string | null;
  cron: string;
  timezone: string;
  target: "task" | "plan";
  task: string | null;
  plan: string | null;
  inputs: string | null;
  overlap: OverlapPolicy;
  catch_up: CatchUpPolicy;
  enabled: number;
  runs_on_host: number;
  next_run_at: number | null;
  last_task_id: string | null;
  created_by: string | null;
  updated_by: string | null;
  created_at: number;
  updated_at: number;
}

export interface ScheduleRunRow {
  id: string;
  schedule_id: string;
  scheduled_for: number;
  trigger: RunTrigger;
  outcome: RunOutcome;
  task_id: string | null;
  reason: string | null;
  created_at: number;
  updated_at: number;
}

const now = (deps: ScheduleDeps) => (deps.clock ?? Date.now)();

export function runToJson(r: ScheduleRunRow): ScheduleRunJson {
  return { ...r, scheduled_for: iso(r.scheduled_for)!, created_at: iso(r.created_at)!, updated_at: iso(r.updated_at)! };
}

export function scheduleToJson(deps: ScheduleDeps, row: ScheduleRow): ScheduleJson {
  const last = deps.db.sqlite
    .query<ScheduleRunRow, [string]>("SELECT * FROM schedule_runs WHERE schedule_id = ? ORDER BY created_at DESC, id DESC LIMIT 1")
    .get(row.id);
  const spec = { cron: row.cron, timezone: row.timezone };
  let upcoming: number[] = [];
  try {
    if (row.enabled) upcoming = nextSlots(spec, now(deps), 5);
  } catch {
    upcoming = []; // a time zone this runtime no longer knows: the page says the schedule cannot run
  }
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    cron: row.cron,
    timezone: row.timezone,
    target: row.target,
    task: row.task ? (JSON.parse(row.task) as Record<string, unknown>) : null,
    plan: row.plan ? { name: row.plan, inputs: row.inputs ? (JSON.parse(row.inputs) as Record<string, unknown>) : {} } : null,
    overlap: row.overlap,
    catch_up: row.catch_up,
    enabled: Boolean(row.enabled),
    runs_on_host: Boolean(row.runs_on_host),
    next_run_at: row.enabled ? iso(row.next_run_at) : null,
    next_runs: upcoming.map((t) => iso(t)!),
    last_run: last ? runToJson(last) : null,
    last_task_id: row.last_task_id,
    created_by: row.created_by,
    created_at: iso(row.created_at)!,
    updated_at: iso(row.updated_at)!,
  };
}

export function findSchedule(deps: ScheduleDeps, idOrName: string): ScheduleRow | null {
  return deps.db.sqlite.query<ScheduleRow, [string, string]>("SELECT * FROM schedules WHERE id = ? OR name = ? LIMIT 1").get(idOrName, idOrName);
}

export function requireSchedule(deps: ScheduleDeps, idOrName: string): ScheduleRow {
  const row = findSchedule(deps, idOrName);
  if (!row) throw notFound("schedule", idOrName);
  return row;
}

interface Target {
  target: "task" | "plan";
  task: ScheduledTask | null;
  plan: { name: string; inputs: Record<string, unknown> } | null;
}

/** Whether what the schedule starts runs commands on the host (a shell task, or a plan with a shell step). */
function targetRunsOnHost(deps: ScheduleDeps, t: Target): boolean {
  if (t.task) return getTaskType(t.task.task_type)?.runsOnHost === true;
  return getPlan(deps, t.plan!.name).steps.some((s) => getTaskType(s.task_type)?.runsOnHost === true);
}

/** Every problem of a schedule at once, each naming its field; returns whether it runs commands on the host. */
function check(deps: ScheduleDeps, spec: { cron: string; timezone: string }, t: Target): boolean {
  const problems: ErrorDetail[] = cronProblems(spec).map((p) => ({ field: p.field, message: p.message }));
  if (t.task) {
    try {
      validateTaskParams(t.task.task_type, t.task.params, "task.");
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      problems.push(...err.details);
    }
    for (const ref of deps.secrets?.missingSecretRefs(t.task.params) ?? []) {
      problems.push({ field: `task.params.${ref.path}`, message: ref.unreadable ? `secret '${ref.name}' cannot be decrypted` : `unknown secret '${ref.name}'` });
    }
  } else {
    try {
      getPlan(deps, t.plan!.name);
    } catch (err) {
      if (!(err instanceof AppError) || err.status !== 404) throw err;
      problems.push({ field: "plan.name", message: `no plan named '${t.plan!.name}'` });
    }
  }
  if (problems.length) throw invalid(`Invalid schedule: ${problems.map((p) => `${p.field}: ${p.message}`).join("; ")}`, problems);
  return targetRunsOnHost(deps, t);
}

const mayRunHere = (acting: Acting | undefined, t: Target, runsOnHost: boolean) => {
  const type = t.task ? t.task.task_type : "shell";
  assertMayRun(acting, type, runsOnHost, t.plan ? `plan '${t.plan.name}' has a step of type 'shell'; ` : "");
};

function nameTaken(deps: ScheduleDeps, name: string, exceptId: string | null) {
  const row = deps.db.sqlite.query<{ id: string }, [string]>("SELECT id FROM schedules WHERE name = ?").get(name);
  if (row && row.id !== exceptId) throw conflict(`A schedule named '${name}' exists`, [{ field: "name", message: "already taken" }]);
}

/** What a schedule starts, as its columns target, task, plan, inputs. */
const targetColumns = (t: Target) => [t.target, t.task ? JSON.stringify(t.task) : null, t.plan?.name ?? null, t.plan ? JSON.stringify(t.plan.inputs) : null] as const;

export function createSchedule(deps: ScheduleDeps, body: ScheduleBody, acting?: Acting): ScheduleJson {
  const t: Target = { target: body.task ? "task" : "plan", task: body.task ?? null, plan: body.plan ? { name: body.plan.name, inputs: body.plan.inputs } : null };
  const spec = { cron: body.cron, timezone: body.timezone };
  const runsOnHost = check(deps, spec, t);
  if (body.enabled) mayRunHere(acting, t, runsOnHost);
  const id = Bun.randomUUIDv7();
  const at = now(deps);
  const { sqlite } = deps.db;
  sqlite
    .transaction(() => {
      nameTaken(deps, body.name, null);
      sqlite
        .query(
          `INSERT INTO schedules (id, name, description, cron, timezone, target, task, plan, inputs, overlap, catch_up, enabled,
             runs_on_host, next_run_at, created_by, updated_by, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          id,
          body.name,
          body.description ?? null,
          body.cron,
          body.timezone,
          ...targetColumns(t),
          body.overlap,
          body.catch_up,
          body.enabled ? 1 : 0,
          runsOnHost ? 1 : 0,
          nextSlot(spec, at),
          acting?.userId ?? null,
          acting?.userId ?? null,
          at,
          at,
        );
      audited(deps, acting, "schedule.created", { type: "schedule", id }, { name: body.name, cron: body.cron, timezone: body.timezone, target: t.target });
    })
    .immediate();
  return scheduleToJson(deps, requireSchedule(deps, id));
}

export function updateSchedule(deps: ScheduleDeps, idOrName: string, patch: SchedulePatch, acting?: Acting): ScheduleJson {
  const row = requireSchedule(deps, idOrName);
  const current = scheduleToJson(deps, row);
  const t: Target =
    patch.task !== undefined
      ? { target: "task", task: patch.task, plan: null }
      : patch.plan !== undefined
        ? { target: "plan", task: null, plan: { name: patch.plan.name, inputs: patch.plan.inputs } }
        : { target: row.target, task: current.task as ScheduledTask | null, plan: current.plan };
  const spec = { cron: patch.cron ?? row.cron, timezone: patch.timezone ?? row.timezone };
  const runsOnHost = check(deps, spec, t);
  const enabled = patch.enabled ?? Boolean(row.enabled);
  // The rule is checked on every save that leaves it enabled: an operator may not turn a schedule an admin
  // made into one of their own making (nor re-enable one) while it runs commands on the host.
  if (enabled) mayRunHere(acting, t, runsOnHost);
  const at = now(deps);
  const timing = spec.cron !== row.cron || spec.timezone !== row.timezone || (enabled && !row.enabled);
  const { sqlite } = deps.db;
  sqlite
    .transaction(() => {
      if (patch.name !== undefined) nameTaken(deps, patch.name, row.id);
      sqlite
        .query(
          `UPDATE schedules SET name = ?, description = ?, cron = ?, timezone = ?, target = ?, task = ?, plan = ?, inputs = ?,
             overlap = ?, catch_up = ?, enabled = ?, runs_on_host = ?, next_run_at = ?, updated_by = ?, updated_at = ? WHERE id = ?`,
        )
        .run(
          patch.name ?? row.name,
          patch.description === undefined ? row.description : (patch.description ?? null),
          spec.cron,
          spec.timezone,
          ...targetColumns(t),
          patch.overlap ?? row.overlap,
          patch.catch_up ?? row.catch_up,
          enabled ? 1 : 0,
          runsOnHost ? 1 : 0,
          // A new timing, or enabling again, starts from now: what passed while it was off is not "missed".
          timing ? nextSlot(spec, at) : row.next_run_at,
          acting?.userId ?? null,
          at,
          row.id,
        );
      audited(deps, acting, "schedule.updated", { type: "schedule", id: row.id }, { name: patch.name ?? row.name, changed: Object.keys(patch) });
    })
    .immediate();
  return scheduleToJson(deps, requireSchedule(deps, row.id));
}

export function setScheduleEnabled(deps: ScheduleDeps, idOrName: string, enabled: boolean, acting?: Acting): ScheduleJson {
  return updateSchedule(deps, idOrName, { enabled }, acting);
}

export function deleteSchedule(deps: ScheduleDeps, idOrName: string, acting?: Acting): void {
  const row = requireSchedule(deps, idOrName);
  deps.db.sqlite
    .transaction(() => {
      deps.db.sqlite.query("DELETE FROM schedules WHERE id = ?").run(row.id);
      audited(deps, acting, "schedule.deleted", { type: "schedule", id: row.id }, { name: row.name });
    })
    .immediate();
}

export function getSchedule(deps: ScheduleDeps, idOrName: string): ScheduleJson {
  return scheduleToJson(deps, requireSchedule(deps, idOrName));
}

export function listSchedules(deps: ScheduleDeps, q: { page: number; per_page: number; enabled?: "true" | "false" }) {
  const where = q.enabled ? "WHERE enabled = ?" : "";
  const params: number[] = q.enabled ? [q.enabled === "true" ? 1 : 0] : [];
  const rows = deps.db.sqlite
    .query<ScheduleRow, number[]>(`SELECT * FROM schedules ${where} ORDER BY name LIMIT ? OFFSET ?`)
    .all(...params, q.per_page, (q.page - 1) * q.per_page);
  const total = deps.db.sqlite.query<{ n: number }, number[]>(`SELECT count(*) AS n FROM schedules ${where}`).get(...params)!.n;
  return { items: rows.map((r) => scheduleToJson(deps, r)), total, page: q.page, per_page: q.per_page };
}

export function listScheduleRuns(deps: ScheduleDeps, idOrName: string, q: { page: number; per_page: number; outcome?: RunOutcome }) {
  const row = requireSchedule(deps, idOrName);
  const filter = q.outcome ? "AND outcome = ?" : "";
  const params: Array<string | number> = q.outcome ? [row.id, q.outcome] : [row.id];
  const items = deps.db.sqlite
    .query<ScheduleRunRow, Array<string | number>>(`SELECT * FROM schedule_runs WHERE schedule_id = ? ${filter} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`)
    .all(...params, q.per_page, (q.page - 1) * q.per_page);
  const total = deps.db.sqlite.query<{ n: number }, Array<string | number>>(`SELECT count(*) AS n FROM schedule_runs WHERE schedule_id = ? ${filter}`).get(...params)!.n;
  return { items: items.map(runToJson), total, page: q.page, per_page: q.per_page };
}
