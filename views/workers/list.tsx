/** @jsxImportSource hono/jsx */
// The workers page: stats, filters and the grid of worker cards — the stats and grid are one live region,
// the fragment the filters, the pagination and the `workers` live event swap in.
import type { FC } from "hono/jsx";
import { WORKER_STATUSES, WORKER_TYPES } from "../../src/db/schema.ts";
import type { WorkerStats, RunningTask } from "../../src/features/workers/page-data.ts";
import type { WorkerJson } from "../../src/features/workers/service.ts";
import { ListSection, NoMatch } from "../components/list.tsx";
import { EmptyState, PageHeader, RelTime, FilterActions, FilterSelect } from "../components/ui.tsx";
import { CapabilityChips, DrainingBadge, RemoteWorkerHint, WorkerStatusBadge, WorkerTypeBadge } from "./parts.tsx";

export interface WorkerFilters {
  status?: string;
  worker_type?: string;
  capability?: string;
  page: number;
  per_page: number;
}

/** `/workers?…` with only the filters that are set (and the page when not the first). */
export function workersHref(f: Partial<WorkerFilters>, page = f.page ?? 1): string {
  const params = new URLSearchParams();
  for (const key of ["status", "worker_type", "capability"] as const) if (f[key]) params.set(key, f[key]!);
  if (page > 1) params.set("page", String(page));
  const qs = params.toString();
  return qs ? `/workers?${qs}` : "/workers";
}

const filtered = (f: WorkerFilters) => Boolean(f.status || f.worker_type || f.capability);

export interface WorkerListProps {
  filters: WorkerFilters;
  items: WorkerJson[];
  total: number;
  stats: WorkerStats;
  running: Map<string, RunningTask[]>;
}

const Stat: FC<{ label: string; value: number; filter?: string; href?: string }> = ({ label, value, filter, href }) => (
  <div class="card min-w-0 px-2 py-1.5 sm:px-3 sm:py-2" data-stat={filter ?? label}>
    <dt class="truncate text-xs text-muted">{href ? <a class="hover:underline" href={href}>{label}</a> : label}</dt>
    <dd class="text-lg font-semibold tabular-nums">{value}</dd>
  </div>
);

const Stats: FC<{ stats: WorkerStats }> = ({ stats }) => (
  <dl class="mb-3 grid grid-cols-4 gap-2 lg:grid-cols-7" aria-label="Workers by status and type">
    <Stat label="Total" filter="total" value={stats.total} href="/workers" />
    {WORKER_STATUSES.map((s) => (
      <Stat label={s[0]!.toUpperCase() + s.slice(1)} filter={s} value={stats.byStatus[s]} href={workersHref({ status: s })} />
    ))}
    {WORKER_TYPES.map((t) => (
      <Stat label={t === "local" ? "Local" : "Remote"} filter={t} value={stats.byType[t]} href={workersHref({ worker_type: t })} />
    ))}
  </dl>
);

export const WorkerCard: FC<{ worker: WorkerJson; running: RunningTask[] }> = ({ worker: w, running }) => (
  <li class="card flex min-w-0 flex-col gap-2 p-3" data-worker-id={w.id}>
    <div class="flex min-w-0 items-start justify-between gap-2">
      <a href={`/workers/${w.id}`} class="min-w-0 break-words font-medium hover:underline" data-worker-name="">
        {w.name}
      </a>
      <WorkerTypeBadge type={w.worker_type} />
    </div>
    <div class="flex flex-wrap items-center gap-1.5">
      <WorkerStatusBadge status={w.status} />
      {w.draining ? <DrainingBadge /> : null}
      {w.hostname ? <span class="min-w-0 truncate text-xs text-muted">{w.hostname}</span> : null}
    </div>
    <CapabilityChips capabilities={w.capabilities} />
    <div class="min-w-0 text-sm">
      {running.length === 0 ? (
        <span class="text-muted">No task running</span>
      ) : (
        <ul class="flex flex-col gap-0.5" aria-label="Running tasks">
          {running.slice(0, 3).map((r) => (
            <li class="flex min-w-0 items-center gap-1.5">
              <span class="pulse-dot shrink-0 text-warn" aria-hidden="true" />
              <a class="min-w-0 truncate hover:underline" href={`/tasks/${r.task_id}`} data-running-task={r.task_id}>
                {r.title}
              </a>
            </li>
          ))}
          {running.length > 3 ? <li class="text-xs text-muted">and {running.length - 3} more</li> : null}
        </ul>
      )}
    </div>
    <dl class="mt-auto grid grid-cols-2 gap-2 border-t border-line pt-2 text-xs">
      <div class="min-w-0">
        <dt class="text-muted">Heartbeat</dt>
        <dd>
          <RelTime at={w.last_heartbeat_at} />
        </dd>
      </div>
      <div class="min-w-0">
        <dt class="text-muted">Concurrency</dt>
        <dd class="tabular-nums" data-concurrency="">
          {w.claimed_work_orders} / {w.max_concurrent_tasks}
        </dd>
      </div>
    </dl>
  </li>
);

export const WorkerList: FC<WorkerListProps> = ({ filters, items, total, stats, running }) => (
  <ListSection
    id="worker-list"
    refresh={{ href: workersHref(filters), trigger: "sse:workers" }}
    total={total}
    page={{ page: filters.page, perPage: filters.per_page, href: (p) => workersHref(filters, p) }}
    header={<Stats stats={stats} />}
    footer={
      stats.byType.remote === 0 && stats.total > 0 ? (
        <div class="card mt-3 p-3" data-remote-hint="">
          <RemoteWorkerHint />
        </div>
      ) : null
    }
    empty={
      items.length > 0 ? null : filtered(filters) ? (
        <NoMatch what="worker" clearHref="/workers" />
      ) : (
        <EmptyState title="No workers yet">
          <RemoteWorkerHint />
        </EmptyState>
      )
    }
  >
    <ul class="grid gap-3 sm:grid-cols-2 lg:grid-cols-3" aria-label="Workers">
      {items.map((w) => (
        <WorkerCard worker={w} running={running.get(w.id) ?? []} />
      ))}
    </ul>
  </ListSection>
);

export interface WorkersPageProps extends WorkerListProps {
  version: number;
}

export const WorkersPage: FC<WorkersPageProps> = ({ version, ...list }) => {
  const f = list.filters;
  const caps = f.capability && !list.stats.capabilities.includes(f.capability) ? [f.capability, ...list.stats.capabilities] : list.stats.capabilities;
  return (
    <>
      <PageHeader title="Workers" subtitle="This server's threads and the remote workers that registered with it." />
      <form
        class="mb-3 grid grid-cols-2 gap-2 sm:flex sm:flex-wrap sm:items-end"
        method="get"
        action="/workers"
        role="search"
        hx-get="/workers"
        hx-target="#worker-list"
        hx-swap="outerHTML"
        hx-push-url="true"
        hx-indicator="#filters-spinner"
        hx-trigger="change, submit"
      >
        <FilterSelect name="status" label="Status" any="Any status" values={WORKER_STATUSES} selected={f.status} />
        <FilterSelect name="worker_type" label="Type" any="Any type" values={WORKER_TYPES} selected={f.worker_type} />
        <FilterSelect name="capability" label="Capability" any="Any capability" values={caps} selected={f.capability} class="col-span-2 sm:col-span-1 sm:w-auto" />
        <FilterActions clearHref={filtered(f) ? "/workers" : null} spinnerId="filters-spinner" />
      </form>
      <div sse-close="bye" sse-connect={`/events?topics=workers&v=${version}`}>
        <WorkerList {...list} />
      </div>
    </>
  );
};
