// The notifier: turns events into each interested person's notifications — a question waiting for a
// person, a task of theirs that failed, an alert — by the channels they chose. One row per person and
// event (a unique index: an event announced twice reaches them once), written with its email and webhook
// outbox rows in one transaction; the in-app ones show on /notifications and in the user menu.
import type { Db } from "../../db/client.ts";
import type { EventBus, RequestEvent, TaskEvent } from "../../events/bus.ts";
import { logger } from "../../log.ts";
import type { AlertJson } from "../alerts/service.ts";
import { enqueueOutbox, type WebhookTarget } from "../notify/outbox.ts";
import type { SecretsLike } from "../alerts/webhooks.ts";
import { subscribers, userWebhookKeySecret, userWebhookUrlSecret, type NotificationEvent } from "./preferences.ts";

const log = logger("notifications");

export interface NotifierDeps {
  db: Db;
  bus: EventBus;
  secrets: SecretsLike;
  clock?: () => number;
  publicUrl?: () => string | null;
  kickOutbox?: () => void;
}

export interface Notice {
  kind: NotificationEvent;
  /** What it is about, unique per kind (`<request id>`, `<task id>`, `<alert id>:firing`). */
  ref: string;
  title: string;
  body: string;
  /** A path on this server. */
  path: string;
}

const FAILED = new Set(["failed", "timed_out"]);

export class Notifier {
  #offs: Array<() => void> = [];

  constructor(private readonly deps: NotifierDeps) {}

  start(): void {
    this.#offs.push(
      this.deps.bus.on("request:created", (e) => this.#safe(() => this.#question(e))),
      this.deps.bus.on("request:updated", (e) => this.#safe(() => this.#question(e))),
      this.deps.bus.on("task:changed", (e) => this.#safe(() => this.#taskChanged(e))),
    );
  }

  stop(): void {
    for (const off of this.#offs) off();
    this.#offs = [];
  }

  #safe(fn: () => void) {
    try {
      fn();
    } catch (err) {
      log.error("recording a notification failed:", err);
    }
  }

  #question(e: RequestEvent) {
    if (e.handler !== "human" || e.status !== "open") return;
    const row = this.deps.db.sqlite
      .query<{ question: string; task_id: string; title: string; created_by: string | null; assigned_to: string | null }, [string]>(
        "SELECT r.question, r.task_id, t.title, t.created_by, t.assigned_to FROM worker_requests r JOIN tasks t ON t.id = r.task_id WHERE r.id = ?",
      )
      .get(e.requestId);
    if (!row) return;
    // The task's people (its author, or whom it is assigned to, by id or username); a task nobody owns
    // goes to everyone who may answer.
    let owners = this.deps.db.sqlite
      .query<{ id: string }, [string | null, string | null]>("SELECT id FROM users WHERE is_active = 1 AND (id = ?1 OR id = ?2 OR username = ?2)")
      .all(row.created_by, row.assigned_to)
      .map((u) => u.id);
    if (owners.length === 0) owners = this.deps.db.sqlite.query<{ id: string }, []>("SELECT id FROM users WHERE is_active = 1 AND role IN ('operator', 'admin')").all().map((u) => u.id);
    this.record(owners, { kind: "question", ref: e.requestId, title: `A question waits for you: ${row.title}`, body: row.question.slice(0, 500), path: `/tasks/${row.task_id}` }, e.at);
  }

  #taskChanged(e: TaskEvent) {
    if (!FAILED.has(e.status)) return;
    const task = this.deps.db.sqlite
      .query<{ title: string; created_by: string | null; parent_type: string | null }, [string]>(
        "SELECT t.title, t.created_by, p.task_type AS parent_type FROM tasks t LEFT JOIN tasks p ON p.id = t.parent_task_id WHERE t.id = ?",
      )
      .get(e.taskId);
    // A plan run's step fails its run: the run says it once.
    if (!task?.created_by || task.parent_type === "plan") return;
    this.record([task.created_by], { kind: "task_failed", ref: e.taskId, title: `Task ${e.status === "timed_out" ? "timed out" : "failed"}: ${task.title}`, body: (e.error ?? "").slice(0, 500), path: `/tasks/${e.taskId}` }, e.at);
  }

  /** An alert fired or resolved: everyone who wants alerts. Runs inside the alert pass's transaction. */
  alertChanged(alert: AlertJson, at: number): void {
    const users = this.deps.db.sqlite.query<{ id: string }, []>("SELECT id FROM users WHERE is_active = 1").all().map((u) => u.id);
    const state = alert.status === "firing" ? "Firing" : "Resolved";
    this.record(users, { kind: "alert", ref: `${alert.id}:${alert.status}`, title: `${state}: ${alert.title}`, body: alert.summary, path: `/alerts#alert-${alert.id}` }, at, false);
  }

  /** Writes each subscriber's notification and its outbox rows (once per person and event). */
  record(userIds: string[], n: Notice, at: number, ownTransaction = true): number {
    const people = subscribers(this.deps.db, [...new Set(userIds)], n.kind);
    if (people.length === 0) return 0;
    const base = this.deps.publicUrl?.() ?? null;
    const url = base ? `${base}${n.path}` : null;
    let created = 0;
    const inApp: string[] = [];
    const write = () => {
      for (const p of people) {
        const id = Bun.randomUUIDv7();
        const inserted = this.deps.db.sqlite
          .query("INSERT INTO notifications (id, user_id, kind, ref, title, body, url, in_app, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
          .run(id, p.id, n.kind, n.ref, n.title, n.body, n.path, p.channels.in_app ? 1 : 0, at).changes;
        if (!inserted) continue;
        created++;
        if (p.channels.in_app) inApp.push(p.id);
        const source = `notification:${id}`;
        if (p.channels.email && p.email) {
          const text = [n.title, "", n.body, "", url ?? n.path, "", "You get this because of your notification settings in AgentVine (Settings → Notifications)."].join("\n");
          enqueueOutbox(this.deps.db, { channel: "email", target: p.email, event: `notification.${n.kind}`, payload: { subject: `[AgentVine] ${n.title}`.slice(0, 200), text }, source }, at);
        }
        if (p.channels.webhook) {
          enqueueOutbox(this.deps.db, { channel: "webhook", target: `user:${p.id}`, event: `notification.${n.kind}`, payload: { notification: { kind: n.kind, ref: n.ref, title: n.title, body: n.body }, text: n.title, url }, source }, at);
        }
      }
    };
    if (ownTransaction) this.deps.db.sqlite.transaction(write).immediate();
    else write();
    const announce = () => {
      for (const userId of inApp) this.deps.bus.emit("notification:created", { userId, kind: n.kind, at });
      this.deps.kickOutbox?.();
    };
    // Inside someone else's transaction the news waits for their commit.
    if (ownTransaction) announce();
    else queueMicrotask(announce);
    return created;
  }

  /** A person's webhook, for the outbox (null once they removed it). */
  resolveUserWebhook(target: string): WebhookTarget | null {
    const userId = target.slice("user:".length);
    const url = this.deps.secrets.reveal(userWebhookUrlSecret(userId));
    if (!url) return null;
    return { settings: { url, secret: this.deps.secrets.reveal(userWebhookKeySecret(userId)) ?? null }, format: "json" };
  }
}

export interface NotificationJson {
  id: string;
  kind: NotificationEvent;
  title: string;
  body: string | null;
  url: string | null;
  created_at: string;
  read_at: string | null;
}

export function listNotifications(db: Db, userId: string, q: { page: number; per_page: number; unread?: boolean }) {
  const filter = q.unread ? "AND read_at IS NULL" : "";
  const rows = db.sqlite
    .query<{ id: string; kind: NotificationEvent; title: string; body: string | null; url: string | null; created_at: number; read_at: number | null }, [string, number, number]>(
      `SELECT id, kind, title, body, url, created_at, read_at FROM notifications WHERE user_id = ? AND in_app = 1 ${filter} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
    )
    .all(userId, q.per_page, (q.page - 1) * q.per_page);
  const total = db.sqlite.query<{ n: number }, [string]>(`SELECT count(*) AS n FROM notifications WHERE user_id = ? AND in_app = 1 ${filter}`).get(userId)!.n;
  const items: NotificationJson[] = rows.map((r) => ({ ...r, created_at: new Date(r.created_at).toISOString(), read_at: r.read_at ? new Date(r.read_at).toISOString() : null }));
  return { items, total, page: q.page, per_page: q.per_page, unread: unreadCount(db, userId) };
}

export function unreadCount(db: Db, userId: string): number {
  return db.sqlite.query<{ n: number }, [string]>("SELECT count(*) AS n FROM notifications WHERE user_id = ? AND in_app = 1 AND read_at IS NULL").get(userId)!.n;
}

/** Marks the user's notifications read: these ids, or all of them. */
export function markRead(db: Db, userId: string, ids: string[] | null, now: number): number {
  if (ids) {
    let n = 0;
    for (const id of ids) n += db.sqlite.query("UPDATE notifications SET read_at = ? WHERE id = ? AND user_id = ? AND read_at IS NULL").run(now, id, userId).changes;
    return n;
  }
  return db.sqlite.query("UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL").run(now, userId).changes;
}
