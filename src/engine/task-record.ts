// The task as the API shows it: raw rows parsed, times as ISO-8601 UTC, dependencies attached.
import type { Db } from "../db/client.ts";
import type { PermissionLevel, Priority, QueueName, TaskStatus } from "../db/schema.ts";

export interface TaskRecord {
  id: string;
  title: string;
  description: string | null;
  task_type: string;
  params: Record<string, unknown>;
  priority: Priority;
  status: TaskStatus;
  result: unknown;
  error: string | null;
  repository_url: string | null;
  branch_name: string | null;
  issue_number: number | null;
  pr_number: number | null;
  context: unknown;
  metadata: Record<string, unknown> | null;
  parent_task_id: string | null;
  requires: string[];
  timeout_seconds: number;
  max_retries: number;
  attempts: number;
  created_by: string | null;
  assigned_to: string | null;
  /** What the task may do to its repository: read, write (commit on its branch), push (and open a PR). */
  permission_level: PermissionLevel;
  /** Follows the task from the request that made it through the queue, workers and questions (logs carry it). */
  correlation_id: string | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export type TaskJson = Omit<TaskRecord, "created_at" | "updated_at" | "started_at" | "finished_at"> & {
  depends_on: string[];
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
};

export const PRIORITY_QUEUE: Record<Priority, QueueName> = { high: "high_priority", default: "default", low: "low_priority" };

const JSON_COLUMNS = ["params", "result", "context", "metadata", "requires"] as const;

export function parseTaskRow(row: Record<string, any>): TaskRecord {
  const out = { ...row };
  for (const col of JSON_COLUMNS) out[col] = row[col] == null ? null : JSON.parse(row[col]);
  return out as TaskRecord;
}

export const iso = (ms: number | null | undefined): string | null => (ms == null ? null : new Date(ms).toISOString());

export function taskToJson(task: TaskRecord, dependsOn: string[]): TaskJson {
  return {
    ...task,
    requires: task.requires ?? [],
    depends_on: dependsOn,
    created_at: iso(task.created_at)!,
    updated_at: iso(task.updated_at)!,
    started_at: iso(task.started_at),
    finished_at: iso(task.finished_at),
  };
}

export function getTaskRecord(db: Db, id: string): TaskRecord | undefined {
  const row = db.sqlite.query<Record<string, any>, [string]>("SELECT * FROM tasks WHERE id = ?").get(id);
  return row ? parseTaskRow(row) : undefined;
}

export function dependenciesOf(db: Db, taskId: string): string[] {
  return db.sqlite
    .query<{ depends_on_id: string }, [string]>("SELECT depends_on_id FROM task_dependencies WHERE task_id = ? ORDER BY rowid")
    .all(taskId)
    .map((r) => r.depends_on_id);
}

/** Dependencies of many tasks in one query (list pages). */
export function dependenciesOfMany(db: Db, taskIds: string[]): Map<string, string[]> {
  const map = new Map<string, string[]>(taskIds.map((id) => [id, []]));
  if (taskIds.length === 0) return map;
  const rows = db.sqlite
    .query<{ task_id: string; depends_on_id: string }, [string]>(
      "SELECT task_id, depends_on_id FROM task_dependencies WHERE task_id IN (SELECT value FROM json_each(?)) ORDER BY rowid",
    )
    .all(JSON.stringify(taskIds));
  for (const r of rows) map.get(r.task_id)?.push(r.depends_on_id);
  return map;
}

/** The plan run (the root parent of type `plan`) a task with this parent belongs to, if any. */
export function planRunOf(db: Db, parentTaskId: string | null): string | null {
  let run: string | null = null;
  for (let id = parentTaskId, depth = 0; id && depth < 16; depth++) {
    const row = db.sqlite.query<{ task_type: string; parent_task_id: string | null }, [string]>("SELECT task_type, parent_task_id FROM tasks WHERE id = ?").get(id);
    if (!row) break;
    if (row.task_type === "plan") run = id;
    id = row.parent_task_id;
  }
  return run;
}
