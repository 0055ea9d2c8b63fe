/** @jsxImportSource hono/jsx */
// The "New task" form: its param fields follow the chosen type's schema (swapped in when the type
// changes); after a failed post it comes back with every value kept and the errors next to the fields.
import type { FC } from "hono/jsx";
import { PERMISSION_LEVELS, PRIORITIES } from "../../src/db/schema.ts";
import { defaultText, type FormErrors, type FormValues, type ParamField } from "../../src/features/tasks/form.ts";
import { Field } from "../components/form.tsx";
import { FieldError } from "../components/ui.tsx";

export interface NewTaskFormProps {
  types: Array<{ name: string; description: string }>;
  selected: string;
  fields: ParamField[];
  values?: FormValues;
  errors?: FormErrors;
  /** In the dialog a Cancel button closes it. */
  inDialog?: boolean;
}

const fieldId = (name: string) => `f-${name.replace(/[^A-Za-z0-9_-]/g, "-")}`;

const HINT: Partial<Record<ParamField["kind"], string>> = {
  lines: "One per line.",
  json: "Write JSON, or plain text where text is allowed.",
};

/** What to type, after the field's own description — each a sentence. */
export function paramHint(field: ParamField): string {
  const kind = field.kind === "pairs" ? `One per line: ${field.name === "headers" ? "Name: value" : "NAME=value"}.` : HINT[field.kind];
  const sentence = (s: string) => (/[.!?]$/.test(s) ? s : `${s}.`);
  return [field.description ? sentence(field.description) : null, kind].filter(Boolean).join(" ");
}

/**
 * One param's input, by its kind. `name` and `id` default to the New task form's (`params.NAME`,
 * `f-params-NAME`); a plan step's editor gives its own (`steps[2].params.NAME`).
 */
export const ParamInput: FC<{ field: ParamField; value?: string; error?: string; name?: string; id?: string; templates?: boolean }> = ({
  field,
  value,
  error,
  name: nameGiven,
  id: idGiven,
  templates,
}) => {
  const name = nameGiven ?? `params.${field.name}`;
  const id = idGiven ?? fieldId(name);
  const errId = `${id}-error`;
  const hintId = `${id}-hint`;
  const text = value ?? defaultText(field);
  const cls = `field${error ? " field-error" : ""}`;
  const hint = paramHint(field);
  const described = [hint ? hintId : null, error ? errId : null].filter(Boolean).join(" ") || undefined;
  const aria = { "aria-invalid": error ? "true" : undefined, "aria-describedby": described };
  if (field.kind === "boolean" && field.default === undefined && !field.required) {
    // Yes, no — or left to the server (shell's `network`: its --shell-network): a checkbox cannot say the third.
    return (
      <div>
        <label class="label" for={id}>
          {field.name}
        </label>
        <select id={id} name={name} class={cls} {...aria}>
          <option value="">default</option>
          <option value="true" selected={value === "true"}>
            yes
          </option>
          <option value="false" selected={value === "false"}>
            no
          </option>
        </select>
        {hint ? (
          <p class="hint" id={hintId}>
            {hint}
          </p>
        ) : null}
        <FieldError error={error} id={errId} />
      </div>
    );
  }
  if (field.kind === "boolean") {
    const checked = value !== undefined ? value === "true" || value === "on" : field.default === true;
    return (
      <div>
        <input type="hidden" name={name} value="false" />
        <label class="flex items-center gap-2 text-sm font-medium" for={id}>
          <input type="checkbox" id={id} name={name} value="true" checked={checked} class="h-4 w-4 accent-[var(--accent)]" {...aria} />
          {field.name}
        </label>
        {hint ? (
          <p class="hint" id={hintId}>
            {hint}
          </p>
        ) : null}
        <FieldError error={error} id={errId} />
      </div>
    );
  }
  let input;
  if (field.kind === "select") {
    input = (
      <select id={id} name={name} class={cls} {...aria}>
        {field.required ? null : <option value="">—</option>}
        {(field.options ?? []).map((o) => (
          <option value={o} selected={o === text}>
            {o}
          </option>
        ))}
      </select>
    );
  } else if (field.kind === "text" || field.kind === "number" || field.kind === "integer") {
    input = (
      <input
        id={id}
        name={name}
        class={cls}
        // A number in a plan step may be a template ({{inputs.count}}), which a number input cannot hold.
        type={field.kind === "text" || templates ? "text" : "number"}
        inputmode={field.kind !== "text" && templates ? "decimal" : undefined}
        step={templates ? undefined : field.kind === "integer" ? "1" : field.kind === "number" ? "any" : undefined}
        min={templates ? undefined : field.min}
        max={templates ? undefined : field.max}
        value={text}
        required={field.required}
        {...aria}
      />
    );
  } else {
    input = (
      <textarea id={id} name={name} class={`${cls} font-mono`} rows={field.kind === "textarea" ? 4 : 3} required={field.required} {...aria}>
        {text}
      </textarea>
    );
  }
  return (
    <div>
      <label class="label" for={id}>
        {field.name}
        {field.required ? <span class="text-err"> *</span> : null}
      </label>
      {input}
      {hint ? (
        <p class="hint" id={hintId}>
          {hint}
        </p>
      ) : null}
      <FieldError error={error} id={errId} />
    </div>
  );
};

export const ParamFields: FC<{ description?: string; fields: ParamField[]; values?: FormValues; errors?: FormErrors }> = ({ description, fields, values, errors }) => (
  <>
    {description ? <p class="text-sm text-muted">{description}</p> : null}
    {fields.length === 0 ? <p class="text-sm text-muted">This type takes no parameters.</p> : null}
    {fields.map((f) => (
      <ParamInput field={f} value={values?.[`params.${f.name}`]} error={errors?.[`params.${f.name}`]} />
    ))}
  </>
);

export const NewTaskForm: FC<NewTaskFormProps> = ({ types, selected, fields, values = {}, errors = {}, inDialog }) => {
  const v = (k: string, fallback = "") => values[k] ?? fallback;
  const err = (k: string) => errors[k];
  const known = new Set(["title", "task_type", "priority", "permission_level", "repository_url", "branch_name", "description", "depends_on", "timeout_seconds", "max_retries", ...fields.map((f) => `params.${f.name}`)]);
  const other = Object.entries(errors).filter(([k]) => !known.has(k));
  const advancedOpen = Boolean(err("depends_on") || err("timeout_seconds") || err("max_retries") || v("depends_on") || v("timeout_seconds") || v("max_retries"));
  const description = types.find((t) => t.name === selected)?.description;
  return (
    <form id="new-task-form" method="post" action="/tasks" hx-post="/tasks" hx-target="this" hx-swap="outerHTML" class="flex flex-col gap-4" novalidate>
      {inDialog ? <input type="hidden" name="_dialog" value="1" /> : null}
      {Object.keys(errors).length > 0 ? (
        <div class="rounded-md tone-err px-3 py-2 text-sm" role="alert">
          Please fix the fields marked below.
          {other.length > 0 ? (
            <ul class="mt-1 list-disc pl-5">
              {other.map(([k, m]) => (
                <li>{k === "_form" ? m : `${k}: ${m}`}</li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
      <div>
        <label class="label" for="f-title">
          Title<span class="text-err"> *</span>
        </label>
        <input
          id="f-title"
          name="title"
          class={`field${err("title") ? " field-error" : ""}`}
          value={v("title")}
          maxlength={500}
          required
          autofocus={Object.keys(errors).length === 0}
          aria-invalid={err("title") ? "true" : undefined}
        />
        <FieldError error={err("title")} />
      </div>
      <div class="grid gap-4 sm:grid-cols-2">
        <div>
          <label class="label" for="f-task_type">
            Type
          </label>
          <select id="f-task_type" name="task_type" class={`field${err("task_type") ? " field-error" : ""}`} hx-get="/tasks/new/fields" hx-target="#param-fields" hx-swap="innerHTML" hx-trigger="change">
            {types.map((t) => (
              <option value={t.name} selected={t.name === selected}>
                {t.name}
              </option>
            ))}
          </select>
          <FieldError error={err("task_type")} />
        </div>
        <div>
          <label class="label" for="f-priority">
            Priority
          </label>
          <select id="f-priority" name="priority" class="field">
            {PRIORITIES.map((p) => (
              <option value={p} selected={p === v("priority", "default")}>
                {p}
              </option>
            ))}
          </select>
        </div>
      </div>
      <div>
        <label class="label" for="f-permission_level">
          Permission level
        </label>
        <select id="f-permission_level" name="permission_level" class="field" aria-describedby="f-permission_level-hint">
          {PERMISSION_LEVELS.map((p) => (
            <option value={p} selected={p === v("permission_level", "write")}>
              {p}
            </option>
          ))}
        </select>
        <p class="hint" id="f-permission_level-hint">
          What it may do to its repository: read; write (commit on its own branch); push (also push and open a pull request). Policies can route its questions by it.
        </p>
        <FieldError error={err("permission_level")} />
      </div>
      <div class="grid gap-4 sm:grid-cols-2">
        <Field
          name="repository_url"
          label="Repository"
          value={v("repository_url")}
          error={err("repository_url")}
          maxlength={2048}
          mono
          placeholder="/srv/repos/app, or an https or ssh URL"
          hint="What a coding agent works on (feature, bugfix, test, docs): a local path, file://, https or ssh URL."
        />
        <Field
          name="branch_name"
          label="Branch"
          value={v("branch_name")}
          error={err("branch_name")}
          maxlength={500}
          mono
          placeholder="agentvine/<task id>"
          hint="The agent's own branch (by default agentvine/ and the task's id)."
        />
      </div>
      <fieldset id="param-fields" class="flex flex-col gap-3 rounded-md border border-line p-3">
        <ParamFields description={description} fields={fields} values={values} errors={errors} />
      </fieldset>
      <div>
        <label class="label" for="f-description">
          Description
        </label>
        <textarea id="f-description" name="description" class="field" rows={2}>
          {v("description")}
        </textarea>
      </div>
      <details open={advancedOpen}>
        <summary class="cursor-pointer text-sm font-medium">Dependencies, timeout, retries</summary>
        <div class="mt-3 grid gap-4 sm:grid-cols-3">
          <div class="sm:col-span-3">
            <label class="label" for="f-depends_on">
              Depends on
            </label>
            <input id="f-depends_on" name="depends_on" class={`field font-mono${err("depends_on") ? " field-error" : ""}`} value={v("depends_on")} placeholder="task ids, comma separated" />
            <FieldError error={err("depends_on")} />
          </div>
          <div>
            <label class="label" for="f-timeout">
              Timeout (s)
            </label>
            <input id="f-timeout" name="timeout_seconds" type="number" min="1" class={`field${err("timeout_seconds") ? " field-error" : ""}`} value={v("timeout_seconds")} />
            <FieldError error={err("timeout_seconds")} />
          </div>
          <div>
            <label class="label" for="f-retries">
              Max retries
            </label>
            <input id="f-retries" name="max_retries" type="number" min="0" class={`field${err("max_retries") ? " field-error" : ""}`} value={v("max_retries")} />
            <FieldError error={err("max_retries")} />
          </div>
        </div>
      </details>
      <div class="flex justify-end gap-2 border-t border-line pt-4">
        {inDialog ? (
          <button type="button" class="btn" data-dialog-close="">
            Cancel
          </button>
        ) : (
          <a class="btn" href="/tasks">
            Cancel
          </a>
        )}
        <button type="submit" class="btn-primary">
          <span class="spinner htmx-indicator" aria-hidden="true" />
          Create task
        </button>
      </div>
    </form>
  );
};

/** The dialog around the form, opened by any `[data-dialog-open="new-task"]` (a plain link without JS). */
export const NewTaskDialog: FC<NewTaskFormProps> = (props) => (
  <dialog id="new-task" class="card m-auto max-h-[90vh] w-[calc(100%-1.5rem)] max-w-2xl overflow-y-auto p-0 shadow-xl" aria-labelledby="new-task-title">
    <div class="flex items-center justify-between border-b border-line px-5 py-3">
      <h2 id="new-task-title" class="text-lg font-semibold">
        New task
      </h2>
      <button type="button" class="btn-ghost btn-sm" data-dialog-close="" aria-label="Close">
        ✕
      </button>
    </div>
    <div class="p-5">
      <NewTaskForm {...props} inDialog />
    </div>
  </dialog>
);
