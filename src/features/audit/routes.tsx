/** @jsxImportSource hono/jsx */
// /audit (admins): the audit log as a filterable, paginated table, newest first. Read-only: this router
// has a GET and nothing else. Actors are shown by name (a user's username, an API key's name).
import { Hono, type Context } from "hono";
import { fragment, htmxTarget, page } from "../../pages/render.tsx";
import { AuditList, AuditPage, type AuditFilters, type AuditRow } from "../../../views/audit/audit.tsx";
import type { AuthDeps } from "../auth/auth-services.ts";
import { findUserByLogin } from "../auth/users.ts";
import { actorLabels } from "./actor-labels.ts";
import { resourceLabels } from "./resource-labels.ts";
import { listAudit, type AuditQuery } from "./service.ts";

type Ctx = Context;

const PER_PAGE = 50;
const RESOURCE_TYPES = ["user", "api_key", "secret", "task", "plan", "worker", "queue"];

/** A datetime-local value (`2026-01-31T09:30`) or a date, read as UTC; a full ISO time as written. */
export function parseUtc(value: string): number | undefined {
  const v = value.trim();
  if (!v) return undefined;
  const local = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?)?$/.test(v);
  const ms = Date.parse(local ? (v.includes("T") ? `${v}Z` : `${v}T00:00Z`) : v);
  return Number.isFinite(ms) ? ms : undefined;
}

const text = (v: string | undefined, max: number) => (v?.trim() ? v.trim().slice(0, max) : undefined);

/** Filters from the query string, leniently: a time that does not parse is dropped, not an error page. */
function filtersOf(c: Ctx): AuditFilters {
  const q = c.req.query();
  const n = Number(q.page);
  return {
    action: text(q.action, 100),
    actor: text(q.actor, 200),
    resource: text(q.resource, 300),
    since: q.since && parseUtc(q.since) !== undefined ? q.since.trim() : undefined,
    until: q.until && parseUtc(q.until) !== undefined ? q.until.trim() : undefined,
    page: Number.isInteger(n) && n >= 1 ? Math.min(n, 1_000_000) : 1,
    per_page: PER_PAGE,
  };
}

function queryOf(auth: AuthDeps, f: AuditFilters): AuditQuery {
  // People type a username; the log stores the user's id.
  const user = f.actor ? findUserByLogin(auth, f.actor) : null;
  return {
    page: f.page,
    per_page: f.per_page,
    action: f.action,
    actor: user ? user.id : f.actor,
    resource: f.resource,
    since: f.since ? parseUtc(f.since) : undefined,
    until: f.until ? parseUtc(f.until) : undefined,
  };
}

function auditList(auth: AuthDeps, filters: AuditFilters) {
  const result = listAudit(auth, queryOf(auth, filters));
  const who = actorLabels(auth, result.items);
  const what = resourceLabels(auth.db, result.items);
  const items: AuditRow[] = result.items.map((e) => ({ ...e, who: who(e), what: what(e) }));
  return { filters, items, total: result.total };
}

export const auditRoutes = new Hono().get("/", (c) => {
  const list = auditList(c.get("auth"), filtersOf(c));
  if (htmxTarget(c) === "audit-list") return fragment(c, <AuditList {...list} />);
  return page(c, { title: "Audit log", active: "audit" }, <AuditPage {...list} resourceTypes={RESOURCE_TYPES} />);
});
