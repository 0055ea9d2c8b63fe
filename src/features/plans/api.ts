// /api/v1/plans: plans CRUD (an id or the plan's name works wherever :id appears), runs and their list.
import { Hono } from "hono";
import { optionalJsonBody, route } from "../../http/openapi.ts";
import { listOf } from "../../http/pagination.ts";
import { ListPlansQuery, PlanBody, PlanOut, PlanQuery, RunBody, RunOut } from "./schemas.ts";
import { actingOf } from "../auth/request.ts";
import { createPlan, deletePlan, getPlan, listPlanRuns, listPlans, runPlan, updatePlan } from "./service.ts";
import { z } from "zod";

const tags = ["plans"];
const PageQuery = z.strictObject({
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
  per_page: z.coerce.number().int().min(1).max(100).default(20),
});

const create = route({
  method: "post",
  path: "/plans",
  access: "operator",
  summary: "Create a plan",
  description:
    "Steps run in order unless some step sets depends_on (then they form a DAG). Step params may use {{inputs.NAME}} " +
    "(given at run time) and {{steps.STEP.result.PATH}} (the result of an upstream step).",
  tags,
  body: PlanBody,
  responses: { 201: PlanOut },
});
const list = route({ method: "get", path: "/plans", access: "viewer", summary: "List plans", tags, query: ListPlansQuery, responses: { 200: listOf(PlanOut) } });
const get = route({ method: "get", path: "/plans/:id", access: "viewer", summary: "Get a plan (by id or name)", tags, query: PlanQuery, responses: { 200: PlanOut } });
const put = route({ method: "put", path: "/plans/:id", access: "operator", summary: "Save a plan (a changed plan gets a new version)", tags, body: PlanBody, responses: { 200: PlanOut } });
const del = route({ method: "delete", path: "/plans/:id", access: "operator", summary: "Delete a plan (its runs stay)", tags, responses: { 204: "Deleted" } });
const run = route({
  method: "post",
  path: "/plans/:id/run",
  access: "operator",
  summary: "Run a plan",
  description: "Answers 201 with the run: a parent task of type `plan` whose children are the steps. The body may be omitted.",
  tags,
  body: RunBody,
  responses: { 201: RunOut },
});
const runs = route({ method: "get", path: "/plans/:id/runs", access: "viewer", summary: "Runs of a plan, newest first", tags, query: PageQuery, responses: { 200: listOf(RunOut) } });

export const plansApi = new Hono()
  .post(create.spec.path, ...create.json, (c) => {
    const plan = createPlan(c.get("deps"), c.req.valid("json"), actingOf(c));
    return c.json(plan, 201, { Location: `/api/v1/plans/${plan.id}` });
  })
  .get(list.spec.path, list.query, (c) => c.json(listPlans(c.get("deps"), c.req.valid("query"))))
  .get(get.spec.path, get.query, (c) => c.json(getPlan(c.get("deps"), c.req.param("id"), c.req.valid("query").version)))
  .put(put.spec.path, ...put.json, (c) => c.json(updatePlan(c.get("deps"), c.req.param("id"), c.req.valid("json"), actingOf(c))))
  .delete(del.spec.path, (c) => {
    deletePlan(c.get("deps"), c.req.param("id"), actingOf(c));
    return c.body(null, 204);
  })
  .post(run.spec.path, async (c) => {
    const body = await optionalJsonBody(c, RunBody);
    const { config } = c.var;
    const task = runPlan(c.get("deps"), c.req.param("id"), body, { timeoutSeconds: config.defaultTimeoutSeconds, maxRetries: config.defaultMaxRetries }, actingOf(c));
    return c.json(task, 201, { Location: `/api/v1/tasks/${task.id}` });
  })
  .get(runs.spec.path, runs.query, (c) => c.json(listPlanRuns(c.get("deps"), c.req.param("id"), c.req.valid("query"))));
