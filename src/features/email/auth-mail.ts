// Account email: a password reset link for whoever asks with their username or email (the same answer
// whether or not such an account exists), and a verification link for each new address. Tokens are
// random, stored only as SHA-256, work once and expire; the mail goes out directly (a token in clear is
// never written down, not even in the outbox), so a failed send is a new request away.
import { AppError } from "../../errors.ts";
import { logger } from "../../log.ts";
import { recordAudit, ANONYMOUS_ACTOR } from "../audit/service.ts";
import type { AuthDeps } from "../auth/auth-services.ts";
import { createPasswordReset, DEFAULT_RESET_TTL_SECONDS } from "../auth/password-resets.ts";
import { randomToken, sha256 } from "../auth/tokens.ts";
import { findUserByLogin, getUserRecord } from "../auth/users.ts";
import type { MailMessage, MailSender } from "../notify/outbox.ts";

const log = logger("email");

export const VERIFY_PREFIX = "avv_";
export const VERIFY_TTL_SECONDS = 3 * 24 * 3600;
export const INVALID_VERIFICATION = "This verification link is invalid, expired or already used: send a new one from your Settings page";

export interface AuthMailDeps {
  auth: AuthDeps;
  mailer: () => MailSender | null;
  /** The address people reach the server at: links in mail point there. */
  baseUrl: () => string | null;
}

const escape = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** A short message with one link, as text and as simple HTML. */
export function linkMail(to: string, subject: string, lines: string[], link: { url: string; label: string }, footer: string): MailMessage {
  const text = [...lines, "", link.url, "", footer].join("\n");
  const html = `<div style="font-family:sans-serif;max-width:560px">${lines.map((l) => `<p>${escape(l)}</p>`).join("")}<p><a href="${escape(link.url)}">${escape(link.label)}</a></p><p style="color:#666;font-size:12px">${escape(footer)}</p></div>`;
  return { to, subject, text, html };
}

/**
 * POST /auth/forgot-password: mails a one-time reset link (1 hour) to the account's address, if there is
 * such an active account with an address and email is configured. Resolves when the mail is handed to
 * the SMTP server (or it is clear none is sent); callers answer the same either way.
 */
export async function mailPasswordReset(deps: AuthMailDeps, login: string, ip: string | null): Promise<"sent" | "no_account" | "no_email"> {
  const user = findUserByLogin(deps.auth, login.trim().toLowerCase());
  const mailer = deps.mailer();
  const base = deps.baseUrl();
  if (!user || !user.is_active || !user.email) {
    recordAudit(deps.auth, { actor: ANONYMOUS_ACTOR, action: "user.password_reset_requested", resource: { type: "user", id: user?.id ?? null }, ip, details: { login: login.slice(0, 254), outcome: user ? "no address" : "no such account" } });
    return "no_account";
  }
  if (!mailer || !base) {
    log.warn(`password reset requested for '${user.username}' but email is not configured (SMTP settings${base ? "" : " and --public-url"})`);
    return "no_email";
  }
  const issued = createPasswordReset(deps.auth, user.id, ANONYMOUS_ACTOR, DEFAULT_RESET_TTL_SECONDS, ip);
  const url = `${base}/reset-password?token=${issued.token}`;
  await mailer.send(
    linkMail(
      user.email,
      "Reset your AgentVine password",
      [`Someone (hopefully you) asked to reset the password of the AgentVine account '${user.username}'.`, "The link below works once, for one hour. Asking again makes this link stop working."],
      { url, label: "Choose a new password" },
      "If you did not ask for this, ignore this mail: your password stays as it is.",
    ),
  );
  return "sent";
}

/** Issues a verification link for the user's current address and mails it; false when it cannot be sent. */
export async function mailVerification(deps: AuthMailDeps, userId: string): Promise<boolean> {
  const user = getUserRecord(deps.auth, userId);
  const mailer = deps.mailer();
  const base = deps.baseUrl();
  if (!user?.email || user.is_verified === 1 || !mailer || !base) return false;
  const token = randomToken(VERIFY_PREFIX);
  const now = deps.auth.clock();
  const { sqlite } = deps.auth.db;
  sqlite
    .transaction(() => {
      // One live link per account: an older one stops working.
      sqlite.query("UPDATE email_verifications SET used_at = ? WHERE user_id = ? AND used_at IS NULL").run(now, userId);
      sqlite
        .query("INSERT INTO email_verifications (id, user_id, email, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)")
        .run(Bun.randomUUIDv7(), userId, user.email, sha256(token), now, now + VERIFY_TTL_SECONDS * 1000);
    })
    .immediate();
  await mailer.send(
    linkMail(
      user.email,
      "Confirm your email address for AgentVine",
      [`Confirm that ${user.email} is the address of the AgentVine account '${user.username}'.`, "Until then no notification is mailed to it."],
      { url: `${base}/verify-email?token=${token}`, label: "Confirm this address" },
      "The link works once, for three days. If you did not expect this, ignore it.",
    ),
  );
  return true;
}

/** Spends a verification token: the account's address (if it is still the one the link was for) is verified. */
export function consumeVerification(auth: AuthDeps, token: string, ip: string | null): { username: string; email: string } {
  const refuse = () => new AppError(400, "validation_failed", INVALID_VERIFICATION, [{ field: "token", message: "invalid, expired or already used" }]);
  const { sqlite } = auth.db;
  return sqlite
    .transaction(() => {
      const now = auth.clock();
      const row = sqlite
        .query<{ id: string; user_id: string; email: string }, [string, number]>("SELECT id, user_id, email FROM email_verifications WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?")
        .get(sha256(token), now);
      if (!row) throw refuse();
      sqlite.query("UPDATE email_verifications SET used_at = ? WHERE id = ? AND used_at IS NULL").run(now, row.id);
      const user = getUserRecord(auth, row.user_id);
      if (!user || user.email !== row.email) throw refuse(); // the address changed since: that link is void
      sqlite.query("UPDATE users SET is_verified = 1, updated_at = ? WHERE id = ?").run(now, user.id);
      recordAudit(auth, { actor: { type: "user", id: user.id }, action: "user.email_verified", resource: { type: "user", id: user.id }, ip, details: { email: row.email } });
      return { username: user.username, email: row.email };
    })
    .immediate();
}
