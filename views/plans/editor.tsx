/** @jsxImportSource hono/jsx */
// The plan editor: name, description and steps (add, remove, reorder, edit, depends_on). Every button
// posts the whole form and gets it back re-rendered, so nothing typed is lost; saving shows the
// service's errors next to the fields they name.
import type { FC } from "hono/jsx";
import { PRIORITIES } from "../../src/db/schema.ts";
import type { DraftErrors, PlanDraft, StepDraft } from "../../src/features/plans/form.ts";
import type { ParamField } from "../../src/features/tasks/form.ts";
import { FieldError } from "../components/ui.tsx";
import { ParamInput } from "../tasks/new-task.tsx";

export interface PlanEditorProps {
  /** null: a new plan. */
  planId: string | null;
  draft: PlanDraft;
  errors?: DraftErrors;
  taskTypes: string[];
  paramsOf: (taskType: string) => ParamField[];
}

const stepField = (i: number, f: string) => `steps[${i}].${f}`;
const idOf = (key: string, f: string) => `step-${key}-${f}`;

/** The "runs after" checkboxes of one step; public/app.js renames their labels as a step's name is typed. */
export const StepDeps: FC<{ index: number; step: StepDraft; steps: StepDraft[]; error?: string }> = ({ index, step, steps, error }) => {
  const others = steps.filter((s) => s.key !== step.key);
  return (
    <fieldset id={`deps-${step.key}`} class="min-w-0" data-invalid={error ? "" : undefined}>
      <legend class="label">Runs after</legend>
      {others.length === 0 ? (
        <p class="hint">No other step yet.</p>
      ) : (
        <div class="flex flex-wrap gap-x-4 gap-y-1">
          {others.map((o) => (
            <label class="flex min-w-0 items-center gap-1.5 text-sm">
              <input type="checkbox" name={stepField(index, "depends_on")} value={o.key} checked={step.depends_on.includes(o.key)} class="h-4 w-4 accent-[var(--accent)]" />
              <span class="break-all" data-dep-name={o.key}>
                {o.name || "(unnamed)"}
              </span>
            </label>
          ))}
        </div>
      )}
      <FieldError error={error} />
    </fieldset>
  );
};

/** The step's params: the fields of its type's schema, as in the New task form; templates allowed in any. */
const StepParams: FC<{ index: number; step: StepDraft; fields: ParamField[]; errors: DraftErrors }> = ({ index: i, step, fields, errors }) => (
  <fieldset class="flex min-w-0 flex-col gap-3 rounded-md border border-line p-3" data-invalid={errors[stepField(i, "params")] ? "" : undefined} data-step-params="">
    <legend class="px-1 text-sm font-medium">
      Params <code class="text-xs font-normal text-muted">{step.task_type}</code>
    </legend>
    {fields.length === 0 ? <p class="hint">This type takes no params.</p> : null}
    {fields.map((f) => (
      <ParamInput
        field={f}
        value={step.params[f.name]}
        error={errors[`${stepField(i, "params")}.${f.name}`]}
        name={`${stepField(i, "params")}.${f.name}`}
        id={idOf(step.key, `p-${f.name}`)}
        templates
      />
    ))}
    {fields.length > 0 ? (
      <p class="hint break-words">
        Any field takes <code>{"{{inputs.NAME}}"}</code> (a run input) or <code>{"{{steps.STEP.result}}"}</code> (an earlier step's result).
      </p>
    ) : null}
    <FieldError error={errors[stepField(i, "params")]} />
  </fieldset>
);

const OpButton: FC<{ op: string; label: string; text: string; disabled?: boolean; danger?: boolean }> = ({ op, label, text, disabled, danger }) => (
  <button
    type="submit"
    name="op"
    value={op}
    formaction="/plans/editor"
    formnovalidate
    hx-post="/plans/editor"
    hx-target="#plan-editor"
    hx-swap="outerHTML"
    class={`btn btn-sm ${danger ? "text-err" : ""}`}
    aria-label={label}
    title={label}
    disabled={disabled}
  >
    {text}
  </button>
);

export const StepEditor: FC<{ index: number; step: StepDraft; steps: StepDraft[]; errors: DraftErrors; taskTypes: string[]; fields: ParamField[] }> = ({
  index: i,
  step,
  steps,
  errors,
  taskTypes,
  fields,
}) => {
  const err = (f: string) => errors[stepField(i, f)];
  const advancedOpen = Boolean(err("timeout_seconds") || err("max_retries") || err("priority") || step.timeout_seconds || step.max_retries || step.priority);
  return (
    <li class={`card flex min-w-0 flex-col gap-3 p-3 sm:p-4 ${Object.keys(errors).some((k) => k.startsWith(`steps[${i}]`)) ? "border-err" : ""}`} data-step-index={i}>
      <input type="hidden" name={stepField(i, "key")} value={step.key} />
      <div class="flex items-center justify-between gap-2">
        <h3 class="text-sm font-semibold">Step {i + 1}</h3>
        <div class="flex gap-1">
          <OpButton op={`up:${i}`} label={`Move step ${i + 1} up`} text="↑" disabled={i === 0} />
          <OpButton op={`down:${i}`} label={`Move step ${i + 1} down`} text="↓" disabled={i === steps.length - 1} />
          <OpButton op={`remove:${i}`} label={`Remove step ${i + 1}`} text="✕" danger />
        </div>
      </div>
      <div class="grid gap-3 sm:grid-cols-2">
        <div class="min-w-0">
          <label class="label" for={idOf(step.key, "name")}>
            Name
          </label>
          <input
            id={idOf(step.key, "name")}
            name={stepField(i, "name")}
            value={step.name}
            class={`field font-mono${err("name") ? " field-error" : ""}`}
            maxlength={64}
            data-step-name={step.key}
          />
          <FieldError error={err("name")} />
        </div>
        <div class="min-w-0">
          <label class="label" for={idOf(step.key, "type")}>
            Task type
          </label>
          <select
            id={idOf(step.key, "type")}
            name={stepField(i, "task_type")}
            class={`field${err("task_type") ? " field-error" : ""}`}
            hx-post="/plans/editor?op=refresh"
            hx-trigger="change"
            hx-target="#plan-editor"
            hx-swap="outerHTML"
          >
            {(taskTypes.includes(step.task_type) ? taskTypes : [step.task_type, ...taskTypes]).map((t) => (
              <option value={t} selected={t === step.task_type}>
                {t}
              </option>
            ))}
          </select>
          <FieldError error={err("task_type")} />
        </div>
      </div>
      <StepParams index={i} step={step} fields={fields} errors={errors} />
      <StepDeps index={i} step={step} steps={steps} error={err("depends_on")} />
      <details open={advancedOpen}>
        <summary class="cursor-pointer text-sm">Timeout, retries, priority</summary>
        <div class="mt-2 grid gap-3 sm:grid-cols-3">
          <div>
            <label class="label" for={idOf(step.key, "timeout")}>
              Timeout (s)
            </label>
            <input id={idOf(step.key, "timeout")} name={stepField(i, "timeout_seconds")} type="number" min="1" value={step.timeout_seconds} class={`field${err("timeout_seconds") ? " field-error" : ""}`} />
            <FieldError error={err("timeout_seconds")} />
          </div>
          <div>
            <label class="label" for={idOf(step.key, "retries")}>
              Max retries
            </label>
            <input id={idOf(step.key, "retries")} name={stepField(i, "max_retries")} type="number" min="0" value={step.max_retries} class={`field${err("max_retries") ? " field-error" : ""}`} />
            <FieldError error={err("max_retries")} />
          </div>
          <div>
            <label class="label" for={idOf(step.key, "priority")}>
              Priority
            </label>
            <select id={idOf(step.key, "priority")} name={stepField(i, "priority")} class="field">
              <option value="">the run's</option>
              {PRIORITIES.map((p) => (
                <option value={p} selected={p === step.priority}>
                  {p}
                </option>
              ))}
            </select>
          </div>
        </div>
      </details>
    </li>
  );
};

export const PlanEditor: FC<PlanEditorProps> = ({ planId, draft, errors = {}, taskTypes, paramsOf }) => {
  const saveUrl = planId ? `/plans/${planId}` : "/plans";
  const stepKeys = new Set(draft.steps.flatMap((_, i) => ["name", "task_type", "params", "depends_on", "timeout_seconds", "max_retries", "priority", "key"].map((f) => stepField(i, f))));
  const shownAtField = (k: string) => stepKeys.has(k) || draft.steps.some((s, i) => paramsOf(s.task_type).some((f) => k === `${stepField(i, "params")}.${f.name}`));
  const general = Object.entries(errors).filter(([k]) => k !== "name" && k !== "description" && !shownAtField(k));
  return (
    <form id="plan-editor" method="post" action={saveUrl} hx-post={saveUrl} hx-target="this" hx-swap="outerHTML" class="flex flex-col gap-4" novalidate>
      {planId ? <input type="hidden" name="plan_id" value={planId} /> : null}
      {Object.keys(errors).length > 0 ? (
        <div class="rounded-md tone-err px-3 py-2 text-sm" role="alert" data-form-errors="">
          The plan was not saved: please fix the fields marked below.
          {general.length > 0 ? (
            <ul class="mt-1 list-disc pl-5">
              {general.map(([k, m]) => (
                <li class="break-words">{k === "_form" || k === "steps" ? m : `${k}: ${m}`}</li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
      <div class="card grid gap-3 p-3 sm:p-4">
        <div>
          <label class="label" for="plan-name">
            Name<span class="text-err"> *</span>
          </label>
          <input id="plan-name" name="name" value={draft.name} maxlength={100} class={`field${errors.name ? " field-error" : ""}`} required />
          <FieldError error={errors.name} />
        </div>
        <div>
          <label class="label" for="plan-description">
            Description
          </label>
          <textarea id="plan-description" name="description" rows={2} class={`field${errors.description ? " field-error" : ""}`}>
            {draft.description}
          </textarea>
          <FieldError error={errors.description} />
        </div>
      </div>
      <div class="flex flex-wrap items-baseline justify-between gap-2">
        <h2 class="font-semibold">Steps</h2>
        <p class="text-xs text-muted">When no step says what it runs after, steps run one after another, in this order.</p>
      </div>
      <ol class="flex flex-col gap-3" id="plan-steps">
        {draft.steps.map((step, i) => (
          <StepEditor index={i} step={step} steps={draft.steps} errors={errors} taskTypes={taskTypes} fields={paramsOf(step.task_type)} />
        ))}
      </ol>
      <div>
        <OpButton op="add" label="Add step" text="+ Add step" />
      </div>
      <div class="sticky bottom-0 -mx-3 flex justify-end gap-2 border-t border-line bg-bg px-3 py-3 sm:mx-0 sm:px-0">
        <a class="btn" href={planId ? `/plans/${planId}` : "/plans"}>
          Cancel
        </a>
        <button type="submit" class="btn-primary">
          <span class="spinner htmx-indicator" aria-hidden="true" />
          Save plan
        </button>
      </div>
    </form>
  );
};
