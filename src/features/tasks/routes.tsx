/** @jsxImportSource hono/jsx */
// /tasks: the tasks pages — the filterable list, the "New task" form, a task with its executions and
// live log, and the cancel / retry / delete actions. Each GET answers the full page, or the fragment
// an htmx request targets (HX-Target), rendered by the same component.
import { Hono, type Context } from "hono";
import { LOG_LEVELS, PERMISSION_LEVELS, PRIORITIES, TASK_STATUSES, type PermissionLevel, type Priority, type TaskStatus } from "../../db/schema.ts";
import { actingOf } from "../auth/request.ts";
import { AppError, validationError } from "../../errors.ts";
import { hasRole } from "../auth/middleware.ts";
import { getUserRecord } from "../auth/users.ts";
import { queuePause } from "../queue-control/service.ts";
import { BulkBody, bulkTasks } from "./bulk.ts";
import type { TaskSort } from "./schemas.ts";
import { actionDone, firstProblem, fragment, htmxTarget, isHtmx, page, toast, trigger } from "../../pages/render.tsx";
import { TASK_TYPES } from "../../task-types/index.ts";
import { TASK_SORT_LABELS, TaskList, TasksPage, type TaskFilters } from "../../../views/tasks/list.tsx";
import { TaskLive, TaskMain, TaskPage } from "../../../views/tasks/detail.tsx";
import { NewTaskForm, ParamFields, type NewTaskFormProps } from "../../../views/tasks/new-task.tsx";
import { canAnswer, draftsOf, taskQuestionsPanel } from "../controller/inbox-routes.tsx";
import { logTail, taskDetail } from "./detail.ts";
import { errorsFromDetails, formTaskTypes, paramFieldsOf, parseTaskForm, valuesFromTask, type ParsedTaskForm } from "./form.ts";
import { cancelTaskAs, createTask, deleteTask, getTask, listTasks, retryTaskAs } from "./service.ts";

type Ctx = Context;

/** The task page's data as this viewer sees it (the model's streaming answers; whether they may answer). */
const detailOf = (c: Ctx, id: string) => taskDetail(c.get("deps"), id, { draftOf: draftsOf(c), canAnswer: canAnswer(c) });

/** Filters from the query string, leniently: a value that is not valid is ignored, not an error page. */
function filtersOf(c: Ctx): TaskFilters {
  return filtersFrom(c.req.query());
}

function filtersFrom(q: Record<string, string | undefined>): TaskFilters {
  const int = (v: string | undefined, def: number, max: number) => {
    const n = Number(v);
    return Number.isInteger(n) && n >= 1 ? Math.min(n, max) : def;
  };
  const statuses = (q.status ?? "").split(",").filter((s) => (TASK_STATUSES as readonly string[]).includes(s));
  const day = (v: string | undefined) => (v && /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v)) ? v : undefined);
  return {
    status: statuses.length ? statuses.join(",") : undefined,
    task_type: q.task_type && q.task_type.length <= 100 ? q.task_type : undefined,
    priority: (PRIORITIES as readonly string[]).includes(q.priority ?? "") ? q.priority : undefined,
    permission_level: (PERMISSION_LEVELS as readonly string[]).includes(q.permission_level ?? "") ? q.permission_level : undefined,
    q: q.q?.trim() ? q.q.trim().slice(0, 200) : undefined,
    from: day(q.from),
    to: day(q.to),
    sort: q.sort && q.sort !== "-created_at" && q.sort in TASK_SORT_LABELS ? q.sort : undefined,
    page: int(q.page, 1, 1_000_000),
    per_page: int(q.per_page, 20, 100),
  };
}

/** The page's filters as the task service's query (the `to` day counts whole: before the next day). */
function queryOf(f: TaskFilters) {
  const nextDay = (d: string) => new Date(Date.parse(d) + 86_400_000).toISOString().slice(0, 10);
  return {
    status: f.status?.split(",") as TaskStatus[] | undefined,
    task_type: f.task_type,
    priority: f.priority as Priority | undefined,
    permission_level: f.permission_level as PermissionLevel | undefined,
    q: f.q,
    created_after: f.from,
    created_before: f.to ? nextDay(f.to) : undefined,
    sort: (f.sort ?? "-created_at") as TaskSort,
    page: f.page,
    per_page: f.per_page,
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
  if (isHtmx(c)) toast(c, "error", `The task was not created: ${firstProblem(form.errors)}`);
  if (isHtmx(c)) return fragment(c, <NewTaskForm {...props} />, 422);
  return page(c, { title: "New task", active: "tasks", status: 422 }, <NewTaskPage {...props} />);
}

const NewTaskPage = ({ cloneOf, ...props }: NewTaskFormProps & { cloneOf?: { id: string; title: string } }) => (
  <div class="mx-auto max-w-2xl">
    <h1 class="mb-4 text-xl font-semibold sm:text-2xl">New task</h1>
    {cloneOf ? (
      <p class="mb-3 text-sm text-muted" data-clone-of={cloneOf.id}>
        A copy of{" "}
        <a class="link" href={`/tasks/${cloneOf.id}`}>
          {cloneOf.title}
        </a>
        : change what you need, then create it.
      </p>
    ) : null}
    <div class="card p-4 sm:p-5">
      <NewTaskForm {...props} />
    </div>
  </div>
);

export const taskRoutes = new Hono()
  .get("/", (c) => {
    const version = c.get("live").version;
    const deps = c.get("deps");
    const principal = c.get("principal");
    const filters = filtersOf(c);
    const result = listTasks(deps, queryOf(filters));
    const list = { filters, items: result.items, total: result.total, canAct: hasRole(principal, "operator") };
    if (htmxTarget(c) === "task-list") return fragment(c, <TaskList {...list} />);
    const failedCount = listTasks(deps, { ...queryOf(filters), status: ["failed"], page: 1, per_page: 1 }).total;
    const paused = queuePause(deps);
    const pausedBy = paused?.paused_by ? (getUserRecord(c.get("auth"), paused.paused_by)?.username ?? null) : null;
    return page(
      c,
      { title: "Tasks", active: "tasks" },
      <TasksPage
        {...list}
        taskTypes={[...TASK_TYPES.keys()]}
        version={version}
        newTask={newTaskProps()}
        queue={{ paused, pausedBy, isAdmin: hasRole(principal, "admin") }}
        failedCount={failedCount}
      />,
    );
  })
  .post("/bulk", async (c) => {
    const form = await c.req.parseBody({ all: true });
    const text = (k: string) => (typeof form[k] === "string" ? (form[k] as string) : undefined);
    const ids = ([] as unknown[]).concat(form.ids ?? []).filter((v): v is string => typeof v === "string" && v !== "");
    const action = text("action");
    let body;
    if (text("scope") === "filter") {
      // The list's filters, carried as filter.* fields: "every task matching" means what the page shows.
      const f = filtersFrom(Object.fromEntries(Object.entries(form).filter(([k, v]) => k.startsWith("filter.") && typeof v === "string").map(([k, v]) => [k.slice(7), v as string])));
      const q = queryOf({ ...f, page: 1, per_page: 20 });
      body = BulkBody.safeParse({ action, filter: definedOnly({ status: q.status, task_type: q.task_type, priority: q.priority, q: q.q, created_after: q.created_after, created_before: q.created_before }) });
    } else {
      if (ids.length === 0) throw new AppError(400, "validation_failed", "Select at least one task first");
      body = BulkBody.safeParse({ action, ids });
    }
    if (!body.success) throw validationError(body.error);
    const result = bulkTasks(c.get("deps"), body.data, actingOf(c));
    const past = { cancel: "cancelled", retry: "queued again", delete: "deleted" }[body.data.action];
    const skipped = result.skipped_total ? `; ${result.skipped_total} skipped (${result.skipped[0]!.reason}${result.skipped_total > 1 ? ", …" : ""})` : "";
    trigger(c, "tasks:changed");
    return actionDone(c, {
      message: `${result.done} task${result.done === 1 ? "" : "s"} ${past}${skipped}`,
      level: result.done === 0 && result.skipped_total > 0 ? "error" : "success",
      redirect: "/tasks",
      body: <></>,
    });
  })
  .get("/new", (c) => {
    // Clone: the form filled in from another task, to run it again with its params edited.
    const from = c.req.query("from");
    if (from) {
      const source = getTask(c.get("deps"), from);
      if (!formTaskTypes().some((t) => t.name === source.task_type)) throw new AppError(400, "validation_failed", `a ${source.task_type} task is not made by hand: run its plan again instead`);
      const props = { ...newTaskProps(source.task_type), values: valuesFromTask(source) };
      return page(c, { title: "New task", active: "tasks" }, <NewTaskPage {...props} cloneOf={source} />);
    }
    return page(c, { title: "New task", active: "tasks" }, <NewTaskPage {...newTaskProps(c.req.query("task_type"))} />);
  })
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
    const detail = detailOf(c, id);
    if (htmxTarget(c) === "task-main") {
      return fragment(c, <TaskMain detail={detail} selectedExecution={execution ?? detail.executions[0]?.id ?? null} />);
    }
    const level = (LOG_LEVELS as readonly string[]).includes(c.req.query("level") ?? "") ? c.req.query("level")! : "debug";
    const log = logTail(deps, logger, id, execution);
    return page(c, { title: detail.task.title, active: "tasks" }, <TaskPage detail={detail} log={log} level={level} version={version} pinned={Boolean(execution)} />);
  })
  .get("/:id/log.txt", (c) => {
    const { deps, logger } = c.var;
    const id = c.req.param("id");
    const wanted = c.req.query("execution") || undefined;
    const tail = logTail(deps, logger, id, wanted, 1); // checks the execution belongs to the task (404 otherwise)
    if (!tail.executionId) throw new AppError(404, "not_found", "This task has not run yet: there is no log to download");
    const executionId = tail.executionId;
    const encoder = new TextEncoder();
    let after = 0;
    // Streamed a page at a time: a long log never sits in memory whole.
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const page = logger.history(executionId, { after, limit: 5000 });
        if (page.length === 0) return controller.close();
        after = page.at(-1)!.seq;
        controller.enqueue(encoder.encode(page.map((l) => `${new Date(l.ts).toISOString()} ${l.level.toUpperCase().padEnd(5)} ${l.message}\n`).join("")));
      },
    });
    return c.body(body, 200, {
      "content-type": "text/plain; charset=utf-8",
      "content-disposition": `attachment; filename="task-${id.slice(-8)}-attempt-${tail.attempt}.log"`,
      "cache-control": "no-store",
    });
  })
  .get("/:id/live", (c) => {
    const { deps, logger } = c.var;
    const id = c.req.param("id");
    const execution = c.req.query("execution") || undefined;
    if (!isHtmx(c)) return c.redirect(`/tasks/${id}${execution ? `?execution=${encodeURIComponent(execution)}` : ""}`, 303);
    const version = c.get("live").version;
    const detail = detailOf(c, id);
    const log = logTail(deps, logger, id, execution);
    return fragment(c, <TaskLive detail={detail} log={log} level="debug" version={version} pinned={Boolean(execution)} />);
  })
  // The task's questions alone: refreshed by the page's `questions` event.
  .get("/:id/questions", (c) => {
    const id = c.req.param("id");
    getTask(c.get("deps"), id); // 404 for a task that does not exist
    return fragment(c, taskQuestionsPanel(c, id));
  })
  .post("/:id/cancel", (c) => {
    const id = c.req.param("id");
    cancelTaskAs(c.get("deps"), id, actingOf(c));
    const detail = detailOf(c, id);
    return actionDone(c, {
      message: `Task “${detail.task.title}” cancelled`,
      redirect: `/tasks/${id}`,
      body: <TaskMain detail={detail} selectedExecution={detail.executions[0]?.id ?? null} />,
    });
  })
  .post("/:id/retry", (c) => {
    const id = c.req.param("id");
    retryTaskAs(c.get("deps"), id, actingOf(c));
    const detail = detailOf(c, id);
    return actionDone(c, {
      message: `Task “${detail.task.title}” queued again`,
      redirect: `/tasks/${id}`,
      body: <TaskMain detail={detail} selectedExecution={detail.executions[0]?.id ?? null} />,
    });
  })
  .post("/:id/delete", (c) => {
    const id = c.req.param("id");
    const { title } = taskDetail(c.get("deps"), id).task;
    deleteTask(c.get("deps"), id, actingOf(c));
    return actionDone(c, { message: `Task “${title}” deleted`, redirect: "/tasks" });
  });

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
