// What the question pages show: each question with its task (title, repository, permission level) and
// who or what resolved it in words — for the Inbox (waiting for a person, with the model now, recently
// resolved), the nav badge and a task's page (its open question and its earlier ones).
import type { Db } from "../../db/client.ts";
import type { PermissionLevel, TaskStatus } from "../../db/schema.ts";
import { listRequestRows, toRequestJson, waitingForHumans, type RequestJson, type RequestRow } from "./requests.ts";

export interface QuestionTask {
  id: string;
  title: string;
  status: TaskStatus;
  task_type: string;
  repository_url: string | null;
  permission_level: PermissionLevel;
}

export interface QuestionView {
  request: RequestJson;
  /** Null when the task is gone (its questions go with it, but a read may race the delete). */
  task: QuestionTask | null;
  /** Who or what resolved it, in words ("alice", "the model (claude-…)", "the deadline: auto-answered"); null while open. */
  resolvedBy: string | null;
  /** The model's answer so far, while it streams (automated questions). */
  draft: string;
}

/** The text of a streaming answer, by request id (the AnswerDrafts of the app; absent: none shown). */
export type DraftOf = (requestId: string) => string;

const RESOLVED_LIMIT = 20;
export const INBOX_LIMIT = 100;

function tasksByIds(db: Db, ids: string[]): Map<string, QuestionTask> {
  if (ids.length === 0) return new Map();
  const rows = db.sqlite
    .query<QuestionTask, [string]>(
      "SELECT id, title, status, task_type, repository_url, permission_level FROM tasks WHERE id IN (SELECT value FROM json_each(?))",
    )
    .all(JSON.stringify([...new Set(ids)]));
  return new Map(rows.map((t) => [t.id, t]));
}

function usernamesByIds(db: Db, ids: string[]): Map<string, string> {
  if (ids.length === 0) return new Map();
  const rows = db.sqlite
    .query<{ id: string; username: string }, [string]>("SELECT id, username FROM users WHERE id IN (SELECT value FROM json_each(?))")
    .all(JSON.stringify([...new Set(ids)]));
  return new Map(rows.map((u) => [u.id, u.username]));
}

const ON_TIMEOUT_DONE: Record<string, string> = {
  auto_answer: "answered automatically",
  deny: "denied",
  fail_task: "the task was failed",
  escalate: "escalated",
};

/** Who or what resolved a question, for people. */
export function resolvedByText(r: RequestJson, username: (id: string) => string | undefined): string | null {
  if (r.status === "open") return null;
  if (r.status === "cancelled") return "nobody: it was cancelled (its task or attempt ended)";
  const by = r.answered_by;
  if (!by) return null;
  switch (by.type) {
    case "human":
      return by.id ? (username(by.id) ?? `user ${by.id.slice(-8)}`) : "a person";
    case "automated":
      return r.denied ? `its policy “${r.route.policy_name ?? "default"}” (denied)` : `the model${by.id ? ` (${by.id})` : ""}`;
    case "auto_approve":
      return `auto-approve (policy “${r.route.policy_name ?? "default"}”)`;
    case "timeout":
      return `the deadline: ${r.answer != null ? ON_TIMEOUT_DONE.auto_answer : r.denied ? ON_TIMEOUT_DONE.deny : ON_TIMEOUT_DONE.fail_task}`;
  }
}

function views(db: Db, rows: RequestRow[], draftOf?: DraftOf): QuestionView[] {
  const requests = rows.map(toRequestJson);
  const tasks = tasksByIds(db, requests.map((r) => r.task_id));
  const humans = requests.filter((r) => r.answered_by?.type === "human" && r.answered_by.id).map((r) => r.answered_by!.id!);
  const names = usernamesByIds(db, humans);
  return requests.map((request) => ({
    request,
    task: tasks.get(request.task_id) ?? null,
    resolvedBy: resolvedByText(request, (id) => names.get(id)),
    draft: request.status === "open" && request.handler === "automated" && draftOf ? draftOf(request.id) : "",
  }));
}

function recentlyResolvedRows(db: Db, limit: number): RequestRow[] {
  return db.sqlite
    .query<RequestRow, [number]>("SELECT * FROM worker_requests WHERE status <> 'open' ORDER BY resolved_at DESC, id DESC LIMIT ?")
    .all(limit);
}

export interface InboxData {
  /** Open questions a person answers, nearest deadline first. */
  human: QuestionView[];
  humanTotal: number;
  /** Open questions the model is answering now. */
  automated: QuestionView[];
  automatedTotal: number;
  /** The last questions resolved, newest first, with who or what resolved them. */
  resolved: QuestionView[];
}

export function humanQuestions(db: Db): { items: QuestionView[]; total: number } {
  const { items, total } = listRequestRows(db, { status: ["open"], handler: "human", page: 1, per_page: INBOX_LIMIT });
  return { items: views(db, items), total };
}

export function automatedQuestions(db: Db, draftOf?: DraftOf): { items: QuestionView[]; total: number } {
  const { items, total } = listRequestRows(db, { status: ["open"], handler: "automated", page: 1, per_page: INBOX_LIMIT });
  return { items: views(db, items, draftOf), total };
}

export function resolvedQuestions(db: Db, limit = RESOLVED_LIMIT): QuestionView[] {
  return views(db, recentlyResolvedRows(db, limit));
}

export function inboxData(db: Db, draftOf?: DraftOf): InboxData {
  const human = humanQuestions(db);
  const automated = automatedQuestions(db, draftOf);
  return { human: human.items, humanTotal: human.total, automated: automated.items, automatedTotal: automated.total, resolved: resolvedQuestions(db) };
}

export interface TaskQuestions {
  taskId: string;
  /** Open ones (a task waits on one at a time; a remote worker's resend may briefly make two). */
  open: QuestionView[];
  /** Resolved ones, newest first. */
  earlier: QuestionView[];
}

/** A task's questions for its page: the open one to answer in place, and the earlier ones with their resolutions. */
export function taskQuestions(db: Db, taskId: string, draftOf?: DraftOf): TaskQuestions {
  const { items } = listRequestRows(db, { task_id: taskId, page: 1, per_page: 50 });
  const all = views(db, items, draftOf);
  return { taskId, open: all.filter((q) => q.request.status === "open"), earlier: all.filter((q) => q.request.status !== "open") };
}

/** One question with its task (an answer box shown again with its error). */
export function questionView(db: Db, row: RequestRow, draftOf?: DraftOf): QuestionView {
  return views(db, [row], draftOf)[0]!;
}

export { waitingForHumans };
