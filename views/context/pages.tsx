/** @jsxImportSource hono/jsx */
// The Context pages: the document list (full-text search with highlighted snippets, filters by type, tag
// and repository; refreshed on the `context` event), a document (rendered markdown), the editor (live
// preview and inline validation), the create dialog, the version history and an old version.
import type { Child, FC } from "hono/jsx";
import { raw } from "hono/html";
import type { DocumentJson, SearchHit, VersionJson } from "../../src/features/context/service.ts";
import { ListSection, NoMatch } from "../components/list.tsx";
import { AdminDialog, ErrorsBanner, Field, FormButtons, type FormErrors, type FormValues } from "../components/form.tsx";
import { EmptyState, FieldError, FilterActions, FilterSelect, PageHeader, RelTime, SearchField } from "../components/ui.tsx";

export const DOC_TYPES = ["design", "spec", "runbook", "note", "decision"] as const;
const TYPE_TONE: Record<string, string> = { design: "tone-violet", spec: "tone-info", runbook: "tone-warn", note: "tone-neutral", decision: "tone-ok" };

export const TypeBadge: FC<{ type: string }> = ({ type }) => <span class={`badge ${TYPE_TONE[type] ?? "tone-neutral"}`}>{type}</span>;

export interface ContextFilters {
  q?: string;
  document_type?: string;
  tag?: string;
  repository_url?: string;
}

export function contextHref(f: ContextFilters, page = 1): string {
  const p = new URLSearchParams();
  if (f.q) p.set("q", f.q);
  if (f.document_type) p.set("document_type", f.document_type);
  if (f.tag) p.set("tag", f.tag);
  if (f.repository_url) p.set("repository_url", f.repository_url);
  if (page > 1) p.set("page", String(page));
  const qs = p.toString();
  return qs ? `/context?${qs}` : "/context";
}

export interface DocumentListProps {
  filters: ContextFilters;
  items: SearchHit[];
  total: number;
  page: number;
  perPage: number;
}

const filtered = (f: ContextFilters) => Boolean(f.q || f.document_type || f.tag || f.repository_url);

export const DocumentList: FC<DocumentListProps> = ({ filters, items, total, page, perPage }) => (
  <ListSection
    id="context-list"
    refresh={{ href: contextHref(filters, page), trigger: "sse:context" }}
    total={total}
    page={{ page, perPage, href: (n) => contextHref(filters, n) }}
    empty={
      items.length > 0 ? null : filtered(filters) ? (
        <NoMatch what="document" clearHref="/context" clearText="Show all documents" search={Boolean(filters.q)} />
      ) : (
        <EmptyState title="No documents yet">
          Design docs, specs, runbooks, notes and decisions: the controller gives the matching ones to the model when it answers a task's question.{" "}
          <a class="link" href="/context/new" data-dialog-open="new-document">
            Write the first one
          </a>
        </EmptyState>
      )
    }
  >
    <ul class="flex flex-col gap-3">
      {items.map((d) => (
        <li class="card flex min-w-0 flex-col gap-1.5 p-4" data-document={d.id}>
          <div class="flex flex-wrap items-center gap-2">
            <a href={`/context/${d.id}`} class="min-w-0 break-words text-base font-semibold hover:underline" data-document-title="">
              {d.title}
            </a>
            <TypeBadge type={d.document_type} />
            <span class="text-xs text-muted">v{d.version}</span>
            <span class="flex-1" />
            <span class="text-xs text-muted">
              updated <RelTime at={d.updated_at} />
            </span>
          </div>
          {d.snippet ? (
            <p class="break-words text-sm text-muted" data-snippet="">
              {raw(d.snippet)}
            </p>
          ) : (
            <p class="line-clamp-2 break-words text-sm text-muted">{d.content.slice(0, 300) || "Empty."}</p>
          )}
          {d.tags.length || d.repository_url ? (
            <div class="flex flex-wrap items-center gap-1.5 text-xs">
              {d.repository_url ? <span class="badge tone-neutral max-w-full truncate">{d.repository_url}</span> : null}
              {d.tags.map((t) => (
                <a class="badge tone-info" href={contextHref({ tag: t })}>
                  #{t}
                </a>
              ))}
            </div>
          ) : null}
        </li>
      ))}
    </ul>
  </ListSection>
);

export const ContextPage: FC<DocumentListProps & { version: number; tags: Array<{ tag: string; count: number }>; repositories: string[]; mayEdit: boolean }> = ({ version, tags, repositories, mayEdit, ...list }) => (
  <>
    <PageHeader
      title="Context"
      subtitle="The team's documents the agents and the controller read: designs, specs, runbooks, notes, decisions."
      actions={
        <a href="/context/new" class="btn-primary" data-dialog-open="new-document" data-action="new">
          + New document
        </a>
      }
    />
    <form
      class="mb-3 flex flex-col gap-2 sm:flex-row sm:flex-wrap sm:items-center"
      method="get"
      action="/context"
      role="search"
      hx-get="/context"
      hx-target="#context-list"
      hx-swap="outerHTML"
      hx-push-url="true"
      hx-trigger="input changed delay:300ms from:#context-q, search from:#context-q, change from:select"
      hx-indicator="#context-spinner"
    >
      <SearchField id="context-q" label="Search documents" value={list.filters.q} placeholder="Search the documents…" maxlength={500} class="field sm:max-w-sm" />
      <FilterSelect name="document_type" label="Type" any="Any type" values={DOC_TYPES} selected={list.filters.document_type} />
      <FilterSelect name="tag" label="Tag" any="Any tag" values={tags.map((t) => t.tag)} selected={list.filters.tag} show={(t) => `#${t} (${tags.find((x) => x.tag === t)?.count ?? 0})`} />
      {repositories.length ? <FilterSelect name="repository_url" label="Repository" any="Any repository" values={repositories} selected={list.filters.repository_url} class="sm:max-w-xs" /> : null}
      <FilterActions clearHref={filtered(list.filters) ? "/context" : null} spinnerId="context-spinner" />
    </form>
    <div sse-close="bye" sse-connect={`/events?topics=context&v=${version}`}>
      <DocumentList {...list} />
    </div>
    {mayEdit ? (
      <AdminDialog id="new-document" title="New document">
        <DocumentForm action="/context" values={{ document_type: "design" }} errors={{}} inDialog />
      </AdminDialog>
    ) : null}
  </>
);

export interface DocumentFormProps {
  action: string;
  values: FormValues;
  errors: FormErrors;
  inDialog?: boolean;
  /** The document's current version (the save is refused with a clear message if someone saved meanwhile). */
  version?: number;
  preview?: string;
}

const FIELDS = ["title", "document_type", "repository_url", "tags", "content"];

export const DocumentForm: FC<DocumentFormProps> = ({ action, values, errors, inDialog, version, preview }) => {
  const id = inDialog ? "newdoc" : "doc";
  return (
    <form method="post" action={action} class="flex flex-col gap-4" hx-post={action} hx-target="this" hx-swap="outerHTML" data-document-form="" novalidate>
      <ErrorsBanner errors={errors} fields={FIELDS} />
      {version ? <input type="hidden" name="version" value={String(version)} /> : null}
      <Field form={id} name="title" label="Title" value={values.title} error={errors.title} required maxlength={200} autofocus={!version} />
      <div class="grid gap-4 sm:grid-cols-2">
        <div>
          <label class="label" for={`${id}-document_type`}>
            Type<span class="text-err"> *</span>
          </label>
          <select id={`${id}-document_type`} name="document_type" class={`field${errors.document_type ? " field-error" : ""}`}>
            {DOC_TYPES.map((t) => (
              <option value={t} selected={values.document_type === t}>
                {t}
              </option>
            ))}
          </select>
          <FieldError error={errors.document_type} id={`${id}-document_type-error`} />
        </div>
        <Field form={id} name="tags" label="Tags" value={values.tags} error={errors.tags} hint="Comma separated, e.g. auth, deploy" maxlength={1000} />
      </div>
      <Field form={id} name="repository_url" label="Repository" value={values.repository_url} error={errors.repository_url} hint="The repository it is about (optional): its tasks get it first" maxlength={2048} mono />
      <div class={inDialog ? "" : "grid gap-4 lg:grid-cols-2"}>
        <div>
          <label class="label" for={`${id}-content`}>
            Content (markdown)
          </label>
          <textarea
            id={`${id}-content`}
            name="content"
            rows={inDialog ? 8 : 22}
            class={`field font-mono${errors.content ? " field-error" : ""}`}
            hx-post="/context/preview"
            hx-trigger="input changed delay:400ms"
            hx-target={`#${id}-preview`}
            hx-swap="innerHTML"
            hx-include="closest form"
            aria-invalid={errors.content ? "true" : undefined}
          >
            {values.content ?? ""}
          </textarea>
          <FieldError error={errors.content} id={`${id}-content-error`} />
        </div>
        <div class={inDialog ? "mt-3" : ""}>
          <p class="label">Preview</p>
          <div id={`${id}-preview`} class="md card max-h-[32rem] min-h-24 overflow-y-auto p-3 text-sm" aria-live="polite" data-preview="">
            {preview ? raw(preview) : <span class="text-muted">The rendered document shows here as you type.</span>}
          </div>
        </div>
      </div>
      <FormButtons inDialog={inDialog} cancelHref={version ? action : "/context"} submit={version ? "Save a new version" : "Create"} />
    </form>
  );
};

export const DocumentView: FC<{ doc: DocumentJson; html: string; createdBy: string | null; updatedBy: string | null }> = ({ doc, html, createdBy, updatedBy }) => (
  <div class="mx-auto max-w-4xl">
    <PageHeader
      title={doc.title}
      subtitle={
        <span class="flex flex-wrap items-center gap-2">
          <TypeBadge type={doc.document_type} />
          <span>version {doc.version}</span>
          <span>
            · updated <RelTime at={doc.updated_at} />
            {updatedBy ? ` by ${updatedBy}` : ""}
          </span>
          {createdBy ? <span>· created by {createdBy}</span> : null}
        </span>
      }
      actions={
        <>
          <a class="btn" href={`/context/${doc.id}/history`}>
            History ({doc.version})
          </a>
          <a class="btn" href={`/context/${doc.id}/edit`} data-action="edit">
            Edit
          </a>
          <button
            type="button"
            class="btn btn-danger"
            data-action="delete"
            hx-post={`/context/${doc.id}/delete`}
            hx-confirm={`Delete “${doc.title}” and all ${doc.version} of its versions? This cannot be undone.`}
            data-confirm-title="Delete this document?"
            data-confirm-label="Delete"
          >
            Delete
          </button>
        </>
      }
    />
    {doc.tags.length || doc.repository_url ? (
      <div class="mb-3 flex flex-wrap items-center gap-1.5 text-xs">
        {doc.repository_url ? <span class="badge tone-neutral">{doc.repository_url}</span> : null}
        {doc.tags.map((t) => (
          <a class="badge tone-info" href={contextHref({ tag: t })}>
            #{t}
          </a>
        ))}
      </div>
    ) : null}
    <article class="md card p-4 sm:p-6" data-document-body="">
      {doc.content.trim() ? raw(html) : <p class="text-muted">This document is empty.</p>}
    </article>
  </div>
);

export const HistoryView: FC<{ doc: DocumentJson; versions: VersionJson[] }> = ({ doc, versions }) => (
  <div class="mx-auto max-w-4xl">
    <PageHeader
      title={`History: ${doc.title}`}
      subtitle={`${versions.length} ${versions.length === 1 ? "version" : "versions"}; restoring one saves it as a new version, so nothing is lost.`}
      actions={
        <a class="btn" href={`/context/${doc.id}`}>
          Back to the document
        </a>
      }
    />
    <div class="card">
      <ol class="divide-y divide-line" aria-label="Versions">
        {versions.map((v) => (
          <li class="flex flex-wrap items-center gap-2 px-4 py-3 text-sm" data-version={String(v.version)}>
            <a class="font-semibold hover:underline" href={`/context/${doc.id}/versions/${v.version}`}>
              Version {v.version}
            </a>
            {v.current ? <span class="badge tone-ok">current</span> : null}
            {v.restored_from ? <span class="badge tone-neutral">restored from v{v.restored_from}</span> : null}
            <span class="min-w-0 flex-1 truncate text-muted">{v.title}</span>
            <span class="text-xs text-muted">
              {v.edited_by_name ?? "system"} · <RelTime at={v.edited_at} />
            </span>
            {v.current ? null : (
              <button
                type="button"
                class="btn btn-sm"
                data-action="restore"
                hx-post={`/context/${doc.id}/versions/${v.version}/restore`}
                hx-confirm={`Restore version ${v.version}? It becomes version ${doc.version + 1}; the current text stays in the history.`}
                data-confirm-title="Restore this version?"
                data-confirm-label="Restore"
              >
                Restore
              </button>
            )}
          </li>
        ))}
      </ol>
    </div>
  </div>
);

export const VersionView: FC<{ doc: DocumentJson; v: VersionJson; html: string }> = ({ doc, v, html }) => (
  <div class="mx-auto max-w-4xl">
    <PageHeader
      title={`${v.title} — version ${v.version}`}
      subtitle={
        <span>
          {v.current ? "The current version. " : `An old version (the current one is ${doc.version}). `}Saved by {v.edited_by_name ?? "system"} <RelTime at={v.edited_at} />.
        </span>
      }
      actions={
        <>
          <a class="btn" href={`/context/${doc.id}/history`}>
            History
          </a>
          {v.current ? null : (
            <button
              type="button"
              class="btn-primary"
              data-action="restore"
              hx-post={`/context/${doc.id}/versions/${v.version}/restore`}
              hx-confirm={`Restore version ${v.version}? It becomes version ${doc.version + 1}.`}
              data-confirm-title="Restore this version?"
              data-confirm-label="Restore"
            >
              Restore this version
            </button>
          )}
        </>
      }
    />
    <article class="md card p-4 sm:p-6" data-version-body="">
      {raw(html)}
    </article>
  </div>
);

export const EditorPage: FC<{ title: string; children?: Child }> = ({ title, children }) => (
  <div class="mx-auto max-w-6xl">
    <h1 class="mb-4 break-words text-xl font-semibold sm:text-2xl">{title}</h1>
    <div class="card p-4 sm:p-5">{children}</div>
  </div>
);
