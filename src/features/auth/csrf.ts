// Cross-site request forgery: the browser session is a cookie, so a page on another site could make the
// browser send it. Two layers: the cookie is SameSite=Lax (not sent on cross-site POSTs by browsers that
// honour it), and every state-changing request that could ride on it must come from our own pages —
// the browser's Fetch Metadata (`Sec-Fetch-Site`) and `Origin` say where it came from, and a browser
// cannot be made to lie about either (OWASP's "verifying origin with standard headers" + Fetch Metadata).
// Requests with an Authorization header carry their own credentials and are not at risk.
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { AppError } from "../../errors.ts";
import { SESSION_COOKIE } from "./middleware.ts";

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

const refused = (why: string) => new AppError(403, "forbidden", `Cross-site request refused: ${why}`);

/** Our own origin as the browser sees it (behind a trusted proxy, the forwarded host and scheme). */
export function selfOrigin(c: Context): string {
  const url = new URL(c.req.url);
  if (c.get("auth").settings.trustProxy) {
    const proto = c.req.header("x-forwarded-proto")?.split(",")[0]?.trim();
    const host = c.req.header("x-forwarded-host")?.split(",")[0]?.trim();
    return `${proto || url.protocol.slice(0, -1)}://${host || url.host}`;
  }
  return url.origin;
}

export const sameOriginWrites: MiddlewareHandler = async function sameOriginWrites(c, next) {
  if (SAFE.has(c.req.method) || c.req.header("authorization") !== undefined) return next();
  const site = c.req.header("sec-fetch-site");
  if (site !== undefined && site !== "same-origin" && site !== "none") throw refused(`the request came from a ${site} page`);
  const origin = c.req.header("origin");
  if (origin !== undefined && origin !== selfOrigin(c)) throw refused(`Origin ${origin.slice(0, 200)} is not this server`);
  // A request that rides on the session cookie but says nothing of where it came from is not from a
  // browser page we served: scripts and curl authenticate with a Bearer token instead.
  if (site === undefined && origin === undefined && getCookie(c, SESSION_COOKIE)) {
    throw refused("a request authenticated by the session cookie must come from an AgentVine page (no Origin header)");
  }
  await next();
};
