// The zod schemas of plans: they validate requests and generate the OpenAPI document.
import { z } from "zod";
import { PERMISSION_LEVELS, PRIORITIES } from "../../db/schema.ts";
import { TaskOut } from "../tasks/schemas.ts";

export const STEP_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/;

export const StepBody = z.strictObject({
  name: z.string().regex(STEP_NAME, "step names are 1–64 letters, digits, _ or - (they appear in {{steps.NAME…}})"),
  task_type: z.string().min(1).max(100),
  params: z.record(z.string(), z.unknown()).default({}),
  depends_on: z.array(z.string().max(64)).max(200).default([]).describe("Names of steps that must succeed first"),
  timeout_seconds: z.number().int().min(1).max(7 * 24 * 3600).optional(),
  max_retries: z.number().int().min(0).max(100).optional(),
  priority: z.enum(PRIORITIES).optional(),
  repository_url: z.string().min(1).max(2048).optional().describe("The step task's repository (coding agents); may be {{inputs.NAME}}"),
  branch_name: z.string().min(1).max(500).optional().describe("The step task's branch; may hold {{inputs.NAME}} — steps naming the same branch continue it"),
  permission_level: z.enum(PERMISSION_LEVELS).optional().describe("What the step task may do to its repository (default write)"),
});
export type StepBody = z.infer<typeof StepBody>;

export const PlanBody = z.strictObject({
  name: z
    .string()
    .trim()
    .min(1, "name must not be empty")
    .max(100)
    .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), "name must not contain control characters"),
  description: z.string().max(10_000).nullish(),
  steps: z.array(StepBody).min(1, "a plan needs at least one step").max(200),
});
export type PlanBody = z.infer<typeof PlanBody>;

export const RunBody = z.strictObject({
  inputs: z.record(z.string(), z.unknown()).default({}).describe("Values for {{inputs.NAME}} in step params"),
  priority: z.enum(PRIORITIES).optional().describe("Priority of steps that set none"),
  version: z.number().int().min(1).optional().describe("Run this saved version of the plan (default: the latest)"),
});
export type RunBody = z.infer<typeof RunBody>;

export const StepOut = z.object({
  name: z.string(),
  task_type: z.string(),
  params: z.record(z.string(), z.unknown()),
  depends_on: z.array(z.string()),
  timeout_seconds: z.number().optional(),
  max_retries: z.number().optional(),
  priority: z.enum(PRIORITIES).optional(),
  repository_url: z.string().optional(),
  branch_name: z.string().optional(),
  permission_level: z.enum(PERMISSION_LEVELS).optional(),
});

export const PlanOut = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  version: z.number(),
  steps: z.array(StepOut),
  steps_count: z.number(),
  last_run: z.object({ id: z.string(), status: z.string(), created_at: z.string() }).nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});

export const PlanQuery = z.strictObject({
  version: z.coerce.number().int().min(1).optional().describe("A past version (default: the current one)"),
});

export const ListPlansQuery = z.strictObject({
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
  per_page: z.coerce.number().int().min(1).max(100).default(20),
  q: z.string().max(200).optional().describe("Search in name and description"),
});

export const RunOut = TaskOut;
