// /api/v1/tasks/:id/steps, /pause, /resume: a coding agent's transcript (every note, model call with its
// tokens and cost, tool call with its result), and stopping it between steps and letting it go on.
import { Hono } from "hono";
import { z } from "zod";
import { getTaskRecord } from "../../engine/task-record.ts";
import { conflict, notFound } from "../../errors.ts";
import { route } from "../../http/openapi.ts";
import { audited } from "../audit/service.ts";
import { actingOf } from "../auth/request.ts";
import { listSteps, toStepJson, usageOf } from "./steps.ts";

const tags = ["agents"];
const AGENT_TYPES = new Set(["feature", "bugfix", "test", "docs"]);

const StepOut = z.object({
  seq: z.number(),
  kind: z.enum(["note", "model", "tool"]),
  name: z.string().nullable(),
  execution_id: z.string().nullable(),
  tool_call_id: z.string().nullable(),
  input: z.unknown(),
  output: z.unknown(),
  is_error: z.boolean(),
  usage: z.object({ input_tokens: z.number(), output_tokens: z.number(), cost_usd: z.number() }).nullable(),
  duration_ms: z.number().nullable(),
  created_at: z.string(),
});
const StepsOut = z.object({
  items: z.array(StepOut),
  usage: z.object({ input_tokens: z.number(), output_tokens: z.number(), cost_usd: z.number(), model_calls: z.number() }),
  paused: z.boolean(),
});
const StepsQuery = z.strictObject({ after: z.coerce.number().int().min(0).default(0), limit: z.coerce.number().int().min(1).max(1000).default(500) });
const ControlOut = z.object({ task_id: z.string(), paused: z.boolean() });

const steps = route({ method: "get", path: "/tasks/:id/steps", access: "viewer", summary: "A coding agent's steps (model calls, tool calls, notes)", tags, query: StepsQuery, responses: { 200: StepsOut } });
const pause = route({
  method: "post",
  path: "/tasks/:id/pause",
  access: "operator",
  summary: "Pause a coding agent between steps",
  description: "The agent stops before its next model call and asks to be resumed (the Inbox shows it); 409 for a task that is not an agent or has finished.",
  tags,
  responses: { 200: ControlOut },
});
const resume = route({ method: "post", path: "/tasks/:id/resume", access: "operator", summary: "Let a paused coding agent go on", tags, responses: { 200: ControlOut } });

function agentTask(c: { get: (k: "deps") => { db: any } }, id: string) {
  const task = getTaskRecord(c.get("deps").db, id);
  if (!task) throw notFound("task", id);
  if (!AGENT_TYPES.has(task.task_type)) throw conflict(`task '${id}' is a ${task.task_type} task, not a coding agent`);
  return task;
}

const isPaused = (db: any, id: string) => (db.sqlite.query("SELECT paused FROM agent_control WHERE task_id = ?").get(id) as { paused: number } | null)?.paused === 1;

export const agentsApi = new Hono()
  .get(steps.spec.path, steps.query, (c) => {
    const id = c.req.param("id");
    const db = c.get("deps").db;
    if (!getTaskRecord(db, id)) throw notFound("task", id);
    const { after, limit } = c.req.valid("query");
    return c.json({ items: listSteps(db, id, after, limit).map(toStepJson), usage: usageOf(db, id), paused: isPaused(db, id) });
  })
  .post(pause.spec.path, (c) => {
    const task = agentTask(c, c.req.param("id"));
    if (["succeeded", "failed", "cancelled", "timed_out"].includes(task.status)) throw conflict(`task '${task.id}' is ${task.status}: there is nothing to pause`);
    const acting = actingOf(c);
    c.get("agents").setPaused(task.id, true, c.get("principal")?.username ?? null);
    audited(c.get("deps"), acting, "task.paused", { type: "task", id: task.id });
    return c.json({ task_id: task.id, paused: true });
  })
  .post(resume.spec.path, (c) => {
    const task = agentTask(c, c.req.param("id"));
    const acting = actingOf(c);
    const db = c.get("deps").db;
    c.get("agents").setPaused(task.id, false, null);
    audited(c.get("deps"), acting, "task.resumed", { type: "task", id: task.id });
    // The agent waits on a "resume?" question while paused: answering it lets it go on at once.
    const open = db.sqlite.query("SELECT id FROM worker_requests WHERE task_id = ? AND status = 'open' AND category = 'pause'").all(task.id) as Array<{ id: string }>;
    for (const r of open) c.get("controller").respond(r.id, "resume", acting);
    return c.json({ task_id: task.id, paused: false });
  });
