/** @jsxImportSource hono/jsx */
// The task page: header with actions (cancel / retry / delete, each confirmed), params, result,
// relatives, every execution, and the live log tail. `TaskMain` refreshes on the `task` event; the
// whole `TaskLive` region (and its stream) on `execution`, when an attempt starts or ends.
import type { Child, FC } from "hono/jsx";
import type { TaskDetail, TaskRef, LogTail } from "../../src/features/tasks/detail.ts";
import { Elapsed, EmptyState, JsonBlock, PageHeader, PriorityBadge, RelTime, ShortId, StatusBadge, duration } from "../components/ui.tsx";
import { TaskQuestionsPanel } from "../controller/task-questions.tsx";
import { AgentPanelSection } from "../agents/panel.tsx";
import { LogPanel } from "./logs.tsx";

const ACTIVE = ["running", "waiting_input"];
const UNFINISHED = ["pending", "queued", "running", "waiting_input"];
const RETRYABLE = ["failed", "cancelled", "timed_out"];
const FINISHED = ["succeeded", ...RETRYABLE];

const RefList: FC<{ items: TaskRef[]; empty: string }> = ({ items, empty }) =>
  items.length === 0 ? (
    <p class="text-sm text-muted">{empty}</p>
  ) : (
    <ul class="flex flex-col gap-1">
      {items.map((r) => (
        <li class="flex min-w-0 items-center gap-2 text-sm">
          <StatusBadge status={r.status} />
          <a class="min-w-0 flex-1 truncate hover:underline" href={`/tasks/${r.id}`}>
            {typeof r.metadata?.plan_step === "string" ? <span class="text-muted">{r.metadata.plan_step} · </span> : null}
            {r.title}
          </a>
        </li>
      ))}
    </ul>
  );

const Fact: FC<{ term: string; children: Child }> = ({ term, children }) => (
  <div class="min-w-0">
    <dt class="text-xs text-muted">{term}</dt>
    <dd class="break-words text-sm">{children}</dd>
  </div>
);

export const TaskActions: FC<{ task: TaskDetail["task"] }> = ({ task }) => (
  <div class="flex flex-wrap gap-2" id="task-actions">
    {/* The task's conversation: its questions, answers and status changes; a message to a running task reaches it. */}
    <a class="btn" href={`/chat/${task.id}`} data-task-conversation="">
      Conversation
    </a>
    {UNFINISHED.includes(task.status) ? (
      <form
        method="post"
        action={`/tasks/${task.id}/cancel`}
        hx-post={`/tasks/${task.id}/cancel`}
        hx-target="#task-main"
        hx-swap="outerHTML"
        hx-confirm={`Cancel “${task.title}”? A running attempt is stopped.`}
        data-confirm-title="Cancel this task?"
        data-confirm-label="Cancel task"
      >
        <button type="submit" class="btn" data-action="cancel">
          Cancel
        </button>
      </form>
    ) : null}
    {RETRYABLE.includes(task.status) ? (
      <form method="post" action={`/tasks/${task.id}/retry`} hx-post={`/tasks/${task.id}/retry`} hx-target="#task-main" hx-swap="outerHTML">
        <button type="submit" class="btn" data-action="retry">
          Retry
        </button>
      </form>
    ) : null}
    {task.task_type !== "plan" ? (
      <a class="btn" href={`/tasks/new?from=${task.id}`} data-action="clone" title="A new task with these fields, to edit before it runs">
        Clone…
      </a>
    ) : null}
    {!ACTIVE.includes(task.status) ? (
      <form
        method="post"
        action={`/tasks/${task.id}/delete`}
        hx-post={`/tasks/${task.id}/delete`}
        hx-confirm={`Delete “${task.title}” with its executions, logs and subtasks? This cannot be undone.`}
        data-confirm-title="Delete this task?"
        data-confirm-label="Delete"
      >
        <button type="submit" class="btn-danger" data-action="delete">
          Delete
        </button>
      </form>
    ) : null}
  </div>
);

export const TaskMain: FC<{ detail: TaskDetail; selectedExecution: string | null }> = ({ detail, selectedExecution }) => {
  const { task, executions } = detail;
  return (
    <div id="task-main" class="flex flex-col gap-4" hx-get={`/tasks/${task.id}${selectedExecution ? `?execution=${selectedExecution}` : ""}`} hx-trigger="sse:task" hx-swap="outerHTML">
      <PageHeader
        title={task.title}
        subtitle={
          <span class="flex flex-wrap items-center gap-2">
            <StatusBadge status={task.status} />
            <PriorityBadge priority={task.priority} />
            <code>{task.task_type}</code>
            <ShortId id={task.id} />
          </span>
        }
        actions={<TaskActions task={task} />}
      />
      {task.task_type === "plan" && typeof task.metadata?.plan_id === "string" ? (
        <a class="link text-sm" href={`/plans/${task.metadata.plan_id}/runs/${task.id}`}>
          This is a plan run: open the live run view →
        </a>
      ) : null}
      {detail.waitingFor ? (
        <div class="rounded-md tone-warn px-3 py-2 text-sm" role="status" data-waiting-for="">
          <strong>Waiting:</strong> {detail.waitingFor}
        </div>
      ) : null}
      {task.error ? (
        <div class="rounded-md tone-err px-3 py-2 text-sm" role="status">
          <strong>Error:</strong> <span class="whitespace-pre-wrap break-words">{task.error}</span>
        </div>
      ) : null}
      <TaskQuestionsPanel questions={detail.questions} canAnswer={detail.questions.canAnswer} />
      {detail.agent ? <AgentPanelSection panel={detail.agent} canAct={detail.questions.canAnswer} /> : null}
      <div class="grid gap-4 lg:grid-cols-3">
        <section class="card p-4 lg:col-span-2" aria-labelledby="facts-title">
          <h2 id="facts-title" class="sr-only">
            Details
          </h2>
          <dl class="grid grid-cols-2 gap-3 sm:grid-cols-4">
            <Fact term="Created">
              <RelTime at={task.created_at} />
            </Fact>
            <Fact term="Started">
              <RelTime at={task.started_at} />
            </Fact>
            <Fact term="Finished">
              <RelTime at={task.finished_at} />
            </Fact>
            <Fact term="Attempts">{task.attempts}</Fact>
            <Fact term="Retries">{task.max_retries === 0 ? "none" : `up to ${task.max_retries} after a failure`}</Fact>
            <Fact term="Timeout">{duration(task.timeout_seconds * 1000)}</Fact>
            <Fact term="Permission">
              <span data-permission-level={task.permission_level}>{task.permission_level}</span>
            </Fact>
            {task.requires.length > 0 ? <Fact term="Requires">{task.requires.join(", ")}</Fact> : null}
            {task.repository_url ? <Fact term="Repository">{task.repository_url}</Fact> : null}
            {task.branch_name ? <Fact term="Branch">{task.branch_name}</Fact> : null}
            {task.assigned_to ? <Fact term="Assigned to">{task.assigned_to}</Fact> : null}
          </dl>
          {task.description ? <p class="mt-4 whitespace-pre-wrap break-words text-sm">{task.description}</p> : null}
          <h3 class="mb-1 mt-4 text-sm font-semibold">Params</h3>
          <JsonBlock value={task.params} empty="No params." />
          <h3 class="mb-1 mt-4 text-sm font-semibold">Result</h3>
          <JsonBlock value={task.result} empty={FINISHED.includes(task.status) ? "No result." : "No result yet."} />
        </section>
        <section class="card flex min-w-0 flex-col gap-4 p-4" aria-label="Related tasks">
          {detail.parent ? (
            <div>
              <h3 class="mb-1 text-sm font-semibold">Parent</h3>
              <RefList items={[detail.parent]} empty="" />
            </div>
          ) : null}
          <div>
            <h3 class="mb-1 text-sm font-semibold">Depends on</h3>
            <RefList items={detail.dependencies} empty="No dependencies." />
          </div>
          <div>
            <h3 class="mb-1 text-sm font-semibold">Needed by</h3>
            <RefList items={detail.dependants} empty="No task waits on this one." />
          </div>
          {detail.childrenTotal > 0 ? (
            <div>
              <h3 class="mb-1 text-sm font-semibold">
                Subtasks <span class="font-normal text-muted">({detail.childrenTotal})</span>
              </h3>
              <RefList items={detail.children} empty="" />
              {detail.childrenTotal > detail.children.length ? (
                <a class="link text-xs" href={`/api/v1/tasks?parent_task_id=${task.id}`}>
                  all {detail.childrenTotal} (JSON)
                </a>
              ) : null}
            </div>
          ) : null}
        </section>
      </div>
      <section class="card min-w-0" aria-labelledby="executions-title">
        <h2 id="executions-title" class="border-b border-line px-4 py-2 font-semibold">
          Executions
        </h2>
        {executions.length === 0 ? (
          <EmptyState title="No attempt yet">{task.status === "pending" ? "Waiting for its dependencies." : "Waiting for a worker."}</EmptyState>
        ) : (
          <div class="overflow-x-auto">
            <table class="text-sm">
              <thead class="border-b border-line">
                <tr>
                  <th class="th">#</th>
                  <th class="th">Status</th>
                  <th class="th">Duration</th>
                  <th class="th hidden sm:table-cell">Exit</th>
                  <th class="th hidden sm:table-cell">Worker</th>
                  <th class="th hidden sm:table-cell">Started</th>
                  <th class="th">Logs</th>
                </tr>
              </thead>
              <tbody class="divide-y divide-line">
                {executions.map((e) => (
                  <tr data-execution-id={e.id} class={e.id === selectedExecution ? "bg-surface-2" : ""}>
                    <td class="td tabular-nums">{e.attempt}</td>
                    <td class="td">
                      <StatusBadge status={e.status} />
                    </td>
                    <td class="td whitespace-nowrap tabular-nums">
                      {e.status === "running" ? (
                        <Elapsed since={e.started_at} />
                      ) : (
                        duration(e.duration_ms ?? (e.finished_at ? Date.parse(e.finished_at) - Date.parse(e.started_at) : null))
                      )}
                    </td>
                    <td class="td hidden tabular-nums sm:table-cell">{e.exit_code ?? "—"}</td>
                    <td class="td hidden max-w-40 truncate text-muted sm:table-cell" title={e.worker_id}>
                      {e.worker_id}
                    </td>
                    <td class="td hidden whitespace-nowrap text-muted sm:table-cell">
                      <RelTime at={e.started_at} />
                    </td>
                    <td class="td">
                      <a
                        class="link whitespace-nowrap"
                        href={`/tasks/${task.id}?execution=${e.id}`}
                        hx-get={`/tasks/${task.id}/live?execution=${e.id}`}
                        hx-target="#task-live"
                        hx-swap="outerHTML"
                        hx-push-url={`/tasks/${task.id}?execution=${e.id}`}
                      >
                        {e.id === selectedExecution ? "shown" : "show"} (<span data-log-count={e.id}>{e.log_count}</span>)
                      </a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {executions.some((e) => e.error) ? (
              <ul class="border-t border-line px-4 py-2 text-xs text-muted">
                {executions
                  .filter((e) => e.error)
                  .map((e) => (
                    <li class="break-words">
                      attempt {e.attempt}: {e.error}
                    </li>
                  ))}
              </ul>
            ) : null}
          </div>
        )}
      </section>
    </div>
  );
};

export interface TaskLiveProps {
  detail: TaskDetail;
  log: LogTail;
  level: string;
  version: number;
  /** The execution was picked by the user (stays shown when a new attempt starts). */
  pinned: boolean;
}

/** The live region: one event stream for the task, its new attempts and the shown attempt's log. */
export const TaskLive: FC<TaskLiveProps> = ({ detail, log, level, version, pinned }) => {
  const id = detail.task.id;
  const topics = [`task:${id}`, `exec:${id}`, ...(log.executionId && log.running ? [`log:${log.executionId}`] : []), `questions:${id}`, ...(detail.agent ? [`steps:${id}`] : [])];
  const after = log.lines.at(-1)?.seq ?? 0;
  const self = `/tasks/${id}/live${pinned && log.executionId ? `?execution=${log.executionId}` : ""}`;
  return (
    <div
      id="task-live"
      class="flex flex-col gap-4"
      sse-close="bye"
      sse-connect={`/events?topics=${topics.join(",")}&v=${version}&after=${after}`}
      hx-get={self}
      hx-trigger="sse:execution"
      hx-swap="outerHTML"
    >
      <TaskMain detail={detail} selectedExecution={log.executionId} />
      <LogPanel
        executionId={log.executionId}
        lines={log.lines}
        skipped={log.skipped}
        level={level}
        running={log.running}
        attempt={log.attempt ?? undefined}
        downloadHref={log.executionId ? `/tasks/${id}/log.txt?execution=${log.executionId}` : undefined}
      />
    </div>
  );
};

export const TaskPage: FC<TaskLiveProps> = (props) => (
  <>
    <nav class="mb-3 text-sm text-muted" aria-label="Breadcrumb">
      <a href="/tasks" class="link">
        Tasks
      </a>{" "}
      / <ShortId id={props.detail.task.id} />
    </nav>
    <TaskLive {...props} />
  </>
);
