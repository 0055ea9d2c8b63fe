// A webhook on each question that waits for a human: generic JSON, signed with HMAC-SHA256 when a secret
// is set (`X-AgentVine-Signature: sha256=<hex of the body>`), retried with backoff, never blocking the
// question (delivery runs on its own; failures are logged).
import { createHmac } from "node:crypto";
import { logger } from "../../log.ts";
import type { RequestJson } from "./requests.ts";

const log = logger("webhook");

export interface WebhookSettings {
  url: string;
  /** HMAC key; unsigned without one. */
  secret: string | null;
}

export interface WebhookDelivery {
  id: string;
  event: string;
  ok: boolean;
  status: number | null;
  attempts: number;
  error?: string;
}

export function signature(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/**
 * POSTs `payload` to the webhook: up to `attempts` tries, backing off 0.5 s, 1 s, 2 s … on a network
 * error, a 429 or a 5xx; a 4xx is final (the receiver refused this payload). Resolves with what happened.
 */
export async function deliverWebhook(
  settings: WebhookSettings,
  event: string,
  payload: unknown,
  options: {
    attempts?: number;
    baseMs?: number;
    timeoutMs?: number;
    /** The delivery's id (X-AgentVine-Delivery): a durable sender keeps it across its rounds, so receivers can drop repeats. */
    id?: string;
    /** Send `payload` as the whole body (a Slack message) instead of inside `{id, event, sent_at, …}`. */
    raw?: boolean;
  } = {},
): Promise<WebhookDelivery> {
  const id = options.id ?? Bun.randomUUIDv7();
  const body = JSON.stringify(options.raw ? payload : { id, event, sent_at: new Date().toISOString(), ...((payload as object) ?? {}) });
  const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "AgentVine-Webhook", "x-agentvine-event": event, "x-agentvine-delivery": id };
  if (settings.secret) headers["x-agentvine-signature"] = signature(settings.secret, body);
  const attempts = options.attempts ?? 4;
  let last: WebhookDelivery = { id, event, ok: false, status: null, attempts: 0 };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const res = await fetch(settings.url, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
      await res.body?.cancel();
      last = { id, event, ok: res.ok, status: res.status, attempts: attempt };
      if (res.ok || (res.status < 500 && res.status !== 429)) break;
      last.error = `answered ${res.status}`;
    } catch (err) {
      last = { id, event, ok: false, status: null, attempts: attempt, error: (err as Error).message };
    }
    if (attempt < attempts) await Bun.sleep((options.baseMs ?? 500) * 2 ** (attempt - 1));
  }
  if (!last.ok) log.warn(`webhook ${event} to ${settings.url} failed after ${last.attempts} attempt(s): ${last.error ?? `status ${last.status}`}`);
  return last;
}

/** The webhook of a question that waits for a human: what it asks, its route, its task and the Inbox link. */
export function questionWaiting(settings: WebhookSettings, request: Pick<RequestJson, "id" | "question" | "options" | "category" | "deadline_at" | "route" | "escalation_reason">, task: { id: string; title: string; task_type: string; repository_url: string | null }, baseUrl: string | null) {
  return deliverWebhook(settings, "question.waiting", {
    request: { id: request.id, question: request.question, options: request.options, category: request.category, deadline_at: request.deadline_at, route: request.route, escalation_reason: request.escalation_reason },
    task: { id: task.id, title: task.title, task_type: task.task_type, repository_url: task.repository_url },
    url: baseUrl ? `${baseUrl}/inbox#request-${request.id}` : null,
  });
}
