// A parent task (a plan run) follows its children, in the same transaction as the change that moved
// them: running while any is unfinished, succeeded when all did, failed when one failed for good.
import type { TaskStatus } from "../db/schema.ts";
import { getTaskType } from "../task-types/index.ts";
import { failDependants, queueReadyDependants } from "./dependencies.ts";
import type { EngineDeps } from "./engine-deps.ts";
import type { Tx } from "./tx-events.ts";

const ACTIVE: ReadonlySet<string> = new Set(["pending", "queued", "running", "waiting_input"]);

interface Child {
  id: string;
  status: TaskStatus;
  error: string | null;
  result: string | null;
  step: string | null;
}

/** Recomputes every parent touched in this transaction (and their parents, if any). */
export function settleParents(deps: EngineDeps, tx: Tx): void {
  const done = new Set<string>();
  for (let round = 0; round < 8; round++) {
    const todo = [...tx.events.touchedParents].filter((id) => !done.has(id));
    if (todo.length === 0) return;
    for (const id of todo) {
      done.add(id);
      settleParent(deps, id, tx);
    }
  }
}

/** The status a parent's children give it, with its result or error. */
export function parentOutcome(children: Child[]): { status: TaskStatus; result: unknown; error: string | null } {
  if (children.some((c) => ACTIVE.has(c.status))) return { status: "running", result: null, error: null };
  const name = (c: Child) => c.step ?? c.id;
  if (children.every((c) => c.status === "succeeded")) {
    const steps = Object.fromEntries(children.map((c) => [name(c), c.result == null ? null : JSON.parse(c.result)]));
    return { status: "succeeded", result: { steps }, error: null };
  }
  const failed = children.filter((c) => c.status !== "succeeded");
  // Root causes first: a step that failed because its dependency did is a consequence.
  const roots = failed.filter((c) => !c.error?.startsWith("dependency "));
  const shown = (roots.length ? roots : failed).slice(0, 5).map((c) => `${name(c)} ${c.status}${c.error ? ` (${c.error})` : ""}`);
  const more = (roots.length ? roots : failed).length - shown.length;
  return {
    status: "failed",
    result: null,
    error: `${failed.length} of ${children.length} steps did not succeed: ${shown.join("; ")}${more > 0 ? `; and ${more} more` : ""}`,
  };
}

function settleParent(deps: EngineDeps, parentId: string, tx: Tx): void {
  const { db } = deps;
  const parent = db.sqlite
    .query<{ id: string; task_type: string; status: TaskStatus; parent_task_id: string | null }, [string]>(
      "SELECT id, task_type, status, parent_task_id FROM tasks WHERE id = ?",
    )
    .get(parentId);
  if (!parent || getTaskType(parent.task_type)?.kind !== "parent") return;
  if (parent.status === "cancelled") return; // a cancel cascades to the children; it stays cancelled
  const children = db.sqlite
    .query<Child, [string]>(
      "SELECT id, status, error, result, json_extract(metadata, '$.plan_step') AS step FROM tasks WHERE parent_task_id = ? ORDER BY created_at, id",
    )
    .all(parentId);
  if (children.length === 0) return;
  const next = parentOutcome(children);
  if (next.status === parent.status) return;
  const terminal = next.status !== "running";
  db.sqlite
    .query(
      `UPDATE tasks SET status = ?, result = ?, error = ?, updated_at = ?, finished_at = ?,
              started_at = coalesce(started_at, ?) WHERE id = ?`,
    )
    .run(next.status, next.result == null ? null : JSON.stringify(next.result), next.error, tx.at, terminal ? tx.at : null, tx.at, parentId);
  tx.events.taskChanged({ ...parent, status: next.status }, tx.at, next.error);
  // A run can itself be a dependency of other tasks.
  if (next.status === "succeeded") queueReadyDependants(deps, parentId, tx);
  else if (next.status === "failed") failDependants(deps, parentId, `dependency ${parentId} failed: ${next.error}`, tx);
}

/** Recomputes every unfinished parent (after a restart: nothing is lost even if a process died mid-way). */
export function settleAllParents(deps: EngineDeps, tx: Tx): void {
  const parents = deps.db.sqlite
    .query<{ id: string }, []>(
      `SELECT DISTINCT p.id FROM tasks p JOIN tasks c ON c.parent_task_id = p.id
        WHERE p.status IN ('pending', 'queued', 'running', 'waiting_input')`,
    )
    .all();
  for (const p of parents) tx.events.touchedParents.add(p.id);
}
