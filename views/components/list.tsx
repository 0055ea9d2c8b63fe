/** @jsxImportSource hono/jsx */
// The list block every list page shares: the live container (the fragment that filters, pagination and
// live events swap in), its empty state — "nothing yet" or "nothing matches" — and a table with its
// pagination, or any other body (a grid of cards).
import type { Child, FC } from "hono/jsx";
import { EmptyState, Pagination } from "./ui.tsx";

/** "No X matches these filters" (or "this search"), with a link that clears them. */
export const NoMatch: FC<{ what: string; clearHref: string; clearText?: string; search?: boolean }> = ({ what, clearHref, clearText = "Clear the filters", search }) => (
  <EmptyState title={`No ${what} matches ${search ? "this search" : "these filters"}`}>
    <a class="link" href={clearHref}>
      {clearText}
    </a>
  </EmptyState>
);

/** One column head: hidden below a breakpoint with `class` (e.g. "hidden sm:table-cell"); `srOnly` for an actions column. */
export interface Column {
  label: string;
  class?: string;
  srOnly?: boolean;
  /** Rendered in the head instead of the label (a "select all" box); the label then names it for screen readers. */
  head?: Child;
}

export interface ListSectionProps {
  /** The container's id: the htmx target of its pagination and refreshes. */
  id: string;
  /** Re-fetched (outerHTML) when `trigger` fires, e.g. "sse:tasks" or "users:changed from:body". */
  refresh?: { href: string; trigger: string };
  total: number;
  /** Shown instead of the body when there is nothing to list. */
  empty: Child | null;
  /** Table columns; without them the children are the body as they are (a grid of cards, in no card). */
  columns?: Column[];
  page?: { page: number; perPage: number; href: (page: number) => string };
  /** Cards only: shown above and below the list, inside the container (stats, a hint). */
  header?: Child;
  footer?: Child;
  children?: Child;
}

export const ListSection: FC<ListSectionProps> = ({ id, refresh, total, empty, columns, page, header, footer, children }) => {
  const pagination = page ? <Pagination page={page.page} perPage={page.perPage} total={total} href={page.href} target={id} /> : null;
  const live = refresh ? { "hx-get": refresh.href, "hx-trigger": refresh.trigger, "hx-swap": "outerHTML" } : {};
  if (!columns) {
    return (
      <div id={id} class="live-region min-w-0" data-total={total} {...live}>
        {header}
        {empty ? <div class="card">{empty}</div> : children}
        {!empty && page && total > page.perPage ? <div class="card mt-3">{pagination}</div> : null}
        {footer}
      </div>
    );
  }
  return (
    <div id={id} class="live-region card min-w-0" data-total={total} {...live}>
      {empty ?? (
        <>
          <div class="relative overflow-x-auto">
            <table class="text-sm">
              <thead class="border-b border-line">
                <tr>
                  {columns.map((c) => (
                    <th class={`th${c.class ? ` ${c.class}` : ""}`}>{c.head ?? (c.srOnly ? <span class="sr-only">{c.label}</span> : c.label)}</th>
                  ))}
                </tr>
              </thead>
              <tbody class="divide-y divide-line">{children}</tbody>
            </table>
          </div>
          {pagination ? <div class="border-t border-line">{pagination}</div> : null}
        </>
      )}
    </div>
  );
};
