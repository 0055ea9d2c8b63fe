/** @jsxImportSource hono/jsx */
// The page shell: head (stylesheet, htmx, its SSE extension, the UI script — all same-origin, no inline
// script), navigation, theme toggle, the live-connection badge, the toast area and the confirm dialog.
import type { Child, FC } from "hono/jsx";
import { raw } from "hono/html";

export type NavKey = "dashboard" | "tasks" | "plans";
export type Theme = "light" | "dark" | null;
export interface Toast {
  level: "success" | "error" | "info";
  message: string;
}

export interface LayoutProps {
  title: string;
  active?: NavKey;
  theme: Theme;
  version: string;
  assets: { css: string; htmx: string; sse: string; app: string; favicon: string };
  toasts?: Toast[];
  children?: Child;
}

const NAV: Array<{ key: NavKey; href: string; label: string }> = [
  { key: "dashboard", href: "/", label: "Dashboard" },
  { key: "tasks", href: "/tasks", label: "Tasks" },
  { key: "plans", href: "/plans", label: "Plans" },
];

/** htmx settings: no eval (a strict CSP comes later), 422 answers (forms with errors) are swapped. */
const HTMX_CONFIG = JSON.stringify({
  allowEval: false,
  allowScriptTags: false,
  includeIndicatorStyles: false,
  historyCacheSize: 0,
  refreshOnHistoryMiss: true,
  selfRequestsOnly: true,
  responseHandling: [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "422", swap: true, error: false },
    { code: "[45]..", swap: false, error: true },
  ],
});

const THEME_LABEL = { light: "Light", dark: "Dark", system: "System" } as const;

export const Logo: FC = () => (
  <svg width="24" height="24" viewBox="0 0 24 24" aria-hidden="true" class="shrink-0">
    <path d="M12 21c0-6 0-9-4-13" class="stroke-ok" fill="none" stroke-width="2" stroke-linecap="round" />
    <path d="M8 8C4 8 3 5 3 3c3 0 6 1 5 5zM12 13c1-5 5-7 9-6-1 4-4 7-9 6z" class="fill-ok" />
  </svg>
);

export const ToastItem: FC<{ toast: Toast }> = ({ toast }) => (
  <div class="card flex items-start gap-2 p-3 text-sm shadow-lg" role={toast.level === "error" ? "alert" : "status"} data-toast={toast.level}>
    <span class={`badge ${toast.level === "error" ? "tone-err" : toast.level === "success" ? "tone-ok" : "tone-info"}`}>
      {toast.level === "error" ? "Error" : toast.level === "success" ? "Done" : "Note"}
    </span>
    <p class="min-w-0 flex-1 break-words">{toast.message}</p>
    <button type="button" class="px-1 text-muted hover:text-fg" data-toast-close="" aria-label="Dismiss">
      ✕
    </button>
  </div>
);

export const Layout: FC<LayoutProps> = ({ title, active, theme, version, assets, toasts, children }) => (
  <>
    {raw("<!doctype html>")}
    <html lang="en" data-theme={theme ?? undefined}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <meta name="htmx-config" content={HTMX_CONFIG} />
        <title>{`${title} · AgentVine`}</title>
        <link rel="icon" href={assets.favicon} type="image/svg+xml" />
        <link rel="stylesheet" href={assets.css} />
        <script src={assets.htmx} defer></script>
        <script src={assets.sse} defer></script>
        <script src={assets.app} defer></script>
      </head>
      <body hx-ext="sse">
        <div id="progress" aria-hidden="true"></div>
        <a href="#main" class="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 btn">
          Skip to content
        </a>
        <header class="sticky top-0 z-40 border-b border-line bg-surface">
          <div class="mx-auto flex h-14 max-w-6xl items-center gap-1 px-3 sm:gap-3 sm:px-5">
            <a href="/" class="mr-1 flex items-center gap-2 font-semibold" aria-label="AgentVine home">
              <Logo />
              <span class="hidden sm:inline">AgentVine</span>
            </a>
            <nav class="flex min-w-0 items-center gap-0.5 sm:gap-1" aria-label="Main">
              {NAV.map((item) => (
                <a
                  href={item.href}
                  class={`rounded-md px-2 py-1.5 text-sm sm:px-3 ${active === item.key ? "bg-surface-2 font-semibold text-fg" : "text-muted hover:text-fg"}`}
                  aria-current={active === item.key ? "page" : undefined}
                >
                  {item.label}
                </a>
              ))}
            </nav>
            <span class="flex-1" />
            <span class="hidden items-center gap-1 text-xs text-muted" data-live-status="" title="Live updates">
              <span class="pulse-dot" aria-hidden="true" />
              <span data-live-text="">Live</span>
            </span>
            <button type="button" class="btn-ghost btn-sm" data-theme-toggle="" aria-label="Colour theme" title="Colour theme: system, light or dark">
              <svg width="16" height="16" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true">
                <circle cx="12" cy="12" r="8" />
                <path d="M12 4a8 8 0 0 1 0 16z" fill="currentColor" />
              </svg>
              <span data-theme-label="" class="hidden sm:inline">
                {THEME_LABEL[theme ?? "system"]}
              </span>
            </button>
          </div>
        </header>
        <main id="main" class="mx-auto max-w-6xl px-3 py-5 sm:px-5">
          {children}
        </main>
        <footer class="mx-auto max-w-6xl px-3 pb-8 pt-2 text-xs text-muted sm:px-5">
          AgentVine {version} · <a class="link" href="/api/v1/openapi.json">API</a> · <a class="link" href="/api/v1/health">Health</a> ·{" "}
          <a class="link" href="/metrics">Metrics</a>
        </footer>
        <div id="toasts" class="fixed bottom-3 left-3 right-3 z-50 flex flex-col gap-2 sm:left-auto sm:w-96" aria-live="polite">
          {(toasts ?? []).map((t) => (
            <ToastItem toast={t} />
          ))}
        </div>
        <dialog id="confirm-dialog" class="card m-auto w-[calc(100%-2rem)] max-w-md p-0 shadow-xl" aria-labelledby="confirm-title">
          <form method="dialog" class="flex flex-col gap-4 p-5">
            <h2 id="confirm-title" class="text-lg font-semibold">
              Are you sure?
            </h2>
            <p data-confirm-message="" class="text-sm text-muted"></p>
            <div class="flex justify-end gap-2">
              <button type="submit" value="cancel" class="btn" autofocus>
                Keep it
              </button>
              <button type="submit" value="ok" class="btn btn-danger" data-confirm-ok="">
                Confirm
              </button>
            </div>
          </form>
        </dialog>
      </body>
    </html>
  </>
);
