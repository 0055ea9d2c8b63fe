/** @jsxImportSource hono/jsx */
// Two versions of a plan side by side: pick them, then each step with what changed between them.
import type { FC } from "hono/jsx";
import type { PlanComparison, StepComparison } from "../../src/features/plans/compare.ts";
import { JsonBlock, PageHeader } from "../components/ui.tsx";

const STATE_TONE: Record<StepComparison["state"], string> = { added: "tone-ok", removed: "tone-err", changed: "tone-warn", same: "tone-neutral" };

const VersionSelect: FC<{ name: "a" | "b"; label: string; value: number; max: number }> = ({ name, label, value, max }) => (
  <label class="flex items-center gap-2 text-sm">
    {label}
    <select name={name} class="field w-auto py-1">
      {Array.from({ length: max }, (_, i) => max - i).map((v) => (
        <option value={String(v)} selected={v === value}>
          v{v}
        </option>
      ))}
    </select>
  </label>
);

const Side: FC<{ step: StepComparison["a"]; version: number }> = ({ step, version }) =>
  step ? (
    <div class="min-w-0">
      <p class="mb-1 text-xs text-muted">
        v{version}: <code>{step.task_type}</code>
        {step.depends_on.length ? ` · after ${step.depends_on.join(", ")}` : ""}
        {step.timeout_seconds !== undefined ? ` · timeout ${step.timeout_seconds}s` : ""}
        {step.max_retries !== undefined ? ` · retries ${step.max_retries}` : ""}
        {step.priority ? ` · ${step.priority}` : ""}
      </p>
      <JsonBlock value={step.params} empty="No params." />
    </div>
  ) : (
    <p class="text-sm text-muted">Not in v{version}.</p>
  );

export const PlanComparePage: FC<{ comparison: PlanComparison }> = ({ comparison: c }) => {
  const changed = c.steps.filter((s) => s.state !== "same").length;
  return (
    <>
      <nav class="mb-3 text-sm text-muted" aria-label="Breadcrumb">
        <a href="/plans" class="link">
          Plans
        </a>{" "}
        /{" "}
        <a href={`/plans/${c.plan.id}`} class="link break-all">
          {c.plan.name}
        </a>{" "}
        / compare
      </nav>
      <PageHeader title={`Compare versions of ${c.plan.name}`} subtitle={c.a === c.b ? "The same version twice." : `${changed} of ${c.steps.length} steps differ.`} />
      <form method="get" action={`/plans/${c.plan.id}/compare`} class="mb-4 flex flex-wrap items-center gap-3" aria-label="Versions to compare">
        <VersionSelect name="a" label="From" value={c.a} max={c.plan.version} />
        <VersionSelect name="b" label="to" value={c.b} max={c.plan.version} />
        <button type="submit" class="btn btn-sm">
          Compare
        </button>
      </form>
      {c.description.a !== c.description.b ? (
        <section class="card mb-4 grid gap-3 p-4 sm:grid-cols-2" aria-label="Description" data-description-changed="">
          <p class="text-sm">
            <span class="text-xs text-muted">v{c.a} description</span>
            <span class="block whitespace-pre-wrap break-words">{c.description.a ?? "—"}</span>
          </p>
          <p class="text-sm">
            <span class="text-xs text-muted">v{c.b} description</span>
            <span class="block whitespace-pre-wrap break-words">{c.description.b ?? "—"}</span>
          </p>
        </section>
      ) : null}
      <ol class="flex flex-col gap-3">
        {c.steps.map((s) => (
          <li class="card min-w-0 p-4" data-compare-step={s.name} data-state={s.state}>
            <h2 class="mb-2 flex flex-wrap items-center gap-2 font-semibold">
              <span class="break-all">{s.name}</span>
              <span class={`badge ${STATE_TONE[s.state]}`}>{s.state}</span>
              {s.changes.length ? <span class="text-xs font-normal text-muted">{s.changes.join(", ").replace(/_/g, " ")}</span> : null}
            </h2>
            <div class="grid gap-3 sm:grid-cols-2">
              <Side step={s.a} version={c.a} />
              <Side step={s.b} version={c.b} />
            </div>
          </li>
        ))}
      </ol>
    </>
  );
};
