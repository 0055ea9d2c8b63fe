/** @jsxImportSource hono/jsx */
// A worker's page: status and the drain action, configuration, capabilities, CPU and memory over its last
// heartbeats, the work it holds now and its recent executions. `WorkerMain` is the live region: it
// refreshes on the `workers` event, and every 10 s for the heartbeat sparklines (a heartbeat is not an event).
import type { Child, FC } from "hono/jsx";
import type { WorkerDetail } from "../../src/features/workers/page-data.ts";
import { Sparkline } from "../dashboard/charts.tsx";
import { EmptyState, JsonBlock, PageHeader, RelTime, ShortId, StatusBadge, duration } from "../components/ui.tsx";
import { CapabilityChips, DrainingBadge, WorkerStatusBadge, WorkerTypeBadge, bytes, percent } from "./parts.tsx";

const Fact: FC<{ term: string; children: Child }> = ({ term, children }) => (
  <div class="min-w-0">
    <dt class="text-xs text-muted">{term}</dt>
    <dd class="break-words text-sm">{children}</dd>
  </div>
);

/** Drain: admins only, remote workers only (the local threads stop with the server), once. */
export const DrainAction: FC<{ detail: WorkerDetail; canDrain: boolean }> = ({ detail, canDrain }) => {
  const w = detail.worker;
  if (!canDrain || w.worker_type !== "remote") return null;
  // Drained or gone, and holding nothing: it can leave the registry (its executions keep its id).
  if ((w.draining || w.status === "offline") && w.claimed_work_orders === 0) {
    return (
      <form
        method="post"
        action={`/workers/${w.id}/remove`}
        hx-post={`/workers/${w.id}/remove`}
        hx-confirm={`Remove “${w.name}” from the registry? Its past executions stay. If it runs again it registers anew.`}
        data-confirm-title="Remove this worker?"
        data-confirm-label="Remove"
      >
        <button type="submit" class="btn-danger" data-action="remove">
          Remove
        </button>
      </form>
    );
  }
  if (w.draining) return null;
  return (
    <form
      method="post"
      action={`/workers/${w.id}/drain`}
      hx-post={`/workers/${w.id}/drain`}
      hx-target="#worker-main"
      hx-swap="outerHTML"
      hx-confirm={`Drain “${w.name}”? It gets no new work, and its running work returns to the queue.`}
      data-confirm-title="Drain this worker?"
      data-confirm-label="Drain"
    >
      <button type="submit" class="btn-danger" data-action="drain">
        Drain
      </button>
    </form>
  );
};

const LoadChart: FC<{ title: string; values: number[]; latest: string; tone: "info" | "ok"; id: string }> = ({ title, values, latest, tone, id }) => (
  <div class="min-w-0" data-chart={id}>
    <div class="mb-1 flex items-baseline justify-between gap-2 text-sm">
      <span class="font-medium">{title}</span>
      <span class="tabular-nums text-muted">{latest}</span>
    </div>
    {values.length === 0 ? (
      <p class="text-xs text-muted">No heartbeat with this figure yet.</p>
    ) : (
      <Sparkline values={values} tone={tone} label={`${title} over the last ${values.length} heartbeats, latest ${latest}`} />
    )}
  </div>
);

export const WorkerMain: FC<{ detail: WorkerDetail; canDrain: boolean }> = ({ detail, canDrain }) => {
  const { worker: w, running, executions, heartbeats } = detail;
  const cpu = heartbeats.map((h) => h.cpu_percent).filter((v): v is number => v != null);
  const memory = heartbeats.map((h) => h.memory_bytes).filter((v): v is number => v != null);
  return (
    <div id="worker-main" class="flex flex-col gap-4" hx-get={`/workers/${w.id}`} hx-trigger="sse:workers, every 10s" hx-swap="outerHTML">
      <PageHeader
        title={w.name}
        subtitle={
          <span class="flex flex-wrap items-center gap-2">
            <WorkerStatusBadge status={w.status} />
            {w.draining ? <DrainingBadge /> : null}
            <WorkerTypeBadge type={w.worker_type} />
            <ShortId id={w.id} />
          </span>
        }
        actions={<DrainAction detail={detail} canDrain={canDrain} />}
      />
      {w.draining ? (
        <p class="rounded-md tone-violet px-3 py-2 text-sm" role="status">
          Draining: this worker gets no new work. It clears when the worker registers again.
        </p>
      ) : null}
      <div class="grid gap-4 lg:grid-cols-3">
        <section class="card min-w-0 p-4 lg:col-span-2" aria-labelledby="config-title">
          <h2 id="config-title" class="mb-3 font-semibold">
            Configuration
          </h2>
          <dl class="grid grid-cols-2 gap-3 sm:grid-cols-3" data-config="">
            <Fact term="Type">{w.worker_type}</Fact>
            <Fact term="Version">{w.version ?? "—"}</Fact>
            <Fact term="Host">{w.hostname ?? "—"}</Fact>
            <Fact term="Max concurrent tasks">
              <span data-max-concurrent="">{w.max_concurrent_tasks}</span>
            </Fact>
            <Fact term="Running now">
              {w.claimed_work_orders} / {w.max_concurrent_tasks}
            </Fact>
            <Fact term="Timeout">{w.timeout_seconds == null ? "—" : duration(w.timeout_seconds * 1000)}</Fact>
            <Fact term="Context window">{w.context_window_size == null ? "—" : w.context_window_size.toLocaleString("en-US")}</Fact>
            <Fact term="Failures in a row">{w.consecutive_failures}</Fact>
            <Fact term="Last heartbeat">
              <RelTime at={w.last_heartbeat_at} />
            </Fact>
            <Fact term="Registered">
              <RelTime at={w.created_at} />
            </Fact>
          </dl>
          <h3 class="mb-1 mt-4 text-sm font-semibold">Capabilities</h3>
          <CapabilityChips capabilities={w.capabilities} empty="None: it runs only tasks that require nothing." />
          <h3 class="mb-1 mt-4 text-sm font-semibold">Config</h3>
          <JsonBlock value={w.config} empty="No config reported." />
        </section>
        <section class="card flex min-w-0 flex-col gap-4 p-4" aria-labelledby="load-title">
          <h2 id="load-title" class="font-semibold">
            Load
          </h2>
          <LoadChart id="cpu" title="CPU" values={cpu} latest={percent(w.last_load?.cpu_percent)} tone="info" />
          <LoadChart id="memory" title="Memory" values={memory} latest={bytes(w.last_load?.memory_bytes)} tone="ok" />
          <p class="text-xs text-muted">
            {heartbeats.length === 0 ? "No heartbeat since the server started." : `Last ${heartbeats.length} heartbeats since the server started.`}
            {w.last_load?.load != null ? ` Load average ${w.last_load.load.toFixed(2)}.` : ""}
          </p>
        </section>
      </div>
      <section class="card min-w-0" aria-labelledby="running-title">
        <h2 id="running-title" class="border-b border-line px-4 py-2 font-semibold">
          Current work
        </h2>
        {running.length === 0 ? (
          <EmptyState title="No work held" />
        ) : (
          <div class="overflow-x-auto">
            <table class="text-sm">
              <thead class="border-b border-line">
                <tr>
                  <th class="th">Task</th>
                  <th class="th">Status</th>
                  <th class="th hidden sm:table-cell">Claimed</th>
                  <th class="th hidden sm:table-cell">Lease until</th>
                </tr>
              </thead>
              <tbody class="divide-y divide-line">
                {running.map((r) => (
                  <tr data-running-task={r.task_id}>
                    <td class="td max-w-0 w-full">
                      <a class="block truncate font-medium hover:underline" href={`/tasks/${r.task_id}`}>
                        {r.title}
                      </a>
                    </td>
                    <td class="td">
                      <StatusBadge status={r.status} />
                    </td>
                    <td class="td hidden whitespace-nowrap text-muted sm:table-cell">
                      <RelTime at={r.claimed_at} />
                    </td>
                    <td class="td hidden whitespace-nowrap text-muted sm:table-cell">
                      <RelTime at={r.lease_until} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section class="card min-w-0" aria-labelledby="executions-title">
        <h2 id="executions-title" class="border-b border-line px-4 py-2 font-semibold">
          Recent executions
        </h2>
        {executions.length === 0 ? (
          <EmptyState title="No execution yet" />
        ) : (
          <div class="overflow-x-auto">
            <table class="text-sm">
              <thead class="border-b border-line">
                <tr>
                  <th class="th">Task</th>
                  <th class="th">Status</th>
                  <th class="th hidden sm:table-cell">Duration</th>
                  <th class="th">Finished</th>
                </tr>
              </thead>
              <tbody class="divide-y divide-line">
                {executions.map((e) => (
                  <tr data-execution-id={e.id}>
                    <td class="td max-w-0 w-full">
                      <a class="block truncate hover:underline" href={`/tasks/${e.task_id}?execution=${e.id}`}>
                        {e.title}
                      </a>
                      <span class="text-xs text-muted">attempt {e.attempt}</span>
                    </td>
                    <td class="td">
                      <StatusBadge status={e.status} />
                    </td>
                    <td class="td hidden whitespace-nowrap tabular-nums sm:table-cell">{duration(e.duration_ms)}</td>
                    <td class="td whitespace-nowrap text-muted">
                      <RelTime at={e.finished_at} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </div>
  );
};

export const WorkerPage: FC<{ detail: WorkerDetail; canDrain: boolean; version: number }> = ({ detail, canDrain, version }) => (
  <>
    <nav class="mb-2 text-sm" aria-label="Breadcrumb">
      <a class="link" href="/workers">
        ← Workers
      </a>
    </nav>
    <div sse-close="bye" sse-connect={`/events?topics=workers&v=${version}`}>
      <WorkerMain detail={detail} canDrain={canDrain} />
    </div>
  </>
);
