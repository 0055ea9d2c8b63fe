/** @jsxImportSource hono/jsx */
// The tasks page: filters and search, and the task table — one component that is both part of the
// page and the fragment the filters, the pagination and the `tasks` live event swap in.
import type { FC } from "hono/jsx";
import { PRIORITIES, TASK_STATUSES } from "../../src/db/schema.ts";
import type { TaskJson } from "../../src/engine/task-record.ts";
import { ListSection, NoMatch } from "../components/list.tsx";
import { EmptyState, PageHeader, PriorityBadge, RelTime, FilterActions, FilterSelect, ShortId, StatusBadge, label } from "../components/ui.tsx";
import { NewTaskDialog, type NewTaskFormProps } from "./new-task.tsx";

export interface TaskFilters {
  status?: string;
  task_type?: string;
  priority?: string;
  q?: string;
  /** Only the tasks one request made (its X-Correlation-Id). */
  correlation_id?: string;
  page: number;
  per_page: number;
}

/** `/tasks?…` with only the filters that are set (and the page when not the first). */
export function tasksHref(f: Partial<TaskFilters>, page = f.page ?? 1): string {
  const params = new URLSearchParams();
  for (const key of ["status", "task_type", "priority", "q", "correlation_id"] as const) if (f[key]) params.set(key, f[key]!);
  if (f.per_page && f.per_page !== 20) params.set("per_page", String(f.per_page));
  if (page > 1) params.set("page", String(page));
  const qs = params.toString();
  return qs ? `/tasks?${qs}` : "/tasks";
}

export interface TaskListProps {
  filters: TaskFilters;
  items: TaskJson[];
  total: number;
}

const filtered = (f: TaskFilters) => Boolean(f.status || f.task_type || f.priority || f.q || f.correlation_id);

export const TaskList: FC<TaskListProps> = ({ filters, items, total }) => {
  const self = tasksHref(filters);
  return (
    <ListSection
      id="task-list"
      refresh={{ href: self, trigger: "sse:tasks" }}
      total={total}
      columns={[
        { label: "Task" },
        { label: "Status" },
        { label: "Priority", class: "hidden sm:table-cell" },
        { label: "Type", class: "hidden md:table-cell" },
        { label: "Created", class: "hidden lg:table-cell" },
        { label: "Updated", class: "hidden sm:table-cell" },
      ]}
      page={{ page: filters.page, perPage: filters.per_page, href: (p) => tasksHref(filters, p) }}
      empty={
        items.length > 0 ? null : filtered(filters) ? (
          <NoMatch what="task" clearHref="/tasks" />
        ) : (
          <EmptyState title="No tasks yet">
            <a class="link" href="/tasks/new" data-dialog-open="new-task">
              Create the first task
            </a>{" "}
            or submit one with <code>POST /api/v1/tasks</code>.
          </EmptyState>
        )
      }
    >
      {items.map((t) => (
        <tr class="hover:bg-surface-2" data-task-id={t.id}>
          <td class="td max-w-0 w-full">
            <a href={`/tasks/${t.id}`} class="block truncate font-medium hover:underline">
              {t.title}
            </a>
            <span class="flex items-center gap-2 text-xs text-muted">
              <span class="md:hidden">{t.task_type}</span>
              <ShortId id={t.id} />
              {t.parent_task_id ? <span title="subtask">↳ subtask</span> : null}
            </span>
          </td>
          <td class="td">
            <StatusBadge status={t.status} />
          </td>
          <td class="td hidden sm:table-cell">
            <PriorityBadge priority={t.priority} />
          </td>
          <td class="td hidden md:table-cell">
            <code>{t.task_type}</code>
          </td>
          <td class="td hidden whitespace-nowrap text-muted lg:table-cell">
            <RelTime at={t.created_at} />
          </td>
          <td class="td hidden whitespace-nowrap text-muted sm:table-cell">
            <RelTime at={t.updated_at} />
          </td>
        </tr>
      ))}
    </ListSection>
  );
};

export interface TasksPageProps extends TaskListProps {
  taskTypes: string[];
  version: number;
  newTask: NewTaskFormProps;
}

export const TasksPage: FC<TasksPageProps> = ({ taskTypes, version, newTask, ...list }) => {
  const f = list.filters;
  const common = { "hx-get": "/tasks", "hx-target": "#task-list", "hx-swap": "outerHTML", "hx-push-url": "true", "hx-indicator": "#filters-spinner" };
  return (
    <>
      <PageHeader
        title="Tasks"
        actions={
          <a href="/tasks/new" class="btn-primary" data-dialog-open="new-task">
            + New task
          </a>
        }
      />
      <form class="mb-3 grid grid-cols-2 gap-2 sm:flex sm:flex-wrap sm:items-end" method="get" action="/tasks" role="search" {...common} hx-trigger="change, submit">
        <div class="col-span-2 sm:min-w-56 sm:flex-1">
          <label for="filter-q" class="sr-only">
            Search
          </label>
          <input
            id="filter-q"
            type="search"
            name="q"
            value={f.q ?? ""}
            placeholder="Search title and description…"
            maxlength={200}
            class="field"
            {...common}
            hx-include="closest form"
            hx-trigger="input changed delay:300ms, search"
          />
        </div>
        <FilterSelect name="status" label="Status" any="Any status" values={TASK_STATUSES} selected={f.status} show={label} />
        <FilterSelect name="task_type" label="Type" any="Any type" values={taskTypes} selected={f.task_type} />
        <FilterSelect name="priority" label="Priority" any="Any priority" values={PRIORITIES} selected={f.priority} />
        {f.correlation_id ? (
          <p class="col-span-2 text-sm text-muted" data-correlation-filter="">
            <input type="hidden" name="correlation_id" value={f.correlation_id} />
            Correlation <code class="break-all">{f.correlation_id}</code>
          </p>
        ) : null}
        <FilterActions clearHref={filtered(f) ? "/tasks" : null} spinnerId="filters-spinner" />
      </form>
      <div sse-close="bye" sse-connect={`/events?topics=tasks&v=${version}`}>
        <TaskList {...list} />
      </div>
      <NewTaskDialog {...newTask} />
    </>
  );
};
