/** @jsxImportSource hono/jsx */
// The schedules page: each schedule with what it runs, its cron and time zone, its next runs and its last
// run's outcome; enable/disable and Run now in place; the list refreshes when a run changes something.
import type { FC } from "hono/jsx";
import type { ScheduleJson, ScheduleRunJson } from "../../src/features/schedules/schemas.ts";
import { ListSection } from "../components/list.tsx";
import { EmptyState, PageHeader, RelTime } from "../components/ui.tsx";

const OUTCOME_TONE: Record<ScheduleRunJson["outcome"], string> = {
  started: "tone-ok",
  waiting: "tone-info",
  skipped: "tone-warn",
  missed: "tone-warn",
  failed: "tone-err",
};

export const OutcomeBadge: FC<{ outcome: ScheduleRunJson["outcome"] }> = ({ outcome }) => (
  <span class={`badge ${OUTCOME_TONE[outcome]}`} data-outcome={outcome}>
    {outcome}
  </span>
);

export const TargetLabel: FC<{ s: ScheduleJson }> = ({ s }) =>
  s.plan ? (
    <span>
      plan <code>{s.plan.name}</code>
    </span>
  ) : (
    <span>
      <code>{String(s.task?.task_type)}</code> task “{String(s.task?.title)}”
    </span>
  );

export const HostBadge: FC<{ s: ScheduleJson }> = ({ s }) =>
  s.runs_on_host ? (
    <span class="badge tone-violet" title="It runs commands on the server's host: saving or enabling it needs the shell role (--shell-role)">
      runs on host
    </span>
  ) : null;

/** Enable / Disable and Run now: forms that work without JS; htmx swaps the row's list. */
export const ScheduleActions: FC<{ s: ScheduleJson; target: string }> = ({ s, target }) => (
  <div class="flex flex-wrap gap-2" data-action="">
    <form method="post" action={`/schedules/${s.id}/${s.enabled ? "disable" : "enable"}`} hx-post={`/schedules/${s.id}/${s.enabled ? "disable" : "enable"}`} hx-target={target} hx-swap="outerHTML">
      <button type="submit" class="btn btn-sm" data-toggle-schedule={s.enabled ? "disable" : "enable"}>
        {s.enabled ? "Disable" : "Enable"}
      </button>
    </form>
    <form method="post" action={`/schedules/${s.id}/run`} hx-post={`/schedules/${s.id}/run`} hx-target={target} hx-swap="outerHTML">
      <button type="submit" class="btn-primary btn-sm" data-run-now="">
        Run now
      </button>
    </form>
  </div>
);

export const ScheduleList: FC<{ items: ScheduleJson[]; total: number }> = ({ items, total }) => (
  <ListSection
    id="schedule-list"
    refresh={{ href: "/schedules", trigger: "sse:tasks, schedules:changed from:body, every 30s" }}
    total={total}
    empty={
      items.length ? null : (
        <EmptyState title="No schedules yet">
          A schedule starts a task or a plan run on a cron, in your time zone.{" "}
          <a class="link" href="/schedules/new">
            Create the first schedule
          </a>
        </EmptyState>
      )
    }
  >
    <ul class="grid gap-3 md:grid-cols-2">
      {items.map((s) => (
        <li class="card flex min-w-0 flex-col gap-2 p-4" data-schedule={s.name} data-enabled={String(s.enabled)}>
          <div class="flex flex-wrap items-start justify-between gap-2">
            <a href={`/schedules/${s.id}`} class="min-w-0 break-words text-base font-semibold hover:underline">
              {s.name}
            </a>
            <span class="flex gap-1">
              <HostBadge s={s} />
              <span class={`badge ${s.enabled ? "tone-ok" : "tone-neutral"}`}>{s.enabled ? "enabled" : "disabled"}</span>
            </span>
          </div>
          <p class="break-words text-sm">
            <TargetLabel s={s} />
          </p>
          <p class="text-sm">
            <code>{s.cron}</code> <span class="text-muted">({s.timezone})</span>
          </p>
          <p class="text-sm">
            <span class="text-muted">Next: </span>
            {s.next_run_at ? <RelTime at={s.next_run_at} /> : <span class="text-muted">— (disabled)</span>}
          </p>
          <p class="flex flex-wrap items-center gap-2 text-sm">
            <span class="text-muted">Last:</span>
            {s.last_run ? (
              <>
                <OutcomeBadge outcome={s.last_run.outcome} />
                <RelTime at={s.last_run.created_at} />
              </>
            ) : (
              <span class="text-muted">never ran</span>
            )}
          </p>
          <div class="mt-auto pt-2">
            <ScheduleActions s={s} target="#schedule-list" />
          </div>
        </li>
      ))}
    </ul>
  </ListSection>
);

export const SchedulesPage: FC<{ items: ScheduleJson[]; total: number; version: number }> = ({ items, total, version }) => (
  <>
    <PageHeader
      title="Schedules"
      subtitle="Tasks and plan runs on a cron. Slots missed while the server was down, and runs skipped because the previous one was still running, show on each schedule's page."
      actions={
        <a href="/schedules/new" class="btn-primary" data-action="">
          + New schedule
        </a>
      }
    />
    <div sse-close="bye" sse-connect={`/events?topics=tasks&v=${version}`}>
      <ScheduleList items={items} total={total} />
    </div>
  </>
);
