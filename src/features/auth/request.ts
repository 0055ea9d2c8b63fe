// Per-request helpers of the auth routes: who is calling from where (for audit and sessions) and the
// rate-limit middlewares — per client address (stricter on /auth/*) and per account.
import type { Context } from "hono";
import { clientIp } from "../../http/client-ip.ts";
import { rateLimit } from "../../http/rate-limit.ts";
import { actorOf, type Acting } from "../audit/service.ts";
import { hasRole } from "./middleware.ts";
import type { ClientMeta } from "./sessions.ts";

/** The request's principal as the actor of what it changes: for `created_by` and the audit log. */
export function actingOf(c: Context): Acting {
  const principal = c.get("principal");
  return {
    actor: actorOf(principal),
    userId: principal?.userId ?? null,
    ip: clientIp(c, c.get("auth").settings.trustProxy),
    hostCommands: hasRole(principal, c.get("config").shellRole),
    correlationId: c.get("correlationId"),
  };
}

export function clientMeta(c: Context): ClientMeta & { ip: string } {
  return { ip: clientIp(c, c.get("auth").settings.trustProxy), userAgent: c.req.header("user-agent") ?? null };
}

/**
 * A slot for one more open event stream of this caller (its account and its address), or 429 when either
 * has as many open as --max-streams allows. Pass the release to sseResponse: the slot frees when it ends.
 */
export function streamSlot(c: Context): () => void {
  const p = c.get("principal");
  const account = p ? (p.kind === "api_key" ? `key:${p.keyId}` : `user:${p.userId}`) : null;
  return c.get("streams").acquire(account, clientIp(c, c.get("auth").settings.trustProxy));
}

/** /api/v1/auth/*: AGENTVINE_AUTH_RATE_LIMIT requests a minute per client address (20). */
export const authRateLimit = rateLimit<Context>(
  (c) => ({ buckets: c.get("limits").auth, key: clientIp(c, c.get("auth").settings.trustProxy) }),
  "Too many sign-in requests from this address",
);

/**
 * The API, for callers that did not authenticate (anonymous, or whose credentials failed):
 * AGENTVINE_RATE_LIMIT requests a minute per client address.
 */
export const ipRateLimit = rateLimit<Context>(
  (c) => (c.get("principal") ? null : { buckets: c.get("limits").api, key: clientIp(c, c.get("auth").settings.trustProxy) }),
  "Too many requests from this address",
);

/**
 * The API, for signed-in callers: the same allowance per account (a user, or an API key). Worker keys
 * are not limited: a remote worker makes several requests per task (claim, logs, complete) and a fleet
 * shares one key, so a per-minute allowance would only slow the queue down.
 */
export const accountRateLimit = rateLimit<Context>((c) => {
  const p = c.get("principal");
  if (!p || (p.kind === "api_key" && p.scope === "worker")) return null;
  return { buckets: c.get("limits").account, key: p.kind === "api_key" ? `key:${p.keyId}` : `user:${p.userId}` };
}, "Too many requests for this account");
