// Sessions = refresh-token families: start one at sign-in, rotate its token on every refresh, revoke it
// at logout; presenting a token that was already rotated revokes the whole family (it was stolen, or
// the client is broken — either way nobody should keep using it). One function per SQL operation.
import type { AuthDeps } from "./auth-services.ts";
import { randomToken, REFRESH_TOKEN_PREFIX, sha256 } from "./tokens.ts";

export interface ClientMeta {
  ip?: string | null;
  userAgent?: string | null;
}

export interface IssuedRefreshToken {
  sessionId: string;
  refreshToken: string;
  expiresAt: number;
}

function insertRefreshToken(auth: AuthDeps, userId: string, sessionId: string, now: number, meta: ClientMeta): IssuedRefreshToken & { id: string } {
  const id = Bun.randomUUIDv7();
  const refreshToken = randomToken(REFRESH_TOKEN_PREFIX);
  const expiresAt = now + auth.settings.refreshTokenTtlSeconds * 1000;
  auth.db.sqlite
    .query(
      `INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, created_at, expires_at, user_agent, ip)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(id, userId, sessionId, sha256(refreshToken), now, expiresAt, meta.userAgent?.slice(0, 500) ?? null, meta.ip ?? null);
  return { id, sessionId, refreshToken, expiresAt };
}

/** A new session for a user who just proved who they are. */
export function startSession(auth: AuthDeps, userId: string, meta: ClientMeta = {}): IssuedRefreshToken {
  const { id: _id, ...issued } = insertRefreshToken(auth, userId, Bun.randomUUIDv7(), auth.clock(), meta);
  return issued;
}

export type RotateResult =
  | { ok: true; userId: string; issued: IssuedRefreshToken }
  | { ok: false; reason: "unknown" | "expired" | "revoked" | "reused"; userId?: string; sessionId?: string };

interface RefreshRow {
  id: string;
  user_id: string;
  family_id: string;
  expires_at: number;
  used_at: number | null;
  revoked_at: number | null;
  is_active: number;
}

/**
 * Swaps a refresh token for the next one of its family. Every outcome is decided and written in one
 * transaction: the guarded UPDATE (`used_at IS NULL`) means two refreshes racing with the same token
 * cannot both win — the loser is a reuse.
 */
export function rotateRefreshToken(auth: AuthDeps, token: string, meta: ClientMeta = {}): RotateResult {
  const { sqlite } = auth.db;
  const now = auth.clock();
  const result = sqlite
    .transaction((): RotateResult => {
      const row = sqlite
        .query<RefreshRow, [string]>(
          `SELECT r.id, r.user_id, r.family_id, r.expires_at, r.used_at, r.revoked_at, u.is_active
             FROM refresh_tokens r JOIN users u ON u.id = r.user_id WHERE r.token_hash = ?`,
        )
        .get(sha256(token));
      if (!row) return { ok: false, reason: "unknown" };
      const who = { userId: row.user_id, sessionId: row.family_id };
      if (row.revoked_at !== null || row.is_active !== 1) return { ok: false, reason: "revoked", ...who };
      if (row.used_at !== null) {
        revokeFamily(auth, row.family_id, now);
        return { ok: false, reason: "reused", ...who };
      }
      if (row.expires_at <= now) return { ok: false, reason: "expired", ...who };
      const next = insertRefreshToken(auth, row.user_id, row.family_id, now, meta);
      const changed = sqlite
        .query("UPDATE refresh_tokens SET used_at = ?, replaced_by = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL")
        .run(now, next.id, row.id).changes;
      if (changed !== 1) throw new Error("refresh token changed during its own rotation");
      const { id: _id, ...issued } = next;
      return { ok: true, userId: row.user_id, issued };
    })
    .immediate();
  if (!result.ok && result.reason === "reused") auth.principals.clear();
  return result;
}

function revokeFamily(auth: AuthDeps, sessionId: string, now: number): number {
  return auth.db.sqlite.query("UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL").run(now, sessionId).changes;
}

/** Ends one session: its refresh tokens stop refreshing and its access tokens stop authenticating. */
export function revokeSession(auth: AuthDeps, sessionId: string): boolean {
  const changed = revokeFamily(auth, sessionId, auth.clock());
  auth.principals.clear();
  return changed > 0;
}

/** The session a refresh token belongs to (whatever its state), for logout by refresh token. */
export function sessionOfRefreshToken(auth: AuthDeps, token: string): { sessionId: string; userId: string } | null {
  const row = auth.db.sqlite
    .query<{ family_id: string; user_id: string }, [string]>("SELECT family_id, user_id FROM refresh_tokens WHERE token_hash = ?")
    .get(sha256(token));
  return row ? { sessionId: row.family_id, userId: row.user_id } : null;
}

/** "Sign out everywhere": every session of the user but `exceptSessionId`. Returns how many ended. */
export function revokeUserSessions(auth: AuthDeps, userId: string, exceptSessionId?: string): number {
  const now = auth.clock();
  const families = auth.db.sqlite
    .query<{ family_id: string }, [string, number, string]>(
      `SELECT DISTINCT family_id FROM refresh_tokens
        WHERE user_id = ? AND revoked_at IS NULL AND used_at IS NULL AND expires_at > ? AND family_id <> ?`,
    )
    .all(userId, now, exceptSessionId ?? "");
  auth.db.sqlite
    .query("UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND family_id <> ?")
    .run(now, userId, exceptSessionId ?? "");
  auth.principals.clear();
  return families.length;
}

export interface SessionInfo {
  id: string;
  started_at: string;
  last_refreshed_at: string;
  expires_at: string;
  user_agent: string | null;
  ip: string | null;
}

/** The user's live sessions, newest activity first: what a Settings page lists. */
export function listSessions(auth: AuthDeps, userId: string): SessionInfo[] {
  const rows = auth.db.sqlite
    .query<{ family_id: string; started: number; created_at: number; expires_at: number; user_agent: string | null; ip: string | null }, [number, string]>(
      `SELECT cur.family_id, (SELECT MIN(created_at) FROM refresh_tokens f WHERE f.family_id = cur.family_id) AS started,
              cur.created_at, cur.expires_at, cur.user_agent, cur.ip
         FROM refresh_tokens cur
        WHERE cur.used_at IS NULL AND cur.revoked_at IS NULL AND cur.expires_at > ?1 AND cur.user_id = ?2
        ORDER BY cur.created_at DESC`,
    )
    .all(auth.clock(), userId);
  return rows.map((r) => ({
    id: r.family_id,
    started_at: new Date(r.started).toISOString(),
    last_refreshed_at: new Date(r.created_at).toISOString(),
    expires_at: new Date(r.expires_at).toISOString(),
    user_agent: r.user_agent,
    ip: r.ip,
  }));
}
