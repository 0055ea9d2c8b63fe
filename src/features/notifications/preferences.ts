// Each person's notification preferences (the Settings page, /api/v1/users/me/notifications): which events
// reach them — a question waiting for them, a task of theirs failed, an alert — and how: in the app, by
// email (to a verified address), or to their own webhook (its URL and key in the encrypted secrets store).
import { z } from "zod";
import type { Db } from "../../db/client.ts";
import { invalid } from "../../errors.ts";
import type { Acting } from "../audit/service.ts";
import { audited } from "../audit/service.ts";
import type { SecretsLike } from "../alerts/webhooks.ts";
import { urlHint } from "../alerts/webhooks.ts";

export const EVENTS = ["question", "task_failed", "alert"] as const;
export const CHANNELS = ["in_app", "email", "webhook"] as const;
export type NotificationEvent = (typeof EVENTS)[number];
export type Channel = (typeof CHANNELS)[number];

const Channels = z.strictObject({ in_app: z.boolean().default(true), email: z.boolean().default(false), webhook: z.boolean().default(false) });
export const Preferences = z.strictObject({
  question: Channels.default({ in_app: true, email: false, webhook: false }).describe("A question waits for a person on a task of mine (or on a task nobody owns, for operators and admins)"),
  task_failed: Channels.default({ in_app: true, email: false, webhook: false }).describe("A task I created failed or timed out (a plan run once, not each step)"),
  alert: Channels.default({ in_app: true, email: false, webhook: false }).describe("An alert fired or resolved"),
});
export type Preferences = z.infer<typeof Preferences>;

export const PreferencesBody = z.strictObject({
  question: Channels.partial().optional(),
  task_failed: Channels.partial().optional(),
  alert: Channels.partial().optional(),
  webhook_url: z.url({ protocol: /^https?$/, message: "must be an http(s) URL" }).max(2000).nullish().describe("Where the webhook channel POSTs (JSON, like the alert webhooks); null removes it"),
  webhook_secret: z.string().min(4).max(1000).nullish().describe("HMAC-SHA256 key of your webhook (X-AgentVine-Signature); null removes it"),
});
export type PreferencesBody = z.infer<typeof PreferencesBody>;

export const PreferencesOut = Preferences.extend({
  webhook_url_hint: z.string().nullable(),
  webhook_signed: z.boolean(),
  email: z.string().nullable(),
  email_verified: z.boolean().describe("Email goes to verified addresses only"),
});
export type PreferencesJson = z.infer<typeof PreferencesOut>;

const key = (id: string) => id.replace(/-/g, "");
export const userWebhookUrlSecret = (userId: string) => `AGENTVINE_USER_WEBHOOK_URL_${key(userId)}`;
export const userWebhookKeySecret = (userId: string) => `AGENTVINE_USER_WEBHOOK_KEY_${key(userId)}`;

export interface PreferenceDeps {
  db: Db;
  secrets: SecretsLike;
  clock?: () => number;
}

interface UserBits {
  id: string;
  email: string | null;
  is_verified: number;
  settings: string;
}

function userBits(db: Db, userId: string): UserBits | null {
  return db.sqlite.query<UserBits, [string]>("SELECT id, email, is_verified, settings FROM users WHERE id = ?").get(userId);
}

function stored(u: UserBits): { prefs: Preferences; hint: string | null } {
  const settings = JSON.parse(u.settings) as { notifications?: unknown; notification_webhook?: string };
  const parsed = Preferences.safeParse(settings.notifications ?? {});
  return { prefs: parsed.success ? parsed.data : Preferences.parse({}), hint: settings.notification_webhook ?? null };
}

export function preferencesOf(deps: PreferenceDeps, userId: string): PreferencesJson {
  const u = userBits(deps.db, userId);
  if (!u) return { ...Preferences.parse({}), webhook_url_hint: null, webhook_signed: false, email: null, email_verified: false };
  const { prefs, hint } = stored(u);
  const hasUrl = Boolean(deps.secrets.reveal(userWebhookUrlSecret(userId)));
  return { ...prefs, webhook_url_hint: hasUrl ? hint : null, webhook_signed: Boolean(deps.secrets.reveal(userWebhookKeySecret(userId))), email: u.email, email_verified: u.is_verified === 1 };
}

function putSecret(deps: PreferenceDeps, name: string, value: string | null, acting: Acting) {
  const exists = deps.secrets.list().some((s) => s.name === name);
  if (value === null) {
    if (exists) deps.secrets.delete(name, acting.actor, acting.ip);
  } else if (exists) deps.secrets.update(name, { value }, acting.actor, acting.ip);
  else deps.secrets.create(name, value, acting.actor, acting.ip);
}

/** Saves the user's preferences (a partial change merges); the webhook channel needs a URL. */
export function savePreferences(deps: PreferenceDeps, userId: string, body: PreferencesBody, acting: Acting): PreferencesJson {
  const u = userBits(deps.db, userId);
  if (!u) throw invalid("no such user");
  const { prefs } = stored(u);
  const next: Preferences = {
    question: { ...prefs.question, ...body.question },
    task_failed: { ...prefs.task_failed, ...body.task_failed },
    alert: { ...prefs.alert, ...body.alert },
  };
  const willHaveUrl = body.webhook_url === undefined ? Boolean(deps.secrets.reveal(userWebhookUrlSecret(userId))) : Boolean(body.webhook_url);
  const needUrl = EVENTS.filter((e) => next[e].webhook);
  if (needUrl.length && !willHaveUrl) {
    throw invalid("The webhook channel needs your webhook's URL", [
      { field: "webhook_url", message: `required while ${needUrl.map((e) => `${e}.webhook`).join(", ")} ${needUrl.length === 1 ? "is" : "are"} on` },
    ]);
  }
  if (body.webhook_url !== undefined) putSecret(deps, userWebhookUrlSecret(userId), body.webhook_url ?? null, acting);
  if (body.webhook_secret !== undefined) putSecret(deps, userWebhookKeySecret(userId), body.webhook_secret ?? null, acting);
  const now = (deps.clock ?? Date.now)();
  deps.db.sqlite
    .transaction(() => {
      const row = userBits(deps.db, userId)!;
      const settings = JSON.parse(row.settings) as Record<string, unknown>;
      settings.notifications = next;
      if (body.webhook_url !== undefined) {
        if (body.webhook_url) settings.notification_webhook = urlHint(body.webhook_url);
        else delete settings.notification_webhook;
      }
      deps.db.sqlite.query("UPDATE users SET settings = ?, updated_at = ? WHERE id = ?").run(JSON.stringify(settings), now, userId);
      audited(deps, acting, "user.notifications_changed", { type: "user", id: userId }, { notifications: next, webhook: body.webhook_url === undefined ? "unchanged" : body.webhook_url ? "set" : "removed" });
    })
    .immediate();
  return preferencesOf(deps, userId);
}

/** Who wants `event`, with their channels and where email may go. */
export function subscribers(db: Db, userIds: string[], event: NotificationEvent): Array<{ id: string; channels: Preferences[NotificationEvent]; email: string | null }> {
  const out = [];
  for (const id of userIds) {
    const u = db.sqlite.query<UserBits & { is_active: number }, [string]>("SELECT id, email, is_verified, settings, is_active FROM users WHERE id = ?").get(id);
    if (!u || !u.is_active) continue;
    const channels = stored(u).prefs[event];
    if (!channels.in_app && !channels.email && !channels.webhook) continue;
    out.push({ id, channels, email: u.is_verified === 1 ? u.email : null });
  }
  return out;
}
