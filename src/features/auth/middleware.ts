// authenticate(): `Authorization: Bearer <access token | API key>` or the session cookie → c.get("principal"),
// else 401; requireRole() and authorize() → 403. The browser session cookie is set and renewed here too.
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { matchedRoutes } from "hono/route";
import type { Role } from "../../db/schema.ts";
import { isHttps } from "../../http/client-ip.ts";
import { AppError } from "../../errors.ts";
import type { Access } from "../../http/openapi.ts";
import type { AuthDeps } from "./auth-services.ts";
import { ROLE_RANK, type Principal } from "./principals.ts";
import { startSession, type ClientMeta } from "./sessions.ts";
import { API_KEY_PREFIX, sha256 } from "./tokens.ts";

/** The browser session: an HS256 token of kind `session`, HttpOnly, SameSite=Lax, Secure over HTTPS. */
export const SESSION_COOKIE = "agentvine_session";

const unauthorized = (message: string) => new AppError(401, "unauthorized", message, [], { "WWW-Authenticate": 'Bearer realm="agentvine"' });
const forbidden = (message: string) => new AppError(403, "forbidden", message);

type Resolved = { principal: Principal; renewCookie?: boolean } | { error: AppError; clearCookie?: boolean };

async function fromToken(auth: AuthDeps, token: string, kind: "access" | "session", now: number): Promise<Resolved> {
  const verified = await auth.tokens.verify(token, now);
  if (!verified.ok || verified.claims.kind !== kind) {
    const what = kind === "access" ? "access token" : "session";
    if (verified.ok || verified.reason === "invalid") return { error: unauthorized(`Invalid ${what}`), clearCookie: true };
    return {
      error: unauthorized(kind === "access" ? "The access token has expired: refresh it (POST /api/v1/auth/refresh) or sign in again" : "The session has expired: sign in again"),
      clearCookie: true,
    };
  }
  const { sub, sid, exp } = verified.claims;
  const user = auth.principals.user(sub, now);
  if (!user || !user.active) return { error: unauthorized("This account has been deactivated"), clearCookie: true };
  if (!auth.principals.sessionAlive(sid, sub, now)) return { error: unauthorized("The session has ended: sign in again"), clearCookie: true };
  const principal: Principal = { kind: "user", userId: sub, username: user.username, role: user.role, sessionId: sid };
  // A browser session is renewed once half its life has gone, so it only ends after that much idle time.
  const renewCookie = kind === "session" && exp * 1000 - now < (auth.settings.sessionTtlSeconds * 1000) / 2;
  return { principal, renewCookie };
}

function fromApiKey(auth: AuthDeps, key: string, now: number): Resolved {
  const found = auth.principals.apiKey(sha256(key), now);
  if (!found) return { error: unauthorized("Invalid or revoked API key") };
  const user = auth.principals.user(found.userId, now);
  if (!user || !user.active) return { error: unauthorized("The API key's user has been deactivated") };
  auth.principals.touchApiKey(found, now);
  return { principal: { kind: "api_key", userId: found.userId, username: user.username, role: user.role, scope: found.scope, keyId: found.id } };
}

/** Who the request is, from its Authorization header or else its session cookie; null when it sent neither. */
export async function resolvePrincipal(c: Context): Promise<Resolved | null> {
  const auth = c.get("auth");
  const now = auth.clock();
  const header = c.req.header("authorization");
  if (header !== undefined) {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (!match) return { error: unauthorized("The Authorization header must be 'Bearer <access token or API key>'") };
    const token = match[1]!;
    return token.startsWith(API_KEY_PREFIX) ? fromApiKey(auth, token, now) : fromToken(auth, token, "access", now);
  }
  const cookie = getCookie(c, SESSION_COOKIE);
  if (cookie) return fromToken(auth, cookie, "session", now);
  return null;
}

export interface AuthenticateOptions {
  /** A request without valid credentials goes on anonymously instead of 401 (a stale cookie is still cleared). */
  optional?: boolean;
}

/** Sets `c.get("principal")` or answers 401 `unauthorized` (with WWW-Authenticate). */
export function authenticate(options: AuthenticateOptions = {}): MiddlewareHandler {
  return async function authenticateRequest(c, next) {
    if (c.get("principal")) return next(); // already done by an outer authenticate()
    const resolved = await resolvePrincipal(c);
    if (resolved && "principal" in resolved) {
      c.set("principal", resolved.principal);
      if (resolved.renewCookie) await setSessionCookie(c, resolved.principal.userId, resolved.principal.sessionId!);
      return next();
    }
    if (resolved?.clearCookie && getCookie(c, SESSION_COOKIE)) clearSessionCookie(c);
    if (options.optional) {
      if (resolved) c.set("authFailure", resolved.error); // what principalOf() answers, if the route needs someone
      return next();
    }
    throw resolved?.error ?? unauthorized("Sign in first: send 'Authorization: Bearer <access token or API key>' or the session cookie");
  };
}

/** The request's principal; 401 when authenticate() did not run or found none. */
export function principalOf(c: Context): Principal {
  const principal = c.get("principal");
  if (!principal) throw c.get("authFailure") ?? unauthorized("Sign in first: send 'Authorization: Bearer <access token or API key>' or the session cookie");
  return principal;
}

/** Whether the principal may act with `role` (an API key only through the `api` scope). */
export function hasRole(principal: Principal | undefined, role: Role): boolean {
  if (!principal) return false;
  if (principal.kind === "api_key" && principal.scope !== "api") return false;
  return ROLE_RANK[principal.role] >= ROLE_RANK[role];
}

/** 403 unless the user (or `api`-scoped key, acting as its creator) has at least `role`. */
export function requireRole(role: Role): MiddlewareHandler {
  return async function roleRequired(c, next) {
    const principal = principalOf(c);
    if (principal.kind === "api_key" && principal.scope !== "api") {
      throw forbidden(`This API key has the '${principal.scope}' scope: it may only use the queue and worker endpoints`);
    }
    if (ROLE_RANK[principal.role] < ROLE_RANK[role]) throw forbidden(`This needs the ${role} role; ${principal.username} is ${principal.role === "viewer" ? "a" : "an"} ${principal.role}`);
    await next();
  };
}

/** Puts a fresh session token for `sessionId` in the cookie. */
export async function setSessionCookie(c: Context, userId: string, sessionId: string): Promise<void> {
  const auth = c.get("auth");
  const ttl = auth.settings.sessionTtlSeconds;
  const token = await auth.tokens.sign({ sub: userId, sid: sessionId, kind: "session" }, auth.clock(), ttl);
  setCookie(c, SESSION_COOKIE, token, { httpOnly: true, sameSite: "Lax", secure: isHttps(c, auth.settings.trustProxy), path: "/", maxAge: ttl });
}

export function clearSessionCookie(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: "/", httpOnly: true, sameSite: "Lax", secure: isHttps(c, c.get("auth").settings.trustProxy) });
}

/** For the login form: starts a session for a user whose credentials were just checked and sets the cookie. */
export async function startBrowserSession(c: Context, userId: string, meta: ClientMeta): Promise<string> {
  const { sessionId } = startSession(c.get("auth"), userId, meta);
  await setSessionCookie(c, userId, sessionId);
  return sessionId;
}

/**
 * The API's one gate, after authenticate(): finds the route that will answer and applies its declared
 * access rule. A route without a rule is refused (403), so forgetting one fails closed — and the
 * authorization matrix test names it.
 */
export function authorize(ruleOf: (method: string, path: string) => Access | undefined, prefix: string): MiddlewareHandler {
  return async function authorizeRoute(c, next) {
    const handler = matchedRoutes(c).find((r) => r.method !== "ALL");
    if (!handler) return next(); // no route: the 404 answer (after authentication, so it reveals nothing)
    const access = ruleOf(c.req.method, handler.path.slice(prefix.length) || "/");
    if (access === "public") return next();
    const principal = principalOf(c);
    if (access === undefined) throw forbidden(`No access rule is declared for ${c.req.method} ${handler.path}`);
    const isWorkerKey = principal.kind === "api_key" && principal.scope === "worker";
    if (access === "viewer_or_worker") return isWorkerKey ? next() : requireRole("viewer")(c, next);
    if (access === "worker") {
      if (!isWorkerKey && !hasRole(principal, "admin")) {
        throw forbidden("This needs an API key with the 'worker' scope, or the admin role");
      }
      return next();
    }
    return requireRole(access)(c, next);
  };
}
