// /api/v1/schedules: cron schedules of tasks and plan runs — list, create, read, change (enable/disable
// with `enabled`), delete, run now, and every slot's outcome (started, queued, skipped, missed, failed).
import { Hono } from "hono";
import { route } from "../../http/openapi.ts";
import { listOf } from "../../http/pagination.ts";
import { actingOf } from "../auth/request.ts";
import { ListRunsQuery, ListSchedulesQuery, ScheduleBody, ScheduleOut, SchedulePatch, ScheduleRunOut } from "./schemas.ts";
import { createSchedule, deleteSchedule, getSchedule, listScheduleRuns, listSchedules, updateSchedule } from "./service.ts";

const tags = ["schedules"];
const HOST_RULE = "A schedule that would run a task type that runs commands on the server's host (`shell`, or a plan with a shell step) needs the role set by --shell-role to be saved or enabled (403 otherwise).";

const list = route({ method: "get", path: "/schedules", access: "viewer", summary: "List schedules with their next runs", tags, query: ListSchedulesQuery, responses: { 200: listOf(ScheduleOut) } });
const create = route({
  method: "post",
  path: "/schedules",
  access: "operator",
  summary: "Create a schedule",
  description: `A cron expression in a time zone that starts a task (\`task\`: the body of POST /tasks) or a plan run (\`plan\`: name and inputs). ${HOST_RULE}`,
  tags,
  body: ScheduleBody,
  example: { name: "nightly-hello", cron: "0 2 * * *", timezone: "Europe/Berlin", task: { title: "greet", task_type: "hello", params: { name: "night" } }, overlap: "skip", catch_up: "once" },
  responses: { 201: ScheduleOut },
  errors: [409],
});
const get = route({ method: "get", path: "/schedules/:id", access: "viewer", summary: "Get a schedule (by id or name)", tags, responses: { 200: ScheduleOut } });
const patch = route({
  method: "patch",
  path: "/schedules/:id",
  access: "operator",
  summary: "Change, enable or disable a schedule",
  description: `Send only what changes; \`{"enabled": false}\` disables it. A new cron or time zone, or enabling it again, counts from now. ${HOST_RULE}`,
  tags,
  body: SchedulePatch,
  responses: { 200: ScheduleOut },
  errors: [409],
});
const del = route({ method: "delete", path: "/schedules/:id", access: "operator", summary: "Delete a schedule (the tasks it started stay)", tags, responses: { 204: "Deleted" } });
const runNow = route({
  method: "post",
  path: "/schedules/:id/run",
  access: "operator",
  summary: "Run a schedule now",
  description: "Starts a run outside the cron; the overlap policy applies as to any run (it may be skipped or queued). Answers with the run.",
  tags,
  responses: { 201: ScheduleRunOut },
});
const runs = route({
  method: "get",
  path: "/schedules/:id/runs",
  access: "viewer",
  summary: "A schedule's runs, newest first: started, waiting, skipped, missed or failed",
  tags,
  query: ListRunsQuery,
  responses: { 200: listOf(ScheduleRunOut) },
});

export const schedulesApi = new Hono()
  .get(list.spec.path, list.query, (c) => c.json(listSchedules(c.get("deps"), c.req.valid("query"))))
  .post(create.spec.path, ...create.json, (c) => {
    const schedule = createSchedule(c.get("deps"), c.req.valid("json"), actingOf(c));
    return c.json(schedule, 201, { Location: `/api/v1/schedules/${schedule.id}` });
  })
  .get(get.spec.path, (c) => c.json(getSchedule(c.get("deps"), c.req.param("id"))))
  .patch(patch.spec.path, ...patch.json, (c) => c.json(updateSchedule(c.get("deps"), c.req.param("id"), c.req.valid("json"), actingOf(c))))
  .delete(del.spec.path, (c) => {
    deleteSchedule(c.get("deps"), c.req.param("id"), actingOf(c));
    return c.body(null, 204);
  })
  .post(runNow.spec.path, (c) => c.json(c.get("scheduler").runNow(c.req.param("id")), 201))
  .get(runs.spec.path, runs.query, (c) => c.json(listScheduleRuns(c.get("deps"), c.req.param("id"), c.req.valid("query"))));
