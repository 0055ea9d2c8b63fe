// The zod schemas of the controller's API: questions (requests), answers, policies and the dry run.
import { z } from "zod";
import { ANSWERED_BY, ON_TIMEOUT_ACTIONS, PERMISSION_LEVELS, POLICY_ACTIONS, REQUEST_HANDLERS, REQUEST_STATUSES } from "../../db/schema.ts";
import { Pagination } from "../../http/pagination.ts";

const id = z.string().min(1).max(100);
const csvOf = <T extends string>(values: readonly [T, ...T[]]) =>
  z
    .string()
    .transform((s) => s.split(",").map((v) => v.trim()).filter(Boolean))
    .pipe(z.array(z.enum(values)).min(1));

/** What a task asks (ctx.ask, POST /requests, the `ask` task type). */
export const AskFields = {
  question: z.string().trim().min(1, "must not be empty").max(20_000),
  category: z.string().trim().min(1).max(100).nullish().describe("Free text a policy can match (approval, clarification, …)"),
  options: z.array(z.string().trim().min(1).max(500)).max(20).optional().describe("Answers to choose from; an answer must then be one of them"),
  context: z.unknown().optional().describe("Anything the task wants the answerer to see (JSON)"),
  deadline_seconds: z.number().int().min(1).max(30 * 24 * 3600).nullish().describe("How long it may stay open; default: the matching policy's timeout"),
  key: z.string().trim().min(1).max(200).nullish().describe("The task's own name for the question: asked again under it, the recorded answer is reused"),
};
export const AskInputSchema = z.strictObject(AskFields);

export const CreateRequestBody = z.strictObject({
  id: z.uuid().optional().describe("The asker's own id for the question: sending it again (a lost answer) returns the same question"),
  task_id: id,
  execution_id: id.optional().describe("The attempt that asks (required with a worker key: it must be running on a worker of that key)"),
  ...AskFields,
});
export type CreateRequestBody = z.infer<typeof CreateRequestBody>;

export const RespondBody = z.strictObject({ answer: z.string().trim().min(1, "must not be empty").max(20_000) });

export const ListRequestsQuery = z.strictObject({
  ...Pagination,
  status: csvOf(REQUEST_STATUSES).optional(),
  task_id: id.optional(),
  handler: z.enum(REQUEST_HANDLERS).optional(),
});

export const RequestWaitQuery = z.strictObject({ timeout: z.coerce.number().min(0).max(300).default(30) });

export const RequestOut = z.object({
  id: z.string(),
  task_id: z.string(),
  execution_id: z.string().nullable(),
  key: z.string().nullable(),
  status: z.enum(REQUEST_STATUSES),
  question: z.string(),
  options: z.array(z.string()),
  category: z.string().nullable(),
  context: z.unknown(),
  handler: z.enum(REQUEST_HANDLERS),
  route: z.object({ policy_id: z.string().nullable(), policy_name: z.string().nullable(), action: z.enum(POLICY_ACTIONS), reason: z.string().nullable(), on_timeout: z.enum(ON_TIMEOUT_ACTIONS), on_timeout_answer: z.string().nullable() }),
  escalation_reason: z.string().nullable(),
  deadline_at: z.string().nullable(),
  answer: z.string().nullable(),
  denied: z.boolean(),
  answered_by: z.object({ type: z.enum(ANSWERED_BY), id: z.string().nullable() }).nullable(),
  llm: z.record(z.string(), z.unknown()).nullable(),
  context_used: z.unknown(),
  created_at: z.string(),
  updated_at: z.string(),
  resolved_at: z.string().nullable(),
});

const nullableText = (max: number) => z.string().trim().min(1).max(max).nullish();

export const PolicyMatchSchema = z.strictObject({
  task_type: nullableText(100),
  permission_level: z.enum(PERMISSION_LEVELS).nullish(),
  category: nullableText(100),
  pattern: nullableText(1000).describe("A regular expression, matched case-insensitively against the question"),
  repository_url: nullableText(2000),
});

export const PolicyBody = z.strictObject({
  name: z.string().trim().min(1, "must not be empty").max(200),
  position: z.number().int().min(0).max(1_000_000_000).optional().describe("Rules are tried in ascending position (default: after the last)"),
  enabled: z.boolean().optional(),
  match: PolicyMatchSchema.optional(),
  action: z.enum(POLICY_ACTIONS),
  timeout_seconds: z.number().int().min(1).max(30 * 24 * 3600).nullish(),
  on_timeout: z.enum(ON_TIMEOUT_ACTIONS).optional(),
  on_timeout_answer: z.string().trim().min(1).max(20_000).nullish(),
});
export type PolicyBody = z.infer<typeof PolicyBody>;

export const PolicyOut = z.object({
  id: z.string(),
  name: z.string(),
  position: z.number(),
  enabled: z.boolean(),
  is_default: z.boolean(),
  match: z.object({
    task_type: z.string().optional(),
    permission_level: z.enum(PERMISSION_LEVELS).optional(),
    category: z.string().optional(),
    pattern: z.string().optional(),
    repository_url: z.string().optional(),
  }),
  action: z.enum(POLICY_ACTIONS),
  timeout_seconds: z.number().nullable(),
  on_timeout: z.enum(ON_TIMEOUT_ACTIONS),
  on_timeout_answer: z.string().nullable(),
  version: z.number(),
  created_by: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});

export const PoliciesOut = z.object({ items: z.array(PolicyOut) });

export const ReorderBody = z.strictObject({ order: z.array(id).min(1).max(1000) });

export const DryRunBody = z.strictObject({
  question: z.string().trim().min(1).max(20_000),
  category: z.string().trim().min(1).max(100).nullish(),
  task_type: z.string().trim().min(1).max(100).default("shell"),
  permission_level: z.enum(PERMISSION_LEVELS).default("write"),
  repository_url: z.string().trim().min(1).max(2000).nullish(),
});

export const DryRunOut = z.object({
  policy: PolicyOut,
  reasons: z.array(z.string()),
  skipped: z.array(z.object({ policy_id: z.string(), name: z.string(), why: z.string() })),
});
