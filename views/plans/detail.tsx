/** @jsxImportSource hono/jsx */
// A plan's page: its steps as a graph, the run form (one field per {{inputs.NAME}}), its runs (live),
// and edit / delete.
import type { FC } from "hono/jsx";
import { PRIORITIES } from "../../src/db/schema.ts";
import type { TaskJson } from "../../src/engine/task-record.ts";
import type { PlanJson } from "../../src/features/plans/service.ts";
import { EmptyState, FieldError, JsonBlock, PageHeader, Pagination, RelTime, ShortId, StatusBadge, duration } from "../components/ui.tsx";
import { Dag, type DagNode } from "./dag.tsx";

export interface RunFormProps {
  plan: Pick<PlanJson, "id" | "name">;
  inputs: string[];
  values?: Record<string, string>;
  errors?: Record<string, string>;
}

export const RunForm: FC<RunFormProps> = ({ plan, inputs, values = {}, errors = {} }) => {
  const other = Object.entries(errors).filter(([k]) => !k.startsWith("inputs.") || !inputs.includes(k.slice(7)));
  return (
    <form id="run-form" method="post" action={`/plans/${plan.id}/run`} hx-post={`/plans/${plan.id}/run`} hx-target="this" hx-swap="outerHTML" class="flex flex-col gap-3" novalidate>
      {other.length > 0 ? (
        <div class="rounded-md tone-err px-3 py-2 text-sm" role="alert">
          {other.map(([, m]) => (
            <p class="break-words">{m}</p>
          ))}
        </div>
      ) : null}
      {inputs.length === 0 ? <p class="text-sm text-muted">This plan takes no inputs.</p> : null}
      {inputs.map((name) => (
        <div>
          <label class="label" for={`input-${name}`}>
            <code>{name}</code>
          </label>
          <input id={`input-${name}`} name={`inputs.${name}`} value={values[`inputs.${name}`] ?? ""} class={`field${errors[`inputs.${name}`] ? " field-error" : ""}`} />
          <FieldError error={errors[`inputs.${name}`]} />
        </div>
      ))}
      <div class="flex flex-wrap items-end gap-2">
        <div>
          <label class="label" for="run-priority">
            Priority
          </label>
          <select id="run-priority" name="priority" class="field w-auto">
            {PRIORITIES.map((p) => (
              <option value={p} selected={p === (values.priority ?? "default")}>
                {p}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" class="btn-primary" data-action="run">
          <span class="spinner htmx-indicator" aria-hidden="true" />▶ Run {plan.name}
        </button>
      </div>
    </form>
  );
};

export interface RunListProps {
  planId: string;
  items: TaskJson[];
  total: number;
  page: number;
  perPage: number;
}

export const RunList: FC<RunListProps> = ({ planId, items, total, page, perPage }) => {
  const href = (n: number) => `/plans/${planId}${n > 1 ? `?page=${n}` : ""}`;
  return (
    <div id="plan-runs" class="live-region" hx-get={href(page)} hx-trigger="sse:plans" hx-swap="outerHTML">
      {items.length === 0 ? (
        <EmptyState title="No runs yet">Run the plan to see its steps run here, live.</EmptyState>
      ) : (
        <>
          <ul class="divide-y divide-line">
            {items.map((r) => (
              <li class="flex flex-wrap items-center gap-x-3 gap-y-1 px-4 py-2 text-sm" data-run={r.id}>
                <StatusBadge status={r.status} />
                <a href={`/plans/${planId}/runs/${r.id}`} class="link">
                  Run <ShortId id={r.id} />
                </a>
                <span class="text-xs text-muted">v{String((r.params as { version?: number }).version ?? "?")}</span>
                <span class="ml-auto text-xs text-muted">
                  <RelTime at={r.created_at} />
                  {r.finished_at && r.started_at ? ` · ${duration(Date.parse(r.finished_at) - Date.parse(r.started_at))}` : ""}
                </span>
              </li>
            ))}
          </ul>
          <div class="border-t border-line">
            <Pagination page={page} perPage={perPage} total={total} href={href} target="plan-runs" />
          </div>
        </>
      )}
    </div>
  );
};

export interface PlanPageProps {
  plan: PlanJson;
  nodes: DagNode[];
  run: RunFormProps;
  runs: RunListProps;
  version: number;
}

export const PlanPage: FC<PlanPageProps> = ({ plan, nodes, run, runs, version }) => (
  <>
    <nav class="mb-3 text-sm text-muted" aria-label="Breadcrumb">
      <a href="/plans" class="link">
        Plans
      </a>{" "}
      / <span class="break-all">{plan.name}</span>
    </nav>
    <PageHeader
      title={plan.name}
      subtitle={
        <span class="flex flex-wrap items-center gap-2">
          <span class="badge tone-neutral">v{plan.version}</span>
          <span>
            {plan.steps_count} {plan.steps_count === 1 ? "step" : "steps"}
          </span>
          <span>
            · updated <RelTime at={plan.updated_at} />
          </span>
        </span>
      }
      actions={
        <>
          {plan.version > 1 ? (
            <a href={`/plans/${plan.id}/compare`} class="btn-ghost btn-sm" data-compare-versions="">
              Compare versions
            </a>
          ) : null}
          <a href={`/plans/${plan.id}/edit`} class="btn">
            Edit
          </a>
          <form
            method="post"
            action={`/plans/${plan.id}/delete`}
            hx-post={`/plans/${plan.id}/delete`}
            hx-confirm={`Delete the plan “${plan.name}” and its versions? Its past runs stay in the task list.`}
            data-confirm-title="Delete this plan?"
            data-confirm-label="Delete plan"
          >
            <button type="submit" class="btn-danger" data-action="delete">
              Delete
            </button>
          </form>
        </>
      }
    />
    {plan.description ? <p class="mb-4 whitespace-pre-wrap break-words text-sm">{plan.description}</p> : null}
    <div class="grid gap-4 lg:grid-cols-3">
      <section class="card min-w-0 p-4 lg:col-span-2" aria-labelledby="steps-title">
        <h2 id="steps-title" class="mb-3 font-semibold">
          Steps
        </h2>
        <Dag nodes={nodes} />
        <details class="mt-3">
          <summary class="cursor-pointer text-sm text-muted">Steps as JSON</summary>
          <div class="mt-2">
            <JsonBlock value={plan.steps} />
          </div>
        </details>
      </section>
      <section class="card p-4" id="run" aria-labelledby="run-title">
        <h2 id="run-title" class="mb-3 font-semibold">
          Run
        </h2>
        <RunForm {...run} />
      </section>
    </div>
    <section class="card mt-4 min-w-0" aria-labelledby="runs-title">
      <h2 id="runs-title" class="border-b border-line px-4 py-2 font-semibold">
        Runs
      </h2>
      <div sse-close="bye" sse-connect={`/events?topics=plans&v=${version}`}>
        <RunList {...runs} />
      </div>
    </section>
  </>
);
