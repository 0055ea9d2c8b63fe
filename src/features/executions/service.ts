// Executions: one row per attempt, read back for the API with its log file's location.
import { and, count, desc, eq, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../db/client.ts";
import { executions, EXECUTION_STATUSES, type ExecutionRow } from "../../db/schema.ts";
import type { TaskLogger } from "../../engine/task-logger.ts";
import { iso } from "../../engine/task-record.ts";
import { notFound } from "../../errors.ts";

export const ExecutionOut = z.object({
  id: z.string(),
  task_id: z.string(),
  work_order_id: z.string(),
  worker_id: z.string(),
  attempt: z.number(),
  status: z.enum(EXECUTION_STATUSES),
  exit_code: z.number().nullable(),
  error: z.string().nullable(),
  stdout: z.string().nullable(),
  stderr: z.string().nullable(),
  duration_ms: z.number().nullable(),
  cpu_ms: z.number().nullable().describe("CPU time of a shell command that succeeded (user + system); null otherwise"),
  max_rss_bytes: z.number().nullable().describe("Peak memory, when a worker can measure it (remote workers may report it); null otherwise"),
  log_count: z.number(),
  log_file: z.string().optional(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
});

export const LogLineOut = z.object({
  execution_id: z.string(),
  seq: z.number(),
  level: z.string(),
  message: z.string(),
  metadata: z.unknown(),
  ts: z.string(),
});

function toJson(row: ExecutionRow, logFile?: string) {
  return { ...row, started_at: iso(row.started_at)!, finished_at: iso(row.finished_at), ...(logFile ? { log_file: logFile } : {}) };
}

export function getExecution(db: Db, logger: TaskLogger, id: string) {
  const row = db.orm.select().from(executions).where(eq(executions.id, id)).get();
  if (!row) throw notFound("execution", id);
  return toJson(row, logger.filePath(id));
}

export function listExecutions(
  db: Db,
  q: { page: number; per_page: number; task_id?: string; worker_id?: string; status?: ExecutionRow["status"] },
) {
  const filters: (SQL | undefined)[] = [
    q.task_id ? eq(executions.task_id, q.task_id) : undefined,
    q.worker_id ? eq(executions.worker_id, q.worker_id) : undefined,
    q.status ? eq(executions.status, q.status) : undefined,
  ];
  const where = and(...filters);
  const rows = db.orm
    .select()
    .from(executions)
    .where(where)
    .orderBy(desc(executions.started_at), desc(executions.id))
    .limit(q.per_page)
    .offset((q.page - 1) * q.per_page)
    .all();
  const total = db.orm.select({ n: count() }).from(executions).where(where).get()?.n ?? 0;
  return { items: rows.map((r) => toJson(r)), total, page: q.page, per_page: q.per_page };
}
