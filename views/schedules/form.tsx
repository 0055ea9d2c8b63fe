/** @jsxImportSource hono/jsx */
// The schedule form (new and edit): name, cron and time zone, what it runs — a task (type, title, params
// as JSON) or a plan (name, inputs as JSON) — and the overlap and catch-up policies. Errors come back
// inline on the field they name; the task or plan fields hide by CSS (:has), no script needed.
import type { FC } from "hono/jsx";
import { ErrorsBanner, Field, type FormErrors, type FormValues } from "../components/form.tsx";
import { FieldError, PageHeader } from "../components/ui.tsx";

export interface ScheduleFormProps {
  action: string;
  values: FormValues;
  errors?: FormErrors;
  taskTypes: Array<{ name: string; runsOnHost: boolean }>;
  plans: string[];
  /** Whether the signed-in user may save a schedule that runs commands on the host. */
  mayRunOnHost: boolean;
}

const FIELDS = ["name", "description", "cron", "timezone", "target", "task", "plan", "task_type", "title", "params", "priority", "plan_name", "inputs", "overlap", "catch_up", "enabled"];

const Select: FC<{ id: string; name: string; label: string; value?: string; options: Array<[string, string]>; error?: string; hint?: string }> = (p) => (
  <div>
    <label class="label" for={p.id}>
      {p.label}
    </label>
    <select id={p.id} name={p.name} class={`field${p.error ? " field-error" : ""}`} aria-invalid={p.error ? "true" : undefined}>
      {p.options.map(([v, text]) => (
        <option value={v} selected={p.value === v}>
          {text}
        </option>
      ))}
    </select>
    {p.hint ? <p class="hint">{p.hint}</p> : null}
    <FieldError error={p.error} />
  </div>
);

const JsonArea: FC<{ id: string; name: string; label: string; value?: string; error?: string; hint: string }> = (p) => (
  <div>
    <label class="label" for={p.id}>
      {p.label}
    </label>
    <textarea id={p.id} name={p.name} rows={4} class={`field font-mono text-xs${p.error ? " field-error" : ""}`} spellcheck={false} aria-invalid={p.error ? "true" : undefined}>
      {p.value ?? "{}"}
    </textarea>
    <p class="hint">{p.hint}</p>
    <FieldError error={p.error} />
  </div>
);

export const ScheduleForm: FC<ScheduleFormProps> = ({ action, values, errors = {}, taskTypes, plans, mayRunOnHost }) => {
  const target = values.target === "plan" ? "plan" : "task";
  const hostTypes = taskTypes.filter((t) => t.runsOnHost).map((t) => t.name);
  return (
    <form
      id="schedule-form"
      method="post"
      action={action}
      hx-post={action}
      hx-target="this"
      hx-swap="outerHTML"
      novalidate
      class="card flex flex-col gap-4 p-4 sm:p-5 [&:has(#sf-target-plan:checked)_[data-for=task]]:hidden [&:has(#sf-target-task:checked)_[data-for=plan]]:hidden"
    >
      <ErrorsBanner errors={errors} fields={FIELDS} />
      <Field form="sf" name="name" label="Name" value={values.name} error={errors.name} required maxlength={200} placeholder="nightly-build" autofocus />
      <Field form="sf" name="description" label="Description" value={values.description} error={errors.description} maxlength={10000} />
      <div class="grid gap-4 sm:grid-cols-2">
        <Field
          form="sf"
          name="cron"
          label="Cron"
          value={values.cron}
          error={errors.cron}
          required
          mono
          maxlength={200}
          placeholder="0 2 * * *"
          hint="minute hour day-of-month month day-of-week — e.g. 0 2 * * * (02:00 daily), */15 * * * *, 0 9 * * 1-5, or @hourly, @daily, @weekly"
        />
        <Field form="sf" name="timezone" label="Time zone" value={values.timezone || "UTC"} error={errors.timezone} required maxlength={100} placeholder="Europe/Berlin" hint="An IANA name: UTC, Europe/Berlin, America/New_York…" />
      </div>
      <fieldset class="flex flex-col gap-2">
        <legend class="label">It runs</legend>
        <div class="flex gap-4 text-sm">
          <label class="flex items-center gap-2">
            <input type="radio" id="sf-target-task" name="target" value="task" checked={target === "task"} /> a task
          </label>
          <label class="flex items-center gap-2">
            <input type="radio" id="sf-target-plan" name="target" value="plan" checked={target === "plan"} /> a plan
          </label>
        </div>
        <FieldError error={errors.target ?? errors.task ?? errors.plan} />
      </fieldset>
      <div class="grid gap-4 sm:grid-cols-2" data-for="task">
        <Select id="sf-task_type" name="task_type" label="Task type" value={values.task_type} error={errors.task_type} options={taskTypes.map((t) => [t.name, t.runsOnHost ? `${t.name} (runs on the host)` : t.name])} />
        <Field form="sf" name="title" label="Task title" value={values.title} error={errors.title} maxlength={500} />
        <div class="sm:col-span-2">
          <JsonArea id="sf-params" name="params" label="Params (JSON)" value={values.params} error={errors.params} hint="As for a task of this type; {{secrets.NAME}} works as in any task." />
        </div>
        <Select id="sf-priority" name="priority" label="Priority" value={values.priority || "default"} options={[["default", "default"], ["high", "high"], ["low", "low"]]} />
      </div>
      <div class="grid gap-4" data-for="plan">
        <Select
          id="sf-plan_name"
          name="plan_name"
          label="Plan"
          value={values.plan_name}
          error={errors.plan_name}
          options={plans.length ? plans.map((p) => [p, p]) : [["", "— no plans yet —"]]}
          hint="Each run uses the plan's current version."
        />
        <JsonArea id="sf-inputs" name="inputs" label="Inputs (JSON)" value={values.inputs} error={errors.inputs} hint="Values for the plan's {{inputs.NAME}}." />
      </div>
      <div class="grid gap-4 sm:grid-cols-2">
        <Select
          id="sf-overlap"
          name="overlap"
          label="If the previous run is still going"
          value={values.overlap || "skip"}
          error={errors.overlap}
          options={[["skip", "Skip this run"], ["queue", "Queue it until the previous one finishes"], ["cancel", "Cancel the previous run"]]}
        />
        <Select
          id="sf-catch_up"
          name="catch_up"
          label="Slots missed while the server was down"
          value={values.catch_up || "once"}
          error={errors.catch_up}
          options={[["once", "Run once at restart"], ["none", "Do not run them"]]}
          hint="Missed slots are listed on the schedule's page either way."
        />
      </div>
      <label class="flex items-center gap-2 text-sm">
        <input type="checkbox" name="enabled" value="1" checked={values.enabled !== "0"} /> Enabled
      </label>
      <p class="rounded-md tone-info px-3 py-2 text-xs" data-shell-note="">
        A schedule that runs {hostTypes.length ? hostTypes.map((t) => `'${t}'`).join(" or ") : "host"} tasks (or a plan with such a step) runs commands on the server's host: saving or enabling it needs the
        shell role (--shell-role).{mayRunOnHost ? " You have it." : " You do not have it: such a schedule can be saved only disabled."}
      </p>
      <div class="flex justify-end gap-2 border-t border-line pt-4">
        <a class="btn" href="/schedules">
          Cancel
        </a>
        <button type="submit" class="btn-primary">
          <span class="spinner htmx-indicator" aria-hidden="true" />
          Save schedule
        </button>
      </div>
    </form>
  );
};

export const ScheduleFormPage: FC<ScheduleFormProps & { title: string }> = ({ title, ...form }) => (
  <div class="mx-auto max-w-2xl">
    <PageHeader title={title} />
    <ScheduleForm {...form} />
  </div>
);
