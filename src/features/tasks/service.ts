// Tasks: submit (params checked against the type's schema), list, read, edit, delete, wait.
import { and, asc, count, desc, eq, gte, inArray, lt, sql, type SQL } from "drizzle-orm";
import { tasks, TERMINAL_TASK_STATUSES, type TaskStatus } from "../../db/schema.ts";
import { cancelTask, retryTask } from "../../engine/control.ts";
import { type EngineDeps } from "../../engine/engine-deps.ts";
import { submitTasks, type NewTask } from "../../engine/submit.ts";
import type { SubmitBatcher } from "../../engine/submit-batcher.ts";
import {
  dependenciesOfMany,
  getTaskRecord,
  parseTaskRow,
  PRIORITY_QUEUE,
  taskToJson,
  type TaskJson,
  type TaskRecord,
} from "../../engine/task-record.ts";
import { AppError, invalid, notFound, zodDetails } from "../../errors.ts";
import { requeueWithPriority } from "../../queue/work-orders.ts";
import { getTaskType, TASK_TYPES } from "../../task-types/index.ts";
import { missingNeeds, type TaskType } from "../../task-types/types.ts";
import { assertMayRun, audited, type Acting } from "../audit/service.ts";
import type { CreateTaskBody, EnqueueBody, ListTasksQuery, TaskSort, UpdateTaskBody } from "./schemas.ts";

export interface TaskDefaults {
  timeoutSeconds: number;
  maxRetries: number;
}

/** Checks the type exists and its params fit; returns the params with the type's defaults applied. */
export function validateTaskParams(taskType: string, params: unknown, fieldPrefix = ""): Record<string, unknown> {
  const type = getTaskType(taskType);
  if (!type) {
    const known = [...TASK_TYPES.keys()].join(", ");
    throw invalid(`unknown task type '${taskType}'`, [{ field: `${fieldPrefix}task_type`, message: `unknown task type; known types: ${known}` }]);
  }
  if (type.kind === "parent") {
    throw invalid(`tasks of type '${taskType}' cannot be submitted directly`, [
      { field: `${fieldPrefix}task_type`, message: `'${taskType}' tasks are created by running a plan: POST /api/v1/plans/:id/run` },
    ]);
  }
  const parsed = type.params.safeParse(params);
  if (!parsed.success) {
    const details = zodDetails(parsed.error, `${fieldPrefix}params`);
    const summary = details.slice(0, 3).map((d) => `${d.field}: ${d.message}`).join("; ");
    throw invalid(`params do not fit task type '${taskType}': ${summary}`, details);
  }
  return parsed.data as Record<string, unknown>;
}

export function toNewTask(body: CreateTaskBody, defaults: TaskDefaults, createdBy: string | null = null, correlationId?: string): NewTask {
  const { expires_at, ...rest } = body;
  return {
    ...rest,
    params: validateTaskParams(body.task_type, body.params),
    timeout_seconds: body.timeout_seconds ?? defaults.timeoutSeconds,
    max_retries: body.max_retries ?? defaults.maxRetries,
    expires_at: expires_at ? Date.parse(expires_at) : null,
    created_by: createdBy,
    ...(correlationId ? { correlation_id: correlationId } : {}),
  };
}

/** Validates and submits one task; concurrent submissions share one commit (resolves after it). */
export async function createTask(submitter: SubmitBatcher, deps: EngineDeps, body: CreateTaskBody, defaults: TaskDefaults, acting?: Acting): Promise<TaskJson> {
  const type = getTaskType(body.task_type);
  assertMayRun(acting, body.task_type, type?.runsOnHost === true);
  assertHasWhatItNeeds(body, type?.needs);
  const task = await submitter.submit(toNewTask(body, defaults, acting?.userId ?? null, acting?.correlationId), (id) =>
    audited(deps, acting, "task.created", { type: "task", id }, { title: body.title, task_type: body.task_type }),
  );
  return withConversation(deps, taskToJson(task, [...new Set(body.depends_on ?? [])]));
}

/** A coding agent without a repository would only fail when it starts: refuse it now, naming the field. */
function assertHasWhatItNeeds(body: CreateTaskBody, needs: TaskType["needs"]) {
  const missing = missingNeeds(needs, body);
  if (missing.length === 0) return;
  throw invalid(
    `a ${body.task_type} task needs ${missing.join(" and ")}`,
    missing.map((field) => ({ field, message: field === "repository_url" ? "required for this type: a local path, file://, https or ssh URL of the repository" : "required for this type: the branch to work on", code: "required" })),
  );
}

/** Cancels the task (and its subtasks) on someone's behalf: the audit record commits with the change. */
export function cancelTaskAs(deps: EngineDeps, id: string, acting?: Acting): TaskRecord {
  return cancelTask(deps, id, undefined, () => audited(deps, acting, "task.cancelled", { type: "task", id }));
}

/** Queues a finished task again on someone's behalf, audited in the same transaction. */
export function retryTaskAs(deps: EngineDeps, id: string, acting?: Acting): TaskRecord {
  return retryTask(deps, id, () => audited(deps, acting, "task.retried", { type: "task", id }));
}

/** A task's conversation (made with it): where its questions, answers and status changes are, and where to steer it. */
function withConversation(deps: EngineDeps, task: TaskJson): TaskJson & { conversation_id: string | null } {
  const conversation = deps.db.sqlite.query<{ id: string }, [string]>("SELECT id FROM conversations WHERE task_id = ?").get(task.id);
  return { ...task, conversation_id: conversation?.id ?? null };
}

/**
 * A task as the API shows it — its row, what it depends on (in the order given) and its conversation — in
 * one statement: GET /tasks/:id is the hottest read, and three statements cost it a third of its time.
 */
export function getTask(deps: EngineDeps, id: string): TaskJson & { conversation_id: string | null } {
  const row = deps.db.sqlite
    .query<Record<string, any> & { _depends_on: string; _conversation_id: string | null }, [string]>(
      `SELECT t.*,
              (SELECT json_group_array(depends_on_id) FROM (SELECT depends_on_id FROM task_dependencies WHERE task_id = t.id ORDER BY rowid)) AS _depends_on,
              (SELECT c.id FROM conversations c WHERE c.task_id = t.id) AS _conversation_id
         FROM tasks t WHERE t.id = ?`,
    )
    .get(id);
  if (!row) throw notFound("task", id);
  const { _depends_on: dependsOn, _conversation_id: conversationId, ...columns } = row;
  return { ...taskToJson(parseTaskRow(columns), JSON.parse(dependsOn) as string[]), conversation_id: conversationId };
}

const PRIORITY_RANK = sql`CASE ${tasks.priority} WHEN 'high' THEN 0 WHEN 'default' THEN 1 ELSE 2 END`;
/** How long the task ran (its last run: first start to finish); unfinished ones sort last. */
const DURATION = sql`(${tasks.finished_at} - ${tasks.started_at})`;

/** ORDER BY of a sort: the column, then the id so pages never overlap. */
function orderOf(sort: TaskSort): SQL[] {
  const descending = sort.startsWith("-");
  const key = (descending ? sort.slice(1) : sort) as Exclude<TaskSort, `-${string}`>;
  const dir = descending ? desc : asc;
  switch (key) {
    case "duration":
      return [sql`${DURATION} IS NULL`, descending ? sql`${DURATION} DESC` : sql`${DURATION} ASC`, dir(tasks.id)];
    case "priority":
      // "Descending priority" is high first.
      return [descending ? sql`${PRIORITY_RANK} ASC` : sql`${PRIORITY_RANK} DESC`, desc(tasks.created_at), dir(tasks.id)];
    case "title":
      return [descending ? sql`${tasks.title} COLLATE NOCASE DESC` : sql`${tasks.title} COLLATE NOCASE ASC`, dir(tasks.id)];
    default:
      return [dir(tasks[key]), dir(tasks.id)];
  }
}

export function listTasks(deps: EngineDeps, q: Omit<ListTasksQuery, "sort"> & { sort?: TaskSort }) {
  const filters: (SQL | undefined)[] = [
    q.status ? inArray(tasks.status, q.status) : undefined,
    q.task_type ? eq(tasks.task_type, q.task_type) : undefined,
    q.priority ? eq(tasks.priority, q.priority) : undefined,
    q.permission_level ? eq(tasks.permission_level, q.permission_level) : undefined,
    q.parent_task_id ? eq(tasks.parent_task_id, q.parent_task_id) : undefined,
    q.correlation_id ? eq(tasks.correlation_id, q.correlation_id) : undefined,
  ];
  if (q.q) {
    const pattern = `%${q.q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
    filters.push(sql`(${tasks.title} LIKE ${pattern} ESCAPE '\\' OR ${tasks.description} LIKE ${pattern} ESCAPE '\\')`);
  }
  // A short id as the pages show it: the id itself, or one starting or ending with it (no wildcards in it: checked).
  if (q.id) filters.push(sql`(${tasks.id} = ${q.id} OR ${tasks.id} LIKE ${`${q.id}%`} OR ${tasks.id} LIKE ${`%${q.id}`})`);
  if (q.created_after) filters.push(gte(tasks.created_at, Date.parse(q.created_after)));
  if (q.created_before) filters.push(lt(tasks.created_at, Date.parse(q.created_before)));
  const where = and(...filters);
  const orm = deps.db.orm;
  const rows = orm
    .select()
    .from(tasks)
    .where(where)
    .orderBy(...orderOf(q.sort ?? "-created_at"))
    .limit(q.per_page)
    .offset((q.page - 1) * q.per_page)
    .all();
  const total = orm.select({ n: count() }).from(tasks).where(where).get()?.n ?? 0;
  const depsMap = dependenciesOfMany(deps.db, rows.map((r) => r.id));
  return {
    items: rows.map((r) => taskToJson(r as unknown as TaskRecord, depsMap.get(r.id) ?? [])),
    total,
    page: q.page,
    per_page: q.per_page,
  };
}

const COLUMN_OF: Record<keyof UpdateTaskBody, string> = {
  title: "title",
  description: "description",
  priority: "priority",
  repository_url: "repository_url",
  branch_name: "branch_name",
  issue_number: "issue_number",
  pr_number: "pr_number",
  context: "context",
  metadata: "metadata",
  assigned_to: "assigned_to",
};

export function updateTask(deps: EngineDeps, id: string, patch: UpdateTaskBody): TaskJson {
  const { db } = deps;
  const at = (deps.clock ?? Date.now)();
  const task = db.sqlite
    .transaction(() => {
      const current = getTaskRecord(db, id);
      if (!current) throw notFound("task", id);
      const sets: string[] = [];
      const values: Record<string, string | number | null> = { id, now: at };
      for (const [key, value] of Object.entries(patch) as [keyof UpdateTaskBody, unknown][]) {
        if (value === undefined) continue;
        const column = COLUMN_OF[key];
        sets.push(`${column} = $${column}`);
        values[column] = key === "context" || key === "metadata" ? (value === null ? null : JSON.stringify(value)) : (value as string | number | null);
      }
      db.sqlite.query(`UPDATE tasks SET ${sets.join(", ")}, updated_at = $now WHERE id = $id`).run(values);
      if (patch.priority && patch.priority !== current.priority) {
        requeueWithPriority(db, id, PRIORITY_QUEUE[patch.priority], at);
      }
      return getTaskRecord(db, id)!;
    })
    .immediate();
  deps.bus.emit("task:updated", { taskId: id, at });
  return getTask(deps, task.id);
}

export const isTerminal = (status: TaskStatus) => TERMINAL_TASK_STATUSES.includes(status);

/**
 * Resolves when the task reaches a terminal status, or after `timeoutMs` with its current state.
 * One bus subscription serves every waiter.
 */
export class TaskWaiters {
  #waiters = new Map<string, Set<() => void>>();
  #off: () => void;

  constructor(private readonly deps: EngineDeps) {
    this.#off = deps.bus.on("task:changed", (e) => {
      if (!isTerminal(e.status)) return;
      const set = this.#waiters.get(e.taskId);
      if (!set) return;
      this.#waiters.delete(e.taskId);
      for (const fn of set) fn();
    });
  }

  async wait(id: string, timeoutMs: number, signal?: AbortSignal): Promise<TaskJson> {
    const first = getTask(this.deps, id);
    if (isTerminal(first.status) || timeoutMs <= 0) return first;
    await new Promise<void>((resolve) => {
      let set = this.#waiters.get(id);
      if (!set) this.#waiters.set(id, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        set!.delete(done);
        if (set!.size === 0 && this.#waiters.get(id) === set) this.#waiters.delete(id);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener("abort", done, { once: true });
      set.add(done);
    });
    return getTask(this.deps, id);
  }

  close() {
    this.#off();
  }
}

/** Submits a batch of tasks in one transaction (all or none), each audited with it. */
export function enqueueTasks(deps: EngineDeps, body: EnqueueBody, defaults: TaskDefaults, acting?: Acting): TaskJson[] {
  const inputs = body.tasks.map((task, i) => {
    assertMayRun(acting, task.task_type, getTaskType(task.task_type)?.runsOnHost === true, `tasks[${i}]: `);
    try {
      return toNewTask(task, defaults, acting?.userId ?? null, acting?.correlationId);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      // Name the task of the batch the error is about.
      const details = err.details.map((d) => ({ ...d, field: d.field ? `tasks[${i}].${d.field}` : `tasks[${i}]` }));
      throw new AppError(err.status, err.code, `tasks[${i}]: ${err.message}`, details);
    }
  });
  const records = submitTasks(deps, inputs, (_tx, ids) =>
    ids.forEach((id, i) => audited(deps, acting, "task.created", { type: "task", id }, { title: body.tasks[i]!.title, task_type: body.tasks[i]!.task_type })),
  );
  return records.map((task, i) => taskToJson(task, [...new Set(body.tasks[i]!.depends_on ?? [])]));
}
