// Who a request is: the Principal, and the short-lived cache of the rows behind it (users, sessions,
// API keys) that keeps authentication to a map lookup per request. Any change that could take access
// away (deactivate, role change, logout, revoke) clears it, so such changes apply to the next request —
// and, through its listeners, to the event streams and long-polls already open (see accessGuard()).
import type { Db } from "../../db/client.ts";
import type { ApiKeyScope, Role } from "../../db/schema.ts";
import type { StreamGuard } from "../../http/sse.ts";

export interface Principal {
  kind: "user" | "api_key";
  /** The user, or for an API key the user who created it (an `api` key acts as them). */
  userId: string;
  username: string;
  role: Role;
  /** API keys only. */
  scope?: ApiKeyScope;
  keyId?: string;
  /** The session (refresh-token family) of a user's token or cookie: what logout revokes. */
  sessionId?: string;
}

export const ROLE_RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

interface CachedUser {
  username: string;
  role: Role;
  active: boolean;
  until: number;
}
interface CachedSession {
  userId: string;
  alive: boolean;
  until: number;
}
export interface CachedKey {
  id: string;
  userId: string;
  scope: ApiKeyScope;
  until: number;
  /** When this process last wrote the key's last_used_at (it is written at most once a minute). */
  usedWrittenAt: number | null;
}

/**
 * How often an open stream re-checks its principal anyway, for changes made behind this process's back
 * (the CLI): such a change then ends the stream within this plus the cache TTL.
 */
export const STREAM_RECHECK_MS = 15_000;

/** How often a key's last_used_at is written: often enough to read "used a minute ago", never per request. */
export const LAST_USED_WRITE_INTERVAL_MS = 60_000;

export class PrincipalCache {
  #users = new Map<string, CachedUser>();
  #sessions = new Map<string, CachedSession>();
  #keys = new Map<string, CachedKey>();
  /** Whether a key (by id) is unrevoked: what an open stream re-checks (it has no key hash). */
  #keyIds = new Map<string, { alive: boolean; until: number }>();
  #clearListeners = new Set<() => void>();
  #notifyQueued = false;
  /** How often open streams re-check their principal (STREAM_RECHECK_MS; tests shorten it). */
  streamRecheckMs = STREAM_RECHECK_MS;

  /**
   * `ttlMs` bounds how stale an entry may get when the database is changed behind this process's back
   * (another process on the same file); changes made through this server clear the cache at once.
   */
  constructor(
    private readonly db: Db,
    private readonly ttlMs: number,
  ) {}

  user(id: string, now: number): CachedUser | null {
    const hit = this.#users.get(id);
    if (hit && hit.until > now) return hit;
    const row = this.db.sqlite
      .query<{ username: string; role: Role; is_active: number }, [string]>("SELECT username, role, is_active FROM users WHERE id = ?")
      .get(id);
    if (!row) {
      this.#users.delete(id);
      return null;
    }
    const entry = { username: row.username, role: row.role, active: row.is_active === 1, until: now + this.ttlMs };
    this.#users.set(id, entry);
    return entry;
  }

  /** True while the session has a current (unused, unrevoked, unexpired) refresh token of `userId`. */
  sessionAlive(sessionId: string, userId: string, now: number): boolean {
    const hit = this.#sessions.get(sessionId);
    if (hit && hit.until > now) return hit.alive && hit.userId === userId;
    const row = this.db.sqlite
      .query<{ user_id: string; expires_at: number }, [string, number]>(
        `SELECT user_id, expires_at FROM refresh_tokens
          WHERE family_id = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ? LIMIT 1`,
      )
      .get(sessionId, now);
    const entry = row
      ? { userId: row.user_id, alive: true, until: Math.min(now + this.ttlMs, row.expires_at) }
      : { userId, alive: false, until: now + this.ttlMs };
    this.#sessions.set(sessionId, entry);
    return entry.alive && entry.userId === userId;
  }

  /** The unrevoked key with this hash. Unknown hashes are not cached: they cannot fill memory. */
  apiKey(hash: string, now: number): CachedKey | null {
    const hit = this.#keys.get(hash);
    if (hit && hit.until > now) return hit;
    const row = this.db.sqlite
      .query<{ id: string; user_id: string; scope: ApiKeyScope; last_used_at: number | null }, [string]>(
        "SELECT id, user_id, scope, last_used_at FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL",
      )
      .get(hash);
    if (!row) {
      this.#keys.delete(hash);
      return null;
    }
    const entry: CachedKey = { id: row.id, userId: row.user_id, scope: row.scope, until: now + this.ttlMs, usedWrittenAt: hit?.usedWrittenAt ?? null };
    this.#keys.set(hash, entry);
    return entry;
  }

  /** Whether the key with this id exists and is not revoked. */
  apiKeyAlive(id: string, now: number): boolean {
    const hit = this.#keyIds.get(id);
    if (hit && hit.until > now) return hit.alive;
    const row = this.db.sqlite.query<{ n: number }, [string]>("SELECT 1 AS n FROM api_keys WHERE id = ? AND revoked_at IS NULL").get(id);
    // Bounded by the keys that exist (ids come from authenticated principals, not from the request).
    this.#keyIds.set(id, { alive: row !== null, until: now + this.ttlMs });
    return row !== null;
  }

  /**
   * Whether a principal resolved earlier may still act: its user active, its session alive, its API key
   * unrevoked. A role change is not looked at (every role may read what a stream shows).
   */
  stillValid(principal: Principal, now: number): boolean {
    const user = this.user(principal.userId, now);
    if (!user || !user.active) return false;
    if (principal.kind === "api_key") return principal.keyId !== undefined && this.apiKeyAlive(principal.keyId, now);
    return principal.sessionId === undefined || this.sessionAlive(principal.sessionId, principal.userId, now);
  }

  /**
   * Calls `fn` after every clear() (once per burst of clears, after the current task, so the change that
   * cleared is committed); returns the unsubscribe.
   */
  onClear(fn: () => void): () => void {
    this.#clearListeners.add(fn);
    return () => this.#clearListeners.delete(fn);
  }

  /** Records a key's use, writing last_used_at only when the last write is a minute old. */
  touchApiKey(key: CachedKey, now: number): void {
    if (key.usedWrittenAt !== null && now - key.usedWrittenAt < LAST_USED_WRITE_INTERVAL_MS) return;
    key.usedWrittenAt = now;
    this.db.sqlite.query("UPDATE api_keys SET last_used_at = ? WHERE id = ?").run(now, key.id);
  }

  /** Forgets everything: called after any change to users, sessions or keys. Such changes are rare. */
  clear(): void {
    this.#users.clear();
    this.#sessions.clear();
    // Keep the last-used bookkeeping: only drop the cached validity.
    for (const key of this.#keys.values()) key.until = 0;
    this.#keyIds.clear();
    if (this.#notifyQueued || this.#clearListeners.size === 0) return;
    this.#notifyQueued = true;
    queueMicrotask(() => {
      this.#notifyQueued = false;
      for (const fn of [...this.#clearListeners]) {
        try {
          fn();
        } catch {
          // one listener's failure must not keep the others from hearing of the change
        }
      }
    });
  }
}

/**
 * The guard of a stream or long-poll opened by `principal`: it ends once the principal is no longer
 * valid — at once for changes made through this server (they clear the cache), otherwise within
 * `streamRecheckMs` plus the cache TTL. None for an anonymous request (public routes need none).
 */
export function accessGuard(cache: PrincipalCache, principal: Principal | undefined, clock: () => number): StreamGuard | undefined {
  if (!principal) return undefined;
  return {
    allowed: () => cache.stillValid(principal, clock()),
    watch: (recheck) => cache.onClear(recheck),
    intervalMs: cache.streamRecheckMs,
  };
}

/** Calls `onLost` (once) when the guarded principal loses access; returns the stop function. */
export function watchAccess(guard: StreamGuard, onLost: () => void): () => void {
  let stopped = false;
  const stop = () => {
    stopped = true;
    clearInterval(timer);
    unwatch();
  };
  const allowed = () => {
    try {
      return guard.allowed();
    } catch {
      return false; // fail closed
    }
  };
  const recheck = () => {
    if (stopped || allowed()) return;
    stop();
    onLost();
  };
  const timer = setInterval(recheck, guard.intervalMs);
  const unwatch = guard.watch(recheck);
  return stop;
}
