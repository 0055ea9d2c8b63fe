// /api/v1/requests and /api/v1/policies: questions from running tasks (asked by remote workers, waited
// on, answered by people), and the rules that route them, with a dry run.
import { Hono, type Context } from "hono";
import type { Db } from "../../db/client.ts";
import { AppError, notFound } from "../../errors.ts";
import { route } from "../../http/openapi.ts";
import { listOf } from "../../http/pagination.ts";
import { iso } from "../../engine/task-record.ts";
import { actingOf } from "../auth/request.ts";
import { createPolicy, deletePolicy, getPolicy, listPolicies, reorderPolicies, updatePolicy, type Policy } from "./policies.ts";
import { getRequestRow, listRequestRows, toRequestJson } from "./requests.ts";
import { CreateRequestBody, DryRunBody, DryRunOut, ListRequestsQuery, PoliciesOut, PolicyBody, PolicyOut, ReorderBody, RequestOut, RequestWaitQuery, RespondBody } from "./schemas.ts";

const tags = ["controller"];

export const policyJson = (p: Policy) => ({ ...p, created_at: iso(p.created_at)!, updated_at: iso(p.updated_at)! });

const create = route({
  method: "post",
  path: "/requests",
  access: "worker",
  summary: "Ask a question for a running task (remote workers; the worker CLI does it for the task)",
  description:
    "Routes the question by policy (first matching enabled rule, else the default rule) and answers 201 with the request: " +
    "already `answered` when the policy auto-approves or denies, or when `key` was answered before; else `open` with its handler. " +
    "With a worker key, `execution_id` must be an attempt running on a worker of that key. 409 when the task is not running.",
  tags,
  body: CreateRequestBody,
  responses: { 201: RequestOut },
});
const list = route({ method: "get", path: "/requests", access: "viewer", summary: "List questions (open ones by nearest deadline)", tags, query: ListRequestsQuery, responses: { 200: listOf(RequestOut) } });
const get = route({ method: "get", path: "/requests/:id", access: "viewer_or_worker", summary: "Get a question", tags, responses: { 200: RequestOut } });
const wait = route({
  method: "get",
  path: "/requests/:id/wait",
  access: "viewer_or_worker",
  summary: "Long-poll until the question is resolved (answered, timed out or cancelled)",
  description: "Answers the moment it is resolved, or after `timeout` seconds (max 300) with the request as it is.",
  tags,
  query: RequestWaitQuery,
  responses: { 200: RequestOut },
});
const respond = route({
  method: "post",
  path: "/requests/:id/respond",
  access: "operator",
  summary: "Answer an open question",
  description: "An option's text when the question has options (400 otherwise). 409 naming what happened when it is no longer open (answered, timed out, cancelled).",
  tags,
  body: RespondBody,
  responses: { 200: RequestOut },
});
const cancel = route({ method: "post", path: "/requests/:id/cancel", access: "admin", summary: "Withdraw an open question (the task's ask ends cancelled)", tags, responses: { 200: RequestOut } });

const policies = route({ method: "get", path: "/policies", access: "viewer", summary: "The routing rules, in the order they are tried", tags, responses: { 200: PoliciesOut } });
const policy = route({ method: "get", path: "/policies/:id", access: "viewer", summary: "A routing rule (by id or name)", tags, responses: { 200: PolicyOut } });
const createP = route({ method: "post", path: "/policies", access: "admin", summary: "Add a rule", tags, body: PolicyBody, responses: { 201: PolicyOut } });
const updateP = route({ method: "put", path: "/policies/:id", access: "admin", summary: "Replace a rule (a new version, in the audit log)", tags, body: PolicyBody, responses: { 200: PolicyOut } });
const deleteP = route({ method: "delete", path: "/policies/:id", access: "admin", summary: "Delete a rule (not the default one)", tags, responses: { 204: "Deleted" } });
const reorder = route({ method: "post", path: "/policies/reorder", access: "admin", summary: "Set the order the rules are tried in", tags, body: ReorderBody, responses: { 200: PoliciesOut } });
const dryRun = route({
  method: "post",
  path: "/policies/dry-run",
  access: "viewer",
  summary: "Which rule a sample question would match, and why",
  tags,
  body: DryRunBody,
  responses: { 200: DryRunOut },
});

/** A worker key may only see the questions of attempts that ran on its workers. */
function assertWorkerMaySee(c: Context, db: Db, requestId: string) {
  const p = c.get("principal");
  if (!(p?.kind === "api_key" && p.scope === "worker")) return;
  const row = db.sqlite
    .query<{ ok: number }, [string, string]>(
      `SELECT 1 AS ok FROM worker_requests r JOIN executions e ON e.id = r.execution_id JOIN workers w ON w.id = e.worker_id
        WHERE r.id = ? AND w.registered_by = ?`,
    )
    .get(requestId, p.keyId ?? "");
  if (!row) throw notFound("request", requestId);
}

/** With a worker key, the asking attempt must be running on a worker that key registered. */
function assertWorkerHolds(c: Context, db: Db, taskId: string, executionId: string | undefined) {
  const p = c.get("principal");
  if (!(p?.kind === "api_key" && p.scope === "worker")) return;
  if (!executionId) throw new AppError(400, "validation_failed", "execution_id is required with a worker key", [{ field: "execution_id", message: "the attempt that asks" }]);
  const held = db.sqlite
    .query<{ ok: number }, [string, string, string]>(
      `SELECT 1 AS ok FROM executions e JOIN workers w ON w.id = e.worker_id
        WHERE e.id = ? AND e.task_id = ? AND e.status = 'running' AND w.registered_by = ?`,
    )
    .get(executionId, taskId, p.keyId ?? "");
  if (!held) throw new AppError(409, "conflict", `execution '${executionId}' of task '${taskId}' is not running on a worker of this key`);
}

export const controllerApi = new Hono()
  .post(create.spec.path, ...create.json, (c) => {
    const body = c.req.valid("json");
    const db = c.get("deps").db;
    assertWorkerHolds(c, db, body.task_id, body.execution_id);
    const { task_id, execution_id, id, ...input } = body;
    return c.json(c.get("controller").ask(task_id, execution_id ?? null, input, id), 201);
  })
  .get(list.spec.path, list.query, (c) => {
    const q = c.req.valid("query");
    const { items, total } = listRequestRows(c.get("deps").db, q);
    return c.json({ items: items.map(toRequestJson), total, page: q.page, per_page: q.per_page });
  })
  .get(wait.spec.path, wait.query, async (c) => {
    const id = c.req.param("id");
    assertWorkerMaySee(c, c.get("deps").db, id);
    const { timeout } = c.req.valid("query");
    if (timeout > 0) c.get("holdOpen")();
    return c.json(await c.get("controller").wait(id, timeout * 1000, c.req.raw.signal));
  })
  .get(get.spec.path, (c) => {
    const id = c.req.param("id");
    assertWorkerMaySee(c, c.get("deps").db, id);
    const row = getRequestRow(c.get("deps").db, id);
    if (!row) throw notFound("request", id);
    return c.json(toRequestJson(row));
  })
  .post(respond.spec.path, ...respond.json, (c) => c.json(c.get("controller").respond(c.req.param("id"), c.req.valid("json").answer, actingOf(c))))
  .post(cancel.spec.path, (c) => c.json(c.get("controller").cancel(c.req.param("id"), actingOf(c))))
  .get(policies.spec.path, (c) => c.json({ items: listPolicies(c.get("deps")).map(policyJson) }))
  .post(reorder.spec.path, ...reorder.json, (c) => c.json({ items: reorderPolicies(c.get("deps"), c.req.valid("json").order, actingOf(c)).map(policyJson) }))
  .post(dryRun.spec.path, ...dryRun.json, (c) => {
    const body = c.req.valid("json");
    const decision = c.get("controller").dryRun({ ...body, category: body.category ?? null, repository_url: body.repository_url ?? null });
    return c.json({
      policy: policyJson(decision.policy),
      reasons: decision.reasons,
      skipped: decision.skipped.map((s) => ({ policy_id: s.policy.id, name: s.policy.name, why: s.why })),
    });
  })
  .get(policy.spec.path, (c) => c.json(policyJson(getPolicy(c.get("deps"), c.req.param("id")))))
  .post(createP.spec.path, ...createP.json, (c) => c.json(policyJson(createPolicy(c.get("deps"), c.req.valid("json"), actingOf(c))), 201))
  .put(updateP.spec.path, ...updateP.json, (c) => c.json(policyJson(updatePolicy(c.get("deps"), c.req.param("id"), c.req.valid("json"), actingOf(c)))))
  .delete(deleteP.spec.path, (c) => {
    deletePolicy(c.get("deps"), c.req.param("id"), actingOf(c));
    return c.body(null, 204);
  });
