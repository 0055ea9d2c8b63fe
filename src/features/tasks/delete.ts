// Deleting a task with everything it ran: its subtasks, executions and log lines — millions of rows for a
// chatty task — deleted in short batches that let every other request through between them, then the task
// itself (guards checked again) in one transaction with its audit record, then its JSONL log files.
import { rm } from "node:fs/promises";
import type { TaskStatus } from "../../db/schema.ts";
import type { EngineDeps } from "../../engine/engine-deps.ts";
import { getTaskRecord } from "../../engine/task-record.ts";
import { conflict, notFound } from "../../errors.ts";
import { logger } from "../../log.ts";
import { audited, type Acting } from "../audit/service.ts";

const log = logger("tasks");

const ACTIVE: TaskStatus[] = ["running", "waiting_input"];
/** Log rows deleted per statement: ~10 ms each, so the server answers other requests in between. */
export const DELETE_BATCH = 5000;

/** What is deleted: the task, its subtasks, and their executions (whose log files go too). */
interface Doomed {
  /** The task's title: the audit record names it once the task is gone. */
  title: string;
  taskIds: string[];
  executionIds: string[];
}

/**
 * The subtree of `id` and its executions, if it may be deleted: not running (cancel it first), and no task
 * outside it still waits on one inside. Throws 404 / 409 naming why not.
 */
function deletable(deps: EngineDeps, id: string): Doomed {
  const { db } = deps;
  const task = getTaskRecord(db, id);
  if (!task) throw notFound("task", id);
  if (ACTIVE.includes(task.status)) throw conflict(`task '${id}' is ${task.status}; cancel it before deleting it`);
  const subtree = db.sqlite
    .query<{ id: string; status: TaskStatus }, [string]>(
      `WITH RECURSIVE sub(id) AS (SELECT ? UNION SELECT t.id FROM tasks t JOIN sub ON t.parent_task_id = sub.id)
       SELECT tasks.id, tasks.status FROM tasks JOIN sub ON sub.id = tasks.id`,
    )
    .all(id);
  const running = subtree.find((t) => ACTIVE.includes(t.status));
  if (running) throw conflict(`subtask '${running.id}' is still ${running.status}; cancel the task before deleting it`);
  const ids = JSON.stringify(subtree.map((t) => t.id));
  const waiting = db.sqlite
    .query<{ task_id: string; depends_on_id: string }, [string, string]>(
      `SELECT d.task_id, d.depends_on_id FROM task_dependencies d JOIN tasks t ON t.id = d.task_id
        WHERE d.depends_on_id IN (SELECT value FROM json_each(?1))
          AND d.task_id NOT IN (SELECT value FROM json_each(?2))
          AND t.status IN ('pending', 'queued', 'running', 'waiting_input') LIMIT 1`,
    )
    .get(ids, ids);
  if (waiting) throw conflict(`task '${waiting.task_id}' still depends on '${waiting.depends_on_id}'; cancel or delete that task first`);
  const executionIds = db.sqlite
    .query<{ id: string }, [string]>("SELECT id FROM executions WHERE task_id IN (SELECT value FROM json_each(?))")
    .all(ids)
    .map((r) => r.id);
  return { title: task.title, taskIds: subtree.map((t) => t.id), executionIds };
}

/**
 * Deletes a task that is not running, with its subtasks, executions, logs and log files. Resolves once
 * it is gone; the log rows go first, in batches, each its own short statement with the event loop free in
 * between, so deleting six million lines never stalls the server.
 */
export async function deleteTask(deps: EngineDeps & { logFile?: (executionId: string) => string }, id: string, acting?: Acting): Promise<void> {
  const { db } = deps;
  const first = deletable(deps, id);
  const batch = db.sqlite.query(
    `DELETE FROM execution_logs WHERE execution_id = ?1 AND seq IN (SELECT seq FROM execution_logs WHERE execution_id = ?1 ORDER BY seq LIMIT ${DELETE_BATCH})`,
  );
  for (const executionId of first.executionIds) {
    while (batch.run(executionId).changes === DELETE_BATCH) await new Promise((resolve) => setImmediate(resolve));
  }
  // Checked again with the deletion: the task may have been retried meanwhile (its new lines go with it).
  const doomed = db.sqlite
    .transaction(() => {
      const now = deletable(deps, id);
      audited(deps, acting, "task.deleted", { type: "task", id }, { title: now.title });
      db.sqlite.query("DELETE FROM tasks WHERE id = ?").run(id);
      return now;
    })
    .immediate();
  const at = Date.now();
  for (const taskId of doomed.taskIds) deps.bus.emit("task:deleted", { taskId, at });
  if (deps.logFile) {
    const files = [...new Set([...first.executionIds, ...doomed.executionIds])].map(deps.logFile);
    const results = await Promise.allSettled(files.map((f) => rm(f, { force: true })));
    const failed = results.filter((r) => r.status === "rejected").length;
    if (failed) log.warn(`deleted task ${id}, but ${failed} of its log file(s) could not be removed`);
  }
}
