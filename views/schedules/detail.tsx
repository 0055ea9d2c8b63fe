/** @jsxImportSource hono/jsx */
// One schedule: what it runs, when (the next five slots), its policies, and every run — started (with its
// task), queued behind the previous one, skipped, missed while the server was down, or failed to start.
import type { FC } from "hono/jsx";
import type { ScheduleJson, ScheduleRunJson } from "../../src/features/schedules/schemas.ts";
import { ListSection } from "../components/list.tsx";
import { EmptyState, JsonBlock, PageHeader, RelTime } from "../components/ui.tsx";
import { HostBadge, OutcomeBadge, ScheduleActions, TargetLabel } from "./list.tsx";

const OVERLAP_TEXT = { skip: "skip the new run", queue: "queue it until the previous one finished", cancel: "cancel the previous run" } as const;
const CATCH_UP_TEXT = { once: "run once for the slots missed", none: "do not run (they are recorded as missed)" } as const;

export interface RunPage {
  items: ScheduleRunJson[];
  total: number;
  page: number;
  perPage: number;
}

export const RunList: FC<{ s: ScheduleJson; runs: RunPage }> = ({ s, runs }) => (
  <ListSection
    id="run-list"
    refresh={{ href: `/schedules/${s.id}/runs?page=${runs.page}`, trigger: "sse:tasks, schedules:changed from:body" }}
    total={runs.total}
    page={{ page: runs.page, perPage: runs.perPage, href: (n) => `/schedules/${s.id}/runs?page=${n}` }}
    columns={[{ label: "Slot" }, { label: "Trigger", class: "hidden sm:table-cell" }, { label: "Outcome" }, { label: "Task or reason" }]}
    empty={runs.total ? null : <EmptyState title="No runs yet">Its first run is {s.next_run_at ? <RelTime at={s.next_run_at} /> : "not scheduled while it is disabled"}.</EmptyState>}
  >
    {runs.items.map((r) => (
      <tr data-run={r.outcome}>
        <td class="td whitespace-nowrap">
          <RelTime at={r.scheduled_for} />
        </td>
        <td class="td hidden sm:table-cell">{r.trigger.replace("_", "-")}</td>
        <td class="td">
          <OutcomeBadge outcome={r.outcome} />
        </td>
        <td class="td min-w-0 break-words">
          {r.task_id ? (
            <a class="link" href={`/tasks/${r.task_id}`}>
              task …{r.task_id.slice(-8)}
            </a>
          ) : null}
          {r.reason ? <span class="text-xs text-muted"> {r.reason}</span> : null}
        </td>
      </tr>
    ))}
  </ListSection>
);

export const ScheduleMain: FC<{ s: ScheduleJson }> = ({ s }) => (
  <div id="schedule-main" class="grid gap-4 md:grid-cols-2">
    <section class="card flex flex-col gap-2 p-4">
      <h2 class="font-semibold">When</h2>
      <p class="text-sm">
        <code>{s.cron}</code> in <strong>{s.timezone}</strong> · <span class={`badge ${s.enabled ? "tone-ok" : "tone-neutral"}`}>{s.enabled ? "enabled" : "disabled"}</span>
      </p>
      {s.next_runs.length ? (
        <ol class="list-decimal pl-5 text-sm" aria-label="Next runs" data-next-runs="">
          {s.next_runs.map((t) => (
            <li>
              <time datetime={t}>{t.replace("T", " ").replace(/:00\.000Z$/, " UTC")}</time> (<RelTime at={t} />)
            </li>
          ))}
        </ol>
      ) : (
        <p class="text-sm text-muted">{s.enabled ? "No future time matches." : "Disabled: it runs nothing until it is enabled again."}</p>
      )}
      <p class="text-sm">
        <span class="text-muted">If the previous run is unfinished:</span> {OVERLAP_TEXT[s.overlap]}
      </p>
      <p class="text-sm">
        <span class="text-muted">Slots missed while the server was down:</span> {CATCH_UP_TEXT[s.catch_up]}
      </p>
      <div class="pt-2">
        <ScheduleActions s={s} target="#schedule-main" />
      </div>
    </section>
    <section class="card flex min-w-0 flex-col gap-2 p-4">
      <h2 class="flex flex-wrap items-center gap-2 font-semibold">
        What it runs <HostBadge s={s} />
      </h2>
      <p class="text-sm">
        <TargetLabel s={s} />
      </p>
      {s.runs_on_host ? <p class="text-xs text-muted">It runs commands on the server's host: changing or enabling it needs the shell role (--shell-role).</p> : null}
      <JsonBlock value={s.plan ? s.plan.inputs : s.task} empty="No inputs." />
    </section>
  </div>
);

export const ScheduleDetailPage: FC<{ s: ScheduleJson; runs: RunPage; version: number }> = ({ s, runs, version }) => (
  <>
    <PageHeader
      title={s.name}
      subtitle={s.description ?? undefined}
      actions={
        <>
          <a href={`/schedules/${s.id}/edit`} class="btn">
            Edit
          </a>
          <form method="post" action={`/schedules/${s.id}/delete`} hx-post={`/schedules/${s.id}/delete`} hx-confirm={`Delete the schedule ${s.name}? The tasks it started stay.`} data-confirm-title="Delete this schedule?" data-confirm-label="Delete" data-action="">
            <button type="submit" class="btn-danger">
              Delete
            </button>
          </form>
        </>
      }
    />
    <div class="flex flex-col gap-4" sse-close="bye" sse-connect={`/events?topics=tasks&v=${version}`}>
      <ScheduleMain s={s} />
      <section class="flex flex-col gap-2">
        <h2 class="font-semibold">Runs</h2>
        <RunList s={s} runs={runs} />
      </section>
    </div>
  </>
);
