// The audit log: who did what to which resource, when, from where. Append-only (a trigger refuses
// UPDATE); recordAudit is synchronous, so a caller can write the event in the transaction of the change.
import type { Db } from "../../db/client.ts";
import type { ActorType, AuditEventRow } from "../../db/schema.ts";
import { AppError } from "../../errors.ts";
import type { Principal } from "../auth/principals.ts";

export interface AuditDeps {
  db: Db;
  clock?: () => number;
}

export interface AuditActor {
  type: ActorType;
  /** User id or API key id; "system" / "anonymous" for the others. */
  id: string;
}

export const SYSTEM_ACTOR: AuditActor = { type: "system", id: "system" };
export const ANONYMOUS_ACTOR: AuditActor = { type: "anonymous", id: "anonymous" };

/** The actor of a request: its user, its API key, or anonymous. */
export function actorOf(principal: Principal | undefined | null): AuditActor {
  if (!principal) return ANONYMOUS_ACTOR;
  return principal.kind === "api_key" ? { type: "api_key", id: principal.keyId! } : { type: "user", id: principal.userId };
}

/**
 * Who is acting, and from where: what a service needs to stamp `created_by` and to write its audit event
 * inside its own transaction (so the change and its record commit together, or neither does).
 */
export interface Acting {
  actor: AuditActor;
  /** The user behind the actor (an API key acts as its creator); null for the system. */
  userId: string | null;
  ip: string | null;
  /** May submit task types that run commands on the server's host (`shell`); absent = no limit (system, CLI). */
  hostCommands?: boolean;
  /** The request's correlation id: tasks submitted on its behalf carry it. */
  correlationId?: string;
}

/** Records `action` on `resource` by `acting`, if someone is acting (engine-internal calls pass nothing). */
export function audited(deps: AuditDeps, acting: Acting | undefined, action: string, resource: { type: string; id?: string | null }, details?: Record<string, unknown>): void {
  if (acting) recordAudit(deps, { actor: acting.actor, action, resource, ip: acting.ip, details: details ?? null });
}

/** 403 unless `acting` may submit a task of `taskType` (one that runs commands on the host needs --shell-role). */
export function assertMayRun(acting: Acting | undefined, taskType: string, runsOnHost: boolean, where = ""): void {
  if (!runsOnHost || !acting || acting.hostCommands !== false) return;
  throw new AppError(
    403,
    "forbidden",
    `${where}'${taskType}' tasks run commands on the server's host, which can read its database and keys: they need the role set by --shell-role (admin unless an admin allows operators)`,
  );
}

export interface AuditEvent {
  actor: AuditActor;
  /** `noun.verb`: `auth.login`, `auth.login_failed`, `user.created`, `api_key.revoked`, `task.created` … */
  action: string;
  resource?: { type: string; id?: string | null } | null;
  ip?: string | null;
  details?: Record<string, unknown> | null;
}

export function recordAudit(deps: AuditDeps, event: AuditEvent): void {
  deps.db.sqlite
    .query(
      `INSERT INTO audit_events (at, actor, actor_type, action, resource_type, resource_id, ip, details)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      (deps.clock ?? Date.now)(),
      event.actor.id,
      event.actor.type,
      event.action,
      event.resource?.type ?? null,
      event.resource?.id ?? null,
      event.ip ?? null,
      event.details ? JSON.stringify(event.details) : null,
    );
}

export interface AuditQuery {
  page: number;
  per_page: number;
  actor?: string;
  /** Exact (`auth.login`) or a prefix ending in `*` (`auth.*`). */
  action?: string;
  /** A resource type (`user`) or `type:id` (`user:0190…`). */
  resource?: string;
  /** Epoch ms bounds (inclusive, exclusive). */
  since?: number;
  until?: number;
}

export interface AuditEventJson {
  id: number;
  at: string;
  actor: string;
  actor_type: ActorType;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  ip: string | null;
  details: Record<string, unknown> | null;
}

export function auditToJson(row: AuditEventRow | RawAuditRow): AuditEventJson {
  return {
    id: row.id,
    at: new Date(row.at).toISOString(),
    actor: row.actor,
    actor_type: row.actor_type,
    action: row.action,
    resource_type: row.resource_type,
    resource_id: row.resource_id,
    ip: row.ip,
    details: typeof row.details === "string" ? (JSON.parse(row.details) as Record<string, unknown>) : (row.details ?? null),
  };
}

type RawAuditRow = Omit<AuditEventRow, "details"> & { details: string | null };

/** Newest first; every filter is a bound parameter and each one has an index that starts with it. */
export function listAudit(deps: AuditDeps, q: AuditQuery) {
  const where: string[] = [];
  const params: Array<string | number> = [];
  if (q.actor) {
    where.push("actor = ?");
    params.push(q.actor);
  }
  if (q.action) {
    if (q.action.endsWith("*")) {
      const prefix = q.action.slice(0, -1);
      // Range instead of LIKE: no escaping to get wrong, and the action index serves it.
      where.push("action >= ? AND action < ?");
      params.push(prefix, `${prefix}\u{10FFFF}`);
    } else {
      where.push("action = ?");
      params.push(q.action);
    }
  }
  if (q.resource) {
    const colon = q.resource.indexOf(":");
    if (colon === -1) {
      where.push("resource_type = ?");
      params.push(q.resource);
    } else {
      where.push("resource_type = ? AND resource_id = ?");
      params.push(q.resource.slice(0, colon), q.resource.slice(colon + 1));
    }
  }
  if (q.since !== undefined) {
    where.push("at >= ?");
    params.push(q.since);
  }
  if (q.until !== undefined) {
    where.push("at < ?");
    params.push(q.until);
  }
  const clause = where.length ? `WHERE ${where.join(" AND ")}` : "";
  const rows = deps.db.sqlite
    .query<RawAuditRow, Array<string | number>>(`SELECT * FROM audit_events ${clause} ORDER BY at DESC, id DESC LIMIT ? OFFSET ?`)
    .all(...params, q.per_page, (q.page - 1) * q.per_page);
  const total = deps.db.sqlite.query<{ n: number }, Array<string | number>>(`SELECT COUNT(*) AS n FROM audit_events ${clause}`).get(...params)?.n ?? 0;
  return { items: rows.map(auditToJson), total, page: q.page, per_page: q.per_page };
}
