// Sign-in, refresh and logout: the token answers, the failed-attempt throttle and lockout, and the rule
// that no answer (message, status, timing) tells whether a username exists.
import { AppError } from "../../errors.ts";
import { recordAudit } from "../audit/service.ts";
import type { AuthDeps, LockoutPolicy, LoginState } from "./auth-services.ts";
import { dummyHash, hashPassword, needsRehash, verifyPassword } from "./passwords.ts";
import { rotateRefreshToken, startSession, type ClientMeta } from "./sessions.ts";
import { findUserByLogin, getUserRecord, userToJson, type UserJson, type UserRecord } from "./users.ts";

export interface TokenAnswer {
  access_token: string;
  refresh_token: string;
  token_type: "bearer";
  /** Seconds the access token is valid for. */
  expires_in: number;
  /** When the refresh token (and so the session, unless refreshed) ends. */
  refresh_expires_at: string;
  user: UserJson;
}

export const INVALID_CREDENTIALS = "Invalid username or password";

/** When the account may be tried again after its `failures`-th consecutive failure, or null. */
export function lockedUntilAfter(failures: number, now: number, policy: LockoutPolicy): number | null {
  if (failures >= policy.lockAfter) return now + policy.lockSeconds * 1000;
  if (failures >= policy.throttleAfter) return now + policy.firstDelaySeconds * 1000 * 2 ** (failures - policy.throttleAfter);
  return null;
}

const MAX_UNKNOWN_LOGINS = 10_000;

function tooManyAttempts(lockedUntil: number, now: number): AppError {
  const seconds = Math.max(1, Math.ceil((lockedUntil - now) / 1000));
  const wait = seconds >= 120 ? `${Math.ceil(seconds / 60)} minutes` : `${seconds} seconds`;
  return new AppError(429, "rate_limited", `Too many failed sign-in attempts for this account: try again in ${wait}`, [], { "Retry-After": String(seconds) });
}

async function issueTokens(auth: AuthDeps, user: UserRecord, sessionId: string, refreshToken: string, refreshExpiresAt: number): Promise<TokenAnswer> {
  const ttl = auth.settings.accessTokenTtlSeconds;
  return {
    access_token: await auth.tokens.sign({ sub: user.id, sid: sessionId, kind: "access" }, auth.clock(), ttl),
    refresh_token: refreshToken,
    token_type: "bearer",
    expires_in: ttl,
    refresh_expires_at: new Date(refreshExpiresAt).toISOString(),
    user: userToJson(user),
  };
}

export interface Credentials {
  username: string;
  password: string;
}

/**
 * Checks credentials and returns the user, or throws: 401 with one message for every wrong
 * username/password, 429 with Retry-After while the account (or the unknown name) is throttled or locked.
 * Unknown names are verified against a dummy hash and throttled in memory like real accounts.
 */
export async function authenticateCredentials(auth: AuthDeps, creds: Credentials, meta: ClientMeta = {}): Promise<UserRecord> {
  const name = creds.username.trim().toLowerCase();
  const policy = auth.settings.lockout;
  // One check at a time per name: parallel guesses would otherwise all pass the lock check together.
  if (auth.loginsInFlight.has(name)) {
    throw new AppError(429, "rate_limited", "Another sign-in for this account is being checked: try again in a moment", [], { "Retry-After": "1" });
  }
  auth.loginsInFlight.add(name);
  try {
    const user = findUserByLogin(auth, name);
    const now = auth.clock();
    const state: LoginState = user ? { failures: user.failed_logins, lockedUntil: user.locked_until } : (auth.unknownLogins.get(name) ?? { failures: 0, lockedUntil: null });
    const audit = (action: string, details: Record<string, unknown>) =>
      recordAudit(auth, {
        actor: user && action === "auth.login" ? { type: "user", id: user.id } : { type: "anonymous", id: "anonymous" },
        action,
        resource: user ? { type: "user", id: user.id } : null,
        ip: meta.ip,
        details: { username: name, ...details },
      });
    if (state.lockedUntil !== null && state.lockedUntil > now) {
      audit("auth.login_failed", { reason: "locked", failures: state.failures });
      throw tooManyAttempts(state.lockedUntil, now);
    }
    const ok = await verifyPassword(creds.password, user?.password_hash ?? (await dummyHash(auth.settings.passwordCost)));
    if (!user || !ok) {
      const failures = state.failures + 1;
      const lockedUntil = lockedUntilAfter(failures, now, policy);
      if (user) {
        auth.db.sqlite.query("UPDATE users SET failed_logins = ?, locked_until = ? WHERE id = ?").run(failures, lockedUntil, user.id);
      } else {
        auth.unknownLogins.delete(name); // re-inserted last: the map's order is oldest-first
        auth.unknownLogins.set(name, { failures, lockedUntil });
        if (auth.unknownLogins.size > MAX_UNKNOWN_LOGINS) auth.unknownLogins.delete(auth.unknownLogins.keys().next().value!);
      }
      audit("auth.login_failed", { reason: "bad_credentials", failures, locked_until: lockedUntil === null ? null : new Date(lockedUntil).toISOString() });
      throw new AppError(401, "unauthorized", INVALID_CREDENTIALS);
    }
    if (user.is_active !== 1) {
      // Only someone who knows the password learns this, and they need to know why they cannot get in.
      audit("auth.login_failed", { reason: "deactivated" });
      throw new AppError(401, "unauthorized", "This account has been deactivated: ask an admin");
    }
    auth.db.sqlite.query("UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = ? WHERE id = ?").run(now, user.id);
    if (needsRehash(user.password_hash, auth.settings.passwordCost)) {
      // The cost was raised since this hash was made: upgrade it while the password is at hand.
      const rehashed = await hashPassword(creds.password, auth.settings.passwordCost);
      auth.db.sqlite.query("UPDATE users SET password_hash = ? WHERE id = ?").run(rehashed, user.id);
    }
    audit("auth.login", { session: "new" });
    return getUserRecord(auth, user.id)!;
  } finally {
    auth.loginsInFlight.delete(name);
  }
}

/** POST /auth/login: credentials → a new session's access and refresh tokens. */
export async function login(auth: AuthDeps, creds: Credentials, meta: ClientMeta = {}): Promise<TokenAnswer> {
  const user = await authenticateCredentials(auth, creds, meta);
  const session = startSession(auth, user.id, meta);
  return issueTokens(auth, user, session.sessionId, session.refreshToken, session.expiresAt);
}

/** Tokens for a user who was just registered: registering signs you in. */
export async function tokensForNewUser(auth: AuthDeps, userId: string, meta: ClientMeta = {}): Promise<TokenAnswer> {
  const user = getUserRecord(auth, userId)!;
  const session = startSession(auth, user.id, meta);
  return issueTokens(auth, user, session.sessionId, session.refreshToken, session.expiresAt);
}

const REFRESH_FAILED: Record<string, string> = {
  unknown: "Invalid refresh token",
  expired: "The refresh token has expired: sign in again",
  revoked: "The session has ended: sign in again",
  reused: "This refresh token was already used; the session has been ended for safety: sign in again",
};

/** POST /auth/refresh: rotates the refresh token, answers a new pair. */
export async function refresh(auth: AuthDeps, refreshToken: string, meta: ClientMeta = {}): Promise<TokenAnswer> {
  const result = rotateRefreshToken(auth, refreshToken, meta);
  if (!result.ok) {
    if (result.reason === "reused") {
      recordAudit(auth, {
        actor: { type: "anonymous", id: "anonymous" },
        action: "auth.refresh_reused",
        resource: { type: "user", id: result.userId! },
        ip: meta.ip,
        details: { session: result.sessionId },
      });
    }
    throw new AppError(401, "unauthorized", REFRESH_FAILED[result.reason]!);
  }
  const user = getUserRecord(auth, result.userId)!;
  return issueTokens(auth, user, result.issued.sessionId, result.issued.refreshToken, result.issued.expiresAt);
}
