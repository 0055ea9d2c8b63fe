/** @jsxImportSource hono/jsx */
// The page shell: head (stylesheet, htmx, its SSE extension, the UI script — all same-origin, no inline
// script), navigation, the signed-in user's menu, theme toggle, the live-connection badge, the toast area
// and the confirm dialog. Signed out (the sign-in pages), the header is just the logo and the theme toggle.
import type { Child, FC } from "hono/jsx";
import { raw } from "hono/html";
import { InboxBadge } from "./controller/inbox.tsx";

export type NavKey = "dashboard" | "tasks" | "plans" | "workers" | "chat" | "context" | "inbox" | "policies" | "users" | "api-keys" | "audit" | "secrets" | "settings" | "models" | OpsNavKey;
/** Operations pages, linked from the user menu. */
export type OpsNavKey = "schedules" | "alerts" | "notifications" | "email";
/** Who is signed in, as the header shows them. */
export interface LayoutUser {
  username: string;
  role: "viewer" | "operator" | "admin";
}
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
  /** The signed-in user; absent on the signed-out pages (minimal header). */
  user?: LayoutUser;
  /** Questions waiting for a person (the Inbox badge), and the live version it was counted at. */
  inbox?: { count: number; version: number };
  /** Firing alerts (and those just resolved), above every page's content. */
  banner?: Child;
  /** Unread in-app notifications of the signed-in user (the user menu's count). */
  unread?: number;
  children?: Child;
}

const NAV: Array<{ key: NavKey; href: string; label: string }> = [
  { key: "dashboard", href: "/", label: "Dashboard" },
  { key: "tasks", href: "/tasks", label: "Tasks" },
  { key: "plans", href: "/plans", label: "Plans" },
  { key: "workers", href: "/workers", label: "Workers" },
  { key: "chat", href: "/chat", label: "Chat" },
  { key: "context", href: "/context", label: "Context" },
  { key: "inbox", href: "/inbox", label: "Inbox" },
  { key: "policies", href: "/policies", label: "Policies" },
];
/** Links that leave the header below a width (then in the user menu): a phone's header has room for few. */
const MENU_BELOW: Partial<Record<NavKey, string>> = { workers: "sm:hidden", chat: "xl:hidden", context: "xl:hidden", policies: "lg:hidden" };
/** Admins only: in the user menu (the header has no room for them beside the main links). */
const ADMIN_NAV: Array<{ key: NavKey; href: string; label: string }> = [
  { key: "users", href: "/users", label: "Users" },
  { key: "api-keys", href: "/api-keys", label: "API keys" },
  { key: "audit", href: "/audit", label: "Audit" },
  { key: "secrets", href: "/secrets", label: "Secrets" },
];

const ROLE_TONE = { admin: "tone-violet", operator: "tone-info", viewer: "tone-neutral" } as const;

export const RoleBadge: FC<{ role: LayoutUser["role"] }> = ({ role }) => (
  <span class={`badge ${ROLE_TONE[role]}`} data-role-badge={role}>
    {role}
  </span>
);

/**
 * What a viewer may not do is hidden from them (the server refuses it anyway, with a 403 toast): the
 * action buttons (`data-action`), the New task / New plan openers and the Edit links.
 */
const VIEWER_HIDES =
  "[&[data-role=viewer]_[data-action]]:!hidden [&[data-role=viewer]_[data-dialog-open=new-task]]:!hidden [&[data-role=viewer]_a[href$=new]]:!hidden [&[data-role=viewer]_a[href$=edit]]:!hidden";

/** Operations: every signed-in user reads them (an operator changes schedules, an admin alerts). */
const OPS_NAV: Array<{ key: OpsNavKey; href: string; label: string }> = [
  { key: "schedules", href: "/schedules", label: "Schedules" },
  { key: "alerts", href: "/alerts", label: "Alerts" },
];

/** The user menu: a <details> (works without JS; public/app.js closes it on an outside click or Escape). */
const UserMenu: FC<{ user: LayoutUser; active?: NavKey; unread?: number }> = ({ user, active, unread }) => (
  <details class="relative" data-menu="">
    <summary class="btn-ghost btn-sm cursor-pointer list-none" data-user-menu="">
      <svg width="16" height="16" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true">
        <circle cx="12" cy="8" r="4" />
        <path d="M4 21c0-4 4-6 8-6s8 2 8 6" stroke-linecap="round" />
      </svg>
      {/* The name it is read by is the text it shows (on a phone, kept for screen readers only). */}
      <span class="sr-only">Account menu for </span>
      <span class="sr-only max-w-32 truncate lg:not-sr-only" data-username="">
        {user.username}
      </span>
      <span class="hidden lg:inline" aria-hidden="true">
        <RoleBadge role={user.role} />
      </span>
    </summary>
    <div class="card absolute right-0 top-full z-50 mt-1 flex w-64 flex-col p-1 text-sm shadow-lg" role="menu">
      <div class="flex items-center justify-between gap-2 border-b border-line px-3 py-2">
        <span class="min-w-0 truncate font-medium">{user.username}</span>
        <RoleBadge role={user.role} />
      </div>
      {/* Two links a row where they belong together: the menu must stay short on a phone. */}
      <div class="flex items-center gap-1">
        <a href="/settings" role="menuitem" class={`flex-1 rounded-md px-3 py-2 hover:bg-surface-2 ${active === "settings" ? "font-semibold" : ""}`}>
          Settings
        </a>
        <a href="/notifications" role="menuitem" class={`flex items-center gap-1 rounded-md px-3 py-2 hover:bg-surface-2 ${active === "notifications" ? "font-semibold" : ""}`} data-notifications-link="">
          Notifications
          {unread ? <span class="badge tone-info" data-unread={unread}>{unread > 99 ? "99+" : unread}</span> : null}
        </a>
      </div>
      {user.role === "admin" ? (
        <div class="flex items-center gap-1 pl-3">
          <a href="/settings/models" role="menuitem" class={`rounded-md px-3 py-2 hover:bg-surface-2 ${active === "models" ? "font-semibold" : ""}`}>
            Models
          </a>
          <a href="/settings/email" role="menuitem" class={`rounded-md px-3 py-2 hover:bg-surface-2 ${active === "email" ? "font-semibold" : ""}`}>
            Email
          </a>
        </div>
      ) : null}
      <div class="flex items-center gap-1">
        {OPS_NAV.map((item) => (
          <a href={item.href} role="menuitem" class={`flex-1 rounded-md px-3 py-2 hover:bg-surface-2 ${active === item.key ? "font-semibold" : ""}`}>
            {item.label}
          </a>
        ))}
      </div>
      {NAV.filter((item) => MENU_BELOW[item.key]).map((item) => (
        <a href={item.href} role="menuitem" class={`rounded-md px-3 py-2 hover:bg-surface-2 ${MENU_BELOW[item.key]} ${active === item.key ? "font-semibold" : ""}`}>
          {item.label}
        </a>
      ))}
      {user.role === "admin"
        ? ADMIN_NAV.map((item) => (
            <a href={item.href} role="menuitem" class={`rounded-md px-3 py-2 hover:bg-surface-2 ${active === item.key ? "font-semibold" : ""}`}>
              {item.label}
            </a>
          ))
        : null}
      <form method="post" action="/logout" class="border-t border-line pt-1">
        <button type="submit" role="menuitem" class="w-full rounded-md px-3 py-2 text-left hover:bg-surface-2" data-sign-out="">
          Sign out
        </button>
      </form>
    </div>
  </details>
);

/**
 * htmx settings: no eval and no injected styles (the CSP allows neither), 422 answers (forms with errors)
 * are swapped. attributesToSettle leaves out "style": settling copies an old element's attributes onto
 * its replacement with setAttribute, and a `style` attribute (a textarea the user resized) set that way is
 * an inline style the CSP refuses — a console error per element, after every failed save.
 */
const HTMX_CONFIG = JSON.stringify({
  allowEval: false,
  allowScriptTags: false,
  includeIndicatorStyles: false,
  attributesToSettle: ["class", "width", "height"],
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

const navLink = (item: { key: NavKey; href: string; label: string }, active: NavKey | undefined, extra = "", badge?: Child) => (
  <a
    href={item.href}
    class={`whitespace-nowrap rounded-md px-1.5 py-1.5 text-sm sm:px-2 xl:px-3 ${extra} ${active === item.key ? "bg-surface-2 font-semibold text-fg" : "text-muted hover:text-fg"}`}
    aria-current={active === item.key ? "page" : undefined}
  >
    {item.label}
    {badge}
  </a>
);

/** On narrow screens the logo is the way home, and Workers and Policies are in the user menu: the links do not fit beside the header's buttons. */
const NAV_HIDDEN_ON_PHONE: Partial<Record<NavKey, string>> = { dashboard: "hidden lg:inline", workers: "hidden sm:inline", chat: "hidden xl:inline", context: "hidden xl:inline", policies: "hidden lg:inline" };

export const Layout: FC<LayoutProps> = ({ title, active, theme, version, assets, toasts, user, inbox, banner, unread, children }) => (
  <>
    {raw("<!doctype html>")}
    <html lang="en" data-theme={theme ?? undefined} data-role={user?.role} class={user ? VIEWER_HIDES : undefined}>
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
              <span class="hidden md:inline">AgentVine</span>
            </a>
            {user ? (
              <nav class="flex min-w-0 items-center gap-0.5 sm:gap-1" aria-label="Main">
                {NAV.map((item) =>
                  navLink(item, active, NAV_HIDDEN_ON_PHONE[item.key] ?? "", item.key === "inbox" && inbox ? <InboxBadge count={inbox.count} version={inbox.version} /> : undefined),
                )}
              </nav>
            ) : null}
            <span class="flex-1" />
            <span class="ml-1 hidden items-center gap-1 text-xs text-muted" data-live-status="" title="Live updates">
              <span class="pulse-dot" aria-hidden="true" />
              {/* On a phone the dot alone (its colour says the state): the header has no room for the word. */}
              <span data-live-text="" class="sr-only xl:not-sr-only">
                Live
              </span>
            </span>
            <button type="button" class="btn-ghost btn-sm" data-theme-toggle="" title="Colour theme: system, light or dark">
              <svg width="16" height="16" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true">
                <circle cx="12" cy="12" r="8" />
                <path d="M12 4a8 8 0 0 1 0 16z" fill="currentColor" />
              </svg>
              <span class="sr-only">Colour theme: </span>
              <span data-theme-label="" class="sr-only lg:not-sr-only">
                {THEME_LABEL[theme ?? "system"]}
              </span>
            </button>
            {user ? <UserMenu user={user} active={active} unread={unread} /> : null}
          </div>
        </header>
        <main id="main" class="mx-auto max-w-6xl px-3 py-5 sm:px-5">
          {banner}
          {children}
        </main>
        <footer class="mx-auto max-w-6xl px-3 pb-8 pt-2 text-xs text-muted sm:px-5">
          AgentVine {version} · <a class="link" href="/docs">API docs</a> · <a class="link" href="/api/v1/health">Health</a>
          {user ? (
            <>
              {" "}
              · <a class="link" href="/metrics">Metrics</a>
            </>
          ) : null}
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
