/** @jsxImportSource hono/jsx */
// /plans: the plans pages — cards, the editor (new and edit), a plan with its run form and runs, and a
// run's live view. Each GET answers the full page, or the fragment an htmx request targets.
import { Hono, type Context } from "hono";
import { PRIORITIES, type Priority } from "../../db/schema.ts";
import { actingOf } from "../auth/request.ts";
import { cancelTaskAs } from "../tasks/service.ts";
import { AppError } from "../../errors.ts";
import { actionDone, firstProblem, fragment, htmxTarget, isHtmx, page, toast, trigger } from "../../pages/render.tsx";
import { PlanEditor } from "../../../views/plans/editor.tsx";
import { PlanPage, RunForm, RunList, type RunFormProps } from "../../../views/plans/detail.tsx";
import { PlanCards, PlansPage } from "../../../views/plans/list.tsx";
import { RunLive, RunMain, RunPage } from "../../../views/plans/run.tsx";
import { PlanComparePage } from "../../../views/plans/compare.tsx";
import { comparePlanVersions } from "./compare.ts";
import { effectiveDependencies } from "./validate.ts";
import { logTail } from "../tasks/detail.ts";
import { paramFieldsOf } from "../tasks/form.ts";
import { applyOp, bodyFromDraft, draftFromForm, draftFromPlan, errorsFromPlanDetails, runInputsOf, stepTaskTypes, type DraftErrors, type PlanDraft } from "./form.ts";
import { autoStep, runView } from "./run-view.ts";
import { createPlan, deletePlan, getPlan, listPlanRuns, listPlans, runPlan, updatePlan, type PlanJson } from "./service.ts";

type Ctx = Context;

const pageOf = (v: string | undefined) => {
  const n = Number(v);
  return Number.isInteger(n) && n >= 1 && n <= 1_000_000 ? n : 1;
};

function editorPage(c: Ctx, planId: string | null, draft: PlanDraft, errors: DraftErrors = {}, status: 200 | 422 = 200) {
  if (status === 422 && isHtmx(c)) toast(c, "error", `The plan was not saved: ${firstProblem(errors)}`);
  const editor = <PlanEditor planId={planId} draft={draft} errors={errors} taskTypes={stepTaskTypes()} paramsOf={paramFieldsOf} />;
  if (isHtmx(c)) return fragment(c, editor, status);
  const title = planId ? `Edit ${draft.name || "plan"}` : "New plan";
  return page(
    c,
    { title, active: "plans", status },
    <div class="mx-auto max-w-3xl">
      <h1 class="mb-4 break-words text-xl font-semibold sm:text-2xl">{title}</h1>
      {editor}
    </div>,
  );
}

/** Saves the posted editor: the plan page on success, the editor again with inline errors otherwise. */
async function save(c: Ctx, planId: string | null) {
  const draft = draftFromForm(await c.req.parseBody({ all: true }));
  const { body, errors } = bodyFromDraft(draft);
  if (!body) return editorPage(c, planId, draft, errors, 422);
  let plan: PlanJson;
  try {
    plan = planId ? updatePlan(c.get("deps"), planId, body, actingOf(c)) : createPlan(c.get("deps"), body, actingOf(c));
  } catch (err) {
    if (!(err instanceof AppError) || (err.status !== 400 && err.status !== 409)) throw err;
    return editorPage(c, planId, draft, errorsFromPlanDetails(err.details, err.message), 422);
  }
  return actionDone(c, { message: `Plan “${plan.name}” saved (version ${plan.version})`, redirect: `/plans/${plan.id}` });
}

function planNodes(plan: PlanJson) {
  const deps = effectiveDependencies(plan.steps);
  return plan.steps.map((s) => ({ name: s.name, taskType: s.task_type, status: null, depends: deps.get(s.name) ?? [] }));
}

function runsOf(c: Ctx, plan: PlanJson) {
  const page = pageOf(c.req.query("page"));
  const runs = listPlanRuns(c.get("deps"), plan.id, { page, per_page: 10 });
  return { planId: plan.id, items: runs.items, total: runs.total, page, perPage: 10 };
}

function runFormAgain(c: Ctx, props: RunFormProps) {
  if (isHtmx(c)) return fragment(c, <RunForm {...props} />, 422);
  const plan = getPlan(c.get("deps"), props.plan.id);
  return page(
    c,
    { title: plan.name, active: "plans", status: 422 },
    <PlanPage plan={plan} nodes={planNodes(plan)} run={props} runs={runsOf(c, plan)} version={c.get("live").version} />,
  );
}

/** The run's live region: the step shown (picked, or the one worth showing) with its log. */
function runLiveProps(c: Ctx, runId: string, picked: string | undefined, shown?: string) {
  const version = c.get("live").version;
  const view = runView(c.get("deps"), runId);
  const selected = picked && view.steps.some((s) => s.name === picked) ? picked : autoStep(view.steps, shown);
  const step = view.steps.find((s) => s.name === selected);
  const log = step ? logTail(c.get("deps"), c.get("logger"), step.taskId, undefined) : { executionId: null, attempt: null, running: false, lines: [], skipped: 0 };
  return { view, selected, pinned: Boolean(picked && picked === selected), log, stepTaskId: step?.taskId ?? null, version };
}

export const planRoutes = new Hono()
  .get("/", (c) => {
    const version = c.get("live").version;
    const q = c.req.query("q")?.trim().slice(0, 200) || undefined;
    const pageNo = pageOf(c.req.query("page"));
    const result = listPlans(c.get("deps"), { page: pageNo, per_page: 24, q });
    const list = { q, page: pageNo, perPage: 24, items: result.items, total: result.total };
    if (htmxTarget(c) === "plan-list") return fragment(c, <PlanCards {...list} />);
    return page(c, { title: "Plans", active: "plans" }, <PlansPage {...list} version={version} />);
  })
  .get("/new", (c) => editorPage(c, null, draftFromPlan(null)))
  .post("/editor", async (c) => {
    const form = await c.req.parseBody({ all: true });
    const op = c.req.query("op") ?? (typeof form.op === "string" ? form.op : "refresh");
    const draft = applyOp(draftFromForm(form), op);
    const planId = typeof form.plan_id === "string" && form.plan_id ? form.plan_id : null;
    return editorPage(c, planId, draft);
  })
  .post("/", (c) => save(c, null))
  .get("/:id", (c) => {
    const version = c.get("live").version;
    const plan = getPlan(c.get("deps"), c.req.param("id"));
    const runs = runsOf(c, plan);
    if (htmxTarget(c) === "plan-runs") return fragment(c, <RunList {...runs} />);
    return page(
      c,
      { title: plan.name, active: "plans" },
      <PlanPage plan={plan} nodes={planNodes(plan)} run={{ plan, inputs: runInputsOf(plan) }} runs={runs} version={version} />,
    );
  })
  .get("/:id/compare", (c) => {
    const plan = getPlan(c.get("deps"), c.req.param("id"));
    const version = (v: string | undefined, fallback: number) => (v === undefined || v === "" ? fallback : Number(v));
    const b = version(c.req.query("b"), plan.version);
    const a = version(c.req.query("a"), Math.max(1, b - 1));
    const comparison = comparePlanVersions(c.get("deps"), plan.id, a, b);
    return page(c, { title: `Compare ${plan.name}`, active: "plans" }, <PlanComparePage comparison={comparison} />);
  })
  .get("/:id/edit", (c) => {
    const plan = getPlan(c.get("deps"), c.req.param("id"));
    return editorPage(c, plan.id, draftFromPlan(plan));
  })
  .post("/:id", (c) => save(c, getPlan(c.get("deps"), c.req.param("id")).id))
  .post("/:id/delete", (c) => {
    const plan = getPlan(c.get("deps"), c.req.param("id"));
    deletePlan(c.get("deps"), plan.id, actingOf(c));
    return actionDone(c, { message: `Plan “${plan.name}” deleted`, redirect: "/plans" });
  })
  .post("/:id/run", async (c) => {
    const plan = getPlan(c.get("deps"), c.req.param("id"));
    const form = await c.req.parseBody();
    const { config } = c.var;
    const defaults = { timeoutSeconds: config.defaultTimeoutSeconds, maxRetries: config.defaultMaxRetries };
    if (typeof form.rerun === "string" && form.rerun) {
      // Run again as it ran: the same version of the plan, the same inputs and priority.
      const earlier = runView(c.get("deps"), form.rerun);
      if (earlier.planId !== plan.id) throw new AppError(404, "not_found", `run '${form.rerun}' is not a run of plan '${plan.name}'`);
      const run = runPlan(c.get("deps"), plan.id, { inputs: earlier.inputs, priority: earlier.run.priority, version: earlier.version ?? undefined }, defaults, actingOf(c));
      return actionDone(c, { message: `Plan “${plan.name}” v${earlier.version ?? plan.version} started again with the same inputs`, redirect: `/plans/${plan.id}/runs/${run.id}` });
    }
    const names = runInputsOf(plan);
    const values: Record<string, string> = {};
    const inputs: Record<string, string> = {};
    for (const name of names) {
      const v = form[`inputs.${name}`];
      if (typeof v !== "string") continue;
      values[`inputs.${name}`] = v;
      if (v !== "") inputs[name] = v;
    }
    const priority = (PRIORITIES as readonly string[]).includes(String(form.priority)) ? (form.priority as Priority) : undefined;
    if (priority) values.priority = priority;
    try {
      const run = runPlan(c.get("deps"), plan.id, { inputs, priority }, defaults, actingOf(c));
      return actionDone(c, { message: `Plan “${plan.name}” started`, redirect: `/plans/${plan.id}/runs/${run.id}` });
    } catch (err) {
      if (!(err instanceof AppError) || err.status !== 400) throw err;
      const errors: Record<string, string> = {};
      for (const d of err.details) errors[d.field ?? "_form"] ??= d.field?.startsWith("inputs.") ? d.message : `${d.field ? `${d.field}: ` : ""}${d.message}`;
      if (Object.keys(errors).length === 0) errors._form = err.message;
      return runFormAgain(c, { plan, inputs: names, values, errors });
    }
  })
  .get("/:id/runs/:runId", (c) => {
    const runId = c.req.param("runId");
    if (htmxTarget(c) === "run-main") {
      const picked = c.req.query("step") || undefined;
      const view = runView(c.get("deps"), runId);
      const selected = picked && view.steps.some((s) => s.name === picked) ? picked : autoStep(view.steps, c.req.query("shown"));
      // Another step became the one worth showing: the live region reloads with it (and its log).
      if (!picked && selected !== (c.req.query("shown") || null)) trigger(c, "reselect");
      return fragment(c, <RunMain view={view} selected={selected} pinned={Boolean(picked)} />);
    }
    const props = runLiveProps(c, runId, c.req.query("step") || undefined);
    return page(c, { title: `${props.view.planName} run`, active: "plans" }, <RunPage {...props} />);
  })
  .get("/:id/runs/:runId/live", (c) => {
    const { id, runId } = c.req.param();
    const step = c.req.query("step") || undefined;
    if (!isHtmx(c)) return c.redirect(`/plans/${id}/runs/${runId}${step ? `?step=${encodeURIComponent(step)}` : ""}`, 303);
    return fragment(c, <RunLive {...runLiveProps(c, runId, step, c.req.query("shown") || undefined)} />);
  })
  .post("/:id/runs/:runId/cancel", (c) => {
    const runId = c.req.param("runId");
    cancelTaskAs(c.get("deps"), runId, actingOf(c));
    const view = runView(c.get("deps"), runId);
    return actionDone(c, {
      message: `Run of “${view.planName}” cancelled`,
      redirect: `/plans/${c.req.param("id")}/runs/${runId}`,
      body: <RunMain view={view} selected={autoStep(view.steps)} pinned={false} />,
    });
  });
