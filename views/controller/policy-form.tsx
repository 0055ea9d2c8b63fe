/** @jsxImportSource hono/jsx */
// The rule form (new and edit), in the Policies page's dialog or on a page of its own without JS: the
// conditions a question must meet, the action, the deadline and what happens when it passes. After a
// failed post it comes back with what was typed and each error beside its field.
import type { FC } from "hono/jsx";
import { ON_TIMEOUT_ACTIONS, PERMISSION_LEVELS, POLICY_ACTIONS } from "../../src/db/schema.ts";
import { FIELD_LABELS, type PolicyFormErrors, type PolicyFormValues } from "../../src/features/controller/policy-form.ts";
import { Field, FormButtons } from "../components/form.tsx";
import { FieldError } from "../components/ui.tsx";

export const ACTION_LABEL: Record<string, string> = {
  automated: "The model answers (automated)",
  human: "A person answers (human)",
  auto_approve: "Approve at once (auto_approve)",
  deny: "Deny at once (deny)",
};

export const ON_TIMEOUT_LABEL: Record<string, string> = {
  fail_task: "Fail the task (fail_task)",
  deny: "Deny (deny)",
  auto_answer: "Answer automatically (auto_answer)",
  escalate: "Escalate: a person ↔ the model (escalate)",
};

export interface PolicyFormProps {
  /** Absent: a new rule. */
  policyId?: string;
  isDefault?: boolean;
  values?: PolicyFormValues;
  errors?: PolicyFormErrors;
  inDialog?: boolean;
}

const Select: FC<{ id: string; name: string; label: string; values: readonly string[]; show?: Record<string, string>; selected?: string; any?: string; error?: string; hint?: string }> = (p) => {
  const described = [p.hint ? `${p.id}-hint` : null, p.error ? `${p.id}-error` : null].filter(Boolean).join(" ") || undefined;
  return (
    <div>
      <label class="label" for={p.id}>
        {p.label}
      </label>
      <select id={p.id} name={p.name} class={`field${p.error ? " field-error" : ""}`} aria-invalid={p.error ? "true" : undefined} aria-describedby={described}>
        {p.any !== undefined ? <option value="">{p.any}</option> : null}
        {p.values.map((v) => (
          <option value={v} selected={p.selected === v}>
            {p.show?.[v] ?? v}
          </option>
        ))}
      </select>
      {p.hint ? (
        <p class="hint" id={`${p.id}-hint`}>
          {p.hint}
        </p>
      ) : null}
      <FieldError error={p.error} id={`${p.id}-error`} />
    </div>
  );
};

export const PolicyForm: FC<PolicyFormProps> = ({ policyId, isDefault, values = {}, errors = {}, inDialog }) => {
  const action = policyId ? `/policies/${policyId}` : "/policies";
  const v = (k: string, fallback = "") => values[k] ?? fallback;
  const named = Object.keys(errors).filter((k) => k !== "_form");
  return (
    <form id="policy-form" method="post" action={action} hx-post={action} hx-target="this" hx-swap="outerHTML" class="flex flex-col gap-4" novalidate>
      {inDialog ? <input type="hidden" name="_dialog" value="1" /> : null}
      {Object.keys(errors).length > 0 ? (
        <div class="rounded-md tone-err px-3 py-2 text-sm" role="alert" data-form-errors="">
          {named.length > 0 ? <>Please fix: {named.map((k) => FIELD_LABELS[k] ?? k).join(", ")}.</> : null}
          {errors._form ? <p>{errors._form}</p> : null}
        </div>
      ) : null}
      <Field form="pf" name="name" label="Name" value={v("name")} error={errors.name} required maxlength={200} autofocus placeholder="Deploys need a person" />
      {isDefault ? (
        <p class="rounded-md bg-surface-2 px-3 py-2 text-sm">The default rule answers every question no other rule matched: it has no conditions, and it is always on.</p>
      ) : (
        <fieldset class="flex flex-col gap-3 rounded-md border border-line p-3">
          <legend class="px-1 text-sm font-medium">When the question… (every condition given must hold; leave one empty to match anything)</legend>
          <div class="grid gap-3 sm:grid-cols-2">
            <Field form="pf" name="match.task_type" label="Task type is" value={v("match.task_type")} error={errors["match.task_type"]} maxlength={100} placeholder="feature" mono />
            <Select id="pf-match.permission_level" name="match.permission_level" label="Task's permission level is" values={PERMISSION_LEVELS} selected={v("match.permission_level")} any="any" error={errors["match.permission_level"]} />
            <Field form="pf" name="match.category" label="Category is" value={v("match.category")} error={errors["match.category"]} maxlength={100} placeholder="approval" />
            <Field form="pf" name="match.repository_url" label="Repository is" value={v("match.repository_url")} error={errors["match.repository_url"]} maxlength={2000} placeholder="https://github.com/acme/api" mono />
          </div>
          <Field
            form="pf"
            name="match.pattern"
            label="Question matches (regular expression)"
            value={v("match.pattern")}
            error={errors["match.pattern"]}
            maxlength={1000}
            placeholder="\b(deploy|drop|delete)\b"
            hint="Matched case-insensitively anywhere in the question."
            mono
          />
        </fieldset>
      )}
      <Select id="pf-action" name="action" label="Then" values={POLICY_ACTIONS} show={ACTION_LABEL} selected={v("action", "human")} error={errors.action} />
      <div class="grid gap-3 sm:grid-cols-2">
        <Field
          form="pf"
          name="timeout_seconds"
          label="Deadline (seconds)"
          type="number"
          value={v("timeout_seconds")}
          error={errors.timeout_seconds}
          hint="Empty: no deadline. 3600 = one hour."
        />
        <Select id="pf-on_timeout" name="on_timeout" label="When the deadline passes" values={ON_TIMEOUT_ACTIONS} show={ON_TIMEOUT_LABEL} selected={v("on_timeout", "fail_task")} error={errors.on_timeout} />
      </div>
      <Field
        form="pf"
        name="on_timeout_answer"
        label="Automatic answer"
        value={v("on_timeout_answer")}
        error={errors.on_timeout_answer}
        maxlength={20000}
        hint="Given to the task when the deadline answers automatically (one of its options, when it has options)."
      />
      {isDefault ? null : (
        <div>
          <input type="hidden" name="enabled" value="false" />
          <label class="flex items-center gap-2 text-sm font-medium" for="pf-enabled">
            <input type="checkbox" id="pf-enabled" name="enabled" value="true" checked={v("enabled", "true") === "true"} class="h-4 w-4 accent-[var(--accent)]" />
            Enabled
          </label>
        </div>
      )}
      <FormButtons inDialog={inDialog} cancelHref="/policies" submit={policyId ? "Save rule" : "Add rule"} />
    </form>
  );
};
