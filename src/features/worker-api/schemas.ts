// The zod schemas of the queue API for remote workers (claim, report, complete, fail, logs) and of enqueue.
import { z } from "zod";
import { LOG_LEVELS } from "../../db/schema.ts";
import { CreateTaskBody, TaskOut } from "../tasks/schemas.ts";

const id = z.string().min(1).max(100);
const workerId = id.describe("The id POST /workers answered when this worker registered");
const output = z.string().max(16 * 1024 * 1024).nullish();
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullish();

export const MAX_CLAIM_LIMIT = 32;
export const MAX_WAIT_SECONDS = 60;

export const MAX_REPORT_LOG_LINES = 1000;
export const MAX_REPORT_OUTCOMES = 256;
/** The latest time a Date can hold (ms since the epoch). */
export const MAX_LOG_TS = 8.64e15;

export const LogLineIn = z.strictObject({
  execution_id: id,
  level: z.enum(LOG_LEVELS),
  message: z.string().max(1024 * 1024),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  // Within the range of a Date (±8.64e15 ms): a line the server cannot turn into a time is refused here.
  ts: z.number().int().min(0).max(MAX_LOG_TS).describe("ms since the epoch (at most 8.64e15, the end of the Date range)"),
});

export const ReportOutcome = z
  .strictObject({
    execution_id: id,
    work_order_id: id,
    lease_token: z.string().min(1).max(200),
    status: z.enum(["succeeded", "failed", "timed_out"]),
    result: z.unknown().optional().describe("succeeded only"),
    error: z.string().min(1).max(100_000).optional().describe("Required when failed or timed_out"),
    retryable: z.boolean().default(true).describe("failed only; false: the failure is final whatever the retry budget"),
    exit_code: z.number().int().nullish(),
    stdout: output,
    stderr: output,
    duration_ms: count,
    cpu_ms: count,
    max_rss_bytes: count,
  })
  .refine((o) => o.status === "succeeded" || o.error !== undefined, { message: "error is required when status is failed or timed_out", path: ["error"] });
export type ReportOutcome = z.infer<typeof ReportOutcome>;

/** What a worker has to tell: log lines (stored first) and outcomes (all recorded in one transaction). */
const reportContent = {
  logs: z.array(LogLineIn).max(MAX_REPORT_LOG_LINES).default([]),
  outcomes: z.array(ReportOutcome).max(MAX_REPORT_OUTCOMES).default([]),
};
export const ReportContent = z.strictObject(reportContent);
export type ReportContent = z.infer<typeof ReportContent>;
export const ReportBody = z.strictObject({ worker_id: workerId, ...reportContent });
export type ReportBody = z.infer<typeof ReportBody>;

export const OutcomeAnswer = z.object({
  execution_id: z.string(),
  accepted: z.boolean(),
  reason: z.string().optional().describe("Why it was not recorded (lease expired or moved, task cancelled, not this worker's attempt)"),
  retry_at: z.number().optional().describe("A retryable failure: when the task is queued again (ms since the epoch)"),
});
export type OutcomeAnswer = z.infer<typeof OutcomeAnswer>;
export const ReportOut = z.object({
  outcomes: z.array(OutcomeAnswer).describe("One per outcome, in the order sent"),
  logs: z.object({ accepted: z.number(), refused: z.array(z.string()).describe("Executions this worker does not hold: their lines were not stored") }),
});
export type ReportOut = z.infer<typeof ReportOut>;

export const ClaimBody = z.strictObject({
  worker_id: workerId,
  report: ReportContent.optional().describe("Delivered before claiming (as POST /queue/report), so a busy worker makes one request per round"),
  limit: z.number().int().min(1).max(MAX_CLAIM_LIMIT).default(1).describe("At most this many orders (and never past the worker's free slots)"),
  wait_seconds: z.number().min(0).max(MAX_WAIT_SECONDS).default(0).describe("Long-poll: wait up to this long for matching work (answers at once when some is queued)"),
});
export type ClaimBody = z.infer<typeof ClaimBody>;

export const ClaimItem = z.object({
  work_order_id: z.string(),
  task_id: z.string(),
  execution_id: z.string(),
  lease_token: z.string(),
  lease_until: z.number().describe("ms since the epoch; heartbeats listing the order extend it"),
  attempt: z.number(),
  task_type: z.string(),
  params: z.record(z.string(), z.unknown()).describe("With {{secrets.NAME}} resolved (only secrets whose allow-list lets remote workers have them)"),
  secret_values: z.array(z.string()).optional().describe("The secret values resolved into params: the worker never cuts output inside one (the server masks whole values)"),
  timeout_seconds: z.number(),
  correlation_id: z.string().nullable().describe("The task's correlation id: the worker's log lines about it carry it"),
});
export type ClaimItem = z.infer<typeof ClaimItem>;
export const ClaimOut = z.object({ items: z.array(ClaimItem), report: ReportOut.optional().describe("The answer to the `report` the claim carried") });

const leaseRef = {
  worker_id: workerId,
  work_order_id: id,
  lease_token: z.string().min(1).max(200),
  execution_id: id,
};

export const CompleteBody = z.strictObject({
  ...leaseRef,
  result: z.unknown().optional(),
  exit_code: z.number().int().nullish(),
  stdout: output,
  stderr: output,
  duration_ms: count,
  cpu_ms: count,
  max_rss_bytes: count,
});
export type CompleteBody = z.infer<typeof CompleteBody>;

export const FailBody = z.strictObject({
  ...leaseRef,
  error: z.string().min(1).max(100_000),
  retryable: z.boolean().default(true).describe("false: the failure is final whatever the retry budget"),
  timed_out: z.boolean().default(false),
  exit_code: z.number().int().nullish(),
  stdout: output,
  stderr: output,
  duration_ms: count,
});
export type FailBody = z.infer<typeof FailBody>;

export const AcceptedOut = z.object({ accepted: z.literal(true) });
export const FailOut = z.object({
  accepted: z.literal(true),
  retry_at: z.number().optional().describe("When the task is queued again (ms since the epoch); absent when the failure is final"),
});

export const LogsBody = z.strictObject({
  worker_id: workerId,
  lines: z.array(LogLineIn).min(1).max(10_000),
});
export type LogsBody = z.infer<typeof LogsBody>;
export const LogsOut = z.object({ accepted: z.number() });

export const EnqueueBody = z.strictObject({ tasks: z.array(CreateTaskBody).min(1).max(1000) });
export type EnqueueBody = z.infer<typeof EnqueueBody>;
export const EnqueueOut = z.object({ items: z.array(TaskOut) });

export const MessagesBody = z.strictObject({
  worker_id: workerId,
  after: z.number().int().min(0).default(0).describe("The last message number this worker has: everything up to it is acknowledged"),
  wait_seconds: z.number().min(0).max(MAX_WAIT_SECONDS).default(0).describe("Long-poll: wait up to this long for a message"),
  epoch: z.string().max(100).optional().describe("The `epoch` of the last answer: when the server restarted since, `after` counts from 0 again"),
});
export const MessagesOut = z.object({
  items: z.array(
    z.object({
      seq: z.number(),
      execution_id: z.string(),
      message: z.object({ id: z.string(), text: z.string(), sender: z.string().nullable(), senderType: z.string(), at: z.number() }),
    }),
  ),
  dropped: z.number().describe("Messages this worker's mailbox had to drop (it holds the newest 1,000 unacknowledged)"),
  epoch: z.string().describe("Changes with every server start (message numbers start again)"),
});

export const CallBody = z.strictObject({
  worker_id: workerId,
  execution_id: id.describe("The attempt that calls: running on this worker"),
  method: z.string().min(1).max(100),
  params: z.unknown().optional(),
});
export const CallOut = z.object({ value: z.unknown() });
