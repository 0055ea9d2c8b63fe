// The webhooks alerts go to: a name, a format (generic JSON, or a Slack-compatible message) and whether it
// is on. The URL (a Slack URL is itself a credential) and the HMAC key live in the encrypted secrets store;
// the table keeps only a hint of the URL for the pages.
import type { Db } from "../../db/client.ts";
import { conflict, notFound } from "../../errors.ts";
import { iso } from "../../engine/task-record.ts";
import { audited, type Acting } from "../audit/service.ts";
import type { WebhookTarget } from "../notify/outbox.ts";

export interface SecretsLike {
  reveal(name: string): string | undefined;
  list(): Array<{ name: string }>;
  create(name: string, value: string, actor: Acting["actor"], ip?: string | null): unknown;
  update(name: string, change: { value?: string }, actor: Acting["actor"], ip?: string | null): unknown;
  delete(name: string, actor: Acting["actor"], ip?: string | null): void;
}

export interface WebhookDeps {
  db: Db;
  secrets: SecretsLike;
  clock?: () => number;
}

export interface AlertWebhookRow {
  id: string;
  name: string;
  url: string;
  format: "json" | "slack";
  enabled: number;
  created_by: string | null;
  created_at: number;
  updated_at: number;
}

export interface AlertWebhookJson {
  id: string;
  name: string;
  url_hint: string;
  format: "json" | "slack";
  enabled: boolean;
  signed: boolean;
  created_at: string;
  updated_at: string;
}

const key = (id: string) => id.replace(/-/g, "");
export const webhookUrlSecret = (id: string) => `AGENTVINE_ALERT_WEBHOOK_URL_${key(id)}`;
export const webhookKeySecret = (id: string) => `AGENTVINE_ALERT_WEBHOOK_KEY_${key(id)}`;

/** What the pages show of a URL: its origin and the start of its path. */
export function urlHint(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname.length > 1 ? `/${u.pathname.split("/")[1]}/…` : "/"}`;
}

/** Sets, replaces or removes (value null) a secret the server keeps for itself. */
function putSecret(deps: WebhookDeps, name: string, value: string | null, acting: Acting) {
  const exists = deps.secrets.list().some((s) => s.name === name);
  if (value === null) {
    if (exists) deps.secrets.delete(name, acting.actor, acting.ip);
  } else if (exists) deps.secrets.update(name, { value }, acting.actor, acting.ip);
  else deps.secrets.create(name, value, acting.actor, acting.ip);
}

function toJson(deps: WebhookDeps, r: AlertWebhookRow): AlertWebhookJson {
  return { id: r.id, name: r.name, url_hint: r.url, format: r.format, enabled: Boolean(r.enabled), signed: Boolean(deps.secrets.reveal(webhookKeySecret(r.id))), created_at: iso(r.created_at)!, updated_at: iso(r.updated_at)! };
}

export function listAlertWebhooks(deps: WebhookDeps): AlertWebhookJson[] {
  return deps.db.sqlite.query<AlertWebhookRow, []>("SELECT * FROM alert_webhooks ORDER BY name").all().map((r) => toJson(deps, r));
}

function requireWebhook(deps: WebhookDeps, id: string): AlertWebhookRow {
  const row = deps.db.sqlite.query<AlertWebhookRow, [string, string]>("SELECT * FROM alert_webhooks WHERE id = ? OR name = ?").get(id, id);
  if (!row) throw notFound("webhook", id);
  return row;
}

export interface WebhookInput {
  name: string;
  url: string;
  format: "json" | "slack";
  enabled: boolean;
  secret?: string | null;
}

export function createAlertWebhook(deps: WebhookDeps, input: WebhookInput, acting: Acting): AlertWebhookJson {
  const id = Bun.randomUUIDv7();
  const now = (deps.clock ?? Date.now)();
  if (deps.db.sqlite.query("SELECT 1 FROM alert_webhooks WHERE name = ?").get(input.name)) throw conflict(`A webhook named '${input.name}' exists`, [{ field: "name", message: "already taken" }]);
  // The secrets first (each its own audited write), then the row: a row never points at a missing URL.
  putSecret(deps, webhookUrlSecret(id), input.url, acting);
  if (input.secret) putSecret(deps, webhookKeySecret(id), input.secret, acting);
  deps.db.sqlite
    .transaction(() => {
      deps.db.sqlite
        .query("INSERT INTO alert_webhooks (id, name, url, format, enabled, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .run(id, input.name, urlHint(input.url), input.format, input.enabled ? 1 : 0, acting.userId, now, now);
      audited(deps, acting, "alert_webhook.created", { type: "alert_webhook", id }, { name: input.name, format: input.format, url: urlHint(input.url) });
    })
    .immediate();
  return toJson(deps, requireWebhook(deps, id));
}

export function updateAlertWebhook(deps: WebhookDeps, idOrName: string, patch: Partial<WebhookInput>, acting: Acting): AlertWebhookJson {
  const row = requireWebhook(deps, idOrName);
  const now = (deps.clock ?? Date.now)();
  if (patch.name && patch.name !== row.name && deps.db.sqlite.query("SELECT 1 FROM alert_webhooks WHERE name = ?").get(patch.name)) {
    throw conflict(`A webhook named '${patch.name}' exists`, [{ field: "name", message: "already taken" }]);
  }
  if (patch.url) putSecret(deps, webhookUrlSecret(row.id), patch.url, acting);
  if (patch.secret !== undefined) putSecret(deps, webhookKeySecret(row.id), patch.secret || null, acting);
  deps.db.sqlite
    .transaction(() => {
      deps.db.sqlite
        .query("UPDATE alert_webhooks SET name = ?, url = ?, format = ?, enabled = ?, updated_at = ? WHERE id = ?")
        .run(patch.name ?? row.name, patch.url ? urlHint(patch.url) : row.url, patch.format ?? row.format, patch.enabled === undefined ? row.enabled : patch.enabled ? 1 : 0, now, row.id);
      audited(deps, acting, "alert_webhook.updated", { type: "alert_webhook", id: row.id }, { changed: Object.keys(patch).filter((k) => k !== "secret" && k !== "url").concat(patch.url ? ["url"] : [], patch.secret !== undefined ? ["secret"] : []) });
    })
    .immediate();
  return toJson(deps, requireWebhook(deps, row.id));
}

export function deleteAlertWebhook(deps: WebhookDeps, idOrName: string, acting: Acting): void {
  const row = requireWebhook(deps, idOrName);
  deps.db.sqlite
    .transaction(() => {
      deps.db.sqlite.query("DELETE FROM alert_webhooks WHERE id = ?").run(row.id);
      audited(deps, acting, "alert_webhook.deleted", { type: "alert_webhook", id: row.id }, { name: row.name });
    })
    .immediate();
  putSecret(deps, webhookUrlSecret(row.id), null, acting);
  putSecret(deps, webhookKeySecret(row.id), null, acting);
}

export function getAlertWebhook(deps: WebhookDeps, idOrName: string): AlertWebhookJson {
  return toJson(deps, requireWebhook(deps, idOrName));
}

/** The enabled webhooks' outbox targets. */
export function enabledWebhookTargets(db: Db): string[] {
  return db.sqlite.query<{ id: string }, []>("SELECT id FROM alert_webhooks WHERE enabled = 1 ORDER BY name").all().map((r) => `alert_webhook:${r.id}`);
}

/** Resolves an `alert_webhook:<id>` target for the outbox (null once deleted, turned off or without its URL). */
export function resolveAlertWebhook(deps: WebhookDeps, target: string, includeDisabled = false): WebhookTarget | null {
  const id = target.slice("alert_webhook:".length);
  const row = deps.db.sqlite.query<AlertWebhookRow, [string]>("SELECT * FROM alert_webhooks WHERE id = ?").get(id);
  const url = row ? deps.secrets.reveal(webhookUrlSecret(row.id)) : undefined;
  if (!row || (!row.enabled && !includeDisabled) || !url) return null;
  return { settings: { url, secret: deps.secrets.reveal(webhookKeySecret(row.id)) ?? null }, format: row.format };
}

