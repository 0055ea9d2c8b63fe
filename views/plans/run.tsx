/** @jsxImportSource hono/jsx */
// A plan run, live: every step as a node of the graph with its state, the selected step's summary and
// its log. `RunMain` refreshes on the `task` event (any step changed); the whole `RunLive` region, with
// its stream, when the shown step starts or ends an attempt, or another step becomes the one to show.
import type { FC } from "hono/jsx";
import type { RunStep, RunView } from "../../src/features/plans/run-view.ts";
import type { LogTail } from "../../src/features/tasks/detail.ts";
import { Elapsed, PageHeader, RelTime, ShortId, StatusBadge, duration } from "../components/ui.tsx";
import { LogPanel } from "../tasks/logs.tsx";
import { Dag, type DagNode } from "./dag.tsx";

const UNFINISHED = ["pending", "queued", "running", "waiting_input"];

export interface RunMainProps {
  view: RunView;
  selected: string | null;
  pinned: boolean;
}

const runBase = (view: RunView) => `/plans/${view.planId ?? "-"}/runs/${view.run.id}`;

export function runNodes(view: RunView): DagNode[] {
  const base = runBase(view);
  return view.steps.map((s) => ({
    name: s.name,
    taskType: s.taskType,
    status: s.status,
    depends: s.depends,
    href: `${base}?step=${encodeURIComponent(s.name)}`,
    hxGet: `${base}/live?step=${encodeURIComponent(s.name)}`,
  }));
}

const StepSummary: FC<{ step: RunStep }> = ({ step }) => (
  <div class="flex flex-wrap items-center gap-x-3 gap-y-1 text-sm" data-selected-step={step.name}>
    <span class="font-semibold">{step.name}</span>
    <StatusBadge status={step.status} />
    <code class="text-xs">{step.taskType}</code>
    <span class="text-xs text-muted">
      attempts: {step.attempts}
      {step.finishedAt && step.startedAt ? ` · took ${duration(step.finishedAt - step.startedAt)}` : step.startedAt ? " · started " : ""}
      {!step.finishedAt && step.startedAt ? <RelTime at={step.startedAt} /> : null}
    </span>
    <a href={`/tasks/${step.taskId}`} class="link ml-auto text-xs">
      Open the step's task →
    </a>
    {step.error ? <p class="w-full break-words text-xs text-err">{step.error}</p> : null}
  </div>
);

export const RunMain: FC<RunMainProps> = ({ view, selected, pinned }) => {
  const { run } = view;
  const step = view.steps.find((s) => s.name === selected) ?? null;
  const base = runBase(view);
  const refresh = `${base}?${pinned && selected ? `step=${encodeURIComponent(selected)}` : `shown=${encodeURIComponent(selected ?? "")}`}`;
  const done = view.steps.filter((s) => s.status === "succeeded").length;
  return (
    <div id="run-main" class="flex flex-col gap-4" hx-get={refresh} hx-trigger="sse:task" hx-swap="outerHTML">
      <PageHeader
        title={
          <>
            {view.planName} <span class="text-base font-normal text-muted">run</span>
          </>
        }
        subtitle={
          <span class="flex flex-wrap items-center gap-2">
            <StatusBadge status={run.status} />
            {view.version ? <span class="badge tone-neutral">v{view.version}</span> : null}
            <span>
              {done} of {view.steps.length} steps done
            </span>
            <span>
              · started <RelTime at={run.created_at} />
            </span>
            <span data-run-duration="">
              ·{" "}
              {run.finished_at ? (
                <>took {duration(Date.parse(run.finished_at) - Date.parse(run.started_at ?? run.created_at))}</>
              ) : (
                <>
                  running for <Elapsed since={run.started_at ?? run.created_at} />
                </>
              )}
            </span>
            <ShortId id={run.id} />
          </span>
        }
        actions={
          <>
            {UNFINISHED.includes(run.status) ? (
              <form
                method="post"
                action={`${base}/cancel`}
                hx-post={`${base}/cancel`}
                hx-target="#run-main"
                hx-swap="outerHTML"
                hx-confirm="Cancel this run? Running steps are stopped and the rest will not start."
                data-confirm-title="Cancel the run?"
                data-confirm-label="Cancel run"
              >
                <button type="submit" class="btn" data-action="cancel">
                  Cancel run
                </button>
              </form>
            ) : null}
            {view.planId && !UNFINISHED.includes(run.status) ? (
              // The same version with the same inputs: what "again" means. The latest is one link away.
              <form method="post" action={`/plans/${view.planId}/run`} hx-post={`/plans/${view.planId}/run`} hx-swap="none">
                <input type="hidden" name="rerun" value={run.id} />
                <button type="submit" class="btn" data-action="rerun">
                  Run again{view.version ? ` (v${view.version}, same inputs)` : " (same inputs)"}
                </button>
              </form>
            ) : null}
            {view.planId && view.latestVersion !== null && view.latestVersion !== view.version ? (
              <a class="btn-ghost btn-sm" href={`/plans/${view.planId}#run`} data-run-latest="">
                Run the latest (v{view.latestVersion})…
              </a>
            ) : null}
            <a class="btn-ghost btn-sm" href={`/tasks/${run.id}`}>
              As a task
            </a>
          </>
        }
      />
      {Object.keys(view.inputs).length > 0 ? (
        <dl class="flex flex-wrap gap-x-4 gap-y-1 text-sm" data-run-inputs="" aria-label="Inputs">
          {Object.entries(view.inputs).map(([k, v]) => (
            <div class="flex min-w-0 gap-1">
              <dt class="text-muted">{k}</dt>
              <dd class="break-all font-mono">{typeof v === "string" ? v : JSON.stringify(v)}</dd>
            </div>
          ))}
        </dl>
      ) : null}
      {run.error ? (
        <div class="rounded-md tone-err px-3 py-2 text-sm" role="status">
          <span class="whitespace-pre-wrap break-words">{run.error}</span>
        </div>
      ) : null}
      <section class="card min-w-0 p-4" aria-labelledby="graph-title">
        <h2 id="graph-title" class="mb-3 flex items-baseline justify-between gap-2 font-semibold">
          Steps <span class="text-xs font-normal text-muted">select a step to see its log</span>
        </h2>
        {view.steps.length === 0 ? <p class="text-sm text-muted">This run has no steps.</p> : <Dag nodes={runNodes(view)} selected={selected} />}
      </section>
      {step ? (
        <section class="card p-4" aria-label="Selected step">
          <StepSummary step={step} />
        </section>
      ) : null}
    </div>
  );
};

export interface RunLiveProps extends RunMainProps {
  log: LogTail;
  stepTaskId: string | null;
  version: number;
}

export const RunLive: FC<RunLiveProps> = (props) => {
  const { view, selected, pinned, log, stepTaskId, version } = props;
  const topics = [`task:${view.run.id}`, ...(stepTaskId ? [`exec:${stepTaskId}`] : []), ...(log.executionId && log.running ? [`log:${log.executionId}`] : [])];
  const after = log.lines.at(-1)?.seq ?? 0;
  // Reloaded (a new attempt, or another step worth showing): the step shown now stays unless another runs.
  const self = `${runBase(view)}/live${pinned && selected ? `?step=${encodeURIComponent(selected)}` : selected ? `?shown=${encodeURIComponent(selected)}` : ""}`;
  return (
    <div
      id="run-live"
      class="flex flex-col gap-4"
      sse-close="bye"
      sse-connect={`/events?topics=${topics.join(",")}&v=${version}&after=${after}`}
      hx-get={self}
      hx-trigger="sse:execution, reselect from:body"
      hx-swap="outerHTML"
    >
      <RunMain {...props} />
      {selected ? (
        <LogPanel
          executionId={log.executionId}
          lines={log.lines}
          skipped={log.skipped}
          level="debug"
          running={log.running}
          attempt={log.attempt ?? undefined}
          downloadHref={log.executionId && stepTaskId ? `/tasks/${stepTaskId}/log.txt?execution=${log.executionId}` : undefined}
        />
      ) : null}
    </div>
  );
};

export const RunPage: FC<RunLiveProps> = (props) => (
  <>
    <nav class="mb-3 text-sm text-muted" aria-label="Breadcrumb">
      <a href="/plans" class="link">
        Plans
      </a>{" "}
      /{" "}
      {props.view.planId ? (
        <a href={`/plans/${props.view.planId}`} class="link break-all">
          {props.view.planName}
        </a>
      ) : (
        <span class="break-all">{props.view.planName}</span>
      )}{" "}
      / run
    </nav>
    <RunLive {...props} />
  </>
);
