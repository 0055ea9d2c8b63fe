// /api/v1/tasks: the JSON API of tasks — create (one, or a batch through /queue/enqueue), list, read, edit,
// delete, cancel, retry, wait, events.
import { Hono } from "hono";

import type { EngineDeps } from "../../engine/engine-deps.ts";
import { accessGuard, watchAccess } from "../auth/principals.ts";
import { actingOf, streamSlot } from "../auth/request.ts";
import { dependenciesOf, taskToJson } from "../../engine/task-record.ts";
import { TERMINAL_TASK_STATUSES } from "../../db/schema.ts";
import { AppError } from "../../errors.ts";
import { route } from "../../http/openapi.ts";
import { sseResponse } from "../../http/sse.ts";
import { CreateTaskBody, EnqueueBody, EnqueueOut, ListTasksQuery, TaskOut, UpdateTaskBody, WaitQuery } from "./schemas.ts";
import { listOf } from "../../http/pagination.ts";
import { BulkBody, BulkOut, bulkTasks } from "./bulk.ts";
import { cancelTaskAs, createTask, enqueueTasks, getTask, listTasks, retryTaskAs, updateTask } from "./service.ts";
import { deleteTask } from "./delete.ts";

const tags = ["tasks"];
const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_TASK_STATUSES);

/**
 * The task as it is after one event, read once however many streams follow it: 10,000 subscribers
 * must not mean 10,000 reads of the same row per event.
 */
let rendered: { event: object; json: string } | null = null;
function renderOnce(deps: EngineDeps, id: string, event: object): string {
  if (rendered?.event !== event) rendered = { event, json: JSON.stringify(getTask(deps, id)) };
  return rendered.json;
}

const create = route({
  method: "post",
  path: "/tasks",
  access: "operator",
  summary: "Submit a task",
  description: "Validates params against the task type's schema; stores the task and its work order in one transaction.",
  tags,
  body: CreateTaskBody,
  example: { title: "hi", task_type: "hello", params: { name: "world" } },
  responses: { 201: TaskOut },
});
const enqueue = route({
  method: "post",
  path: "/queue/enqueue",
  access: "operator",
  summary: "Submit a batch of tasks",
  description: "Each task as for POST /tasks; all are stored in one transaction, or none (the error names the task).",
  tags: ["queue"],
  body: EnqueueBody,
  responses: { 201: EnqueueOut },
});
const bulk = route({
  method: "post",
  path: "/tasks/bulk",
  access: "operator",
  summary: "Cancel, retry or delete many tasks",
  description:
    "The tasks named in `ids`, or every task `filter` matches (at most 10,000). Each is done alone, audited like a single action; " +
    "one its state does not allow is listed in `skipped` with the reason.",
  tags,
  body: BulkBody,
  responses: { 200: BulkOut },
});
const list = route({ method: "get", path: "/tasks", access: "viewer", summary: "List tasks", tags, query: ListTasksQuery, responses: { 200: listOf(TaskOut) } });
const get = route({ method: "get", path: "/tasks/:id", access: "viewer", summary: "Get a task", tags, responses: { 200: TaskOut } });
const patch = route({ method: "patch", path: "/tasks/:id", access: "operator", summary: "Edit a task", tags, body: UpdateTaskBody, responses: { 200: TaskOut } });
const del = route({ method: "delete", path: "/tasks/:id", access: "operator", summary: "Delete a task that is not running", tags, responses: { 204: "Deleted" } });
const cancel = route({ method: "post", path: "/tasks/:id/cancel", access: "operator", summary: "Cancel a task", tags, responses: { 200: TaskOut } });
const retry = route({ method: "post", path: "/tasks/:id/retry", access: "operator", summary: "Run a failed, cancelled or timed-out task again", tags, responses: { 200: TaskOut } });
const wait = route({
  method: "get",
  path: "/tasks/:id/wait",
  access: "viewer",
  summary: "Long-poll until the task is finished",
  description: "Answers as soon as the task reaches a terminal status, or after `timeout` seconds with its current state.",
  tags,
  query: WaitQuery,
  responses: { 200: TaskOut },
});
const events = route({
  method: "get",
  path: "/tasks/:id/events",
  access: "viewer",
  summary: "Live events of a task (SSE)",
  description:
    "Events: `task` (the task, on every change), `execution` (started/finished), `log` (each log line), then `end` " +
    "(`{status}`) once the task is finished, and the stream closes — at once for a task that already finished.",
  tags,
  responses: { 200: "text/event-stream" },
});

/** A long-poll whose caller lost access while it waited (key revoked, user deactivated, session ended). */
const accessWithdrawn = () =>
  new AppError(401, "unauthorized", "Access was withdrawn while waiting (revoked key, deactivated user or ended session)", [], { "WWW-Authenticate": 'Bearer realm="agentvine"' });

export const tasksApi = new Hono()
  .post(create.spec.path, ...create.json, async (c) => {
    const { submitter, config } = c.var;
    const defaults = { timeoutSeconds: config.defaultTimeoutSeconds, maxRetries: config.defaultMaxRetries };
    const task = await createTask(submitter, c.get("deps"), c.req.valid("json"), defaults, actingOf(c));
    return c.json(task, 201, { Location: `/api/v1/tasks/${task.id}` });
  })
  .post(enqueue.spec.path, ...enqueue.json, (c) => {
    const config = c.get("config");
    const defaults = { timeoutSeconds: config.defaultTimeoutSeconds, maxRetries: config.defaultMaxRetries };
    return c.json({ items: enqueueTasks(c.get("deps"), c.req.valid("json"), defaults, actingOf(c)) }, 201);
  })
  .post(bulk.spec.path, ...bulk.json, async (c) => c.json(await bulkTasks({ ...c.get("deps"), logFile: (e) => c.get("logger").filePath(e) }, c.req.valid("json"), actingOf(c))))
  .get(list.spec.path, list.query, (c) => c.json(listTasks(c.get("deps"), c.req.valid("query"))))
  .get(get.spec.path, (c) => c.json(getTask(c.get("deps"), c.req.param("id"))))
  .patch(patch.spec.path, ...patch.json, (c) => c.json(updateTask(c.get("deps"), c.req.param("id"), c.req.valid("json"))))
  .delete(del.spec.path, async (c) => {
    await deleteTask({ ...c.get("deps"), logFile: (id) => c.get("logger").filePath(id) }, c.req.param("id"), actingOf(c));
    return c.body(null, 204);
  })
  .post(cancel.spec.path, (c) => {
    const task = cancelTaskAs(c.get("deps"), c.req.param("id"), actingOf(c));
    return c.json(taskToJson(task, dependenciesOf(c.get("deps").db, task.id)));
  })
  .post(retry.spec.path, (c) => {
    const task = retryTaskAs(c.get("deps"), c.req.param("id"), actingOf(c));
    return c.json(taskToJson(task, dependenciesOf(c.get("deps").db, task.id)));
  })
  .get(wait.spec.path, wait.query, async (c) => {
    c.get("holdOpen")();
    const { timeout } = c.req.valid("query");
    const auth = c.get("auth");
    const guard = accessGuard(auth.principals, c.get("principal"), auth.clock);
    if (!guard) return c.json(await c.get("waiters").wait(c.req.param("id"), timeout * 1000, c.req.raw.signal));
    // Up to 300 s: a caller whose access is withdrawn meanwhile gets a 401 then, not the task.
    const lost = new AbortController();
    const stop = watchAccess(guard, () => lost.abort());
    try {
      const task = await c.get("waiters").wait(c.req.param("id"), timeout * 1000, AbortSignal.any([c.req.raw.signal, lost.signal]));
      if (lost.signal.aborted) throw accessWithdrawn();
      return c.json(task);
    } finally {
      stop();
    }
  })
  .get(events.spec.path, (c) => {
    const { deps } = c.var;
    const id = c.req.param("id");
    const initial = getTask(deps, id); // 404 before the stream opens
    const release = streamSlot(c); // 429 past --max-streams
    c.get("holdOpen")();
    const auth = c.get("auth");
    const guard = accessGuard(auth.principals, c.get("principal"), auth.clock);
    return sseResponse(c.req.raw.signal, (sse) => {
      sse.send("task", initial);
      const end = (status: string) => {
        sse.send("end", { status });
        sse.close();
      };
      if (TERMINAL.has(initial.status)) return end(initial.status);
      const offs = [
        deps.bus.on("task:changed", (e) => {
          if (e.taskId !== id) return;
          sse.send("task", renderOnce(deps, id, e));
          // After the rest of this commit's events (the attempt's `execution`): they are published together.
          if (TERMINAL.has(e.status)) queueMicrotask(() => end(e.status));
        }),
        deps.bus.on("task:updated", (e) => {
          if (e.taskId === id) sse.send("task", renderOnce(deps, id, e));
        }),
        deps.bus.on("task:deleted", (e) => {
          if (e.taskId !== id) return;
          sse.send("deleted", { id });
          sse.close();
        }),
        deps.bus.on("execution:started", (e) => {
          if (e.taskId === id) sse.send("execution", e);
        }),
        deps.bus.on("execution:finished", (e) => {
          if (e.taskId === id) sse.send("execution", e);
        }),
        deps.bus.on("log:appended", (e) => {
          if (e.taskId === id) sse.send("log", e, `${e.executionId}:${e.seq}`);
        }),
      ];
      return () => offs.forEach((off) => off());
    }, { guard, release }); // ends once the caller's key is revoked, user deactivated or session ended
  });

