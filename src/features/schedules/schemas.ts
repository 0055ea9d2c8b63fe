// The zod schemas of the schedules API: a cron expression in a time zone that starts a task (the body of
// POST /tasks) or a plan (name + inputs), with an overlap policy and what to do about slots missed while
// the server was down.
import { z } from "zod";
import { Pagination } from "../../http/pagination.ts";
import { CreateTaskBody } from "../tasks/schemas.ts";

export const OVERLAP_POLICIES = ["skip", "queue", "cancel"] as const;
export const CATCH_UP_POLICIES = ["once", "none"] as const;
export const RUN_OUTCOMES = ["started", "waiting", "skipped", "missed", "failed"] as const;
export const RUN_TRIGGERS = ["cron", "catch_up", "manual"] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];
export type CatchUpPolicy = (typeof CATCH_UP_POLICIES)[number];
export type RunOutcome = (typeof RUN_OUTCOMES)[number];
export type RunTrigger = (typeof RUN_TRIGGERS)[number];

/** A scheduled task: POST /tasks's body, less what only makes sense for one task (dependencies, parent, expiry). */
export const ScheduledTask = CreateTaskBody.omit({ depends_on: true, parent_task_id: true, expires_at: true });
export type ScheduledTask = z.infer<typeof ScheduledTask>;

export const ScheduledPlan = z.strictObject({
  name: z.string().trim().min(1, "must not be empty").max(200).describe("The plan's name (or id); each run uses its current version"),
  inputs: z.record(z.string(), z.unknown()).default({}).describe("The run's inputs, as for POST /plans/:id/run"),
});

const fields = {
  name: z.string().trim().min(1, "must not be empty").max(200),
  description: z.string().max(10_000).nullish(),
  cron: z.string().trim().min(1, "must not be empty").max(200).describe("Five fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly"),
  timezone: z.string().trim().min(1).max(100).default("UTC").describe("IANA time zone the expression is read in"),
  task: ScheduledTask.optional().describe("What to run: a task (as for POST /tasks) …"),
  plan: ScheduledPlan.optional().describe("… or a plan run"),
  overlap: z.enum(OVERLAP_POLICIES).default("skip").describe("When the previous run is unfinished: skip this one, queue it until the previous finishes, or cancel the previous"),
  catch_up: z.enum(CATCH_UP_POLICIES).default("once").describe("Slots missed while the server was down: run once for them, or none (they are recorded as missed either way)"),
  enabled: z.boolean().default(true),
};

const oneTarget = (v: { task?: unknown; plan?: unknown }, ctx: z.RefinementCtx) => {
  if ((v.task === undefined) === (v.plan === undefined)) {
    ctx.addIssue({ code: "custom", path: [v.task === undefined ? "task" : "plan"], message: "give either task or plan (exactly one)" });
  }
};

export const ScheduleBody = z.strictObject(fields).superRefine(oneTarget);
export type ScheduleBody = z.infer<typeof ScheduleBody>;

/** PATCH: any field; task and plan replace each other. */
export const SchedulePatch = z
  .strictObject({
    name: fields.name,
    description: fields.description,
    cron: fields.cron,
    timezone: z.string().trim().min(1).max(100),
    task: ScheduledTask,
    plan: ScheduledPlan,
    overlap: z.enum(OVERLAP_POLICIES),
    catch_up: z.enum(CATCH_UP_POLICIES),
    enabled: z.boolean(),
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, "nothing to update: send at least one field")
  .superRefine((v, ctx) => {
    if (v.task !== undefined && v.plan !== undefined) ctx.addIssue({ code: "custom", path: ["plan"], message: "give either task or plan, not both" });
  });
export type SchedulePatch = z.infer<typeof SchedulePatch>;

export const ScheduleRunOut = z.object({
  id: z.string(),
  schedule_id: z.string(),
  scheduled_for: z.string().describe("The cron slot (or the moment of a manual run)"),
  trigger: z.enum(RUN_TRIGGERS),
  outcome: z.enum(RUN_OUTCOMES),
  task_id: z.string().nullable(),
  reason: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});

export const ScheduleOut = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  cron: z.string(),
  timezone: z.string(),
  target: z.enum(["task", "plan"]),
  task: z.record(z.string(), z.unknown()).nullable(),
  plan: z.object({ name: z.string(), inputs: z.record(z.string(), z.unknown()) }).nullable(),
  overlap: z.enum(OVERLAP_POLICIES),
  catch_up: z.enum(CATCH_UP_POLICIES),
  enabled: z.boolean(),
  runs_on_host: z.boolean().describe("It runs a task type that runs commands on the server's host: saving or enabling it needs the --shell-role"),
  next_run_at: z.string().nullable(),
  next_runs: z.array(z.string()).describe("The next five slots (while enabled)"),
  last_run: ScheduleRunOut.nullable(),
  last_task_id: z.string().nullable(),
  created_by: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type ScheduleJson = z.infer<typeof ScheduleOut>;
export type ScheduleRunJson = z.infer<typeof ScheduleRunOut>;

export const ListSchedulesQuery = z.strictObject({ ...Pagination, enabled: z.enum(["true", "false"]).optional() });
export const ListRunsQuery = z.strictObject({ ...Pagination, outcome: z.enum(RUN_OUTCOMES).optional() });
