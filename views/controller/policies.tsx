/** @jsxImportSource hono/jsx */
// The Policies page: the routing rules in the order they are tried (the default rule last), each with
// its conditions, action and deadline; for admins the controls — move up/down, enable/disable, edit in
// a dialog, delete (confirmed) — and for everyone the dry run: a sample question, which rule would take
// it and why, and why each rule before it was passed over.
import type { FC } from "hono/jsx";
import { PERMISSION_LEVELS } from "../../src/db/schema.ts";
import type { Policy } from "../../src/features/controller/policies.ts";
import type { DryRunResult, PolicyFormErrors, PolicyFormValues } from "../../src/features/controller/policy-form.ts";
import { Field } from "../components/form.tsx";
import { EmptyState, FieldError, PageHeader, duration } from "../components/ui.tsx";
import { ACTION_TEXT, ON_TIMEOUT_TEXT } from "./question.tsx";

const ACTION_TONE: Record<string, string> = { automated: "tone-info", human: "tone-violet", auto_approve: "tone-ok", deny: "tone-err" };

export const ActionBadge: FC<{ action: string }> = ({ action }) => (
  <span class={`badge ${ACTION_TONE[action] ?? "tone-neutral"}`} data-policy-action={action}>
    {ACTION_TEXT[action] ?? action}
  </span>
);

const ordinal = (n: number) => `${n}${n % 10 === 1 && n % 100 !== 11 ? "st" : n % 10 === 2 && n % 100 !== 12 ? "nd" : n % 10 === 3 && n % 100 !== 13 ? "rd" : "th"}`;

/** A rule's conditions in words. */
export function conditionsOf(p: Policy): string[] {
  const m = p.match;
  const out: string[] = [];
  if (m.task_type) out.push(`task type is ${m.task_type}`);
  if (m.permission_level) out.push(`permission level is ${m.permission_level}`);
  if (m.category) out.push(`category is ${m.category}`);
  if (m.repository_url) out.push(`repository is ${m.repository_url}`);
  if (m.pattern) out.push(`question matches /${m.pattern}/i`);
  return out;
}

const Deadline: FC<{ p: Policy }> = ({ p }) => (
  <>
    {p.timeout_seconds ? `deadline ${duration(p.timeout_seconds * 1000)}, then ${ON_TIMEOUT_TEXT[p.on_timeout] ?? p.on_timeout}` : "no deadline"}
    {p.on_timeout === "auto_answer" && p.on_timeout_answer ? ` (“${p.on_timeout_answer}”)` : ""}
  </>
);

const MoveButton: FC<{ p: Policy; direction: "up" | "down"; disabled: boolean }> = ({ p, direction, disabled }) => (
  <form method="post" action={`/policies/${p.id}/move`} hx-post={`/policies/${p.id}/move`} hx-target="#policy-list" hx-swap="outerHTML">
    <input type="hidden" name="direction" value={direction} />
    <button
      type="submit"
      id={`move-${direction}-${p.id}`}
      class="btn btn-sm"
      disabled={disabled}
      aria-label={`Move “${p.name}” ${direction}`}
      title={`Move ${direction}: try it ${direction === "up" ? "earlier" : "later"}`}
      data-action={`move-${direction}`}
    >
      {direction === "up" ? "↑" : "↓"}
    </button>
  </form>
);

export const PolicyRow: FC<{ p: Policy; index: number; count: number; canEdit: boolean }> = ({ p, index, count, canEdit }) => {
  const conditions = conditionsOf(p);
  return (
    <li id={`policy-${p.id}`} class="flex flex-wrap items-start gap-x-3 gap-y-2 px-4 py-3 sm:flex-nowrap" data-policy={p.name} data-enabled={String(p.enabled)} data-default={p.is_default ? "true" : undefined}>
      <span class="w-6 shrink-0 font-semibold tabular-nums text-muted" title={p.is_default ? "tried last" : `tried ${ordinal(index + 1)}`}>
        {p.is_default ? "—" : index + 1}
      </span>
      <div class={`min-w-0 flex-1 ${p.enabled ? "" : "opacity-60"}`}>
        <div class="flex flex-wrap items-center gap-2">
          <strong class="break-words" data-policy-name="">
            {p.name}
          </strong>
          {p.is_default ? <span class="badge tone-neutral">default</span> : null}
          {p.enabled ? null : <span class="badge tone-neutral">disabled</span>}
          <ActionBadge action={p.action} />
        </div>
        <p class="mt-1 break-words text-sm">
          <span class="text-muted">When </span>
          {p.is_default ? "no other rule matched" : conditions.length ? conditions.join(" and ") : "any question (no conditions)"}
        </p>
        <p class="text-xs text-muted">
          <Deadline p={p} /> · version {p.version}
        </p>
      </div>
      {canEdit ? (
        <div class="flex w-full flex-wrap items-center gap-1 pl-9 sm:w-auto sm:justify-end sm:pl-0">
          {p.is_default ? null : (
            <>
              <MoveButton p={p} direction="up" disabled={index === 0} />
              <MoveButton p={p} direction="down" disabled={index === count - 1} />
              <form method="post" action={`/policies/${p.id}/enabled`} hx-post={`/policies/${p.id}/enabled`} hx-target="#policy-list" hx-swap="outerHTML">
                <input type="hidden" name="enabled" value={p.enabled ? "false" : "true"} />
                <button type="submit" id={`toggle-${p.id}`} class="btn btn-sm" data-action="toggle">
                  {p.enabled ? "Disable" : "Enable"}
                </button>
              </form>
            </>
          )}
          <a
            href={`/policies/${p.id}/edit`}
            class="btn btn-sm"
            hx-get={`/policies/${p.id}/edit`}
            hx-target="#policy-dialog-body"
            hx-swap="innerHTML"
            data-action="edit"
            aria-label={`Edit “${p.name}”`}
          >
            Edit
          </a>
          {p.is_default ? null : (
            <form
              method="post"
              action={`/policies/${p.id}/delete`}
              hx-post={`/policies/${p.id}/delete`}
              hx-target="#policy-list"
              hx-swap="outerHTML"
              hx-confirm={`Delete the rule “${p.name}”? Questions it would take go to the next rule that matches.`}
              data-confirm-title="Delete this rule?"
              data-confirm-label="Delete"
            >
              <button type="submit" class="btn-danger btn-sm" data-action="delete" aria-label={`Delete “${p.name}”`}>
                Delete
              </button>
            </form>
          )}
        </div>
      ) : null}
    </li>
  );
};

export const PolicyList: FC<{ items: Policy[]; canEdit: boolean }> = ({ items, canEdit }) => {
  const rules = items.filter((p) => !p.is_default);
  return (
    <div id="policy-list" class="live-region card min-w-0" hx-get="/policies" hx-trigger="policies:changed from:body" hx-swap="outerHTML" data-total={items.length}>
      {items.length === 0 ? (
        <EmptyState title="No rules">Every question goes to the built-in default: a person answers, and the task fails after a day.</EmptyState>
      ) : (
        <ol class="divide-y divide-line" aria-label="Rules, in the order they are tried">
          {items.map((p) => (
            <PolicyRow p={p} index={p.is_default ? rules.length : rules.indexOf(p)} count={rules.length} canEdit={canEdit} />
          ))}
        </ol>
      )}
    </div>
  );
};

export interface DryRunProps {
  taskTypes: string[];
  values?: PolicyFormValues;
  errors?: PolicyFormErrors;
}

export const DryRunResultView: FC<{ result?: DryRunResult; errors?: PolicyFormErrors }> = ({ result, errors }) => (
  <div id="dry-run-result" aria-live="polite">
    {errors && Object.keys(errors).length ? (
      <p class="rounded-md tone-err px-3 py-2 text-sm" role="alert">
        Fix the question above: {Object.values(errors).join("; ")}.
      </p>
    ) : result ? (
      <div class="flex flex-col gap-3" data-dry-run-match={result.decision.policy.name}>
        <div class="rounded-md border border-line p-3">
          <p class="text-sm">
            <span class="text-muted">Taken by </span>
            <strong>{result.decision.policy.name}</strong> <ActionBadge action={result.decision.policy.action} />
          </p>
          <p class="mt-1 text-sm">
            <span class="text-muted">Because </span>
            {result.decision.reasons.join("; ")}
          </p>
          <p class="mt-1 text-xs text-muted">
            <Deadline p={result.decision.policy} />
          </p>
        </div>
        {result.skipped.length ? (
          <div>
            <p class="text-sm font-medium">Passed over first</p>
            <ul class="mt-1 flex flex-col gap-1 text-sm" data-dry-run-skipped="">
              {result.skipped.map((s) => (
                <li class="break-words" data-skipped={s.policy.name}>
                  <strong>{s.policy.name}</strong>: <span class="text-muted">{s.why}</span>
                </li>
              ))}
            </ul>
          </div>
        ) : (
          <p class="text-xs text-muted">No rule was passed over: it is the first one tried.</p>
        )}
      </div>
    ) : (
      <p class="text-sm text-muted">The rule that would take it, and why, shows here. Nothing is asked or stored.</p>
    )}
  </div>
);

export const DryRunForm: FC<DryRunProps> = ({ taskTypes, values = {}, errors = {} }) => (
  <form id="dry-run-form" method="post" action="/policies/dry-run" hx-post="/policies/dry-run" hx-target="#dry-run-result" hx-swap="outerHTML" class="flex flex-col gap-3" novalidate>
    <div>
      <label class="label" for="dr-question">
        Question<span class="text-err"> *</span>
      </label>
      <textarea id="dr-question" name="question" rows={3} maxlength={20000} class={`field${errors.question ? " field-error" : ""}`} required placeholder="May I force-push to main?">
        {values.question ?? ""}
      </textarea>
      <FieldError error={errors.question} id="dr-question-error" />
    </div>
    <div class="grid gap-3 sm:grid-cols-2">
      <Field form="dr" name="category" label="Category" value={values.category} error={errors.category} maxlength={100} placeholder="approval" />
      <div>
        <label class="label" for="dr-task_type">
          Task type
        </label>
        <select id="dr-task_type" name="task_type" class="field">
          {taskTypes.map((t) => (
            <option value={t} selected={(values.task_type ?? "shell") === t}>
              {t}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label class="label" for="dr-permission_level">
          Permission level
        </label>
        <select id="dr-permission_level" name="permission_level" class="field">
          {PERMISSION_LEVELS.map((l) => (
            <option value={l} selected={(values.permission_level ?? "write") === l}>
              {l}
            </option>
          ))}
        </select>
      </div>
      <Field form="dr" name="repository_url" label="Repository" value={values.repository_url} error={errors.repository_url} maxlength={2000} placeholder="https://github.com/acme/api" mono />
    </div>
    <div class="flex justify-end">
      <button type="submit" class="btn-primary" data-dry-run="">
        <span class="spinner htmx-indicator" aria-hidden="true" />
        Which rule takes it?
      </button>
    </div>
  </form>
);

export interface PoliciesPageProps {
  items: Policy[];
  canEdit: boolean;
  taskTypes: string[];
}

export const PoliciesPage: FC<PoliciesPageProps> = ({ items, canEdit, taskTypes }) => (
  <>
    <PageHeader
      title="Policies"
      subtitle="Who answers the questions tasks ask: the rules are tried top to bottom, and the first enabled rule whose conditions all hold decides. The default rule takes the rest."
      actions={
        canEdit ? (
          <a href="/policies/new" class="btn-primary" hx-get="/policies/new" hx-target="#policy-dialog-body" hx-swap="innerHTML" data-action="new-rule">
            + New rule
          </a>
        ) : null
      }
    />
    <div class="grid min-w-0 items-start gap-5 lg:grid-cols-5">
      <section class="min-w-0 lg:col-span-3" aria-label="Rules">
        <PolicyList items={items} canEdit={canEdit} />
        {canEdit ? null : <p class="mt-2 text-xs text-muted">Admins change the rules; every change is in the audit log.</p>}
      </section>
      <section class="card min-w-0 p-4 lg:col-span-2" aria-labelledby="dry-run-title">
        <h2 id="dry-run-title" class="font-semibold">
          Dry run
        </h2>
        <p class="mb-3 text-sm text-muted">Paste a question a task might ask and see which rule would take it.</p>
        <DryRunForm taskTypes={taskTypes} />
        <div class="mt-4 border-t border-line pt-3">
          <DryRunResultView />
        </div>
      </section>
    </div>
    {canEdit ? (
      <dialog id="policy-dialog" class="card m-auto max-h-[90vh] w-[calc(100%-1.5rem)] max-w-xl overflow-y-auto p-0 shadow-xl" aria-labelledby="policy-dialog-title">
        <div class="flex items-center justify-between border-b border-line px-5 py-3">
          <h2 id="policy-dialog-title" class="text-lg font-semibold">
            Rule
          </h2>
          <button type="button" class="btn-ghost btn-sm" data-dialog-close="" aria-label="Close">
            ✕
          </button>
        </div>
        <div id="policy-dialog-body" class="p-5"></div>
      </dialog>
    ) : null}
  </>
);
