/** @jsxImportSource hono/jsx */
// The plans page: a card per plan (name, steps, version, last run) with search and pagination; the
// card grid refreshes itself on the `tasks` event, so a run's status shows up as it changes.
import type { FC } from "hono/jsx";
import type { PlanJson } from "../../src/features/plans/service.ts";
import { ListSection, NoMatch } from "../components/list.tsx";
import { EmptyState, PageHeader, RelTime, SearchField, Spinner, StatusBadge } from "../components/ui.tsx";

export interface PlanListProps {
  q?: string;
  page: number;
  perPage: number;
  items: PlanJson[];
  total: number;
}

export function plansHref(q: string | undefined, page = 1): string {
  const params = new URLSearchParams();
  if (q) params.set("q", q);
  if (page > 1) params.set("page", String(page));
  const qs = params.toString();
  return qs ? `/plans?${qs}` : "/plans";
}

export const PlanCards: FC<PlanListProps> = ({ q, page, perPage, items, total }) => (
  <ListSection
    id="plan-list"
    refresh={{ href: plansHref(q, page), trigger: "sse:plans" }}
    total={total}
    page={{ page, perPage, href: (n) => plansHref(q, n) }}
    empty={
      items.length > 0 ? null : q ? (
        <NoMatch what="plan" clearHref="/plans" clearText="Show all plans" search />
      ) : (
        <EmptyState title="No plans yet">
          A plan is a named sequence or graph of steps you can run again and again.{" "}
          <a class="link" href="/plans/new">
            Create the first plan
          </a>
        </EmptyState>
      )
    }
  >
    <ul class="grid gap-3 sm:grid-cols-2 lg:grid-cols-3">
      {items.map((p) => (
        <li class="card flex min-w-0 flex-col gap-2 p-4" data-plan={p.name}>
          <div class="flex items-start justify-between gap-2">
            <a href={`/plans/${p.id}`} class="min-w-0 break-words text-base font-semibold hover:underline">
              {p.name}
            </a>
            <span class="badge tone-neutral shrink-0">v{p.version}</span>
          </div>
          <p class="line-clamp-2 min-h-10 break-words text-sm text-muted">{p.description || "No description."}</p>
          <p class="text-sm">
            {p.steps_count} {p.steps_count === 1 ? "step" : "steps"}
          </p>
          <div class="flex flex-wrap items-center gap-2 text-sm">
            <span class="text-muted">Last run:</span>
            {p.last_run ? (
              <a href={`/plans/${p.id}/runs/${p.last_run.id}`} class="flex items-center gap-2 hover:underline">
                <StatusBadge status={p.last_run.status} />
                <span class="text-xs text-muted">
                  <RelTime at={p.last_run.created_at} />
                </span>
              </a>
            ) : (
              <span class="text-muted">never</span>
            )}
          </div>
          <div class="mt-auto flex gap-2 pt-2">
            <a href={`/plans/${p.id}#run`} class="btn-primary btn-sm">
              Run
            </a>
            <a href={`/plans/${p.id}/edit`} class="btn btn-sm">
              Edit
            </a>
          </div>
        </li>
      ))}
    </ul>
  </ListSection>
);

export const PlansPage: FC<PlanListProps & { version: number }> = ({ version, ...list }) => (
  <>
    <PageHeader
      title="Plans"
      actions={
        <a href="/plans/new" class="btn-primary">
          + New plan
        </a>
      }
    />
    <form class="mb-3 flex items-center gap-2" method="get" action="/plans" role="search">
      <SearchField
        id="plan-q"
        label="Search plans"
        value={list.q}
        placeholder="Search plans…"
        class="field sm:max-w-sm"
        attrs={{ "hx-get": "/plans", "hx-target": "#plan-list", "hx-swap": "outerHTML", "hx-push-url": "true", "hx-trigger": "input changed delay:300ms, search", "hx-indicator": "#plans-spinner" }}
      />
      <span id="plans-spinner" class="htmx-indicator">
        <Spinner />
      </span>
    </form>
    <div sse-close="bye" sse-connect={`/events?topics=plans&v=${version}`}>
      <PlanCards {...list} />
    </div>
  </>
);
