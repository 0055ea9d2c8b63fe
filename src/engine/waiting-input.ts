// A running task with an open question is `waiting_input`; it is `running` again once no question of it
// is open. Guarded transitions inside the caller's transaction (the controller's, with the question's row).
import type { EngineDeps } from "./engine-deps.ts";
import type { Tx } from "./tx-events.ts";

type Moved = { id: string; task_type: string; parent_task_id: string | null };

export function markWaitingInput(deps: EngineDeps, tx: Tx, taskId: string): boolean {
  const task = deps.db.sqlite
    .query<Moved, [number, string]>("UPDATE tasks SET status = 'waiting_input', updated_at = ? WHERE id = ? AND status = 'running' RETURNING id, task_type, parent_task_id")
    .get(tx.at, taskId);
  if (task) tx.events.taskChanged({ ...task, status: "waiting_input" }, tx.at);
  return task !== null;
}

/** Back to `running` — call it only when the task has no open question left. */
export function markRunningAgain(deps: EngineDeps, tx: Tx, taskId: string): boolean {
  const task = deps.db.sqlite
    .query<Moved, [number, string]>("UPDATE tasks SET status = 'running', updated_at = ? WHERE id = ? AND status = 'waiting_input' RETURNING id, task_type, parent_task_id")
    .get(tx.at, taskId);
  if (task) tx.events.taskChanged({ ...task, status: "running" }, tx.at);
  return task !== null;
}
