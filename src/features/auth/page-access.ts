// Who may see which page: the web UI's counterpart of the API routes' `access` rules, in one table.
// Pages need a signed-in user (anyone signed out is sent to /login and back); writes need an operator;
// the admin pages need an admin; the sign-in pages and static assets are public.
import type { MiddlewareHandler } from "hono";
import { AppError } from "../../errors.ts";
import type { Access } from "../../http/openapi.ts";
import { isHtmx } from "../../pages/render.tsx";
import { requireRole } from "./middleware.ts";
import { countUsers } from "./users.ts";

/** /logout too: signing out with a session that already ended should still land on /login, not an error. */
const PUBLIC_PAGES = ["/login", "/register", "/reset-password", "/logout", "/assets/*", "/favicon.svg", "/favicon.ico", "/forgot-password", "/verify-email", "/docs"];
const ADMIN_PAGES = ["/users", "/api-keys", "/audit", "/secrets", "/settings/models", "/queue"];
/** The signed-in user's own things: any role may change them. */
const OWN_PAGES = ["/settings", "/notifications"];

const under = (path: string, base: string) => path === base || path.startsWith(`${base}/`);

export function pageAccess(method: string, path: string): Access {
  if (PUBLIC_PAGES.some((p) => (p.endsWith("/*") ? path.startsWith(p.slice(0, -1)) : path === p))) return "public";
  if (ADMIN_PAGES.some((p) => under(path, p))) return "admin";
  // Alert rules and webhooks, and the SMTP settings, are the admins' (everyone reads the alerts).
  if ((under(path, "/alerts") && method !== "GET" && method !== "HEAD") || under(path, "/settings/email")) return "admin";
  if (OWN_PAGES.some((p) => under(path, p))) return "viewer";
  // Draining a worker is the admin-only DELETE /api/v1/workers/:id of the JSON API.
  if (path.startsWith("/workers/") && method !== "GET" && method !== "HEAD") return "admin";
  // Everyone reads the routing rules and dry-runs a question (like the JSON API); admins change them.
  if (under(path, "/policies")) {
    if (path === "/policies/dry-run") return "viewer";
    if (method !== "GET" && method !== "HEAD") return "admin";
    return path === "/policies/new" || path.endsWith("/edit") ? "admin" : "viewer";
  }
  return method === "GET" || method === "HEAD" ? "viewer" : "operator";
}

const BASE = "http://agentvine.invalid";

/**
 * Where the sign-in page sends the user back to: only a path on this server. Parsed the way a browser
 * will parse the Location header (which drops tabs and newlines, so `/\t/evil.example` is `//evil.example`);
 * control characters and backslashes are refused outright.
 */
export function safeNext(next: string | undefined | null): string {
  if (!next || !next.startsWith("/") || next.length > 2000 || /[\x00-\x1f\x7f\\]/.test(next)) return "/";
  try {
    const url = new URL(next, BASE);
    if (url.origin !== BASE) return "/";
    return `${url.pathname}${url.search}${url.hash}`;
  } catch {
    return "/";
  }
}

/** After an optional authenticate(): the page's rule; signed-out browsers go to /login?next=… */
export const pageGate: MiddlewareHandler = async function pageGate(c, next) {
  const access = pageAccess(c.req.method, c.req.path);
  if (access === "public") return next();
  if (!c.get("principal")) {
    // No account exists yet: a sign-in form could not succeed; the first visitor makes the admin.
    if ((c.req.method === "GET" || c.req.method === "HEAD") && !isHtmx(c) && countUsers(c.get("auth")) === 0) return c.redirect("/register", 302);
    const here = new URL(c.req.url);
    // htmx asks for fragments: send the whole window to the sign-in page, back to the page it was on.
    const from = isHtmx(c) ? (c.req.header("hx-current-url") ?? "") : `${here.pathname}${here.search}`;
    let back = from;
    try {
      const u = new URL(from, here);
      back = u.origin === here.origin ? `${u.pathname}${u.search}` : "/";
    } catch {
      back = "/";
    }
    const login = back === "/" ? "/login" : `/login?next=${encodeURIComponent(back)}`;
    if (isHtmx(c)) return c.body(null, 401, { "HX-Redirect": login });
    if (c.req.method === "GET" || c.req.method === "HEAD") return c.redirect(login, 302);
    throw c.get("authFailure") ?? new AppError(401, "unauthorized", "Sign in first");
  }
  if (access === "worker") throw new AppError(403, "forbidden", "This page is not for worker keys");
  return requireRole(access === "viewer_or_worker" ? "viewer" : access)(c, next);
};
