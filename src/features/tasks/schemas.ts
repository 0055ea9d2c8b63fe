// The zod schemas of the task API: they validate requests and generate the OpenAPI document.
import { z } from "zod";
import { Pagination } from "../../http/pagination.ts";
import { PERMISSION_LEVELS, PRIORITIES, TASK_STATUSES } from "../../db/schema.ts";

const id = z.string().min(1).max(100);
const capability = z.string().regex(/^[a-z0-9][a-z0-9._:-]{0,62}$/, "capability labels are lowercase letters, digits, . _ : -");
const text = (max: number) => z.string().max(max);

export const CreateTaskBody = z.strictObject({
  title: z.string().trim().min(1, "title must not be empty").max(500),
  task_type: z.string().min(1).max(100).describe("A registered task type: see GET /task-types"),
  params: z.record(z.string(), z.unknown()).default({}).describe("Validated against the task type's schema"),
  description: text(100_000).nullish(),
  priority: z.enum(PRIORITIES).default("default"),
  depends_on: z.array(id).max(1000).default([]).describe("Task ids that must succeed first"),
  parent_task_id: id.nullish(),
  requires: z.array(capability).max(50).default([]).describe("Capabilities a worker needs to run it"),
  timeout_seconds: z.number().int().min(1).max(7 * 24 * 3600).optional(),
  max_retries: z.number().int().min(0).max(100).optional(),
  repository_url: text(2048).nullish(),
  branch_name: text(500).nullish(),
  issue_number: z.number().int().min(0).nullish(),
  pr_number: z.number().int().min(0).nullish(),
  context: z.unknown().optional().describe("Any JSON value handed to the task"),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  assigned_to: text(200).nullish(),
  permission_level: z.enum(PERMISSION_LEVELS).default("write").describe("What it may do to its repository: read, write (commit on its branch), push (also push and open a PR)"),
  expires_at: z.iso.datetime({ offset: true }).optional().describe("Fail the task if no worker claimed it by then"),
});
export type CreateTaskBody = z.infer<typeof CreateTaskBody>;

export const UpdateTaskBody = z
  .strictObject({
    title: z.string().trim().min(1).max(500),
    description: text(100_000).nullable(),
    priority: z.enum(PRIORITIES),
    repository_url: text(2048).nullable(),
    branch_name: text(500).nullable(),
    issue_number: z.number().int().min(0).nullable(),
    pr_number: z.number().int().min(0).nullable(),
    context: z.unknown(),
    metadata: z.record(z.string(), z.unknown()).nullable(),
    assigned_to: text(200).nullable(),
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, "nothing to update: send at least one field");
export type UpdateTaskBody = z.infer<typeof UpdateTaskBody>;

const csvOf = <T extends string>(values: readonly [T, ...T[]]) =>
  z
    .string()
    .transform((s) => s.split(",").map((v) => v.trim()).filter(Boolean))
    .pipe(z.array(z.enum(values)).min(1));

/** How a task list can be ordered: a column, descending with a leading `-`. */
export const TASK_SORTS = ["created_at", "updated_at", "duration", "title", "status", "priority"] as const;
export type TaskSort = (typeof TASK_SORTS)[number] | `-${(typeof TASK_SORTS)[number]}`;

/** A day (`2025-01-31`, UTC) or an ISO-8601 time with its offset. */
const moment = z.union([z.iso.datetime({ offset: true }), z.iso.date()], "expected an ISO-8601 time (2025-01-31T12:00:00Z) or a date (2025-01-31)");

export const ListTasksQuery = z.strictObject({
  ...Pagination,
  status: csvOf(TASK_STATUSES).optional().describe("One status or several, comma separated"),
  task_type: z.string().max(100).optional(),
  priority: z.enum(PRIORITIES).optional(),
  permission_level: z.enum(PERMISSION_LEVELS).optional(),
  q: z.string().max(200).optional().describe("Search in title and description"),
  parent_task_id: id.optional(),
  id: z
    .string()
    .transform((s) => s.replace(/^(…|\.\.\.)/, ""))
    .pipe(z.string().regex(/^[A-Za-z0-9-]{4,100}$/, "at least 4 letters, digits or '-' (a whole id, or its start or end)"))
    .optional()
    .describe("A whole id, or the start or end of one (at least 4 characters; the …f81ff48c the pages show works)"),
  created_after: moment.optional().describe("Created at or after this time (a date means its start, UTC)"),
  created_before: moment.optional().describe("Created before this time (a date means its start, UTC)"),
  sort: z
    .enum([...TASK_SORTS, ...TASK_SORTS.map((s) => `-${s}` as const)])
    .default("-created_at")
    .describe("Order: created_at, updated_at, duration, title, status or priority; a leading - sorts descending"),
});
export type ListTasksQuery = z.infer<typeof ListTasksQuery>;

export const WaitQuery = z.strictObject({
  timeout: z.coerce.number().min(0).max(300).default(30).describe("Seconds to wait for a terminal status (max 300)"),
});

export const TaskOut = z.object({
  id: z.string(),
  title: z.string(),
  description: z.string().nullable(),
  task_type: z.string(),
  params: z.record(z.string(), z.unknown()),
  priority: z.enum(PRIORITIES),
  status: z.enum(TASK_STATUSES),
  result: z.unknown(),
  error: z.string().nullable(),
  repository_url: z.string().nullable(),
  branch_name: z.string().nullable(),
  issue_number: z.number().nullable(),
  pr_number: z.number().nullable(),
  context: z.unknown(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
  parent_task_id: z.string().nullable(),
  depends_on: z.array(z.string()),
  requires: z.array(z.string()),
  timeout_seconds: z.number(),
  max_retries: z.number(),
  attempts: z.number(),
  created_by: z.string().nullable(),
  assigned_to: z.string().nullable(),
  permission_level: z.enum(PERMISSION_LEVELS),
  created_at: z.string(),
  updated_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  conversation_id: z.string().nullable().optional().describe("The task's conversation (GET /chat/conversations/:id/messages): its questions, answers, status changes; post to steer it"),
});

export const EnqueueBody = z.strictObject({ tasks: z.array(CreateTaskBody).min(1).max(1000) });
export type EnqueueBody = z.infer<typeof EnqueueBody>;
export const EnqueueOut = z.object({ items: z.array(TaskOut) });
