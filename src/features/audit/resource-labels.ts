// What an audit event's resource is, for people: a task's title, a plan's or worker's name, a user's
// username, a key's name — and where it lives in the UI (null when it is gone or has no page).
import type { Db } from "../../db/client.ts";
import type { ResourceLabel } from "../../../views/audit/audit.tsx";
import type { AuditEventJson } from "./service.ts";

const LOOKUPS: Record<string, { sql: string; href: (id: string) => string | null }> = {
  task: { sql: "SELECT id, title AS name FROM tasks WHERE id IN (SELECT value FROM json_each(?))", href: (id) => `/tasks/${id}` },
  plan: { sql: "SELECT id, name FROM plans WHERE id IN (SELECT value FROM json_each(?))", href: (id) => `/plans/${id}` },
  user: { sql: "SELECT id, username AS name FROM users WHERE id IN (SELECT value FROM json_each(?))", href: () => "/users" },
  api_key: { sql: "SELECT id, name FROM api_keys WHERE id IN (SELECT value FROM json_each(?))", href: () => "/api-keys" },
  worker: { sql: "SELECT id, name FROM workers WHERE id IN (SELECT value FROM json_each(?))", href: (id) => `/workers/${id}` },
};

/** Labels for the resources of `events`, one query per resource type on the page. */
export function resourceLabels(db: Db, events: AuditEventJson[]): (e: AuditEventJson) => ResourceLabel | null {
  const found = new Map<string, string>();
  const byType = new Map<string, Set<string>>();
  for (const e of events) if (e.resource_type && e.resource_id && LOOKUPS[e.resource_type]) (byType.get(e.resource_type) ?? byType.set(e.resource_type, new Set()).get(e.resource_type)!).add(e.resource_id);
  for (const [type, ids] of byType) {
    for (const row of db.sqlite.query<{ id: string; name: string }, [string]>(LOOKUPS[type]!.sql).all(JSON.stringify([...ids]))) found.set(`${type}:${row.id}`, row.name);
  }
  return (e) => {
    if (!e.resource_type || !e.resource_id) return null;
    if (e.resource_type === "secret") return { name: e.resource_id, href: "/secrets" };
    const name = found.get(`${e.resource_type}:${e.resource_id}`);
    // Gone since (a deleted task or plan): the name the event itself recorded, if any, and no link.
    if (name === undefined) {
      const recorded = typeof e.details?.name === "string" ? e.details.name : typeof e.details?.title === "string" ? e.details.title : null;
      return recorded ? { name: recorded, href: null, gone: true } : null;
    }
    return { name, href: LOOKUPS[e.resource_type]?.href(e.resource_id) ?? null };
  };
}
