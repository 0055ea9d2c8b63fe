// Submission: tasks, their dependency edges and the work orders of those ready to run, in one
// transaction; a `{{secrets.NAME}}` that cannot be resolved is refused before anything is written.
import type { PermissionLevel, Priority, TaskStatus } from "../db/schema.ts";
import { AppError, invalid, type ErrorDetail } from "../errors.ts";
import { logContext } from "../log.ts";
import { insertWorkOrders } from "../queue/work-orders.ts";
import { getTaskType } from "../task-types/index.ts";
import { workOrderFor } from "./dependencies.ts";
import type { EngineDeps, SecretReferences } from "./engine-deps.ts";
import { getTaskRecord, type TaskRecord } from "./task-record.ts";
import { transact } from "./transact.ts";
import type { Tx } from "./tx-events.ts";

export interface NewTask {
  id?: string;
  title: string;
  description?: string | null;
  task_type: string;
  params: Record<string, unknown>;
  priority?: Priority;
  depends_on?: string[];
  parent_task_id?: string | null;
  requires?: string[];
  timeout_seconds: number;
  max_retries: number;
  repository_url?: string | null;
  branch_name?: string | null;
  issue_number?: number | null;
  pr_number?: number | null;
  context?: unknown;
  metadata?: Record<string, unknown> | null;
  created_by?: string | null;
  assigned_to?: string | null;
  permission_level?: PermissionLevel;
  expires_at?: number | null;
  /** The request's correlation id; by default the parent's, else the log context's, else the task's own id. */
  correlation_id?: string | null;
}

const FAILED_STATES: TaskStatus[] = ["failed", "cancelled", "timed_out"];

/**
 * Inserts tasks, their dependency edges and the work orders of those ready to run, in one transaction
 * (with whatever `within` adds to it). Dependencies may name existing tasks or earlier tasks of the batch.
 */
export function submitTasks(deps: EngineDeps, inputs: NewTask[], within?: (tx: Tx, ids: string[]) => void): TaskRecord[] {
  const { db } = deps;
  if (deps.secrets) refuseUnknownSecrets(deps.secrets, inputs);
  const ids = transact(deps, (tx) => {
      const { events, at } = tx;
      const inBatch = new Map<string, TaskStatus>();
      const correlationInBatch = new Map<string, string>();
      const statusOf = db.sqlite.query<{ status: TaskStatus; title: string; correlation_id: string | null }, [string]>(
        "SELECT status, title, correlation_id FROM tasks WHERE id = ?",
      );
      const insertTask = db.sqlite.query(`INSERT INTO tasks
          (id, title, description, task_type, params, priority, status, error, repository_url, branch_name, issue_number,
           pr_number, context, metadata, parent_task_id, requires, timeout_seconds, max_retries, created_by, assigned_to,
           permission_level, correlation_id, created_at, updated_at, started_at, finished_at)
        VALUES ($id, $title, $description, $task_type, $params, $priority, $status, $error, $repository_url, $branch_name,
           $issue_number, $pr_number, $context, $metadata, $parent_task_id, $requires, $timeout_seconds, $max_retries,
           $created_by, $assigned_to, $permission_level, $correlation_id, $now, $now, $started_at, $finished_at)`);
      const insertDep = db.sqlite.query("INSERT INTO task_dependencies (task_id, depends_on_id) VALUES (?, ?)");
      const created: string[] = [];
      inputs.forEach((input, index) => {
        const id = input.id ?? Bun.randomUUIDv7();
        const prefix = inputs.length > 1 ? `tasks[${index}].` : "";
        if (input.parent_task_id && !inBatch.has(input.parent_task_id) && !statusOf.get(input.parent_task_id)) {
          throw invalid(`parent task '${input.parent_task_id}' does not exist`, [
            { field: `${prefix}parent_task_id`, message: `no task with id '${input.parent_task_id}'` },
          ]);
        }
        const parent = input.parent_task_id ?? null;
        const correlationId =
          input.correlation_id ??
          (parent ? (correlationInBatch.get(parent) ?? statusOf.get(parent)?.correlation_id) : null) ??
          logContext()?.correlation_id ??
          id;
        const dependsOn = [...new Set(input.depends_on ?? [])];
        // A parent (a plan run) never runs itself: it is running from the start, its children do the work.
        const isParent = getTaskType(input.task_type)?.kind === "parent";
        let status: TaskStatus = isParent ? "running" : "queued";
        let error: string | null = null;
        for (const depId of dependsOn) {
          const depStatus = inBatch.get(depId) ?? statusOf.get(depId)?.status;
          if (!depStatus) {
            throw invalid(`dependency '${depId}' does not exist`, [
              { field: `${prefix}depends_on`, message: `no task with id '${depId}'` },
            ]);
          }
          if (FAILED_STATES.includes(depStatus)) {
            status = "failed";
            error = `dependency ${depId} ended ${depStatus}`;
          } else if (depStatus !== "succeeded" && status === "queued") status = "pending";
        }
        insertTask.run({
          id,
          title: input.title,
          description: input.description ?? null,
          task_type: input.task_type,
          params: JSON.stringify(input.params),
          priority: input.priority ?? "default",
          status,
          error,
          repository_url: input.repository_url ?? null,
          branch_name: input.branch_name ?? null,
          issue_number: input.issue_number ?? null,
          pr_number: input.pr_number ?? null,
          context: input.context === undefined ? null : JSON.stringify(input.context),
          metadata: input.metadata == null ? null : JSON.stringify(input.metadata),
          parent_task_id: input.parent_task_id ?? null,
          requires: JSON.stringify(input.requires ?? []),
          timeout_seconds: input.timeout_seconds,
          max_retries: input.max_retries,
          created_by: input.created_by ?? null,
          assigned_to: input.assigned_to ?? null,
          permission_level: input.permission_level ?? "write",
          correlation_id: correlationId,
          now: at,
          started_at: isParent ? at : null,
          finished_at: status === "failed" ? at : null,
        });
        for (const depId of dependsOn) insertDep.run(id, depId);
        if (status === "queued") {
          insertWorkOrders(db, [workOrderFor(id, { ...input, correlation_id: correlationId })], at);
          events.ready(1);
        }
        inBatch.set(id, status);
        correlationInBatch.set(id, correlationId);
        created.push(id);
        events.taskChanged({ id, status, task_type: input.task_type, parent_task_id: input.parent_task_id ?? null }, at, error);
      });
      within?.(tx, created);
      return created;
  });
  return ids.map((id) => getTaskRecord(db, id)!);
}

/**
 * 400 naming each param that refers to a secret that does not exist (or cannot be decrypted); 403 naming
 * each one whose allow-list refuses this task (its author's role, its type, an http task's host). The
 * params keep the template; the value is resolved when a thread is given the task (and checked again then).
 */
function refuseUnknownSecrets(secrets: SecretReferences, inputs: NewTask[]) {
  const details: ErrorDetail[] = [];
  const refused: ErrorDetail[] = [];
  inputs.forEach((input, index) => {
    const prefix = inputs.length > 1 ? `tasks[${index}].` : "";
    const step = typeof input.metadata?.plan_step === "string" ? `step '${input.metadata.plan_step}': ` : "";
    for (const ref of secrets.missingSecretRefs(input.params)) {
      const why = ref.unreadable ? `secret '${ref.name}' cannot be decrypted with this server's secrets key` : `unknown secret '${ref.name}'`;
      details.push({ field: `${prefix}params.${ref.path}`, message: `${step}${why}` });
    }
    if (getTaskType(input.task_type)?.kind === "parent") return;
    for (const ref of secrets.refusedSecretUses(input.params, { userId: input.created_by ?? null, taskType: input.task_type })) {
      refused.push({ field: `${prefix}params.${ref.path}`, message: `${step}${ref.message}` });
    }
  });
  const summary = (list: ErrorDetail[]) => `${list[0]!.field}: ${list[0]!.message}${list.length > 1 ? ` (and ${list.length - 1} more)` : ""}`;
  if (details.length > 0) throw invalid(summary(details), details);
  if (refused.length > 0) throw new AppError(403, "forbidden", summary(refused), refused);
}
