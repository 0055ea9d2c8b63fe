/** @jsxImportSource hono/jsx */
// The dashboard: counts by status, queue depth per queue with the last hour as a sparkline, throughput
// and failure rate, recent activity — one live region refreshed by the `dashboard` event — and quick actions.
import type { FC } from "hono/jsx";
import { QUEUES, TASK_STATUSES } from "../../src/db/schema.ts";
import type { DashboardSnapshot } from "../../src/features/dashboard/stats.ts";
import { StackedBars, Sparkline } from "./charts.tsx";
import { EmptyState, PageHeader, RelTime, STATUS_TONE, StatusBadge, label, toneClass } from "../components/ui.tsx";
import { NewTaskDialog, type NewTaskFormProps } from "../tasks/new-task.tsx";

const QUEUE_LABEL = { high_priority: "High priority", default: "Default", low_priority: "Low priority" } as const;
const QUEUE_TONE = { high_priority: "err", default: "info", low_priority: "neutral" } as const;

const pct = (r: number | null) => (r === null ? "—" : `${(r * 100).toFixed(r > 0 && r < 0.1 ? 1 : 0)} %`);
const num = (n: number) => n.toLocaleString("en-US");

export interface DashboardLiveProps {
  snap: DashboardSnapshot;
  workers: { threads: number; busy: number };
  /** Questions waiting for a person: the "waiting input" card says so and leads to the Inbox. */
  waitingForHumans: number;
}

export const DashboardLive: FC<DashboardLiveProps> = ({ snap, workers, waitingForHumans }) => (
  <div id="dash-live" class="live-region flex flex-col gap-4" hx-get="/" hx-trigger="sse:dashboard, every 60s" hx-swap="outerHTML">
    <section aria-labelledby="counts-title">
      <h2 id="counts-title" class="sr-only">
        Tasks by status
      </h2>
      <ul class="grid grid-cols-2 gap-2 sm:grid-cols-4 lg:grid-cols-8">
        {TASK_STATUSES.map((s) => (
          <li>
            <a href={s === "waiting_input" ? "/inbox" : `/tasks?status=${s}`} class="card block h-full px-3 py-2 hover:bg-surface-2" data-count={s}>
              <span class={`badge ${toneClass(STATUS_TONE[s] ?? "neutral")}`}>{label(s)}</span>
              <span class="mt-1 block text-xl font-semibold tabular-nums sm:text-2xl">{num(snap.counts[s])}</span>
              {s === "waiting_input" ? (
                <span class={`block text-xs ${waitingForHumans ? "font-medium text-violet" : "text-muted"}`} data-waiting-for-you={waitingForHumans}>
                  {waitingForHumans === 1 ? "1 waits for you" : `${num(waitingForHumans)} wait for you`}
                </span>
              ) : null}
            </a>
          </li>
        ))}
      </ul>
    </section>

    <section aria-labelledby="queues-title" class="card">
      <div class="flex flex-wrap items-baseline justify-between gap-2 border-b border-line px-4 py-2">
        <h2 id="queues-title" class="font-semibold">
          Queues
        </h2>
        <span class="text-xs text-muted">
          local threads: {workers.busy} busy of {workers.threads} · depth over the last hour
        </span>
      </div>
      <ul class="grid divide-y divide-line md:grid-cols-3 md:divide-x md:divide-y-0">
        {QUEUES.map((q) => {
          const values = snap.series.map((m) => m.depth[q]);
          return (
            <li class="flex flex-col gap-1 px-4 py-3" data-queue={q}>
              <div class="flex items-baseline justify-between gap-2">
                <span class="text-sm font-medium">{QUEUE_LABEL[q]}</span>
                <span class="text-xs text-muted">{num(snap.queues[q].running)} running</span>
              </div>
              <span class="text-2xl font-semibold tabular-nums" data-depth={q}>
                {num(snap.queues[q].queued)}
                <span class="ml-1 text-sm font-normal text-muted">queued</span>
              </span>
              <Sparkline values={values} tone={QUEUE_TONE[q]} label={`${QUEUE_LABEL[q]} queue depth, last 60 minutes: peak ${Math.max(0, ...values)}, now ${snap.queues[q].queued}`} />
              <div class="flex justify-between text-[10px] text-muted">
                <span>60 min ago</span>
                <span>now</span>
              </div>
            </li>
          );
        })}
      </ul>
    </section>

    <div class="grid items-start gap-4 lg:grid-cols-2">
      <section aria-labelledby="throughput-title" class="card">
        <div class="border-b border-line px-4 py-2">
          <h2 id="throughput-title" class="font-semibold">
            Throughput
          </h2>
        </div>
        <div class="flex flex-col gap-3 px-4 py-3">
          <dl class="grid grid-cols-3 gap-2">
            <div>
              <dt class="text-xs text-muted">per minute</dt>
              <dd class="text-xl font-semibold tabular-nums" data-metric="throughput">
                {snap.throughputPerMinute >= 10 ? num(Math.round(snap.throughputPerMinute)) : snap.throughputPerMinute.toFixed(1)}
              </dd>
            </div>
            <div>
              <dt class="text-xs text-muted">finished, last hour</dt>
              <dd class="text-xl font-semibold tabular-nums">{num(snap.finishedLastHour)}</dd>
            </div>
            <div>
              <dt class="text-xs text-muted">failure rate</dt>
              <dd class={`text-xl font-semibold tabular-nums ${snap.failureRate ? "text-err" : ""}`} data-metric="failure-rate">
                {pct(snap.failureRate)}
              </dd>
            </div>
          </dl>
          <StackedBars
            data={snap.series.map((m) => ({ ok: m.succeeded, err: m.failed }))}
            label={`Tasks finished per minute over the last hour: ${snap.finishedLastHour} finished, ${snap.failedLastHour} failed`}
          />
          <div class="flex flex-wrap justify-between gap-2 text-[10px] text-muted">
            <span>60 min ago</span>
            <span class="flex gap-3">
              <span class="flex items-center gap-1">
                <span class="inline-block h-2 w-2 rounded-sm bg-ok" /> succeeded
              </span>
              <span class="flex items-center gap-1">
                <span class="inline-block h-2 w-2 rounded-sm bg-err" /> failed
              </span>
            </span>
            <span>now</span>
          </div>
        </div>
      </section>

      <section aria-labelledby="activity-title" class="card min-w-0">
        <div class="flex items-baseline justify-between border-b border-line px-4 py-2">
          <h2 id="activity-title" class="font-semibold">
            Recent activity
          </h2>
          <a href="/tasks" class="link text-xs">
            All tasks →
          </a>
        </div>
        {snap.activity.length === 0 ? (
          <EmptyState title="Nothing has happened yet">
            <a class="link" href="/tasks/new" data-dialog-open="new-task">
              Create the first task
            </a>
          </EmptyState>
        ) : (
          <ul class="divide-y divide-line" id="activity">
            {snap.activity.map((a) => (
              <li class="flex items-center gap-2 px-4 py-2 text-sm">
                <StatusBadge status={a.status} />
                <a href={`/tasks/${a.taskId}`} class="min-w-0 flex-1 truncate hover:underline">
                  {a.title ?? a.taskId}
                </a>
                <span class="hidden text-xs text-muted sm:inline">{a.taskType}</span>
                <span class="shrink-0 text-xs text-muted">
                  <RelTime at={a.at} />
                </span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  </div>
);

export interface DashboardPageProps extends DashboardLiveProps {
  version: number;
  newTask: NewTaskFormProps;
}

export const DashboardPage: FC<DashboardPageProps> = ({ version, newTask, ...live }) => (
  <>
    <PageHeader
      title="Dashboard"
      subtitle={`${num(live.snap.total)} tasks in total`}
      actions={
        <>
          <a href="/plans" class="btn">
            Run a plan
          </a>
          <a href="/tasks/new" class="btn-primary" data-dialog-open="new-task">
            + New task
          </a>
        </>
      }
    />
    <div sse-close="bye" sse-connect={`/events?topics=dashboard&v=${version}`}>
      <DashboardLive {...live} />
    </div>
    <NewTaskDialog {...newTask} />
  </>
);
