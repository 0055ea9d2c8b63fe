// CORS for the JSON API: off unless origins are listed (--cors-origins); a listed origin may call
// /api/v1 from a browser with a Bearer token, never with cookies.
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";

const ALLOW_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];
const ALLOW_HEADERS = ["Authorization", "Content-Type", "Last-Event-ID"];
/** What a cross-origin script may read besides the safelisted headers: ids, redirects, back-off, 401 hints. */
const EXPOSE_HEADERS = ["Location", "Retry-After", "WWW-Authenticate", "X-Request-Id"];
const PREFLIGHT_CACHE_SECONDS = 600;

/**
 * Only a listed Origin gets Access-Control-* headers (its own origin echoed, never `*`) and a preflight
 * answer; any other request passes through untouched, so a foreign page's preflight fails. No
 * Allow-Credentials: the browser session cookie never works cross-origin, a Bearer token must be sent —
 * which is also what the CSRF guard (same-origin writes unless Authorization is set) lets through.
 */
export function corsAllowList(origins: readonly string[]): MiddlewareHandler {
  if (origins.length === 0) return function corsOff(_c, next) {
    return next();
  };
  const allowed = new Set(origins);
  const answer = cors({
    origin: (origin) => (allowed.has(origin) ? origin : null),
    allowMethods: ALLOW_METHODS,
    allowHeaders: ALLOW_HEADERS,
    exposeHeaders: EXPOSE_HEADERS,
    maxAge: PREFLIGHT_CACHE_SECONDS,
    credentials: false,
  });
  return async function corsAllowList(c, next) {
    const origin = c.req.header("origin");
    if (origin !== undefined && allowed.has(origin)) return answer(c, next);
    await next();
    // The answer depends on Origin: a cache must not hand this one to a listed origin, or the reverse.
    c.header("Vary", "Origin", { append: true });
  };
}
