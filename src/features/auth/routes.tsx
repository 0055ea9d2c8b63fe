/** @jsxImportSource hono/jsx */
// The account pages of the web UI: sign in, register, sign out, reset a password with a link, and the
// signed-in user's settings (profile, password, theme, sessions). The checks live in the services
// (login.ts, users.ts, password-resets.ts, sessions.ts); these routes turn forms into their calls and
// their errors into inline messages.
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { AppError, zodDetails, type ErrorDetail } from "../../errors.ts";
import { actionDone, fragment, isHtmx, page, themeOf, toast, trigger } from "../../pages/render.tsx";
import { LoginPage } from "../../../views/auth/login.tsx";
import type { FormErrors } from "../../../views/components/form.tsx";
import { RegisterPage, RegistrationClosed } from "../../../views/auth/register.tsx";
import { ResetLinkInvalid, ResetPasswordPage } from "../../../views/auth/reset-password.tsx";
import { PasswordForm, ProfileForm, SessionList, SettingsPage, type SessionRow, type SettingsPageProps, type ThemeChoice } from "../../../views/auth/settings.tsx";
import { actorOf, recordAudit } from "../audit/service.ts";
import { authenticateCredentials } from "./login.ts";
import { clearSessionCookie, principalOf, startBrowserSession } from "./middleware.ts";
import { safeNext } from "./page-access.ts";
import { consumePasswordReset } from "./password-resets.ts";
import { MAX_PASSWORD_LENGTH } from "./passwords.ts";
import { authRateLimit, clientMeta } from "./request.ts";
import { RegisterBody, UpdateMeBody } from "./schemas.ts";
import { listSessions, revokeSession, revokeUserSessions } from "./sessions.ts";
import { countUsers, getUser, getUserRecord, REGISTRATION_CLOSED, registerUser, updateSelf } from "./users.ts";

type Ctx = Context;

type Form = Record<string, string | File | (string | File)[]>;
const text = (form: Form, name: string): string => {
  const v = form[name];
  return typeof v === "string" ? v : "";
};

/** Each detail of a refused service call on the field it names; a message for the whole form otherwise. */
export function errorsOf(details: ErrorDetail[], fallback: string): FormErrors {
  const errors: FormErrors = {};
  for (const d of details) {
    const field = d.field ?? "_form";
    errors[field] = errors[field] ? `${errors[field]}; ${d.message}` : d.message;
  }
  if (Object.keys(errors).length === 0) errors._form = fallback;
  return errors;
}

/** The service refused the input (400) or it clashes with another account (409): show it on the form. */
const formProblem = (err: unknown): err is AppError => err instanceof AppError && (err.status === 400 || err.status === 409);

const registrationOpen = (c: Ctx) => c.get("auth").settings.openRegistration || countUsers(c.get("auth")) === 0;

const THEME_COOKIE = "theme";
const THEME_CHOICES: readonly string[] = ["system", "light", "dark"];

/** The theme cookie public/app.js reads and writes (so not HttpOnly); "system" removes it. */
function setThemeCookie(c: Ctx, theme: ThemeChoice) {
  if (theme === "system") deleteCookie(c, THEME_COOKIE, { path: "/" });
  else setCookie(c, THEME_COOKIE, theme, { path: "/", maxAge: 365 * 24 * 3600, sameSite: "Lax" });
}

function storedTheme(settings: string): ThemeChoice | null {
  try {
    const theme = (JSON.parse(settings) as { theme?: unknown }).theme;
    return typeof theme === "string" && THEME_CHOICES.includes(theme) ? (theme as ThemeChoice) : null;
  } catch {
    return null;
  }
}

function loginPage(c: Ctx, props: { next: string; username?: string; errors?: FormErrors }, status: 200 | 401 | 422 | 429 = 200) {
  const users = countUsers(c.get("auth"));
  return page(
    c,
    { title: "Sign in", status },
    <LoginPage {...props} canRegister={c.get("auth").settings.openRegistration || users === 0} firstUser={users === 0} />,
  );
}

/**
 * The per-address limit of the API's /auth/* routes on the sign-in form too (else the form would be the
 * way around it); refused, the form comes back with the wait in words and Retry-After.
 */
const limitSignIns: MiddlewareHandler = async function limitSignIns(c, next) {
  let passed = false;
  try {
    await authRateLimit(c, async () => {
      passed = true;
      await next();
    });
  } catch (err) {
    if (passed || !(err instanceof AppError) || err.status !== 429) throw err;
    for (const [name, value] of Object.entries(err.headers)) c.header(name, value);
    const form = await c.req.parseBody();
    return loginPage(c, { next: safeNext(text(form, "next")), username: text(form, "username").trim(), errors: { _form: err.message } }, 429);
  }
};

function sessionRows(c: Ctx): SessionRow[] {
  const principal = principalOf(c);
  return listSessions(c.get("auth"), principal.userId).map((s) => ({ ...s, current: s.id === principal.sessionId }));
}

function settingsProps(c: Ctx): SettingsPageProps {
  const principal = principalOf(c);
  const user = getUser(c.get("auth"), principal.userId);
  return {
    user: { username: user.username, role: user.role, email: user.email, full_name: user.full_name, created_at: user.created_at },
    // What this browser shows (the header's toggle changes only the cookie); no cookie = the system's.
    theme: themeOf(c) ?? "system",
    sessions: sessionRows(c),
  };
}

function settingsPage(c: Ctx, extra: Partial<SettingsPageProps> = {}, status: 200 | 422 = 200) {
  return page(c, { title: "Settings", active: "settings", status }, <SettingsPage {...settingsProps(c)} {...extra} />);
}

/** Ends the request's own browser session: revoked in the database, the cookie cleared. */
function endOwnSession(c: Ctx, action: "auth.logout" | "auth.logout_everywhere", everywhere: boolean): number {
  const { auth, principal } = c.var;
  clearSessionCookie(c);
  if (!principal || principal.kind !== "user") return 0;
  const ended = everywhere ? revokeUserSessions(auth, principal.userId) : principal.sessionId ? Number(revokeSession(auth, principal.sessionId)) : 0;
  recordAudit(auth, {
    actor: actorOf(principal),
    action,
    resource: { type: "user", id: principal.userId },
    ip: clientMeta(c).ip,
    details: { sessions_ended: ended, via: "web" },
  });
  return ended;
}

export const authPages = new Hono()
  // ---- sign in
  .get("/login", (c) => {
    const next = safeNext(c.req.query("next"));
    if (c.get("principal")) return c.redirect(next, 303);
    return loginPage(c, { next });
  })
  .post("/login", limitSignIns, async (c) => {
    const form = await c.req.parseBody();
    const next = safeNext(text(form, "next"));
    const username = text(form, "username").trim();
    const password = text(form, "password");
    const errors: FormErrors = {};
    if (!username) errors.username = "Enter your username or email";
    else if (username.length > 254) errors.username = "At most 254 characters";
    if (!password) errors.password = "Enter your password";
    else if (password.length > MAX_PASSWORD_LENGTH) errors.password = `At most ${MAX_PASSWORD_LENGTH} characters`;
    if (Object.keys(errors).length) return loginPage(c, { next, username, errors }, 422);
    const meta = clientMeta(c);
    let userId: string;
    try {
      userId = (await authenticateCredentials(c.get("auth"), { username, password }, meta)).id;
    } catch (err) {
      if (!(err instanceof AppError) || (err.status !== 401 && err.status !== 429)) throw err;
      for (const [name, value] of Object.entries(err.headers)) if (name !== "WWW-Authenticate") c.header(name, value);
      return loginPage(c, { next, username, errors: { _form: err.message } }, err.status);
    }
    await startBrowserSession(c, userId, meta);
    // The account's theme follows it to a new browser.
    const theme = storedTheme(getUserRecord(c.get("auth"), userId)?.settings ?? "{}");
    if (theme && !themeOf(c)) setThemeCookie(c, theme);
    return c.redirect(next, 303);
  })

  // ---- register
  .get("/register", (c) => {
    if (c.get("principal")) return c.redirect("/", 303);
    if (!registrationOpen(c)) return page(c, { title: "Registration closed", status: 403 }, <RegistrationClosed message={REGISTRATION_CLOSED} />);
    return page(c, { title: "Register" }, <RegisterPage firstUser={countUsers(c.get("auth")) === 0} />);
  })
  .post("/register", authRateLimit, async (c) => {
    const form = await c.req.parseBody();
    const values = { username: text(form, "username").trim(), email: text(form, "email").trim(), full_name: text(form, "full_name").trim() };
    const password = text(form, "password");
    const again = (errors: FormErrors) => page(c, { title: "Register", status: 422 }, <RegisterPage firstUser={countUsers(c.get("auth")) === 0} values={values} errors={errors} />);
    if (!registrationOpen(c)) return page(c, { title: "Registration closed", status: 403 }, <RegistrationClosed message={REGISTRATION_CLOSED} />);
    const parsed = RegisterBody.safeParse({ username: values.username, password, email: values.email || null, full_name: values.full_name || null });
    const errors: FormErrors = parsed.success ? {} : errorsOf(zodDetails(parsed.error), "Please fix the fields marked below.");
    if (!values.username) errors.username = "Choose a username";
    if (!password) errors.password = "Choose a password";
    if (password && text(form, "confirm") !== password) errors.confirm = "The two passwords are not the same";
    if (Object.keys(errors).length || !parsed.success) return again(errors);
    const meta = clientMeta(c);
    let user;
    try {
      user = await registerUser(c.get("auth"), parsed.data, meta.ip);
    } catch (err) {
      if (err instanceof AppError && err.status === 403) return page(c, { title: "Registration closed", status: 403 }, <RegistrationClosed message={err.message} />);
      if (formProblem(err)) return again(errorsOf(err.details, err.message));
      throw err;
    }
    await startBrowserSession(c, user.id, meta);
    return actionDone(c, {
      message: user.role === "admin" ? `Welcome, ${user.username}: you are the admin of this server` : `Welcome, ${user.username}: your account is ready`,
      redirect: "/",
    });
  })

  // ---- sign out
  .post("/logout", (c) => {
    endOwnSession(c, "auth.logout", false);
    return actionDone(c, { message: "You are signed out", redirect: "/login", level: "info" });
  })

  // ---- reset a password with the link `agentvine user reset-password` prints
  .get("/reset-password", (c) => {
    const token = c.req.query("token")?.trim() ?? "";
    if (!token || token.length > 200) {
      return page(c, { title: "Reset password", status: 400 }, <ResetLinkInvalid message="This reset link is incomplete: open the whole link you were given, or ask an admin for a new one." />);
    }
    return page(c, { title: "Reset password" }, <ResetPasswordPage token={token} />);
  })
  .post("/reset-password", authRateLimit, async (c) => {
    const form = await c.req.parseBody();
    const token = text(form, "token").trim().slice(0, 200);
    const password = text(form, "new_password");
    const again = (errors: FormErrors) => page(c, { title: "Reset password", status: 422 }, <ResetPasswordPage token={token} errors={errors} />);
    if (!password) return again({ new_password: "Choose a new password" });
    if (password.length > MAX_PASSWORD_LENGTH) return again({ new_password: `At most ${MAX_PASSWORD_LENGTH} characters` });
    if (text(form, "confirm") !== password) return again({ confirm: "The two passwords are not the same" });
    try {
      await consumePasswordReset(c.get("auth"), token, password, clientMeta(c).ip);
    } catch (err) {
      if (!formProblem(err)) throw err;
      if (err.details.some((d) => d.field === "token")) return page(c, { title: "Reset password", status: 400 }, <ResetLinkInvalid message={err.message} />);
      return again(errorsOf(err.details, err.message));
    }
    // Every session of the user has ended, this browser's too if it was theirs.
    if (c.get("principal")) clearSessionCookie(c);
    return actionDone(c, { message: "Your password is changed: sign in with the new one", redirect: "/login" });
  })

  // ---- the signed-in user's settings
  .get("/settings", (c) => settingsPage(c))
  .get("/settings/sessions", (c) => fragment(c, <SessionList sessions={sessionRows(c)} />))
  .post("/settings/profile", async (c) => {
    const principal = principalOf(c);
    const form = await c.req.parseBody();
    const values = { full_name: text(form, "full_name").trim() || null, email: text(form, "email").trim() || null };
    const again = (errors: FormErrors) =>
      isHtmx(c) ? fragment(c, <ProfileForm values={values} errors={errors} />, 422) : settingsPage(c, { profile: { values, errors } }, 422);
    const parsed = UpdateMeBody.safeParse(values);
    if (!parsed.success) return again(errorsOf(zodDetails(parsed.error), "Please fix the fields marked below."));
    let saved;
    try {
      saved = await updateSelf(c.get("auth"), principal.userId, { full_name: values.full_name, email: values.email }, principal.sessionId, clientMeta(c).ip);
    } catch (err) {
      if (formProblem(err)) return again(errorsOf(err.details, err.message));
      throw err;
    }
    return actionDone(c, { message: "Profile saved", redirect: "/settings", body: <ProfileForm values={saved} /> });
  })
  .post("/settings/password", async (c) => {
    const principal = principalOf(c);
    const form = await c.req.parseBody();
    const current = text(form, "current_password");
    const next = text(form, "new_password");
    const again = (errors: FormErrors) => (isHtmx(c) ? fragment(c, <PasswordForm errors={errors} />, 422) : settingsPage(c, { passwordErrors: errors }, 422));
    const errors: FormErrors = {};
    if (!current) errors.current_password = "Enter your current password";
    if (!next) errors.new_password = "Choose a new password";
    else if (next.length > MAX_PASSWORD_LENGTH) errors.new_password = `At most ${MAX_PASSWORD_LENGTH} characters`;
    else if (text(form, "confirm") !== next) errors.confirm = "The two passwords are not the same";
    if (Object.keys(errors).length) return again(errors);
    try {
      await updateSelf(c.get("auth"), principal.userId, { current_password: current, new_password: next }, principal.sessionId, clientMeta(c).ip);
    } catch (err) {
      if (formProblem(err)) return again(errorsOf(err.details, err.message));
      throw err;
    }
    trigger(c, "sessions:changed");
    return actionDone(c, { message: "Password changed: every other session is signed out", redirect: "/settings", body: <PasswordForm /> });
  })
  .post("/settings/theme", async (c) => {
    const principal = principalOf(c);
    const theme = text(await c.req.parseBody(), "theme");
    if (!THEME_CHOICES.includes(theme)) throw new AppError(400, "validation_failed", "Choose a theme: system, light or dark");
    setThemeCookie(c, theme as ThemeChoice);
    await updateSelf(c.get("auth"), principal.userId, { settings: { theme: theme === "system" ? null : theme } }, principal.sessionId);
    // A full page load shows the new theme everywhere (the header, the charts' colours).
    if (isHtmx(c)) {
      toast(c, "success", `Theme: ${theme}`);
      c.header("HX-Refresh", "true");
      return c.body(null, 200);
    }
    return actionDone(c, { message: `Theme: ${theme}`, redirect: "/settings" });
  })
  .post("/settings/sessions/revoke-all", (c) => {
    const ended = endOwnSession(c, "auth.logout_everywhere", true);
    return actionDone(c, { message: `Signed out everywhere (${ended} session${ended === 1 ? "" : "s"} ended)`, redirect: "/login" });
  })
  .post("/settings/sessions/:id/revoke", (c) => {
    const principal = principalOf(c);
    const id = c.req.param("id");
    const session = sessionRows(c).find((s) => s.id === id);
    if (!session) throw new AppError(404, "not_found", "No such active session of yours: it may have ended already");
    if (session.current) {
      endOwnSession(c, "auth.logout", false);
      return actionDone(c, { message: "You are signed out", redirect: "/login", level: "info" });
    }
    revokeSession(c.get("auth"), id);
    recordAudit(c.get("auth"), {
      actor: actorOf(principal),
      action: "auth.session_revoked",
      resource: { type: "user", id: principal.userId },
      ip: clientMeta(c).ip,
      details: { session: id, via: "web" },
    });
    return actionDone(c, { message: "Session revoked: that device is signed out", redirect: "/settings", body: <SessionList sessions={sessionRows(c)} /> });
  });
