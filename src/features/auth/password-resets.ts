// One-time password resets: an admin (or `agentvine user reset-password`) issues a random token, stored
// only as its SHA-256 with an expiry; presenting it once with a new password sets the password and
// ends every session of the user.
import { AppError, invalid, notFound } from "../../errors.ts";
import { recordAudit, type AuditActor } from "../audit/service.ts";
import type { AuthDeps } from "./auth-services.ts";
import { hashPassword, passwordProblems } from "./passwords.ts";
import { revokeUserSessions } from "./sessions.ts";
import { randomToken, sha256 } from "./tokens.ts";
import { getUserRecord } from "./users.ts";

export const PASSWORD_RESET_PREFIX = "avp_";
export const DEFAULT_RESET_TTL_SECONDS = 3600;

export const INVALID_RESET = "This reset link is invalid, expired or already used: ask an admin for a new one";

export interface IssuedReset {
  token: string;
  expiresAt: number;
}

/** A new reset token for the user; any earlier unused one stops working. */
export function createPasswordReset(auth: AuthDeps, userId: string, actor: AuditActor, ttlSeconds = DEFAULT_RESET_TTL_SECONDS, ip: string | null = null): IssuedReset {
  const token = randomToken(PASSWORD_RESET_PREFIX);
  const { sqlite } = auth.db;
  return sqlite
    .transaction(() => {
      const user = getUserRecord(auth, userId);
      if (!user) throw notFound("user", userId);
      const now = auth.clock();
      const expiresAt = now + ttlSeconds * 1000;
      sqlite.query("UPDATE password_resets SET used_at = ? WHERE user_id = ? AND used_at IS NULL").run(now, userId);
      const id = Bun.randomUUIDv7();
      sqlite
        .query("INSERT INTO password_resets (id, user_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)")
        .run(id, userId, sha256(token), now, expiresAt);
      recordAudit(auth, {
        actor,
        action: "user.password_reset_issued",
        resource: { type: "user", id: userId },
        ip,
        details: { username: user.username, expires_at: new Date(expiresAt).toISOString() },
      });
      return { token, expiresAt };
    })
    .immediate();
}

interface ResetRow {
  id: string;
  user_id: string;
  expires_at: number;
  used_at: number | null;
  username: string;
}

function findReset(auth: AuthDeps, token: string): ResetRow | null {
  return auth.db.sqlite
    .query<ResetRow, [string]>(
      `SELECT r.id, r.user_id, r.expires_at, r.used_at, u.username
         FROM password_resets r JOIN users u ON u.id = r.user_id WHERE r.token_hash = ?`,
    )
    .get(sha256(token));
}

/**
 * POST /auth/reset-password: sets the password of the token's user. A password that breaks the rules is
 * refused without using up the token; a valid one uses it (the guarded UPDATE lets one of two racing
 * requests win), clears the sign-in lockout and ends every session of the user.
 */
export async function consumePasswordReset(auth: AuthDeps, token: string, newPassword: string, ip: string | null = null): Promise<void> {
  const found = findReset(auth, token);
  if (!found || found.used_at !== null || found.expires_at <= auth.clock()) throw new AppError(400, "validation_failed", INVALID_RESET, [{ field: "token", message: "invalid, expired or already used" }]);
  const problems = passwordProblems(newPassword, { username: found.username, field: "new_password" });
  if (problems.length) throw invalid(`The password is not acceptable: ${problems.map((p) => p.message).join("; ")}`, problems);
  const hash = await hashPassword(newPassword, auth.settings.passwordCost);
  const { sqlite } = auth.db;
  sqlite
    .transaction(() => {
      const now = auth.clock();
      const used = sqlite.query("UPDATE password_resets SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ?").run(now, found.id, now).changes;
      if (used !== 1) throw new AppError(400, "validation_failed", INVALID_RESET, [{ field: "token", message: "invalid, expired or already used" }]);
      sqlite.query("UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = NULL, updated_at = ? WHERE id = ?").run(hash, now, found.user_id);
      const ended = revokeUserSessions(auth, found.user_id);
      recordAudit(auth, {
        actor: { type: "user", id: found.user_id },
        action: "user.password_reset",
        resource: { type: "user", id: found.user_id },
        ip,
        details: { username: found.username, sessions_ended: ended },
      });
    })
    .immediate();
  auth.principals.clear();
}
