// Who an audit event's actor is, for people: a user's username, an API key's name (with its owner), or
// the actor as stored (`cli`, `system`). Used wherever audit rows are shown (the audit log, secrets).
import type { ActorLabel } from "../../../views/audit/audit.tsx";
import { listApiKeys } from "../auth/api-keys.ts";
import type { AuthDeps } from "../auth/auth-services.ts";
import { getUserRecord } from "../auth/users.ts";
import type { AuditEventJson } from "./service.ts";

/** Names for the actors of `events`: usernames, API key names (with their owner), or the actor as stored. */
export function actorLabels(auth: AuthDeps, events: AuditEventJson[]): (e: AuditEventJson) => ActorLabel {
  const users = new Map<string, string | null>();
  const username = (id: string) => {
    if (!users.has(id)) users.set(id, getUserRecord(auth, id)?.username ?? null);
    return users.get(id) ?? null;
  };
  let keys: Map<string, { name: string; user_id: string }> | null = null;
  const key = (id: string) => {
    if (!keys) {
      keys = new Map();
      for (let page = 1; ; page++) {
        const { items, total } = listApiKeys(auth, { page, per_page: 100, include_revoked: true });
        for (const k of items) keys.set(k.id, k);
        if (page * 100 >= total) break;
      }
    }
    return keys.get(id) ?? null;
  };
  const labels = new Map<string, ActorLabel>();
  for (const e of events) {
    const id = `${e.actor_type}:${e.actor}`;
    if (labels.has(id)) continue;
    if (e.actor_type === "user") labels.set(id, { label: username(e.actor) ?? `deleted user ${e.actor.slice(-8)}` });
    else if (e.actor_type === "api_key") {
      const k = key(e.actor);
      labels.set(id, k ? { label: `key “${k.name}”`, via: username(k.user_id) ?? undefined } : { label: `key ${e.actor.slice(-8)}` });
    } else labels.set(id, { label: e.actor });
  }
  return (e) => labels.get(`${e.actor_type}:${e.actor}`)!;
}

