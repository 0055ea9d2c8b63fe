/** @jsxImportSource hono/jsx */
// The secrets page (admins): the secret names with when (and by whom) each was set, "New secret",
// replace a value, delete. Values go in through password fields and are never rendered back.
import type { FC } from "hono/jsx";
import { EmptyState, PageHeader, RelTime } from "../components/ui.tsx";
import { AdminDialog, ErrorsBanner, Field, FormButtons, type FormErrors, type FormValues } from "../components/form.tsx";
import type { SecretAllow } from "../../src/features/secrets/allow-list.ts";
import { AllowFields, AllowForm, allowSummary } from "./allow.tsx";

export interface SecretRowData {
  name: string;
  allow: SecretAllow;
  created_at: string;
  updated_at: string;
  /** Who last created or replaced it, from the audit log (null when the log has no entry). */
  by: string | null;
}

const VALUE_HINT = "At least 4 characters. Stored encrypted; it is masked as *** in logs and results and never shown again.";

/** Replace one secret's value: a disclosure in its row (open again, with the error, after a bad value). */
export const ReplaceForm: FC<{ name: string; error?: string; open?: boolean }> = ({ name, error, open }) => {
  const id = `replace-${name}`;
  return (
    <details id={id} open={open}>
      <summary class="btn btn-sm cursor-pointer list-none">Replace value</summary>
      <form
        method="post"
        action={`/secrets/${name}/value`}
        hx-post={`/secrets/${name}/value`}
        hx-target={`#${id}`}
        hx-swap="outerHTML"
        class="mt-2 flex max-w-md flex-col gap-2"
        novalidate
      >
        <label class="label mb-0" for={`${id}-value`}>
          New value for {name}
        </label>
        <input
          id={`${id}-value`}
          name="value"
          type="password"
          class={`field font-mono${error ? " field-error" : ""}`}
          autocomplete="new-password"
          required
          aria-invalid={error ? "true" : undefined}
          aria-describedby={error ? `${id}-error` : undefined}
        />
        {error ? (
          <p class="error-text" id={`${id}-error`} role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" class="btn-primary btn-sm self-end">
          <span class="spinner htmx-indicator" aria-hidden="true" />
          Save new value
        </button>
      </form>
    </details>
  );
};

export const SecretRow: FC<{ s: SecretRowData }> = ({ s }) => (
  <li class="flex items-start gap-3 px-4 py-3 hover:bg-surface-2" data-secret={s.name}>
    <div class="min-w-0 flex-1">
      <code class="break-all font-medium">{s.name}</code>
      <p class="text-xs text-muted">
        use as <code>{`{{secrets.${s.name}}}`}</code>
      </p>
      <p class="text-xs text-muted">
        created <RelTime at={s.created_at} />
        {s.updated_at !== s.created_at ? (
          <>
            {" "}
            · updated <RelTime at={s.updated_at} />
          </>
        ) : null}
        {s.by ? ` · by ${s.by}` : null}
      </p>
      <p class="text-xs" data-allow-summary="">
        may be used by: {allowSummary(s.allow)}
      </p>
      <div class="mt-2 flex flex-wrap gap-2">
        <ReplaceForm name={s.name} />
        <AllowForm name={s.name} allow={s.allow} />
      </div>
    </div>
    <form
      method="post"
      action={`/secrets/${s.name}/delete`}
      hx-post={`/secrets/${s.name}/delete`}
      hx-swap="none"
      hx-confirm={`Delete the secret ${s.name}? Tasks that reference {{secrets.${s.name}}} will fail to start until it exists again.`}
      data-confirm-title="Delete this secret?"
      data-confirm-label="Delete"
    >
      <button type="submit" class="btn-danger btn-sm">
        Delete
      </button>
    </form>
  </li>
);

export const SecretList: FC<{ items: SecretRowData[] }> = ({ items }) => (
  <div id="secret-list" class="live-region card min-w-0" hx-get="/secrets" hx-trigger="secrets:changed from:body" hx-swap="outerHTML" data-total={items.length}>
    {items.length === 0 ? (
      <EmptyState title="No secrets yet">
        Store a password or token once and reference it in task params as <code>{"{{secrets.NAME}}"}</code>.{" "}
        <a class="link" href="/secrets/new" data-dialog-open="new-secret">
          Add a secret
        </a>
      </EmptyState>
    ) : (
      <ul class="divide-y divide-line" aria-label="Secrets">
        {items.map((s) => (
          <SecretRow s={s} />
        ))}
      </ul>
    )}
  </div>
);

export interface NewSecretFormProps {
  values?: FormValues;
  allow?: SecretAllow;
  errors?: FormErrors;
  inDialog?: boolean;
}

export const NewSecretForm: FC<NewSecretFormProps> = ({ values = {}, allow = { roles: ["admin"], task_types: null, hosts: null, remote_workers: false }, errors = {}, inDialog }) => (
  <form id="new-secret-form" method="post" action="/secrets" hx-post="/secrets" hx-target="this" hx-swap="outerHTML" class="flex flex-col gap-4" novalidate>
    {inDialog ? <input type="hidden" name="_dialog" value="1" /> : null}
    <ErrorsBanner errors={errors} fields={["name", "value"]} />
    <Field
      form="ns"
      name="name"
      label="Name"
      value={values.name}
      error={errors.name}
      required
      autofocus
      mono
      maxlength={128}
      autocomplete="off"
      placeholder="GITHUB_TOKEN"
      hint="Letters, digits and _, not starting with a digit."
    />
    <Field form="ns" name="value" label="Value" type="password" error={errors.value} required autocomplete="new-password" mono hint={VALUE_HINT} />
    <AllowFields id="ns-allow" allow={allow} errors={errors} />
    <FormButtons inDialog={inDialog} cancelHref="/secrets" submit="Store secret" />
  </form>
);

export const SecretsPage: FC<{ items: SecretRowData[] }> = ({ items }) => (
  <>
    <PageHeader
      title="Secrets"
      subtitle={
        <>
          Values tasks use without anyone seeing them: reference one in params as <code>{"{{secrets.NAME}}"}</code>.
        </>
      }
      actions={
        <a href="/secrets/new" class="btn-primary" data-dialog-open="new-secret">
          + New secret
        </a>
      }
    />
    <SecretList items={items} />
    <AdminDialog id="new-secret" title="New secret">
      <NewSecretForm inDialog />
    </AdminDialog>
  </>
);
