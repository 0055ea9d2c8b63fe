// The zod schemas of the workers API: they validate requests and generate the OpenAPI document.
import { z } from "zod";
import { WORKER_STATUSES, WORKER_TYPES } from "../../db/schema.ts";
import { Pagination } from "../../http/pagination.ts";

const capability = z.string().regex(/^[a-z0-9][a-z0-9._:-]{0,62}$/, "capability labels are lowercase letters, digits, . _ : -");

export const RegisterWorkerBody = z.strictObject({
  name: z
    .string()
    .trim()
    .min(1, "name must not be empty")
    .max(200)
    .regex(/^[^\u0000-\u001f\u007f]+$/, "name must not contain control characters")
    .describe("Unique; registering again under the same name resumes the same worker id"),
  hostname: z.string().max(255).nullish(),
  version: z.string().max(100).nullish(),
  capabilities: z.array(capability).max(50, "at most 50 capabilities").default([]).describe("Labels such as git, node, gpu"),
  max_concurrent_tasks: z.number().int().min(1).max(1024).default(1),
  timeout_seconds: z.number().int().min(1).max(7 * 24 * 3600).nullish(),
  context_window_size: z.number().int().min(1).max(100_000_000).nullish(),
  config: z.record(z.string(), z.unknown()).default({}).describe("Any JSON object the worker wants to show"),
  instance_id: z
    .string()
    .min(1)
    .max(100)
    .optional()
    .describe("A random id of this process: while a worker of this name is online under another instance_id, registering is refused (409)"),
});
export type RegisterWorkerBody = z.infer<typeof RegisterWorkerBody>;

export const HeartbeatBody = z.strictObject({
  load: z.number().min(0).max(1e6).nullish().describe("1-minute load average"),
  cpu_percent: z.number().min(0).max(100_000).nullish(),
  memory_bytes: z.number().int().min(0).nullish(),
  running_work_order_ids: z.array(z.string().min(1).max(100)).max(1024).default([]).describe("The work orders it is running"),
  instance_id: z.string().min(1).max(100).optional().describe("The instance_id it registered with: 409 when another instance registered the worker since"),
});
export type HeartbeatBody = z.infer<typeof HeartbeatBody>;

export const SignOffBody = z.strictObject({
  instance_id: z.string().min(1).max(100).optional().describe("The instance_id it registered with: 409 when another instance registered the worker since"),
});
export type SignOffBody = z.infer<typeof SignOffBody>;

const csv = z
  .string()
  .max(2000)
  .transform((s) => s.split(",").map((v) => v.trim()).filter(Boolean));

export const ListWorkersQuery = z.strictObject({
  ...Pagination,
  status: csv.pipe(z.array(z.enum(WORKER_STATUSES)).min(1)).optional().describe("One status or several, comma separated"),
  worker_type: z.enum(WORKER_TYPES).optional(),
  capability: csv.pipe(z.array(capability).min(1).max(50)).optional().describe("Workers having every listed capability (comma separated)"),
});
export type ListWorkersQuery = z.infer<typeof ListWorkersQuery>;

const LoadOut = z.object({
  load: z.number().nullable(),
  cpu_percent: z.number().nullable(),
  memory_bytes: z.number().nullable(),
  running_work_order_ids: z.array(z.string()),
});

export const WorkerOut = z.object({
  id: z.string(),
  name: z.string(),
  worker_type: z.enum(WORKER_TYPES),
  status: z.enum(WORKER_STATUSES).describe("Derived: offline after 3 missed heartbeats (15 s), error after 3 failures in a row, busy while it holds work"),
  draining: z.boolean(),
  hostname: z.string().nullable(),
  version: z.string().nullable(),
  capabilities: z.array(z.string()),
  max_concurrent_tasks: z.number(),
  timeout_seconds: z.number().nullable(),
  context_window_size: z.number().nullable(),
  config: z.record(z.string(), z.unknown()),
  instance_id: z.string().nullable().describe("The instance_id of the process that registered it last"),
  consecutive_failures: z.number(),
  claimed_work_orders: z.number(),
  last_heartbeat_at: z.string().nullable(),
  last_load: LoadOut.nullable(),
  registered_by: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});

export const DrainOut = z.object({ worker: WorkerOut, released: z.number().describe("Work orders returned to the queue") });

/** The heartbeat's answer: the worker, and which of the work orders it listed kept their lease. */
export const HeartbeatOut = WorkerOut.extend({
  extended: z.array(z.string()).describe("Work orders whose lease moved ahead (REMOTE_LEASE_MS from now)"),
  lost: z.array(z.string()).describe("Work orders it listed but no longer holds (lease expired, moved on or cancelled): stop them"),
});
