// What a sink adds to a line from the database: the task's type, title and correlation id, looked up
// once per task when a batch is sent (never on the task's path) and kept for the next lines.
import type { Db } from "../../db/client.ts";

export interface TaskInfo {
  task_type: string;
  title: string;
  correlation_id: string | null;
  parent_task_id: string | null;
}

const LIMIT = 5000;

export class TaskInfoCache {
  #cache = new Map<string, TaskInfo | null>();
  constructor(private readonly db: Db) {}

  of(taskId: string): TaskInfo | null {
    if (this.#cache.has(taskId)) return this.#cache.get(taskId)!;
    let info: TaskInfo | null = null;
    try {
      info = this.db.sqlite
        .query<TaskInfo, [string]>("SELECT task_type, title, correlation_id, parent_task_id FROM tasks WHERE id = ?")
        .get(taskId);
    } catch {
      info = null; // the database is closing: send the line without it
    }
    if (this.#cache.size >= LIMIT) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(taskId, info);
    return info;
  }
}
