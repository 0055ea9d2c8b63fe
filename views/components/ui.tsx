/** @jsxImportSource hono/jsx */
// Small building blocks every page uses: badges, times, durations, empty/error states, pagination, JSON.
import type { Child, FC } from "hono/jsx";

export type Tone = "ok" | "err" | "warn" | "info" | "violet" | "neutral";

export const STATUS_TONE: Record<string, Tone> = {
  pending: "neutral",
  queued: "info",
  running: "warn",
  waiting_input: "violet",
  succeeded: "ok",
  failed: "err",
  cancelled: "neutral",
  timed_out: "err",
  claimed: "warn",
  completed: "ok",
  dead: "err",
  expired: "neutral",
};

// Full class names (not built from parts) so UnoCSS sees every one of them.
const TONE_CLASS: Record<Tone, string> = {
  ok: "tone-ok",
  err: "tone-err",
  warn: "tone-warn",
  info: "tone-info",
  violet: "tone-violet",
  neutral: "tone-neutral",
};

export const toneClass = (tone: Tone) => TONE_CLASS[tone];

export const label = (s: string) => s.replace(/_/g, " ");

export const StatusBadge: FC<{ status: string }> = ({ status }) => {
  const tone = STATUS_TONE[status] ?? "neutral";
  return (
    <span class={`badge ${TONE_CLASS[tone]}`} data-status={status}>
      {status === "running" || status === "claimed" ? <span class="pulse-dot" aria-hidden="true" /> : null}
      {label(status)}
    </span>
  );
};

export const PriorityBadge: FC<{ priority: string }> = ({ priority }) =>
  priority === "default" ? (
    <span class="text-xs text-muted">default</span>
  ) : (
    <span class={`badge ${priority === "high" ? "tone-err" : "tone-neutral"}`}>{priority === "high" ? "↑ high" : "↓ low"}</span>
  );

/** "3 min ago" from an ISO time or epoch ms; public/app.js keeps it current. */
export function relative(at: string | number, now = Date.now()): string {
  const ms = now - (typeof at === "number" ? at : Date.parse(at));
  const s = Math.round(Math.abs(ms) / 1000);
  const future = ms < 0;
  const fmt = (n: number, unit: string) => (future ? `in ${n} ${unit}` : `${n} ${unit} ago`);
  if (s < 5) return "just now";
  if (s < 60) return fmt(s, "s");
  if (s < 3600) return fmt(Math.floor(s / 60), "min");
  if (s < 86400) return fmt(Math.floor(s / 3600), "h");
  return fmt(Math.floor(s / 86400), "d");
}

export const RelTime: FC<{ at: string | number | null | undefined }> = ({ at }) => {
  if (at == null) return <span class="text-muted">—</span>;
  const iso = typeof at === "number" ? new Date(at).toISOString() : at;
  return (
    <time datetime={iso} title={iso.replace("T", " ").replace(/\.\d+Z$/, " UTC")} data-rel="">
      {relative(iso)}
    </time>
  );
};

export function duration(ms: number | null | undefined): string {
  if (ms == null) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  if (m < 60) return `${m} min ${s} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** Time since `since`, counting up while the page is open (public/app.js ticks `[data-since]` each second). */
export const Elapsed: FC<{ since: string | number }> = ({ since }) => {
  const iso = typeof since === "number" ? new Date(since).toISOString() : since;
  return (
    <time datetime={iso} data-since="">
      {duration(Date.now() - Date.parse(iso))}…
    </time>
  );
};

export const ShortId: FC<{ id: string }> = ({ id }) => (
  <code class="text-xs text-muted" title={id}>
    {id.length > 12 ? `…${id.slice(-8)}` : id}
  </code>
);

export const EmptyState: FC<{ title: string; children?: Child }> = ({ title, children }) => (
  <div class="flex flex-col items-center gap-2 px-4 py-10 text-center" data-state="empty">
    <svg width="40" height="40" viewBox="0 0 24 24" fill="none" class="stroke-muted" stroke-width="1.5" aria-hidden="true">
      <path d="M4 7h16M4 12h10M4 17h7" stroke-linecap="round" />
    </svg>
    <p class="font-medium">{title}</p>
    {children ? <div class="text-sm text-muted">{children}</div> : null}
  </div>
);

/** What a list shows when loading it failed; `retry` re-requests into the same element. */
export const ErrorState: FC<{ id?: string; message: string; retry?: string }> = ({ id, message, retry }) => (
  <div id={id} class="card flex flex-col items-center gap-2 px-4 py-8 text-center" data-state="error" role="alert">
    <span class="badge tone-err">Error</span>
    <p class="text-sm">{message}</p>
    {retry ? (
      <button type="button" class="btn btn-sm" hx-get={retry} hx-target={id ? `#${id}` : "this"} hx-swap="outerHTML">
        Try again
      </button>
    ) : null}
  </div>
);

export const Spinner: FC<{ label?: string }> = ({ label }) => (
  <span class="htmx-indicator inline-flex items-center gap-1 text-xs text-muted" role="status">
    <span class="spinner" aria-hidden="true" />
    {label ?? "Loading…"}
  </span>
);

/** Prev / next links: real hrefs (work without JS), swapped into `target` by htmx. */
export const Pagination: FC<{ page: number; perPage: number; total: number; href: (page: number) => string; target: string }> = ({
  page,
  perPage,
  total,
  href,
  target,
}) => {
  const pages = Math.max(1, Math.ceil(total / perPage));
  if (total === 0) return null;
  const first = (page - 1) * perPage + 1;
  const last = Math.min(total, page * perPage);
  const link = (p: number, text: string, rel: string) =>
    p < 1 || p > pages ? (
      <span class="btn btn-sm opacity-50" aria-disabled="true">
        {text}
      </span>
    ) : (
      <a class="btn btn-sm" rel={rel} href={href(p)} hx-get={href(p)} hx-target={`#${target}`} hx-swap="outerHTML" hx-push-url="true">
        {text}
      </a>
    );
  return (
    <nav class="flex flex-wrap items-center justify-between gap-2 px-3 py-2 text-sm" aria-label="Pagination">
      <span class="text-muted">
        {first}–{last} of {total}
      </span>
      <span class="flex items-center gap-2">
        {link(page - 1, "← Prev", "prev")}
        <span class="text-muted">
          {Math.min(page, pages)} / {pages}
        </span>
        {link(page + 1, "Next →", "next")}
      </span>
    </nav>
  );
};

/** Pretty-printed JSON as text (escaped by JSX like any other text). */
export const JsonBlock: FC<{ value: unknown; empty?: string }> = ({ value, empty }) =>
  value === null || value === undefined || (typeof value === "object" && Object.keys(value as object).length === 0) ? (
    <p class="text-sm text-muted">{empty ?? "—"}</p>
  ) : (
    <pre class="max-h-96 overflow-auto whitespace-pre-wrap break-words rounded-md bg-surface-2 p-3 text-xs">{JSON.stringify(value, null, 2)}</pre>
  );

export const PageHeader: FC<{ title: Child; subtitle?: Child; actions?: Child }> = ({ title, subtitle, actions }) => (
  <div class="mb-4 flex flex-wrap items-end justify-between gap-3">
    <div class="min-w-0">
      <h1 class="break-words text-xl font-semibold sm:text-2xl">{title}</h1>
      {subtitle ? <div class="mt-1 text-sm text-muted">{subtitle}</div> : null}
    </div>
    {actions ? <div class="flex flex-wrap items-center gap-2">{actions}</div> : null}
  </div>
);

export const FieldError: FC<{ error?: string; id?: string }> = ({ error, id }) =>
  error ? (
    <p class="error-text" id={id} role="alert">
      {error}
    </p>
  ) : null;

/** A list page's filter: "any" first, then each value (labelled with `show`), the current one selected. */
export const FilterSelect: FC<{ name: string; label: string; any: string; values: readonly string[]; selected?: string | null; show?: (v: string) => string; class?: string }> = (p) => (
  <select name={p.name} class={`field ${p.class ?? "sm:w-auto"}`} aria-label={p.label}>
    <option value="">{p.any}</option>
    {p.values.map((v) => (
      <option value={v} selected={p.selected === v}>
        {p.show ? p.show(v) : v}
      </option>
    ))}
  </select>
);

/** The end of a filter form: a submit button without JavaScript, Clear while filtered, the request spinner. */
export const FilterActions: FC<{ clearHref?: string | null; spinnerId: string }> = ({ clearHref, spinnerId }) => (
  <div class="flex items-center gap-2">
    <noscript>
      <button type="submit" class="btn">
        Filter
      </button>
    </noscript>
    {clearHref ? (
      <a href={clearHref} class="btn-ghost btn-sm">
        Clear
      </a>
    ) : null}
    <span id={spinnerId} class="htmx-indicator">
      <Spinner label="Loading" />
    </span>
  </div>
);

/**
 * A search box with its label (for screen readers; the placeholder says it to the eye). `attrs` go to the
 * input as they are: the hx-* attributes that make it search as one types.
 */
export const SearchField: FC<{ id: string; label: string; value?: string | null; placeholder: string; name?: string; maxlength?: number; class?: string; attrs?: Record<string, string | undefined> }> = (p) => (
  <>
    <label for={p.id} class="sr-only">
      {p.label}
    </label>
    <input id={p.id} type="search" name={p.name ?? "q"} value={p.value ?? ""} placeholder={p.placeholder} maxlength={p.maxlength ?? 200} class={p.class ?? "field"} {...p.attrs} />
  </>
);
