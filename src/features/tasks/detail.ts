// What the task page shows besides the task: its relatives (dependencies, dependants, parent,
// children), its executions, the questions it asked, and the tail of one execution's log.
import { agentPanel, type AgentPanel } from "../agents/panel-data.ts";
import { whyNoWorker } from "../workers/service.ts";
import type { Db } from "../../db/client.ts";
import type { TaskStatus } from "../../db/schema.ts";
import type { EngineDeps } from "../../engine/engine-deps.ts";
import type { LogLine, TaskLogger } from "../../engine/task-logger.ts";
import type { TaskJson } from "../../engine/task-record.ts";
import { notFound } from "../../errors.ts";
import { taskQuestions, type DraftOf, type TaskQuestions } from "../controller/inbox-data.ts";
import { getExecution, listExecutions } from "../executions/service.ts";
import { getTask } from "./service.ts";

export interface TaskRef {
  id: string;
  title: string;
  status: TaskStatus;
  task_type: string;
  metadata?: Record<string, unknown> | null;
}

export type ExecutionView = ReturnType<typeof listExecutions>["items"][number];

export interface TaskDetail {
  task: TaskJson;
  dependencies: TaskRef[];
  dependants: TaskRef[];
  parent: TaskRef | null;
  children: TaskRef[];
  childrenTotal: number;
  executions: ExecutionView[];
  /** A queued task no worker can take now: why (nobody online, or nobody with its capabilities). */
  waitingFor: string | null;
  /** The questions it asked (the open one answered in place), and whether the viewer may answer. */
  questions: TaskQuestions & { canAnswer: boolean };
  /** A coding agent's work (its transcript, spend, outcome); null for other task types. */
  agent: AgentPanel | null;
}

/** How the page is seen: the streaming answers to show, and whether the viewer may answer questions. */
export interface DetailView {
  draftOf?: DraftOf;
  canAnswer?: boolean;
}

const MAX_CHILDREN = 200;

function refs(db: Db, ids: string[]): TaskRef[] {
  if (ids.length === 0) return [];
  const rows = db.sqlite
    .query<TaskRef, [string]>("SELECT id, title, status, task_type FROM tasks WHERE id IN (SELECT value FROM json_each(?))")
    .all(JSON.stringify(ids));
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id)).filter((r): r is TaskRef => r !== undefined);
}

export function taskDetail(deps: EngineDeps, id: string, view: DetailView = {}): TaskDetail {
  const { db } = deps;
  const task = getTask(deps, id);
  const dependants = db.sqlite
    .query<TaskRef, [string]>(
      `SELECT t.id, t.title, t.status, t.task_type FROM task_dependencies d JOIN tasks t ON t.id = d.task_id
        WHERE d.depends_on_id = ? ORDER BY t.created_at LIMIT 200`,
    )
    .all(id);
  const children = db.sqlite
    .query<TaskRef & { metadata: string | null }, [string, number]>(
      "SELECT id, title, status, task_type, metadata FROM tasks WHERE parent_task_id = ? ORDER BY created_at, id LIMIT ?",
    )
    .all(id, MAX_CHILDREN)
    .map((r) => ({ ...r, metadata: r.metadata ? (JSON.parse(r.metadata) as Record<string, unknown>) : null }));
  const childrenTotal =
    children.length < MAX_CHILDREN
      ? children.length
      : (db.sqlite.query<{ n: number }, [string]>("SELECT count(*) AS n FROM tasks WHERE parent_task_id = ?").get(id)?.n ?? 0);
  return {
    task,
    dependencies: refs(db, task.depends_on),
    dependants,
    parent: task.parent_task_id ? (refs(db, [task.parent_task_id])[0] ?? null) : null,
    children,
    childrenTotal,
    executions: listExecutions(db, { task_id: id, page: 1, per_page: 50 }).items,
    waitingFor: task.status === "queued" ? whyNoWorker(deps, task.requires) : null,
    questions: { ...taskQuestions(db, id, view.draftOf), canAnswer: view.canAnswer ?? false },
    agent: agentPanel(db, id),
  };
}

export interface LogTail {
  executionId: string | null;
  attempt: number | null;
  running: boolean;
  lines: LogLine[];
  skipped: number;
}

/** The last `n` lines of an execution (the one asked for if it belongs to the task, else the latest). */
export function logTail(deps: EngineDeps, logger: TaskLogger, taskId: string, executionId: string | undefined, n = 500): LogTail {
  const { db } = deps;
  let execution: { id: string; attempt: number; status: string; task_id: string } | undefined;
  if (executionId) {
    execution = getExecution(db, logger, executionId);
    if (execution.task_id !== taskId) throw notFound("execution", executionId);
  } else {
    execution =
      db.sqlite
        .query<{ id: string; attempt: number; status: string; task_id: string }, [string]>(
          "SELECT id, attempt, status, task_id FROM executions WHERE task_id = ? ORDER BY started_at DESC, id DESC LIMIT 1",
        )
        .get(taskId) ?? undefined;
  }
  if (!execution) return { executionId: null, attempt: null, running: false, lines: [], skipped: 0 };
  logger.flush();
  const rows = db.sqlite
    .query<LogLine & { metadata: string | null }, [string, number]>(
      "SELECT execution_id, seq, level, message, metadata, ts FROM execution_logs WHERE execution_id = ? ORDER BY seq DESC LIMIT ?",
    )
    .all(execution.id, n)
    .reverse();
  const lines = rows.map((r) => ({ ...r, metadata: r.metadata ? (JSON.parse(r.metadata) as Record<string, unknown>) : null }));
  return {
    executionId: execution.id,
    attempt: execution.attempt,
    running: execution.status === "running",
    lines,
    skipped: lines.length > 0 ? lines[0]!.seq - 1 : 0,
  };
}
