/** @jsxImportSource hono/jsx */
// The tasks page: filters, search, sort and dates; the task table — one component that is both part of
// the page and the fragment the filters, the pagination and the `tasks` live event swap in; the bulk
// actions on the selected tasks (or every failed one); and, for admins, the queue's pause and purge.
import type { FC } from "hono/jsx";
import { PERMISSION_LEVELS, PRIORITIES, TASK_STATUSES } from "../../src/db/schema.ts";
import type { TaskJson } from "../../src/engine/task-record.ts";
import { ListSection, NoMatch } from "../components/list.tsx";
import { Elapsed, EmptyState, PageHeader, PriorityBadge, RelTime, FilterActions, FilterSelect, SearchField, ShortId, StatusBadge, duration, label } from "../components/ui.tsx";
import { NewTaskDialog, type NewTaskFormProps } from "./new-task.tsx";
import { QueueControls, type QueueControlsProps } from "../queue-control/controls.tsx";

export interface TaskFilters {
  status?: string;
  task_type?: string;
  priority?: string;
  permission_level?: string;
  q?: string;
  /** Created on or after this day (YYYY-MM-DD, UTC). */
  from?: string;
  /** Created on or before this day (YYYY-MM-DD, UTC): the whole day counts. */
  to?: string;
  sort?: string;
  /** Only the tasks one request made (its X-Correlation-Id). */
  correlation_id?: string;
  page: number;
  per_page: number;
}

const FILTER_KEYS = ["status", "task_type", "priority", "permission_level", "q", "from", "to", "sort", "correlation_id"] as const;

/** `/tasks?…` with only the filters that are set (and the page when not the first). */
export function tasksHref(f: Partial<TaskFilters>, page = f.page ?? 1): string {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) if (f[key]) params.set(key, f[key]!);
  if (f.per_page && f.per_page !== 20) params.set("per_page", String(f.per_page));
  if (page > 1) params.set("page", String(page));
  const qs = params.toString();
  return qs ? `/tasks?${qs}` : "/tasks";
}

/** The orders the Sort filter offers: value → label (the API's `sort`). */
export const TASK_SORT_LABELS: Record<string, string> = {
  "-created_at": "Newest first",
  created_at: "Oldest first",
  "-updated_at": "Recently updated",
  "-duration": "Longest first",
  duration: "Shortest first",
  title: "Title A–Z",
  "-priority": "Priority, high first",
  status: "Status",
};

export interface TaskListProps {
  filters: TaskFilters;
  items: TaskJson[];
  total: number;
  /** Offer the selection boxes (operators and admins). */
  canAct?: boolean;
}

const filtered = (f: TaskFilters) => Boolean(f.status || f.task_type || f.priority || f.permission_level || f.q || f.from || f.to || f.correlation_id);

/** How long a task ran (its latest run), or how long it has been running. */
const TaskDuration: FC<{ t: TaskJson }> = ({ t }) =>
  t.started_at && t.finished_at ? (
    <>{duration(Date.parse(t.finished_at) - Date.parse(t.started_at))}</>
  ) : t.started_at && t.status === "running" ? (
    <Elapsed since={t.started_at} />
  ) : (
    <span class="text-muted">—</span>
  );

export const TaskList: FC<TaskListProps> = ({ filters, items, total, canAct }) => {
  const self = tasksHref(filters);
  return (
    <ListSection
      id="task-list"
      refresh={{ href: self, trigger: "sse:tasks, tasks:changed from:body" }}
      total={total}
      columns={[
        ...(canAct
          ? [
              {
                label: "Select",
                class: "w-8",
                head: (
                  <input type="checkbox" class="h-4 w-4 accent-[var(--accent)]" data-select-all="task" aria-label="Select every task on this page" />
                ),
              },
            ]
          : []),
        { label: "Task" },
        { label: "Status" },
        { label: "Priority", class: "hidden sm:table-cell" },
        { label: "Type", class: "hidden md:table-cell" },
        { label: "Permission", class: "hidden xl:table-cell" },
        { label: "Duration", class: "hidden sm:table-cell" },
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
          {canAct ? (
            <td class="td w-8">
              <input type="checkbox" name="ids" value={t.id} form="bulk-form" class="h-4 w-4 accent-[var(--accent)]" data-select="task" aria-label={`Select “${t.title}”`} />
            </td>
          ) : null}
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
          <td class="td hidden text-muted xl:table-cell" data-permission-level={t.permission_level}>
            {t.permission_level}
          </td>
          <td class="td hidden whitespace-nowrap tabular-nums text-muted sm:table-cell">
            <TaskDuration t={t} />
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

/** The hidden inputs that carry the current filters into a bulk action on "every task matching". */
const FilterInputs: FC<{ f: TaskFilters; status?: string }> = ({ f, status }) => (
  <>
    {(["task_type", "priority", "q", "from", "to"] as const).map((k) => (f[k] ? <input type="hidden" name={`filter.${k}`} value={f[k]} /> : null))}
    {status ? <input type="hidden" name="filter.status" value={status} /> : null}
  </>
);

/**
 * What can be done to many tasks at once: cancel, retry or delete the selected ones (each asks first),
 * and retry every failed one the filters match. The row boxes belong to this form (form="bulk-form").
 */
const BulkBar: FC<{ f: TaskFilters; failedCount: number }> = ({ f, failedCount }) => {
  const post = { "hx-post": "/tasks/bulk", "hx-swap": "none" };
  return (
    <div class="mb-3 flex flex-wrap items-center gap-2 text-sm" data-bulk-bar="">
      {/* hx-post on each button: htmx asks a button's own hx-confirm only when the button makes the request. */}
      <form id="bulk-form" method="post" action="/tasks/bulk" class="flex flex-wrap items-center gap-2">
        <input type="hidden" name="scope" value="selected" />
        <span class="text-muted" data-selected-count="" aria-live="polite">
          None selected
        </span>
        <button type="submit" name="action" value="cancel" class="btn btn-sm" data-action="bulk-cancel" data-needs-selection="" {...post} hx-confirm="Cancel the selected tasks? Running attempts are stopped." data-confirm-title="Cancel the selected tasks?" data-confirm-label="Cancel tasks">
          Cancel
        </button>
        <button type="submit" name="action" value="retry" class="btn btn-sm" data-action="bulk-retry" data-needs-selection="" {...post} hx-confirm="Run the selected tasks again? Only failed, cancelled or timed-out ones can be retried; the others are skipped." data-confirm-title="Retry the selected tasks?" data-confirm-label="Retry">
          Retry
        </button>
        <button type="submit" name="action" value="delete" class="btn-danger btn-sm" data-action="bulk-delete" data-needs-selection="" {...post} hx-confirm="Delete the selected tasks with their executions, logs and subtasks? Running ones are skipped. This cannot be undone." data-confirm-title="Delete the selected tasks?" data-confirm-label="Delete">
          Delete
        </button>
      </form>
      {failedCount > 0 ? (
        <form method="post" action="/tasks/bulk" class="ml-auto">
          <input type="hidden" name="scope" value="filter" />
          <input type="hidden" name="action" value="retry" />
          <FilterInputs f={f} status="failed" />
          <button
            type="submit"
            class="btn btn-sm"
            data-action="retry-all-failed"
            {...post}
            hx-confirm={`Retry all ${failedCount} failed task${failedCount === 1 ? "" : "s"}${filtered({ ...f, status: undefined }) ? " matching these filters" : ""}?`}
            data-confirm-title="Retry every failed task?"
            data-confirm-label="Retry all"
          >
            Retry all {failedCount} failed
          </button>
        </form>
      ) : null}
    </div>
  );
};

export interface TasksPageProps extends TaskListProps {
  taskTypes: string[];
  version: number;
  newTask: NewTaskFormProps;
  queue: QueueControlsProps;
  /** Failed tasks matching the filters other than status: what "Retry all failed" would retry. */
  failedCount: number;
}

export const TasksPage: FC<TasksPageProps> = ({ taskTypes, version, newTask, queue, failedCount, ...list }) => {
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
      <QueueControls {...queue} />
      <form class="mb-3 grid grid-cols-2 gap-2 sm:flex sm:flex-wrap sm:items-end" method="get" action="/tasks" role="search" {...common} hx-trigger="change, submit">
        <div class="col-span-2 sm:min-w-56 sm:flex-1">
          <SearchField
            id="filter-q"
            label="Search"
            value={f.q}
            placeholder="Search title and description…"
            attrs={{ ...common, "hx-include": "closest form", "hx-trigger": "input changed delay:300ms, search" }}
          />
        </div>
        <FilterSelect name="status" label="Status" any="Any status" values={TASK_STATUSES} selected={f.status} show={label} />
        <FilterSelect name="task_type" label="Type" any="Any type" values={taskTypes} selected={f.task_type} />
        <FilterSelect name="priority" label="Priority" any="Any priority" values={PRIORITIES} selected={f.priority} />
        <FilterSelect name="permission_level" label="Permission level" any="Any permission" values={PERMISSION_LEVELS} selected={f.permission_level} />
        <label class="flex min-w-0 items-center gap-1 text-xs text-muted">
          From
          <input type="date" name="from" value={f.from ?? ""} class="field min-w-0 py-1 sm:w-auto" aria-label="Created on or after" />
        </label>
        <label class="flex min-w-0 items-center gap-1 text-xs text-muted">
          to
          <input type="date" name="to" value={f.to ?? ""} class="field min-w-0 py-1 sm:w-auto" aria-label="Created on or before" />
        </label>
        <select name="sort" class="field sm:w-auto" aria-label="Sort">
          {Object.entries(TASK_SORT_LABELS).map(([value, text]) => (
            <option value={value === "-created_at" ? "" : value} selected={(f.sort ?? "-created_at") === value}>
              {text}
            </option>
          ))}
        </select>
        {f.correlation_id ? (
          <p class="col-span-2 text-sm text-muted" data-correlation-filter="">
            <input type="hidden" name="correlation_id" value={f.correlation_id} />
            Correlation <code class="break-all">{f.correlation_id}</code>
          </p>
        ) : null}
        <FilterActions clearHref={filtered(f) || f.sort ? "/tasks" : null} spinnerId="filters-spinner" />
      </form>
      {list.canAct ? <BulkBar f={f} failedCount={failedCount} /> : null}
      <div sse-close="bye" sse-connect={`/events?topics=tasks&v=${version}`}>
        <TaskList {...list} />
      </div>
      <NewTaskDialog {...newTask} />
    </>
  );
};
