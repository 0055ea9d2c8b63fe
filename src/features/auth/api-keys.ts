// API keys: created with a name and scope, the plaintext answered once and stored only as its SHA-256;
// listed with when each was last used; revoked (kept, marked) so the audit trail still names them.
import type { ApiKeyScope } from "../../db/schema.ts";
import { notFound } from "../../errors.ts";
import { recordAudit, type AuditActor } from "../audit/service.ts";
import type { AuthDeps } from "./auth-services.ts";
import { API_KEY_PREFIX, randomToken, sha256 } from "./tokens.ts";
import { DEFAULT_WORKER_GRANTS, parseGrants, type WorkerGrants } from "./key-grants.ts";
import { invalid } from "../../errors.ts";

interface ApiKeyRecord {
  id: string;
  name: string;
  prefix: string;
  scope: ApiKeyScope;
  user_id: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
  grants: string | null;
}

export interface ApiKeyJson {
  id: string;
  name: string;
  /** The first characters of the key, to tell keys apart; not enough to use one. */
  prefix: string;
  scope: ApiKeyScope;
  user_id: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  /** Worker keys: the capabilities and the slots its workers may declare (null for api keys). */
  grants: WorkerGrants | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function toJson(r: ApiKeyRecord): ApiKeyJson {
  return { ...r, created_at: iso(r.created_at)!, last_used_at: iso(r.last_used_at), revoked_at: iso(r.revoked_at), grants: parseGrants(r.grants) };
}

/** "avk_" and 8 characters of the random part: 48 bits shown, 208 still secret. */
const DISPLAY_PREFIX_LENGTH = API_KEY_PREFIX.length + 8;

export function createApiKey(
  auth: AuthDeps,
  input: { name: string; scope: ApiKeyScope; capabilities?: string[]; max_concurrent_tasks?: number },
  owner: { userId: string; actor: AuditActor },
  ip: string | null = null,
): ApiKeyJson & { key: string } {
  if (input.scope !== "worker" && (input.capabilities !== undefined || input.max_concurrent_tasks !== undefined)) {
    throw invalid("capabilities and max_concurrent_tasks are grants of worker keys", [{ field: "scope", message: "grants need scope 'worker'" }]);
  }
  const grants: WorkerGrants | null =
    input.scope === "worker"
      ? { capabilities: [...new Set(input.capabilities ?? DEFAULT_WORKER_GRANTS.capabilities)], max_concurrent_tasks: input.max_concurrent_tasks ?? DEFAULT_WORKER_GRANTS.max_concurrent_tasks }
      : null;
  const key = randomToken(API_KEY_PREFIX);
  const id = Bun.randomUUIDv7();
  const now = auth.clock();
  const row = auth.db.sqlite
    .transaction(() => {
      auth.db.sqlite
        .query("INSERT INTO api_keys (id, name, prefix, key_hash, scope, user_id, created_at, grants) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .run(id, input.name, key.slice(0, DISPLAY_PREFIX_LENGTH), sha256(key), input.scope, owner.userId, now, grants ? JSON.stringify(grants) : null);
      recordAudit(auth, {
        actor: owner.actor,
        action: "api_key.created",
        resource: { type: "api_key", id },
        ip,
        details: { name: input.name, scope: input.scope, ...(grants ? { grants } : {}) },
      });
      return getApiKeyRecord(auth, id)!;
    })
    .immediate();
  return { ...toJson(row), key };
}

function getApiKeyRecord(auth: AuthDeps, id: string): ApiKeyRecord | null {
  return auth.db.sqlite
    .query<ApiKeyRecord, [string]>("SELECT id, name, prefix, scope, user_id, created_at, last_used_at, revoked_at, grants FROM api_keys WHERE id = ?")
    .get(id);
}

export function listApiKeys(auth: AuthDeps, q: { page: number; per_page: number; include_revoked?: boolean }) {
  const clause = q.include_revoked ? "" : "WHERE revoked_at IS NULL";
  const rows = auth.db.sqlite
    .query<ApiKeyRecord, [number, number]>(
      `SELECT id, name, prefix, scope, user_id, created_at, last_used_at, revoked_at, grants FROM api_keys ${clause}
        ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
    )
    .all(q.per_page, (q.page - 1) * q.per_page);
  const total = auth.db.sqlite.query<{ n: number }, []>(`SELECT COUNT(*) AS n FROM api_keys ${clause}`).get()!.n;
  return { items: rows.map(toJson), total, page: q.page, per_page: q.per_page };
}

/** Revokes a key: the next request made with it is refused. Revoking a revoked key changes nothing. */
export function revokeApiKey(auth: AuthDeps, id: string, actor: AuditActor, ip: string | null = null): void {
  auth.db.sqlite
    .transaction(() => {
      const row = getApiKeyRecord(auth, id);
      if (!row) throw notFound("API key", id);
      if (row.revoked_at !== null) return;
      auth.db.sqlite.query("UPDATE api_keys SET revoked_at = ? WHERE id = ?").run(auth.clock(), id);
      recordAudit(auth, { actor, action: "api_key.revoked", resource: { type: "api_key", id }, ip, details: { name: row.name, scope: row.scope } });
    })
    .immediate();
  auth.principals.clear();
}
