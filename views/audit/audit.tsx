/** @jsxImportSource hono/jsx */
// The audit log page (admins): who did what to which resource, when and from where — filterable by
// action, actor, resource and time, newest first, paginated. Read-only: nothing here changes a row.
import type { Child, FC } from "hono/jsx";
import type { AuditEventJson } from "../../src/features/audit/service.ts";
import { ListSection, NoMatch } from "../components/list.tsx";
import { EmptyState, JsonBlock, PageHeader, RelTime, Spinner } from "../components/ui.tsx";

/** The filters as typed (what the form shows and the URL carries). */
export interface AuditFilters {
  action?: string;
  actor?: string;
  resource?: string;
  /** `YYYY-MM-DDTHH:MM` in UTC (a datetime-local value). */
  since?: string;
  until?: string;
  page: number;
  per_page: number;
}

export interface ActorLabel {
  /** What the table shows: a username, `key “name”`, `system`, `anonymous`. */
  label: string;
  /** The user behind an API key, if known. */
  via?: string;
}

/** What the resource is called, and its page (null: it has none, or it is gone). */
export interface ResourceLabel {
  name: string;
  href: string | null;
  /** Deleted since: the name is the one the event recorded. */
  gone?: boolean;
}

export interface AuditRow extends AuditEventJson {
  who: ActorLabel;
  /** Null when the resource has no name to show (only its id). */
  what?: ResourceLabel | null;
}

const FILTER_KEYS = ["action", "actor", "resource", "since", "until"] as const;

export function auditHref(f: Partial<AuditFilters>, page = f.page ?? 1): string {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) if (f[key]) params.set(key, f[key]!);
  if (page > 1) params.set("page", String(page));
  const qs = params.toString();
  return qs ? `/audit?${qs}` : "/audit";
}

const filtered = (f: AuditFilters) => FILTER_KEYS.some((k) => Boolean(f[k]));

const ACTION_TONE: Record<string, string> = { created: "tone-ok", registered: "tone-ok", deleted: "tone-err", revoked: "tone-err", deactivated: "tone-err", login_failed: "tone-warn" };
const actionTone = (action: string) => ACTION_TONE[action.slice(action.indexOf(".") + 1)] ?? "tone-neutral";

/** A link that filters the log by one more value (keeping the others). */
const FilterLink: FC<{ filters: AuditFilters; set: Partial<AuditFilters>; title: string; children?: Child }> = ({ filters, set, title, children }) => {
  const href = auditHref({ ...filters, ...set, page: 1 });
  return (
    <a href={href} hx-get={href} hx-target="#audit-list" hx-swap="outerHTML" hx-push-url="true" class="hover:underline" title={title}>
      {children}
    </a>
  );
};

export interface AuditListProps {
  filters: AuditFilters;
  items: AuditRow[];
  total: number;
}

export const AuditList: FC<AuditListProps> = ({ filters, items, total }) => (
  <ListSection
    id="audit-list"
    total={total}
    columns={[
      { label: "Time", class: "hidden sm:table-cell" },
      { label: "Action" },
      { label: "Actor" },
      { label: "Resource", class: "hidden sm:table-cell" },
      { label: "IP", class: "hidden md:table-cell" },
    ]}
    page={{ page: filters.page, perPage: filters.per_page, href: (p) => auditHref(filters, p) }}
    empty={
      items.length > 0 ? null : filtered(filters) ? (
        <NoMatch what="event" clearHref="/audit" />
      ) : (
        <EmptyState title="No audit events yet">Sign-ins and changes to users, keys and secrets are recorded here.</EmptyState>
      )
    }
  >
    {items.map((e) => (
      <tr class="hover:bg-surface-2" data-audit-id={e.id}>
        <td class="td hidden whitespace-nowrap text-muted sm:table-cell">
          <RelTime at={e.at} />
          <span class="block text-xs">{e.at.slice(0, 19).replace("T", " ")}</span>
        </td>
        <td class="td min-w-36">
          <span class="mb-1 block text-xs text-muted sm:hidden">
            <RelTime at={e.at} />
          </span>
          <FilterLink filters={filters} set={{ action: e.action }} title="Only this action">
            <span class={`badge ${actionTone(e.action)}`}>{e.action}</span>
          </FilterLink>
          {e.details ? (
            <details class="mt-1">
              <summary class="cursor-pointer text-xs text-muted">Details</summary>
              <div class="mt-1 max-w-md">
                <JsonBlock value={e.details} />
              </div>
            </details>
          ) : null}
          {e.resource_type ? (
            <span class="mt-1 block break-all text-xs text-muted sm:hidden">
              {e.resource_type}
              {e.what ? (
                <>
                  :{" "}
                  {e.what.href ? (
                    <a class="link" href={e.what.href}>
                      {e.what.name}
                    </a>
                  ) : (
                    e.what.name
                  )}
                </>
              ) : e.resource_id ? (
                `: ${e.resource_id}`
              ) : (
                ""
              )}
            </span>
          ) : null}
        </td>
        <td class="td min-w-28 break-all">
          <FilterLink filters={filters} set={{ actor: e.actor }} title={`Only this actor (${e.actor_type} ${e.actor})`}>
            {e.actor_type === "user" || e.actor_type === "api_key" ? e.who.label : <span class="badge tone-neutral">{e.who.label}</span>}
          </FilterLink>
          {e.who.via ? <span class="block text-xs text-muted">of {e.who.via}</span> : null}
        </td>
        <td class="td hidden min-w-40 break-all sm:table-cell">
          {e.resource_type ? (
            <>
              <span class="text-xs text-muted">{e.resource_type.replace(/_/g, " ")}</span>{" "}
              {e.what ? (
                e.what.href ? (
                  <a class="link font-medium" href={e.what.href} data-resource-link="">
                    {e.what.name}
                  </a>
                ) : (
                  <span class="font-medium">
                    {e.what.name}
                    {e.what.gone ? <span class="ml-1 text-xs font-normal text-muted">(deleted)</span> : null}
                  </span>
                )
              ) : null}
              <FilterLink filters={filters} set={{ resource: e.resource_id ? `${e.resource_type}:${e.resource_id}` : e.resource_type }} title="Only this resource">
                {e.resource_id ? <code class="block text-xs text-muted">{e.resource_id}</code> : <span class="text-xs">only these</span>}
              </FilterLink>
            </>
          ) : (
            <span class="text-muted">—</span>
          )}
        </td>
        <td class="td hidden whitespace-nowrap md:table-cell">{e.ip ? <code class="text-xs">{e.ip}</code> : <span class="text-muted">—</span>}</td>
      </tr>
    ))}
  </ListSection>
);

export const AuditPage: FC<AuditListProps & { resourceTypes: string[] }> = ({ resourceTypes, ...list }) => {
  const f = list.filters;
  const common = { "hx-get": "/audit", "hx-target": "#audit-list", "hx-swap": "outerHTML", "hx-push-url": "true", "hx-indicator": "#audit-filters-spinner" };
  return (
    <>
      <PageHeader title="Audit log" subtitle="Sign-ins and every change to users, roles, API keys and secrets. Entries cannot be edited or deleted." />
      <form class="mb-3 grid grid-cols-2 gap-2 lg:grid-cols-6 lg:items-end" method="get" action="/audit" role="search" {...common} hx-trigger="change, submit">
        <div class="lg:col-span-1">
          <label class="label" for="audit-action">
            Action
          </label>
          <input id="audit-action" name="action" class="field font-mono" value={f.action ?? ""} maxlength={100} placeholder="auth.* or user.created" title="An action, or a prefix ending in * (auth.*)" />
        </div>
        <div class="lg:col-span-1">
          <label class="label" for="audit-actor">
            Actor
          </label>
          <input id="audit-actor" name="actor" class="field" value={f.actor ?? ""} maxlength={200} placeholder="username or id" />
        </div>
        <div class="col-span-2 lg:col-span-1">
          <label class="label" for="audit-resource">
            Resource
          </label>
          <input id="audit-resource" name="resource" class="field font-mono" value={f.resource ?? ""} maxlength={300} placeholder="user or user:ID" list="audit-resource-types" />
          <datalist id="audit-resource-types">
            {resourceTypes.map((t) => (
              <option value={t} />
            ))}
          </datalist>
        </div>
        <div class="lg:col-span-1">
          <label class="label" for="audit-since">
            From (UTC)
          </label>
          <input id="audit-since" name="since" type="datetime-local" class="field" value={f.since ?? ""} />
        </div>
        <div class="lg:col-span-1">
          <label class="label" for="audit-until">
            Until (UTC)
          </label>
          <input id="audit-until" name="until" type="datetime-local" class="field" value={f.until ?? ""} />
        </div>
        <div class="col-span-2 flex items-center gap-2 lg:col-span-1">
          <button type="submit" class="btn">
            Filter
          </button>
          {filtered(f) ? (
            <a href="/audit" class="btn-ghost btn-sm">
              Clear
            </a>
          ) : null}
          <span id="audit-filters-spinner" class="htmx-indicator">
            <Spinner label="Loading" />
          </span>
        </div>
      </form>
      <AuditList {...list} />
    </>
  );
};
