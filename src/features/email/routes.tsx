/** @jsxImportSource hono/jsx */
// Email pages: /forgot-password and /verify-email (public, rate limited), and /settings/email (admins:
// SMTP settings, a test mail). The same services as the JSON API.
import { Hono } from "hono";
import { AppError, zodDetails } from "../../errors.ts";
import { actionDone, page } from "../../pages/render.tsx";
import { errorsOf, type FormValues } from "../../../views/components/form.tsx";
import { EmailSettingsPage, ForgotPasswordPage, VerifyEmailPage } from "../../../views/email/pages.tsx";
import { principalOf } from "../auth/middleware.ts";
import { actingOf, authRateLimit, clientMeta } from "../auth/request.ts";
import { getUserRecord } from "../auth/users.ts";
import { logger } from "../../log.ts";
import { consumeVerification, mailPasswordReset } from "./auth-mail.ts";
import { SmtpBody } from "./api.ts";
import { saveSmtp, SMTP_PASSWORD_SECRET, smtpView } from "./settings.ts";

const log = logger("email");

const text = (form: Record<string, unknown>, name: string) => (typeof form[name] === "string" ? (form[name] as string) : "");

export const emailPages = new Hono()
  .get("/forgot-password", (c) => page(c, { title: "Forgot password" }, <ForgotPasswordPage emailReady={Boolean(c.get("email").mailer())} />))
  .post("/forgot-password", authRateLimit, async (c) => {
    const login = text(await c.req.parseBody(), "login").trim();
    if (!login || login.length > 254) return page(c, { title: "Forgot password", status: 422 }, <ForgotPasswordPage login={login.slice(0, 254)} error="Enter your username or email address" emailReady={Boolean(c.get("email").mailer())} />);
    mailPasswordReset(c.get("email"), login, clientMeta(c).ip).catch((err) => log.warn(`password reset mail failed: ${(err as Error).message}`));
    return page(c, { title: "Forgot password" }, <ForgotPasswordPage sent emailReady />);
  })
  .get("/verify-email", (c) => {
    const token = c.req.query("token")?.trim() ?? "";
    if (!token || token.length > 200) return page(c, { title: "Confirm your email", status: 400 }, <VerifyEmailPage token="" error="This link is incomplete: open the whole link from the mail." />);
    return page(c, { title: "Confirm your email" }, <VerifyEmailPage token={token} />);
  })
  .post("/verify-email", authRateLimit, async (c) => {
    const token = text(await c.req.parseBody(), "token").trim().slice(0, 200);
    try {
      const done = consumeVerification(c.get("auth"), token, clientMeta(c).ip);
      return page(c, { title: "Email confirmed" }, <VerifyEmailPage token="" done={done} />);
    } catch (err) {
      if (!(err instanceof AppError) || err.status !== 400) throw err;
      return page(c, { title: "Confirm your email", status: 400 }, <VerifyEmailPage token="" error={err.message} />);
    }
  })
  .get("/settings/email", (c) => {
    const v = smtpView(c.get("email"));
    const values = { host: v.host ?? "", port: String(v.port), secure: v.secure, user: v.user ?? "", from: v.from ?? "" };
    return page(c, { title: "Email settings", active: "email" }, <EmailSettingsPage values={values} hasPassword={v.has_password} source={v.source} />);
  })
  .post("/settings/email", async (c) => {
    const form = await c.req.parseBody();
    const values: FormValues = Object.fromEntries(["host", "port", "secure", "user", "from"].map((k) => [k, text(form, k).trim()]));
    const password = text(form, "password");
    const body = { host: values.host || null, port: values.port ? Number(values.port) : null, secure: values.secure || null, user: values.user || null, from: values.from || null, ...(password ? { password } : {}) };
    const parsed = SmtpBody.safeParse(body);
    const v = smtpView(c.get("email"));
    if (!parsed.success) return page(c, { title: "Email settings", active: "email", status: 422 }, <EmailSettingsPage values={values} hasPassword={v.has_password} source={v.source} errors={errorsOf(zodDetails(parsed.error))} />);
    const { password: pw, ...rest } = parsed.data;
    const acting = actingOf(c);
    if (pw) {
      const secrets = c.get("secrets");
      if (secrets.list().some((s) => s.name === SMTP_PASSWORD_SECRET)) secrets.update(SMTP_PASSWORD_SECRET, { value: pw }, acting.actor, acting.ip);
      else secrets.create(SMTP_PASSWORD_SECRET, pw, acting.actor, acting.ip);
    }
    saveSmtp(c.get("email"), rest, acting);
    return actionDone(c, { message: "Email settings saved", redirect: "/settings/email" });
  })
  .post("/settings/email/test", async (c) => {
    const to = getUserRecord(c.get("auth"), principalOf(c).userId)?.email;
    const sender = c.get("email").mailer();
    if (!to) return actionDone(c, { message: "Your account has no email address: add one on your Settings page", level: "error", redirect: "/settings/email" });
    if (!sender) return actionDone(c, { message: "Email is not configured: set the host and the sender first", level: "error", redirect: "/settings/email" });
    try {
      await sender.send({ to, subject: "AgentVine test mail", text: "This is a test mail from AgentVine: email works." });
    } catch (err) {
      return actionDone(c, { message: `Sending failed: ${(err as Error).message}`, level: "error", redirect: "/settings/email" });
    }
    return actionDone(c, { message: `Test mail sent to ${to}`, redirect: "/settings/email" });
  });
