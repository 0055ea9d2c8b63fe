// The outbox: webhook posts and emails written in the transaction of what they announce (an alert firing,
// a person's notification), then delivered after it — at once, again in rounds while they fail, and again
// after a restart — so nothing announced is lost to a crash or a receiver that was down for a while.
import type { Db } from "../../db/client.ts";
import { logger } from "../../log.ts";
import { deliverWebhook, type WebhookSettings } from "../controller/webhook.ts";

const log = logger("outbox");

export type OutboxChannel = "webhook" | "email";

export interface OutboxItem {
  channel: OutboxChannel;
  /** A webhook target (`alert_webhook:<id>`, `user:<id>`) or an email address. */
  target: string;
  /** `alert.firing`, `alert.resolved`, `notification.question` … */
  event: string;
  /** Webhooks: the JSON sent (its `text` is the Slack message). Emails: `{subject, text, html?}`. */
  payload: Record<string, unknown>;
  /** What it is about (`alert:<id>`, `notification:<id>`): the Alerts page lists an alert's deliveries. */
  source?: string;
}

export interface OutboxRow {
  id: string;
  channel: OutboxChannel;
  target: string;
  event: string;
  payload: string;
  source: string | null;
  status: "pending" | "sent" | "failed";
  attempts: number;
  response_status: number | null;
  last_error: string | null;
  next_attempt_at: number;
  created_at: number;
  sent_at: number | null;
}

/** Writes one delivery; call it inside the transaction of the change it announces. */
export function enqueueOutbox(db: Db, item: OutboxItem, now: number): string {
  const id = Bun.randomUUIDv7();
  db.sqlite
    .query("INSERT INTO outbox (id, channel, target, event, payload, source, status, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)")
    .run(id, item.channel, item.target, item.event, JSON.stringify(item.payload), item.source ?? null, now);
  return id;
}

export interface WebhookTarget {
  settings: WebhookSettings;
  format: "json" | "slack";
}

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

export interface MailSender {
  send(message: MailMessage): Promise<void>;
}

export interface OutboxResolvers {
  /** The URL, secret and format of a webhook target; null when it is gone or turned off. */
  webhook(target: string): WebhookTarget | null;
  /** The mailer, or null while SMTP is not configured. */
  mailer(): MailSender | null;
}

/** A Slack incoming webhook's message: the text, and a link under it. */
export function slackMessage(payload: Record<string, unknown>): Record<string, unknown> {
  const text = String(payload.text ?? payload.event ?? "AgentVine");
  const url = typeof payload.url === "string" ? payload.url : null;
  return {
    text,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text } },
      ...(url ? [{ type: "context", elements: [{ type: "mrkdwn", text: `<${url}|Open in AgentVine>` }] }] : []),
    ],
  };
}

export interface OutboxOptions {
  /** Rounds of delivery before a row is given up (each round is a few quick tries). */
  maxRounds?: number;
  /** Between rounds. */
  retryMs?: number;
  /** The webhook's quick retries' first wait (tests make it tiny). */
  baseMs?: number;
}

export class OutboxDeliverer {
  #running: Promise<void> | null = null;
  #again = false;
  #timer: ReturnType<typeof setInterval> | null = null;
  #stopped = false;

  constructor(
    private readonly deps: { db: Db; clock?: () => number },
    private readonly resolvers: OutboxResolvers,
    private readonly options: OutboxOptions = {},
  ) {}

  start(): void {
    this.#timer = setInterval(() => this.kick(), this.options.retryMs ?? 60_000);
    this.#timer.unref?.();
    this.kick(); // what a crash left pending
  }

  /** No new rounds; resolves once the delivery in flight is recorded (what is left stays pending for the next start). */
  stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    return this.idle();
  }

  /** Delivers what is pending, soon (coalesced; a kick while a round runs makes it run again). */
  kick(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        try {
          await this.deliverPending();
        } catch (err) {
          log.error("outbox round failed:", err);
        }
      } while (this.#again);
      this.#running = null;
    })();
  }

  /** Resolves when the round in progress (if any) is over. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** One round over the pending rows whose turn has come at `now`, oldest first. Returns how many were sent. */
  async deliverPending(now = (this.deps.clock ?? Date.now)()): Promise<number> {
    const rows = this.deps.db.sqlite
      .query<OutboxRow, [number]>("SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, created_at, id LIMIT 200")
      .all(now);
    let sent = 0;
    for (const row of rows) {
      if (this.#stopped) break;
      if (await this.#deliver(row)) sent++;
    }
    return sent;
  }

  async #deliver(row: OutboxRow): Promise<boolean> {
    const payload = JSON.parse(row.payload) as Record<string, unknown>;
    let ok = false;
    let status: number | null = null;
    let error: string | null = null;
    let final = false;
    try {
      if (row.channel === "webhook") {
        const target = this.resolvers.webhook(row.target);
        if (!target) {
          error = "the webhook no longer exists or is turned off";
          final = true;
        } else {
          const body = target.format === "slack" ? slackMessage(payload) : payload;
          const result = await deliverWebhook(target.settings, row.event, body, { id: row.id, raw: target.format === "slack", attempts: 3, baseMs: this.options.baseMs });
          ok = result.ok;
          status = result.status;
          error = ok ? null : (result.error ?? `answered ${result.status}`);
          // A 4xx other than 429 is the receiver refusing this payload: trying again cannot help.
          final = !ok && result.status !== null && result.status < 500 && result.status !== 429;
        }
      } else {
        const mailer = this.resolvers.mailer();
        if (!mailer) error = "email is not configured (SMTP settings)";
        else {
          await mailer.send({ to: row.target, subject: String(payload.subject), text: String(payload.text), html: typeof payload.html === "string" ? payload.html : undefined });
          ok = true;
        }
      }
    } catch (err) {
      error = (err as Error).message;
    }
    const now = (this.deps.clock ?? Date.now)();
    const attempts = row.attempts + 1;
    const next = ok ? "sent" : final || attempts >= (this.options.maxRounds ?? 3) ? "failed" : "pending";
    this.deps.db.sqlite
      .query("UPDATE outbox SET status = ?, attempts = ?, response_status = ?, last_error = ?, sent_at = ?, next_attempt_at = ? WHERE id = ? AND status = 'pending'")
      .run(next, attempts, status, error ? error.slice(0, 1000) : null, ok ? now : null, now + (this.options.retryMs ?? 60_000), row.id);
    if (!ok) log.warn(`${row.channel} ${row.event} to ${row.channel === "email" ? row.target : row.target.split(":")[0]} ${next === "failed" ? "given up" : "will be retried"}: ${error}`);
    return ok;
  }
}

export function outboxOf(db: Db, source: string): OutboxRow[] {
  return db.sqlite.query<OutboxRow, [string]>("SELECT * FROM outbox WHERE source = ? ORDER BY created_at, id").all(source);
}
