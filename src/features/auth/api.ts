// /api/v1/auth: register, login, refresh, logout, reset-password — rate limited per client address, no auth required.
import { Hono } from "hono";
import { AppError } from "../../errors.ts";
import { optionalJsonBody, route } from "../../http/openapi.ts";
import { actorOf, recordAudit } from "../audit/service.ts";
import { login, refresh, tokensForNewUser } from "./login.ts";
import { authenticate, clearSessionCookie } from "./middleware.ts";
import { consumePasswordReset } from "./password-resets.ts";
import { LoginBody, LogoutBody, RefreshBody, RegisterBody, ResetPasswordBody, TokenOut } from "./schemas.ts";
import { authRateLimit, clientMeta } from "./request.ts";
import { revokeSession, revokeUserSessions, sessionOfRefreshToken } from "./sessions.ts";
import { registerUser } from "./users.ts";

const tags = ["auth"];

const register = route({
  method: "post",
  path: "/auth/register",
  access: "public",
  summary: "Create an account (and sign in)",
  description:
    "The first account ever registered becomes the admin. After that registration is closed (403) unless the server runs with AGENTVINE_OPEN_REGISTRATION=true, and then new accounts are viewers.",
  tags,
  body: RegisterBody,
  responses: { 201: TokenOut },
});
const loginRoute = route({
  method: "post",
  path: "/auth/login",
  access: "public",
  summary: "Sign in with a username (or email) and password",
  description:
    "Wrong username and wrong password get the same 401. From the 3rd consecutive failure an account must wait 1 s, then 2, 4 … 64 s before the next try (429 with Retry-After); the 10th failure locks it for 15 minutes.",
  tags,
  body: LoginBody,
  responses: { 200: TokenOut },
});
const refreshRoute = route({
  method: "post",
  path: "/auth/refresh",
  access: "public",
  summary: "Swap a refresh token for a new access and refresh token",
  description: "Each refresh token works once. Presenting one that was already used ends its whole session (every token issued from the same sign-in).",
  tags,
  body: RefreshBody,
  responses: { 200: TokenOut },
});
const logout = route({
  method: "post",
  path: "/auth/logout",
  access: "public",
  summary: "End the session (or every session)",
  description:
    "Ends the session of the refresh token in the body, or else of the access token / cookie the request carries; its access tokens stop working at once. The body may be left out.",
  tags,
  body: LogoutBody,
  responses: { 204: "Signed out" },
});

const resetPassword = route({
  method: "post",
  path: "/auth/reset-password",
  access: "public",
  summary: "Set a new password with a one-time reset token",
  description:
    "The token comes from the link `agentvine user reset-password USERNAME` prints; it works once, for an hour. A password that breaks the rules is refused (400) without using up the token. Success ends every session of the user, who then signs in with the new password.",
  tags,
  body: ResetPasswordBody,
  responses: { 204: "Password changed" },
});

export const authApi = new Hono()
  .post(register.spec.path, authRateLimit, ...register.json, async (c) => {
    const meta = clientMeta(c);
    const user = await registerUser(c.get("auth"), c.req.valid("json"), meta.ip);
    return c.json(await tokensForNewUser(c.get("auth"), user.id, meta), 201);
  })
  .post(loginRoute.spec.path, authRateLimit, ...loginRoute.json, async (c) => c.json(await login(c.get("auth"), c.req.valid("json"), clientMeta(c))))
  .post(refreshRoute.spec.path, authRateLimit, ...refreshRoute.json, async (c) =>
    c.json(await refresh(c.get("auth"), c.req.valid("json").refresh_token, clientMeta(c))),
  )
  .post(resetPassword.spec.path, authRateLimit, ...resetPassword.json, async (c) => {
    const body = c.req.valid("json");
    await consumePasswordReset(c.get("auth"), body.token, body.new_password, clientMeta(c).ip);
    return c.body(null, 204);
  })
  .post(logout.spec.path, authRateLimit, authenticate({ optional: true }), async (c) => {
    const { auth, principal } = c.var;
    const body = await optionalJsonBody(c, LogoutBody);
    const meta = clientMeta(c);
    if (principal?.kind === "api_key") throw new AppError(400, "validation_failed", "An API key has no session: revoke it with DELETE /api/v1/api-keys/:id");
    const target = body.refresh_token ? sessionOfRefreshToken(auth, body.refresh_token) : principal ? { sessionId: principal.sessionId!, userId: principal.userId } : null;
    if (!target && !body.refresh_token) throw new AppError(401, "unauthorized", "Nothing to sign out of: send the refresh token, or the access token or session cookie");
    if (target) {
      const ended = body.everywhere ? revokeUserSessions(auth, target.userId) : Number(revokeSession(auth, target.sessionId));
      recordAudit(auth, {
        actor: principal ? actorOf(principal) : { type: "user", id: target.userId },
        action: body.everywhere ? "auth.logout_everywhere" : "auth.logout",
        resource: { type: "user", id: target.userId },
        ip: meta.ip,
        details: { sessions_ended: ended },
      });
    }
    clearSessionCookie(c);
    return c.body(null, 204);
  });
