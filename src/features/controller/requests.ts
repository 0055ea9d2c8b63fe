// Questions running tasks asked (worker_requests): one function per statement. Every resolution is one
// guarded UPDATE … WHERE status = 'open', so an answer and a deadline racing each other end exactly one way.
import type { Db } from "../../db/client.ts";
import type { AnsweredBy, OnTimeoutAction, PolicyAction, RequestHandler, RequestStatus } from "../../db/schema.ts";
import { iso } from "../../engine/task-record.ts";
import type { AskAnswer } from "../../task-types/types.ts";

export interface RequestRow {
  id: string;
  task_id: string;
  execution_id: string | null;
  request_key: string | null;
  category: string | null;
  question: string;
  options: string;
  context: string | null;
  status: RequestStatus;
  handler: RequestHandler;
  policy_id: string | null;
  policy_name: string | null;
  route_action: PolicyAction;
  route_reason: string | null;
  escalation_reason: string | null;
  deadline_at: number | null;
  on_timeout: OnTimeoutAction;
  on_timeout_answer: string | null;
  answer: string | null;
  denied: number;
  answered_by_type: AnsweredBy | null;
  answered_by_id: string | null;
  llm: string | null;
  context_used: string | null;
  created_at: number;
  updated_at: number;
  resolved_at: number | null;
}

/** A request as the API shows it (DESIGN: WorkerRequest). */
export interface RequestJson {
  id: string;
  task_id: string;
  execution_id: string | null;
  key: string | null;
  status: RequestStatus;
  question: string;
  options: string[];
  category: string | null;
  context: unknown;
  /** Who it is with now: the LLM (`automated`), a person (`human`), or nobody (resolved at once). */
  handler: RequestHandler;
  route: { policy_id: string | null; policy_name: string | null; action: PolicyAction; reason: string | null; on_timeout: OnTimeoutAction; on_timeout_answer: string | null };
  escalation_reason: string | null;
  deadline_at: string | null;
  answer: string | null;
  /** The policy (or its deadline) said no. */
  denied: boolean;
  answered_by: { type: AnsweredBy; id: string | null } | null;
  llm: Record<string, unknown> | null;
  context_used: unknown;
  created_at: string;
  updated_at: string;
  resolved_at: string | null;
}

export function toRequestJson(r: RequestRow): RequestJson {
  return {
    id: r.id,
    task_id: r.task_id,
    execution_id: r.execution_id,
    key: r.request_key,
    status: r.status,
    question: r.question,
    options: JSON.parse(r.options) as string[],
    category: r.category,
    context: r.context == null ? null : JSON.parse(r.context),
    handler: r.handler,
    route: { policy_id: r.policy_id, policy_name: r.policy_name, action: r.route_action, reason: r.route_reason, on_timeout: r.on_timeout, on_timeout_answer: r.on_timeout_answer },
    escalation_reason: r.escalation_reason,
    deadline_at: iso(r.deadline_at),
    answer: r.answer,
    denied: r.denied === 1,
    answered_by: r.answered_by_type ? { type: r.answered_by_type, id: r.answered_by_id } : null,
    llm: r.llm == null ? null : (JSON.parse(r.llm) as Record<string, unknown>),
    context_used: r.context_used == null ? null : JSON.parse(r.context_used),
    created_at: iso(r.created_at)!,
    updated_at: iso(r.updated_at)!,
    resolved_at: iso(r.resolved_at),
  };
}

/** How a request ended, as the asking task receives it (ctx.ask). */
export function answerOf(r: RequestJson): AskAnswer {
  if (r.status === "open") throw new Error(`request ${r.id} is still open`);
  return { request_id: r.id, status: r.status, answer: r.answer, denied: r.denied, answered_by: r.answered_by };
}

export function getRequestRow(db: Db, id: string): RequestRow | null {
  return db.sqlite.query<RequestRow, [string]>("SELECT * FROM worker_requests WHERE id = ?").get(id);
}

/**
 * The request a task already asked under `key` that still counts — open, answered, or timed out with a
 * resolution (an automatic answer or a denial): asked again, it is reused. One that timed out with nothing
 * (the task failed) or was cancelled is asked afresh.
 */
export function keyedRequest(db: Db, taskId: string, key: string): RequestRow | null {
  return db.sqlite
    .query<RequestRow, [string, string]>(
      `SELECT * FROM worker_requests WHERE task_id = ? AND request_key = ?
          AND (status IN ('open', 'answered') OR (status = 'timed_out' AND (answer IS NOT NULL OR denied = 1)))
        ORDER BY created_at DESC LIMIT 1`,
    )
    .get(taskId, key);
}

export type NewRequestRow = Omit<RequestRow, "updated_at" | "resolved_at" | "llm" | "context_used" | "escalation_reason" | "denied" | "answer" | "answered_by_type" | "answered_by_id"> &
  Partial<Pick<RequestRow, "answer" | "denied" | "answered_by_type" | "answered_by_id" | "resolved_at" | "escalation_reason">>;

export function insertRequest(db: Db, r: NewRequestRow): void {
  db.sqlite
    .query(
      `INSERT INTO worker_requests (id, task_id, execution_id, request_key, category, question, options, context, status, handler,
         policy_id, policy_name, route_action, route_reason, escalation_reason, deadline_at, on_timeout, on_timeout_answer, answer, denied,
         answered_by_type, answered_by_id, created_at, updated_at, resolved_at)
       VALUES ($id, $task_id, $execution_id, $request_key, $category, $question, $options, $context, $status, $handler,
         $policy_id, $policy_name, $route_action, $route_reason, $escalation_reason, $deadline_at, $on_timeout, $on_timeout_answer, $answer, $denied,
         $answered_by_type, $answered_by_id, $created_at, $created_at, $resolved_at)`,
    )
    .run({
      ...r,
      escalation_reason: r.escalation_reason ?? null,
      answer: r.answer ?? null,
      denied: r.denied ?? 0,
      answered_by_type: r.answered_by_type ?? null,
      answered_by_id: r.answered_by_id ?? null,
      resolved_at: r.resolved_at ?? null,
    });
}

export interface Resolution {
  status: Exclude<RequestStatus, "open">;
  answer: string | null;
  denied?: boolean;
  answeredBy: { type: AnsweredBy; id: string | null } | null;
  /** Only resolve a request still with this handler (the LLM's answer after a human took it over is late). */
  handler?: RequestHandler;
}

/** Resolves an open request; null when it was no longer open (someone or something else won). */
export function resolveRequestRow(db: Db, id: string, r: Resolution, now: number): RequestRow | null {
  return db.sqlite
    .query<RequestRow, Record<string, string | number | null>>(
      `UPDATE worker_requests SET status = $status, answer = $answer, denied = $denied, answered_by_type = $by_type, answered_by_id = $by_id,
              resolved_at = $now, updated_at = $now
        WHERE id = $id AND status = 'open' AND ($handler IS NULL OR handler = $handler) RETURNING *`,
    )
    .get({
      id,
      status: r.status,
      answer: r.answer,
      denied: r.denied ? 1 : 0,
      by_type: r.answeredBy?.type ?? null,
      by_id: r.answeredBy?.id ?? null,
      handler: r.handler ?? null,
      now,
    });
}

/** Moves an open request to another handler with a new deadline (escalation); null when it was no longer open. */
export function handOver(db: Db, id: string, to: { handler: RequestHandler; reason: string; deadlineAt: number | null; onTimeout: OnTimeoutAction; from?: RequestHandler }, now: number): RequestRow | null {
  return db.sqlite
    .query<RequestRow, Record<string, string | number | null>>(
      `UPDATE worker_requests SET handler = $handler, escalation_reason = $reason, deadline_at = $deadline, on_timeout = $on_timeout, updated_at = $now
        WHERE id = $id AND status = 'open' AND ($from IS NULL OR handler = $from) RETURNING *`,
    )
    .get({ id, handler: to.handler, reason: to.reason, deadline: to.deadlineAt, on_timeout: to.onTimeout, from: to.from ?? null, now });
}

/** Records the automated handler's calls (model, tokens, cost, latency, attempts, error) on the request. */
export function recordLlm(db: Db, id: string, llm: Record<string, unknown>, contextUsed: unknown, now: number): void {
  db.sqlite.query("UPDATE worker_requests SET llm = ?, context_used = ?, updated_at = ? WHERE id = ?").run(JSON.stringify(llm), JSON.stringify(contextUsed), now, id);
}

/** Open requests whose deadline has passed, oldest deadline first. */
export function overdueRequests(db: Db, now: number, limit = 500): RequestRow[] {
  return db.sqlite
    .query<RequestRow, [number, number]>("SELECT * FROM worker_requests WHERE status = 'open' AND deadline_at IS NOT NULL AND deadline_at <= ? ORDER BY deadline_at LIMIT ?")
    .all(now, limit);
}

export function nextDeadline(db: Db): number | null {
  return db.sqlite.query<{ at: number | null }, []>("SELECT min(deadline_at) AS at FROM worker_requests WHERE status = 'open'").get()!.at;
}

export function openAutomatedRequests(db: Db): RequestRow[] {
  return db.sqlite.query<RequestRow, []>("SELECT * FROM worker_requests WHERE status = 'open' AND handler = 'automated' ORDER BY created_at").all();
}

/** Cancels a task's open requests (all of them, or only those of one execution that carry no key). */
export function cancelOpenRequests(db: Db, scope: { taskId: string } | { executionId: string; unkeyedOnly: true }, now: number): RequestRow[] {
  if ("taskId" in scope) {
    return db.sqlite
      .query<RequestRow, [number, string]>("UPDATE worker_requests SET status = 'cancelled', resolved_at = ?1, updated_at = ?1 WHERE task_id = ?2 AND status = 'open' RETURNING *")
      .all(now, scope.taskId);
  }
  return db.sqlite
    .query<RequestRow, [number, string]>(
      "UPDATE worker_requests SET status = 'cancelled', resolved_at = ?1, updated_at = ?1 WHERE execution_id = ?2 AND request_key IS NULL AND status = 'open' RETURNING *",
    )
    .all(now, scope.executionId);
}

export function openRequestCount(db: Db, taskId: string): number {
  return db.sqlite.query<{ n: number }, [string]>("SELECT count(*) AS n FROM worker_requests WHERE task_id = ? AND status = 'open'").get(taskId)!.n;
}

export interface ListRequestsFilter {
  status?: RequestStatus[];
  task_id?: string;
  handler?: RequestHandler;
  page: number;
  per_page: number;
}

/** Newest first; open human questions are listed by nearest deadline (the Inbox). */
export function listRequestRows(db: Db, f: ListRequestsFilter): { items: RequestRow[]; total: number } {
  const where: string[] = [];
  const params: Record<string, string | number> = {};
  if (f.status?.length) {
    where.push(`status IN (SELECT value FROM json_each($statuses))`);
    params.statuses = JSON.stringify(f.status);
  }
  if (f.task_id) {
    where.push("task_id = $task");
    params.task = f.task_id;
  }
  if (f.handler) {
    where.push("handler = $handler");
    params.handler = f.handler;
  }
  const clause = where.length ? `WHERE ${where.join(" AND ")}` : "";
  const order = f.status?.length === 1 && f.status[0] === "open" ? "coalesce(deadline_at, 9e15), created_at" : "created_at DESC, id DESC";
  const items = db.sqlite
    .query<RequestRow, Record<string, string | number>>(`SELECT * FROM worker_requests ${clause} ORDER BY ${order} LIMIT $limit OFFSET $offset`)
    .all({ ...params, limit: f.per_page, offset: (f.page - 1) * f.per_page });
  const total = db.sqlite.query<{ n: number }, Record<string, string | number>>(`SELECT count(*) AS n FROM worker_requests ${clause}`).get(params)!.n;
  return { items, total };
}

/** Open questions waiting for a person: the nav badge and the dashboard's "waiting for you". */
export function waitingForHumans(db: Db): number {
  return db.sqlite.query<{ n: number }, []>("SELECT count(*) AS n FROM worker_requests WHERE status = 'open' AND handler = 'human'").get()!.n;
}
