/** @jsxImportSource hono/jsx */
// Rendering for the HTML routes: a full page or the fragment an htmx request asked for, toasts through
// HX-Trigger, flash toasts across a redirect (a cookie), and the HTML 404 / error answers.
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { HTTPException } from "hono/http-exception";
import type { Child } from "hono/jsx";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { NotFound, ServerError } from "../../views/errors.tsx";
import { ErrorState } from "../../views/components/ui.tsx";
import { Layout, type NavKey, type Theme, type Toast } from "../../views/layout.tsx";
import { logger } from "../log.ts";
import { ASSETS } from "../http/assets.ts";
import { AppError } from "../errors.ts";
import { isDiskFull } from "../data-dir/disk.ts";
import { DISK_FULL_MESSAGE } from "../http/errors.ts";
import { inertBidiHtml, showBidi } from "./bidi.ts";

const log = logger("http");

type Ctx = Context;

const assetUrls = {
  css: ASSETS.css.url,
  htmx: ASSETS.htmx.url,
  sse: ASSETS.sse.url,
  app: ASSETS.app.url,
  favicon: ASSETS.favicon.url,
};

/** An htmx request that wants a fragment (a history restore wants the whole page). */
export const isHtmx = (c: Ctx) => c.req.header("hx-request") === "true" && c.req.header("hx-history-restore-request") !== "true";

/** The id of the element an htmx request will swap into, if any. */
export const htmxTarget = (c: Ctx): string | null => (isHtmx(c) ? (c.req.header("hx-target") ?? null) : null);

export function themeOf(c: Ctx): Theme {
  const t = getCookie(c, "theme");
  return t === "light" || t === "dark" ? t : null;
}

const FLASH_COOKIE = "flash";

/** A toast shown by the next full page (after a redirect). */
export function flash(c: Ctx, level: Toast["level"], message: string) {
  const value = Buffer.from(JSON.stringify([{ level, message }])).toString("base64url");
  setCookie(c, FLASH_COOKIE, value, { path: "/", httpOnly: true, sameSite: "Lax", maxAge: 60 });
}

function takeFlash(c: Ctx): Toast[] {
  const value = getCookie(c, FLASH_COOKIE);
  if (!value) return [];
  deleteCookie(c, FLASH_COOKIE, { path: "/" });
  try {
    const parsed = JSON.parse(Buffer.from(value, "base64url").toString("utf8")) as Toast[];
    return Array.isArray(parsed)
      ? parsed
          .filter((t) => t && typeof t.message === "string")
          .slice(0, 3)
          .map((t) => ({ level: t.level === "error" ? "error" : t.level === "success" ? "success" : "info", message: t.message.slice(0, 500) }))
      : [];
  } catch {
    return [];
  }
}

export interface PageMeta {
  title: string;
  active?: NavKey;
  status?: ContentfulStatusCode;
}

/** The full page: the layout around `body`, with the signed-in user's header (a minimal one when signed out). */
export function page(c: Ctx, meta: PageMeta, body: Child) {
  c.header("cache-control", "no-store");
  const principal = c.get("principal");
  const user = principal ? { username: principal.username, role: principal.role } : undefined;
  // The nav's Inbox badge: counted at the live version the page's stream catches up from.
  const waiting = user ? c.get("waitingForHumans") : undefined;
  const inbox = waiting ? { version: c.get("live").version, count: waiting() } : undefined;
  // Firing alerts and the unread count (set for the pages by createApp).
  const ops = principal ? c.get("opsChrome")?.(principal.userId) : undefined;
  return html(
    c,
    <Layout title={meta.title} active={meta.active} theme={themeOf(c)} version={c.get("version")} assets={assetUrls} toasts={takeFlash(c)} user={user} inbox={inbox} banner={ops?.banner} unread={ops?.unread}>
      {body}
    </Layout>,
    meta.status ?? 200,
  );
}

const triggers = new WeakMap<Ctx, Record<string, unknown>>();

/**
 * Just the fragment an htmx request swaps in. A form that comes back with errors (422) also says so in a
 * toast (an error toast is an alert: screen readers announce it), unless the route chose its own words;
 * public/app.js then scrolls to the first field in error and focuses it.
 */
export function fragment(c: Ctx, body: Child, status: ContentfulStatusCode = 200) {
  c.header("cache-control", "no-store");
  if (status === 422 && isHtmx(c) && !triggers.get(c)?.toast) toast(c, "error", "Not saved: please fix the fields marked in the form");
  return html(c, <>{body}</>, status);
}

/** Renders, with direction controls in user text made inert (bidi.ts). */
async function html(c: Ctx, node: Child, status: ContentfulStatusCode) {
  // A JSX node renders to a string, or to a promise of one when a component is async.
  const text = await (node as { toString(): string | Promise<string> }).toString();
  return c.html(inertBidiHtml(text), status);
}

/** Header values must be ASCII: escape the rest as JSON \u sequences (htmx JSON-parses the header). */
const asciiJson = (v: unknown) => JSON.stringify(v).replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);

/** Fires a client event after the response arrives (HX-Trigger); several calls merge. */
export function trigger(c: Ctx, event: string, detail: unknown = true) {
  const all = triggers.get(c) ?? {};
  all[event] = typeof detail === "object" && detail !== null ? JSON.parse(showBidi(JSON.stringify(detail))) : detail; // toasts show user text too
  triggers.set(c, all);
  c.header("HX-Trigger", asciiJson(all));
}

/** "field: message (and 2 more)": the first of a form's errors, for the toast that says it was not saved. */
export function firstProblem(errors: Record<string, string>): string {
  const entries = Object.entries(errors);
  if (entries.length === 0) return "";
  const [field, message] = entries[0]!;
  const more = entries.length > 1 ? ` (and ${entries.length - 1} more)` : "";
  return `${field === "_form" ? "" : `${field}: `}${message}${more}`;
}

/** A toast for this response (public/app.js shows it). */
export function toast(c: Ctx, level: Toast["level"], message: string) {
  trigger(c, "toast", { level, message });
}

/**
 * The answer to an action (a form post, a button): htmx gets a toast and `body` (or a client-side
 * redirect), a plain browser a 303 redirect with the toast as a flash.
 */
export function actionDone(c: Ctx, opts: { message: string; redirect?: string; body?: Child; level?: Toast["level"] }) {
  const level = opts.level ?? "success";
  if (isHtmx(c)) {
    if (opts.redirect && opts.body === undefined) {
      flash(c, level, opts.message);
      c.header("HX-Redirect", opts.redirect);
      return c.body(null, 200);
    }
    toast(c, level, opts.message);
    return fragment(c, opts.body ?? null);
  }
  flash(c, level, opts.message);
  return c.redirect(opts.redirect ?? c.req.header("referer") ?? "/", 303);
}

function statusOf(err: unknown): ContentfulStatusCode {
  if (err instanceof AppError) return err.status;
  if (err instanceof HTTPException) return err.status as ContentfulStatusCode;
  if (isDiskFull(err)) return 507;
  return 500;
}

/** onError for the HTML routes: a toast and an error fragment for htmx, the error page otherwise. */
export function htmlError(c: Ctx, err: unknown) {
  const status = statusOf(err);
  const requestId = c.get("requestId");
  if (status >= 500) log.error(`request ${requestId} failed:`, err);
  if (status === 507) c.get("disk")?.failed(`${c.req.method} ${c.req.path}`, err);
  if (err instanceof AppError) for (const [k, v] of Object.entries(err.headers)) c.header(k, v); // Retry-After on a 429
  const message = status === 507 ? DISK_FULL_MESSAGE : status >= 500 ? `Internal error (request id ${requestId})` : (err as Error).message || "Request failed";
  if (isHtmx(c)) {
    toast(c, "error", message);
    // A GET refreshing a list gets an error state in place of the list (public/app.js swaps it in).
    const target = c.req.header("hx-target");
    c.header("X-Fragment", "error");
    return fragment(c, <ErrorState id={target} message={message} retry={c.req.method === "GET" ? c.req.url.replace(/^https?:\/\/[^/]+/, "") : undefined} />, status);
  }
  if (status === 404) return page(c, { title: "Not found", status }, <NotFound path={c.req.path} message={message} />);
  return page(c, { title: status >= 500 ? "Error" : "Request failed", status }, <ServerError status={status} message={message} requestId={status >= 500 ? requestId : undefined} />);
}

export function htmlNotFound(c: Ctx) {
  if (isHtmx(c)) {
    toast(c, "error", `No page at ${c.req.path}`);
    return fragment(c, <ErrorState message={`No page at ${c.req.path}`} />, 404);
  }
  return page(c, { title: "Not found", status: 404 }, <NotFound path={c.req.path} />);
}
