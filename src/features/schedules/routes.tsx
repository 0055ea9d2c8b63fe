/** @jsxImportSource hono/jsx */
// /schedules: the Schedules page (next runs, enable/disable, Run now), a schedule's page with its runs,
// and the form. The forms become the same bodies as the JSON API's, checked by the same service; its
// errors come back on the field they name.
import { Hono, type Context } from "hono";
import { AppError, zodDetails, type ErrorDetail } from "../../errors.ts";
import { actionDone, fragment, htmxTarget, isHtmx, page, trigger } from "../../pages/render.tsx";
import { TASK_TYPES } from "../../task-types/index.ts";
import { errorsOf, type FormValues } from "../../../views/components/form.tsx";
import { RunList, ScheduleDetailPage, ScheduleMain } from "../../../views/schedules/detail.tsx";
import { ScheduleForm, ScheduleFormPage, type ScheduleFormProps } from "../../../views/schedules/form.tsx";
import { ScheduleList, SchedulesPage } from "../../../views/schedules/list.tsx";
import { hasRole } from "../auth/middleware.ts";
import { actingOf } from "../auth/request.ts";
import { listPlans } from "../plans/service.ts";
import { ScheduleBody, type ScheduleJson } from "./schemas.ts";
import { createSchedule, deleteSchedule, getSchedule, listScheduleRuns, listSchedules, setScheduleEnabled, updateSchedule } from "./service.ts";

type Ctx = Context;

async function formValues(c: Ctx): Promise<FormValues> {
  const values: FormValues = {};
  for (const [k, v] of Object.entries(await c.req.parseBody())) if (typeof v === "string") values[k] = v;
  return values;
}

/** The form's JSON fields: a bad one is an error on that field, not a 500. */
function jsonField(values: FormValues, name: string, errors: ErrorDetail[]): Record<string, unknown> {
  const text = (values[name] ?? "").trim() || "{}";
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
    errors.push({ field: name, message: "must be a JSON object, e.g. {} or {\"name\": \"value\"}" });
  } catch (err) {
    errors.push({ field: name, message: `not valid JSON: ${(err as Error).message}` });
  }
  return {};
}

/** The form as the API's body (what it would POST), plus the problems found before the service sees it. */
function bodyOf(values: FormValues): { body: unknown; errors: ErrorDetail[] } {
  const errors: ErrorDetail[] = [];
  const target = values.target === "plan" ? "plan" : "task";
  const common = {
    name: values.name ?? "",
    description: values.description?.trim() || null,
    cron: values.cron ?? "",
    timezone: values.timezone?.trim() || "UTC",
    overlap: values.overlap || "skip",
    catch_up: values.catch_up || "once",
    enabled: values.enabled === "1",
  };
  if (target === "plan") return { body: { ...common, plan: { name: values.plan_name ?? "", inputs: jsonField(values, "inputs", errors) } }, errors };
  const params = jsonField(values, "params", errors);
  return { body: { ...common, task: { title: values.title?.trim() || values.name || "", task_type: values.task_type ?? "", params, priority: values.priority || "default" } }, errors };
}

/** The service's field names on the form's fields. */
function formErrors(details: ErrorDetail[]) {
  const field = (f: string | undefined) => {
    if (!f) return "_form";
    if (f.startsWith("task.params")) return "params";
    if (f.startsWith("task.")) return f.slice(5);
    if (f === "plan.name") return "plan_name";
    if (f.startsWith("plan.inputs")) return "inputs";
    return f;
  };
  return errorsOf(details.map((d) => ({ ...d, field: field(d.field) })), "The schedule could not be saved.");
}

function formProps(c: Ctx, action: string, values: FormValues): ScheduleFormProps {
  const plans = listPlans(c.get("deps"), { page: 1, per_page: 100 }).items.map((p) => p.name);
  const taskTypes = [...TASK_TYPES.values()].filter((t) => t.kind !== "parent").map((t) => ({ name: t.name, runsOnHost: t.runsOnHost === true }));
  return { action, values, taskTypes, plans, mayRunOnHost: hasRole(c.get("principal"), c.get("config").shellRole) };
}

/** A schedule as the form's values (for Edit). */
function valuesOf(s: ScheduleJson): FormValues {
  const task = s.task as { title?: string; task_type?: string; params?: unknown; priority?: string } | null;
  return {
    name: s.name,
    description: s.description ?? "",
    cron: s.cron,
    timezone: s.timezone,
    target: s.target,
    task_type: task?.task_type ?? "",
    title: task?.title ?? "",
    params: JSON.stringify(task?.params ?? {}, null, 2),
    priority: task?.priority ?? "default",
    plan_name: s.plan?.name ?? "",
    inputs: JSON.stringify(s.plan?.inputs ?? {}, null, 2),
    overlap: s.overlap,
    catch_up: s.catch_up,
    enabled: s.enabled ? "1" : "0",
  };
}

async function save(c: Ctx, action: string, title: string, apply: (body: ScheduleBody) => ScheduleJson) {
  const values = await formValues(c);
  const again = (errors: Record<string, string>) => {
    const props = { ...formProps(c, action, values), errors };
    return isHtmx(c) ? fragment(c, <ScheduleForm {...props} />, 422) : page(c, { title, active: "schedules", status: 422 }, <ScheduleFormPage title={title} {...props} />);
  };
  const { body, errors } = bodyOf(values);
  const parsed = ScheduleBody.safeParse(body);
  if (!parsed.success || errors.length) return again(formErrors([...errors, ...(parsed.success ? [] : zodDetails(parsed.error))]));
  let saved: ScheduleJson;
  try {
    saved = apply(parsed.data);
  } catch (err) {
    if (!(err instanceof AppError) || err.status >= 500 || err.status === 404) throw err;
    return again(err.status === 403 ? { _form: err.message } : formErrors(err.details.length ? err.details : [{ message: err.message }]));
  }
  return actionDone(c, { message: `Schedule ${saved.name} saved${saved.enabled ? `: next run ${saved.next_run_at ?? "never"}` : " (disabled)"}`, redirect: `/schedules/${saved.id}` });
}

const runsPage = (c: Ctx, id: string) => {
  const pageNo = Math.max(1, Math.min(1_000_000, Number(c.req.query("page")) || 1));
  const runs = listScheduleRuns(c.get("deps"), id, { page: pageNo, per_page: 20 });
  return { items: runs.items, total: runs.total, page: pageNo, perPage: 20 };
};

/** After an action on a row: the list (on /schedules) or the schedule's main card (on its page). */
function afterAction(c: Ctx, id: string, message: string, level: "success" | "info" | "error" = "success") {
  trigger(c, "schedules:changed");
  const target = htmxTarget(c);
  if (target === "schedule-main") return actionDone(c, { message, level, body: <ScheduleMain s={getSchedule(c.get("deps"), id)} /> });
  const list = listSchedules(c.get("deps"), { page: 1, per_page: 100 });
  return actionDone(c, { message, level, redirect: target === "schedule-list" ? undefined : `/schedules/${id}`, body: target === "schedule-list" ? <ScheduleList items={list.items} total={list.total} /> : undefined });
}

export const scheduleRoutes = new Hono()
  .get("/", (c) => {
    const { items, total } = listSchedules(c.get("deps"), { page: 1, per_page: 100 });
    if (htmxTarget(c) === "schedule-list") return fragment(c, <ScheduleList items={items} total={total} />);
    return page(c, { title: "Schedules", active: "schedules" }, <SchedulesPage items={items} total={total} version={c.get("live").version} />);
  })
  .get("/new", (c) => page(c, { title: "New schedule", active: "schedules" }, <ScheduleFormPage title="New schedule" {...formProps(c, "/schedules", { enabled: "1", timezone: "UTC", params: "{}", inputs: "{}" })} />))
  .post("/", (c) => save(c, "/schedules", "New schedule", (body) => createSchedule(c.get("deps"), body, actingOf(c))))
  .get("/:id", (c) => {
    const s = getSchedule(c.get("deps"), c.req.param("id"));
    return page(c, { title: s.name, active: "schedules" }, <ScheduleDetailPage s={s} runs={runsPage(c, s.id)} version={c.get("live").version} />);
  })
  .get("/:id/runs", (c) => {
    const s = getSchedule(c.get("deps"), c.req.param("id"));
    return fragment(c, <RunList s={s} runs={runsPage(c, s.id)} />);
  })
  .get("/:id/edit", (c) => {
    const s = getSchedule(c.get("deps"), c.req.param("id"));
    return page(c, { title: `Edit ${s.name}`, active: "schedules" }, <ScheduleFormPage title={`Edit ${s.name}`} {...formProps(c, `/schedules/${s.id}`, valuesOf(s))} />);
  })
  .post("/:id", (c) => {
    const id = getSchedule(c.get("deps"), c.req.param("id")).id;
    return save(c, `/schedules/${id}`, "Edit schedule", (body) => updateSchedule(c.get("deps"), id, { ...body, task: body.task, plan: body.plan }, actingOf(c)));
  })
  .post("/:id/enable", (c) => {
    const s = setScheduleEnabled(c.get("deps"), c.req.param("id"), true, actingOf(c));
    return afterAction(c, s.id, `${s.name} enabled: next run ${s.next_run_at ?? "never"}`);
  })
  .post("/:id/disable", (c) => {
    const s = setScheduleEnabled(c.get("deps"), c.req.param("id"), false, actingOf(c));
    return afterAction(c, s.id, `${s.name} disabled`, "info");
  })
  .post("/:id/run", (c) => {
    const id = c.req.param("id");
    const run = c.get("scheduler").runNow(id);
    const what = run.outcome === "started" ? "started" : run.outcome === "failed" ? `failed to start: ${run.reason}` : `${run.outcome}: ${run.reason}`;
    return afterAction(c, run.schedule_id, `Run ${what}`, run.outcome === "failed" ? "error" : run.outcome === "started" ? "success" : "info");
  })
  .post("/:id/delete", (c) => {
    const s = getSchedule(c.get("deps"), c.req.param("id"));
    deleteSchedule(c.get("deps"), s.id, actingOf(c));
    return actionDone(c, { message: `Schedule ${s.name} deleted`, redirect: "/schedules" });
  });
