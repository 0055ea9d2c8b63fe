/** @jsxImportSource hono/jsx */
// /tasks: the tasks pages — the filterable list, the "New task" form, a task with its executions and
// live log, and the cancel / retry / delete actions. Each GET answers the full page, or the fragment
// an htmx request targets (HX-Target), rendered by the same component.
import { Hono, type Context } from "hono";
import { LOG_LEVELS, PRIORITIES, TASK_STATUSES, type Priority, type TaskStatus } from "../../db/schema.ts";
import { actingOf } from "../auth/request.ts";
import { AppError } from "../../errors.ts";
import { actionDone, fragment, htmxTarget, isHtmx, page } from "../../pages/render.tsx";
import { TASK_TYPES } from "../../task-types/index.ts";
import { TaskList, TasksPage, type TaskFilters } from "../../../views/tasks/list.tsx";
import { TaskLive, TaskMain, TaskPage } from "../../../views/tasks/detail.tsx";
import { NewTaskForm, ParamFields, type NewTaskFormProps } from "../../../views/tasks/new-task.tsx";
import { logTail, taskDetail } from "./detail.ts";
import { errorsFromDetails, formTaskTypes, paramFieldsOf, parseTaskForm, type ParsedTaskForm } from "./form.ts";
import { cancelTaskAs, createTask, listTasks, retryTaskAs } from "./service.ts";
import { deleteTask } from "./delete.ts";

type Ctx = Context;

/** Filters from the query string, leniently: a value that is not valid is ignored, not an error page. */
function filtersOf(c: Ctx): TaskFilters {
  const q = c.req.query();
  const int = (v: string | undefined, def: number, max: number) => {
    const n = Number(v);
    return Number.isInteger(n) && n >= 1 ? Math.min(n, max) : def;
  };
  const statuses = (q.status ?? "").split(",").filter((s) => (TASK_STATUSES as readonly string[]).includes(s));
  return {
    status: statuses.length ? statuses.join(",") : undefined,
    task_type: q.task_type && q.task_type.length <= 100 ? q.task_type : undefined,
    priority: (PRIORITIES as readonly string[]).includes(q.priority ?? "") ? q.priority : undefined,
    q: q.q?.trim() ? q.q.trim().slice(0, 200) : undefined,
    page: int(q.page, 1, 1_000_000),
    per_page: int(q.per_page, 20, 100),
  };
}

function newTaskProps(selected?: string, form?: ParsedTaskForm): NewTaskFormProps {
  const types = formTaskTypes();
  const type = types.find((t) => t.name === selected)?.name ?? types.find((t) => t.name === "hello")?.name ?? types[0]?.name ?? "";
  return { types, selected: type, fields: paramFieldsOf(type), values: form?.values, errors: form?.errors };
}

/** A form that did not validate: the same form again, values kept, errors inline (422). */
function formAgain(c: Ctx, form: ParsedTaskForm) {
  const props = { ...newTaskProps(form.values.task_type, form), inDialog: form.values._dialog === "1" };
  if (isHtmx(c)) return fragment(c, <NewTaskForm {...props} />, 422);
  return page(c, { title: "New task", active: "tasks", status: 422 }, <NewTaskPage {...props} />);
}

const NewTaskPage = (props: NewTaskFormProps) => (
  <div class="mx-auto max-w-2xl">
    <h1 class="mb-4 text-xl font-semibold sm:text-2xl">New task</h1>
    <div class="card p-4 sm:p-5">
      <NewTaskForm {...props} />
    </div>
  </div>
);

export const taskRoutes = new Hono()
  .get("/", (c) => {
    const version = c.get("live").version;
    const filters = filtersOf(c);
    const result = listTasks(c.get("deps"), {
      ...filters,
      status: filters.status?.split(",") as TaskStatus[] | undefined,
      priority: filters.priority as Priority | undefined,
    });
    const list = { filters, items: result.items, total: result.total };
    if (htmxTarget(c) === "task-list") return fragment(c, <TaskList {...list} />);
    return page(
      c,
      { title: "Tasks", active: "tasks" },
      <TasksPage {...list} taskTypes={[...TASK_TYPES.keys()]} version={version} newTask={newTaskProps()} />,
    );
  })
  .get("/new", (c) => page(c, { title: "New task", active: "tasks" }, <NewTaskPage {...newTaskProps(c.req.query("task_type"))} />))
  .get("/new/fields", (c) => {
    const props = newTaskProps(c.req.query("task_type"));
    const description = props.types.find((t) => t.name === props.selected)?.description;
    return fragment(c, <ParamFields description={description} fields={props.fields} />);
  })
  .post("/", async (c) => {
    const form = parseTaskForm(await c.req.parseBody({ all: true }));
    if (!form.body) return formAgain(c, form);
    const { submitter, config } = c.var;
    try {
      const task = await createTask(submitter, c.get("deps"), form.body, { timeoutSeconds: config.defaultTimeoutSeconds, maxRetries: config.defaultMaxRetries }, actingOf(c));
      return actionDone(c, { message: `Task “${task.title}” created`, redirect: `/tasks/${task.id}` });
    } catch (err) {
      if (!(err instanceof AppError) || err.status !== 400) throw err;
      const errors = errorsFromDetails(err.details);
      if (Object.keys(errors).length === 0) errors._form = err.message;
      return formAgain(c, { ...form, errors });
    }
  })
  .get("/:id", (c) => {
    const { deps, logger } = c.var;
    const id = c.req.param("id");
    const version = c.get("live").version;
    const execution = c.req.query("execution") || undefined;
    const detail = taskDetail(deps, id);
    if (htmxTarget(c) === "task-main") {
      return fragment(c, <TaskMain detail={detail} selectedExecution={execution ?? detail.executions[0]?.id ?? null} />);
    }
    const level = (LOG_LEVELS as readonly string[]).includes(c.req.query("level") ?? "") ? c.req.query("level")! : "debug";
    const log = logTail(deps, logger, id, execution);
    return page(c, { title: detail.task.title, active: "tasks" }, <TaskPage detail={detail} log={log} level={level} version={version} pinned={Boolean(execution)} />);
  })
  .get("/:id/live", (c) => {
    const { deps, logger } = c.var;
    const id = c.req.param("id");
    const execution = c.req.query("execution") || undefined;
    if (!isHtmx(c)) return c.redirect(`/tasks/${id}${execution ? `?execution=${encodeURIComponent(execution)}` : ""}`, 303);
    const version = c.get("live").version;
    const detail = taskDetail(deps, id);
    const log = logTail(deps, logger, id, execution);
    return fragment(c, <TaskLive detail={detail} log={log} level="debug" version={version} pinned={Boolean(execution)} />);
  })
  .post("/:id/cancel", (c) => {
    const id = c.req.param("id");
    cancelTaskAs(c.get("deps"), id, actingOf(c));
    const detail = taskDetail(c.get("deps"), id);
    return actionDone(c, {
      message: `Task “${detail.task.title}” cancelled`,
      redirect: `/tasks/${id}`,
      body: <TaskMain detail={detail} selectedExecution={detail.executions[0]?.id ?? null} />,
    });
  })
  .post("/:id/retry", (c) => {
    const id = c.req.param("id");
    retryTaskAs(c.get("deps"), id, actingOf(c));
    const detail = taskDetail(c.get("deps"), id);
    return actionDone(c, {
      message: `Task “${detail.task.title}” queued again`,
      redirect: `/tasks/${id}`,
      body: <TaskMain detail={detail} selectedExecution={detail.executions[0]?.id ?? null} />,
    });
  })
  .post("/:id/delete", async (c) => {
    const id = c.req.param("id");
    const { title } = taskDetail(c.get("deps"), id).task;
    await deleteTask({ ...c.get("deps"), logFile: (e) => c.get("logger").filePath(e) }, id, actingOf(c));
    return actionDone(c, { message: `Task “${title}” deleted`, redirect: "/tasks" });
  });
