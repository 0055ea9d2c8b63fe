/** @jsxImportSource hono/jsx */
// The API keys page (admins): the keys with their last use, the "New key" form, the panel that shows a
// new key the one time it exists in plaintext, and revoke.
import type { FC } from "hono/jsx";
import type { ApiKeyScope } from "../../src/db/schema.ts";
import type { ApiKeyJson } from "../../src/features/auth/api-keys.ts";
import { ListSection } from "../components/list.tsx";
import { EmptyState, PageHeader, RelTime, FilterActions } from "../components/ui.tsx";
import { AdminDialog, ErrorsBanner, Field, FormButtons, type FormErrors, type FormValues } from "../components/form.tsx";

export interface KeyFilters {
  /** Revoked keys are listed too unless `active` is set. */
  active: boolean;
  page: number;
  per_page: number;
}

export function keysHref(f: Partial<KeyFilters>, page = f.page ?? 1): string {
  const params = new URLSearchParams();
  if (f.active) params.set("status", "active");
  if (page > 1) params.set("page", String(page));
  const qs = params.toString();
  return qs ? `/api-keys?${qs}` : "/api-keys";
}

export const SCOPES: Array<{ scope: ApiKeyScope; title: string; text: string }> = [
  {
    scope: "worker",
    title: "worker",
    text: "For a worker process on another machine: it may claim work from the queue and report results, and nothing else. It cannot read tasks, users or secrets.",
  },
  {
    scope: "api",
    title: "api",
    text: "For scripts and integrations: the whole JSON API, acting as you with your admin role. Keep it as safe as your password.",
  },
];

export interface KeyRowData extends ApiKeyJson {
  /** The owner's username (null when the user no longer exists). */
  owner: string | null;
}

export const KeyRow: FC<{ k: KeyRowData }> = ({ k }) => (
  <tr class={`hover:bg-surface-2${k.revoked_at ? " opacity-70" : ""}`} data-key-id={k.id} data-revoked={String(k.revoked_at !== null)}>
    <td class="td min-w-36">
      <span class="block break-all font-medium">{k.name}</span>
      <span class="flex items-center gap-1 sm:hidden">
        <code class="text-xs text-muted">{k.prefix}…</code>
        <span class={`badge ${k.scope === "api" ? "tone-violet" : "tone-info"}`}>{k.scope}</span>
      </span>
    </td>
    <td class="td hidden whitespace-nowrap sm:table-cell">
      <code class="text-xs">{k.prefix}…</code>
    </td>
    <td class="td hidden sm:table-cell">
      <span class={`badge ${k.scope === "api" ? "tone-violet" : "tone-info"}`}>{k.scope}</span>
    </td>
    <td class="td hidden break-all md:table-cell">{k.owner ?? <span class="text-muted">deleted user</span>}</td>
    <td class="td hidden whitespace-nowrap text-muted lg:table-cell">
      <RelTime at={k.created_at} />
    </td>
    <td class="td hidden whitespace-nowrap text-muted sm:table-cell">{k.last_used_at ? <RelTime at={k.last_used_at} /> : "never"}</td>
    <td class="td whitespace-nowrap">
      {k.revoked_at ? (
        <span class="badge tone-neutral" title={k.revoked_at}>
          revoked <RelTime at={k.revoked_at} />
        </span>
      ) : (
        <span class="badge tone-ok">active</span>
      )}
    </td>
    <td class="td text-right">
      {k.revoked_at ? null : (
        <form
          method="post"
          action={`/api-keys/${k.id}/revoke`}
          hx-post={`/api-keys/${k.id}/revoke`}
          hx-swap="none"
          hx-confirm={`Revoke the key “${k.name}”? Anything using it is refused from its next request. This cannot be undone.`}
          data-confirm-title="Revoke this key?"
          data-confirm-label="Revoke"
        >
          <button type="submit" class="btn-danger btn-sm">
            Revoke
          </button>
        </form>
      )}
    </td>
  </tr>
);

export interface KeyListProps {
  filters: KeyFilters;
  items: KeyRowData[];
  total: number;
}

/** The table: part of the page, and the fragment the filter, pagination and `api-keys:changed` swap in. */
export const KeyList: FC<KeyListProps> = ({ filters, items, total }) => (
  <ListSection
    id="key-list"
    refresh={{ href: keysHref(filters), trigger: "api-keys:changed from:body" }}
    total={total}
    columns={[
      { label: "Name" },
      { label: "Prefix", class: "hidden sm:table-cell" },
      { label: "Scope", class: "hidden sm:table-cell" },
      { label: "Owner", class: "hidden md:table-cell" },
      { label: "Created", class: "hidden lg:table-cell" },
      { label: "Last used", class: "hidden sm:table-cell" },
      { label: "Status" },
      { label: "Actions", srOnly: true },
    ]}
    page={{ page: filters.page, perPage: filters.per_page, href: (p) => keysHref(filters, p) }}
    empty={
      items.length > 0 ? null : (
        <EmptyState title={filters.active ? "No active API keys" : "No API keys yet"}>
          A key lets a worker or a script call the server without a password.{" "}
          <a class="link" href="/api-keys/new" data-dialog-open="new-key">
            Create a key
          </a>
        </EmptyState>
      )
    }
  >
      {items.map((k) => (
        <KeyRow k={k} />
      ))}
  </ListSection>
);

export interface NewKeyFormProps {
  values?: FormValues;
  errors?: FormErrors;
  inDialog?: boolean;
}

export const NewKeyForm: FC<NewKeyFormProps> = ({ values = {}, errors = {}, inDialog }) => {
  const scope = values.scope === "api" ? "api" : "worker";
  return (
    <form id="new-key-form" method="post" action="/api-keys" hx-post="/api-keys" hx-target="this" hx-swap="outerHTML" class="flex flex-col gap-4" novalidate>
      {inDialog ? <input type="hidden" name="_dialog" value="1" /> : null}
      <ErrorsBanner errors={errors} fields={["name", "scope"]} />
      <Field form="nk" name="name" label="Name" value={values.name} error={errors.name} required autofocus maxlength={100} autocomplete="off" hint="What uses it, e.g. “build server worker”." />
      <fieldset>
        <legend class="label">Scope</legend>
        <div class="flex flex-col gap-2">
          {SCOPES.map((s) => (
            <label class="flex cursor-pointer items-start gap-3 rounded-md border border-line p-3 hover:bg-surface-2">
              <input type="radio" name="scope" value={s.scope} checked={scope === s.scope} class="mt-1 h-4 w-4 accent-[var(--accent)]" />
              <span>
                <span class="block text-sm font-medium">{s.title}</span>
                <span class="block text-xs text-muted">{s.text}</span>
              </span>
            </label>
          ))}
        </div>
        {errors.scope ? (
          <p class="error-text" role="alert">
            {errors.scope}
          </p>
        ) : null}
      </fieldset>
      <FormButtons inDialog={inDialog} cancelHref="/api-keys" submit="Create key" />
    </form>
  );
};

/** The new key, this once: selectable text and the warning that it is never shown again. */
export const KeyCreated: FC<{ k: ApiKeyJson & { key: string } }> = ({ k }) => (
  <section id="new-key-form" class="flex flex-col gap-3" data-key-created={k.id} aria-labelledby="new-key-created-title">
    <h3 id="new-key-created-title" class="font-semibold">
      Key “{k.name}” created
    </h3>
    <div class="rounded-md tone-warn px-3 py-2 text-sm" role="alert">
      Copy it now: this is the only time it is shown. Only a hash is kept, so a lost key cannot be recovered — revoke it and create another.
    </div>
    <label class="label" for="new-key-value">
      Your new <span class={`badge ${k.scope === "api" ? "tone-violet" : "tone-info"}`}>{k.scope}</span> key
    </label>
    <div class="flex gap-2">
      <input id="new-key-value" class="field min-w-0 flex-1 font-mono" type="text" readonly value={k.key} autocomplete="off" spellcheck={false} aria-describedby="new-key-use" />
      <button type="button" class="btn" data-copy="#new-key-value">
        Copy
      </button>
    </div>
    <p id="new-key-use" class="hint">
      Copy it, then send it as <code class="whitespace-nowrap">Authorization: Bearer …</code>, or give it to the command line as{" "}
      <code class="whitespace-nowrap">AGENTVINE_TOKEN</code> or in a file named by <code class="whitespace-nowrap">--token-file</code> (a{" "}
      <code class="whitespace-nowrap">--token</code> flag shows in <code>ps</code>).
    </p>
    <div class="flex justify-end border-t border-line pt-4">
      {/* A reload, not just closing: the key leaves the page for good. */}
      <a class="btn-primary" href="/api-keys">
        I have copied it
      </a>
    </div>
  </section>
);

export interface KeysPageProps extends KeyListProps {
  /** After a plain (no-JS) create: the key, shown above the list. */
  created?: ApiKeyJson & { key: string };
}

export const KeysPage: FC<KeysPageProps> = ({ created, ...list }) => (
  <>
    <PageHeader
      title="API keys"
      subtitle="Keys let workers and scripts call the server without a password."
      actions={
        <a href="/api-keys/new" class="btn-primary" data-dialog-open="new-key">
          + New key
        </a>
      }
    />
    {created ? (
      <div class="card mb-4 p-4 sm:p-5">
        <KeyCreated k={created} />
      </div>
    ) : null}
    <form class="mb-3 flex flex-wrap items-end gap-2" method="get" action="/api-keys" role="search" hx-get="/api-keys" hx-target="#key-list" hx-swap="outerHTML" hx-push-url="true" hx-trigger="change, submit" hx-indicator="#key-filters-spinner">
      <select name="status" class="field w-auto" aria-label="Which keys">
        <option value="">All keys, revoked included</option>
        <option value="active" selected={list.filters.active}>
          Active keys only
        </option>
      </select>
      <FilterActions spinnerId="key-filters-spinner" />
    </form>
    <KeyList {...list} />
    <AdminDialog id="new-key" title="New API key">
      <NewKeyForm inDialog />
    </AdminDialog>
  </>
);
