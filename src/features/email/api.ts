// /api/v1: password reset by email and email verification (public, rate limited), a fresh verification
// link for oneself, and the SMTP settings with a test mail (admins; the password is write-only).
import { Hono } from "hono";
import { z } from "zod";
import { AppError, conflict } from "../../errors.ts";
import { route } from "../../http/openapi.ts";
import { actingOf, authRateLimit, clientMeta } from "../auth/request.ts";
import { principalOf } from "../auth/middleware.ts";
import { getUserRecord } from "../auth/users.ts";
import { consumeVerification, mailPasswordReset, mailVerification } from "./auth-mail.ts";
import { saveSmtp, SMTP_PASSWORD_SECRET, SMTP_SECURE, smtpView } from "./settings.ts";
import { logger } from "../../log.ts";

const log = logger("email");
const tags = ["email"];

export const ForgotBody = z.strictObject({ login: z.string().trim().min(1, "required").max(254).describe("Your username or email address") });
export const VerifyBody = z.strictObject({ token: z.string().trim().min(1, "required").max(200).describe("The token of the link in the verification mail") });
export const SmtpBody = z.strictObject({
  host: z.string().trim().min(1).max(255).nullable(),
  port: z.number().int().min(1).max(65535).nullable(),
  secure: z.enum(SMTP_SECURE).nullable().describe("`starttls` (587), `tls` (465) or `none` (a relay on localhost)"),
  user: z.string().max(500).nullable(),
  from: z.string().trim().min(3).max(500).nullable().describe("The sender, e.g. AgentVine <vine@example.com>"),
  password: z.string().min(1).max(1000).nullable().describe("Stored in the encrypted secrets store; null removes it; leave it out to keep it"),
}).partial();
const SmtpOut = z.object({
  host: z.string().nullable(),
  port: z.number(),
  secure: z.enum(SMTP_SECURE),
  user: z.string().nullable(),
  from: z.string().nullable(),
  has_password: z.boolean(),
  source: z.enum(["settings", "configuration", "none"]),
});
const Accepted = z.object({ message: z.string() });

const forgot = route({
  method: "post",
  path: "/auth/forgot-password",
  access: "public",
  summary: "Mail a password reset link",
  description: "Answers 202 the same way whether or not the account exists (so it reveals nothing); an active account with an email address gets a one-time link valid for an hour, if the server has SMTP configured.",
  tags: ["auth"],
  body: ForgotBody,
  responses: { 202: Accepted },
});
const verify = route({ method: "post", path: "/auth/verify-email", access: "public", summary: "Verify an email address with the token of its link", description: "Works once; a link for an address the account no longer has is void.", tags: ["auth"], body: VerifyBody, responses: { 200: z.object({ username: z.string(), email: z.string() }) } });
const resend = route({ method: "post", path: "/users/me/verify-email", access: "viewer", summary: "Mail me a new verification link", description: "409 when there is no address, it is verified already, or email is not configured.", tags: ["users"], responses: { 202: Accepted }, errors: [409] });
const getSmtp = route({ method: "get", path: "/email/settings", access: "admin", summary: "SMTP settings (admin)", tags, responses: { 200: SmtpOut } });
const putSmtp = route({ method: "put", path: "/email/settings", access: "admin", summary: "Change SMTP settings (admin)", description: "Fields left out keep their value; null falls back to the server's flags (AGENTVINE_SMTP_*).", tags, body: SmtpBody, responses: { 200: SmtpOut } });
const testMail = route({ method: "post", path: "/email/test", access: "admin", summary: "Send a test mail (admin)", description: "To `to`, or to the signed-in admin's address. 409 when email is not configured.", tags, body: z.strictObject({ to: z.email().max(254).optional() }), responses: { 200: Accepted }, errors: [409] });

export const emailApi = new Hono()
  .post(forgot.spec.path, authRateLimit, ...forgot.json, async (c) => {
    const { login } = c.req.valid("json");
    // Answered at once either way: how long sending takes must not tell whether the account exists.
    mailPasswordReset(c.get("email"), login, clientMeta(c).ip).catch((err) => log.warn(`password reset mail failed: ${(err as Error).message}`));
    return c.json({ message: "If an account with that username or address exists and has an email address, a reset link is on its way." }, 202);
  })
  .post(verify.spec.path, authRateLimit, ...verify.json, (c) => c.json(consumeVerification(c.get("auth"), c.req.valid("json").token, clientMeta(c).ip)))
  .post(resend.spec.path, async (c) => {
    const user = getUserRecord(c.get("auth"), principalOf(c).userId)!;
    if (!user.email) throw conflict("Your account has no email address: add one first", [{ field: "email", message: "not set" }]);
    if (user.is_verified) throw conflict(`${user.email} is verified already`);
    if (!c.get("email").mailer()) throw conflict("Email is not configured on this server (an admin sets SMTP up)");
    await mailVerification(c.get("email"), user.id);
    return c.json({ message: `A verification link was sent to ${user.email}` }, 202);
  })
  .get(getSmtp.spec.path, (c) => c.json(smtpView(c.get("email"))))
  .put(putSmtp.spec.path, ...putSmtp.json, (c) => {
    const { password, ...rest } = c.req.valid("json");
    const deps = c.get("email");
    const acting = actingOf(c);
    if (password !== undefined) {
      const exists = c.get("secrets").list().some((s) => s.name === SMTP_PASSWORD_SECRET);
      if (password === null) {
        if (exists) c.get("secrets").delete(SMTP_PASSWORD_SECRET, acting.actor, acting.ip);
      } else if (exists) c.get("secrets").update(SMTP_PASSWORD_SECRET, { value: password }, acting.actor, acting.ip);
      else c.get("secrets").create(SMTP_PASSWORD_SECRET, password, acting.actor, acting.ip);
    }
    if (Object.keys(rest).length) {
      const current = smtpView(deps);
      saveSmtp(deps, { host: current.source === "settings" ? current.host : undefined, ...rest }, acting);
    }
    return c.json(smtpView(deps));
  })
  .post(testMail.spec.path, ...testMail.json, async (c) => {
    const to = c.req.valid("json").to ?? getUserRecord(c.get("auth"), principalOf(c).userId)?.email;
    if (!to) throw new AppError(400, "validation_failed", "Say where to send it: your account has no email address", [{ field: "to", message: "required (you have no address)" }]);
    const sender = c.get("email").mailer();
    if (!sender) throw conflict("Email is not configured: set the SMTP host and sender first");
    try {
      await sender.send({ to, subject: "AgentVine test mail", text: "This is a test mail from AgentVine: email works." });
    } catch (err) {
      throw conflict(`The SMTP server refused or could not be reached: ${(err as Error).message}`);
    }
    return c.json({ message: `Sent to ${to}` });
  });
