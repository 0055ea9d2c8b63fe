// /api/v1/alerts: the alerts (pending, firing, resolved) with their webhook deliveries, the rules'
// thresholds (admins change them), and the webhooks alerts go to (admins; URLs and keys write-only).
import { Hono } from "hono";
import { z } from "zod";
import { route } from "../../http/openapi.ts";
import { listOf, Pagination } from "../../http/pagination.ts";
import { iso } from "../../engine/task-record.ts";
import { notFound } from "../../errors.ts";
import { deliverWebhook } from "../controller/webhook.ts";
import { actingOf } from "../auth/request.ts";
import { outboxOf, slackMessage } from "../notify/outbox.ts";
import { alertToJson, type AlertRow } from "./service.ts";
import { effectiveRules, RuleSettings, RULE_NAMES, RulesPatch, saveRules } from "./rules.ts";
import { createAlertWebhook, deleteAlertWebhook, getAlertWebhook, listAlertWebhooks, resolveAlertWebhook, updateAlertWebhook, type WebhookDeps } from "./webhooks.ts";

const tags = ["alerts"];

export const AlertOut = z.object({
  id: z.string(),
  rule: z.enum(RULE_NAMES as [string, ...string[]]),
  title: z.string(),
  key: z.string().describe("The subject within the rule (a worker's id), or empty"),
  status: z.enum(["pending", "firing", "resolved"]),
  severity: z.enum(["warning", "critical"]),
  summary: z.string(),
  value: z.number().nullable(),
  details: z.record(z.string(), z.unknown()).nullable(),
  pending_since: z.string(),
  fired_at: z.string().nullable(),
  resolved_at: z.string().nullable(),
  updated_at: z.string(),
});
const DeliveryOut = z.object({
  id: z.string(),
  target: z.string(),
  event: z.string(),
  status: z.enum(["pending", "sent", "failed"]),
  attempts: z.number(),
  response_status: z.number().nullable(),
  last_error: z.string().nullable(),
  created_at: z.string(),
  sent_at: z.string().nullable(),
});
const RulesOut = z.object(Object.fromEntries(RULE_NAMES.map((n) => [n, RuleSettings[n]])) as Record<string, z.ZodType>);
const url = z.url({ protocol: /^https?$/, message: "must be an http(s) URL" }).max(2000);
export const WebhookBody = z.strictObject({
  name: z.string().trim().min(1, "must not be empty").max(100),
  url: url.describe("Where alerts are POSTed; kept in the encrypted secrets store (a Slack URL is a credential)"),
  format: z.enum(["json", "slack"]).default("json").describe("`json`: {id, event, sent_at, alert, text, url}; `slack`: a Slack incoming-webhook message {text, blocks}"),
  enabled: z.boolean().default(true),
  secret: z.string().min(4).max(1000).nullish().describe("HMAC-SHA256 key: each POST carries X-AgentVine-Signature: sha256=<hex of the body>"),
});
const WebhookPatch = z
  .strictObject({ name: WebhookBody.shape.name, url, format: z.enum(["json", "slack"]), enabled: z.boolean(), secret: z.string().max(1000).nullable().describe("Empty or null removes the key") })
  .partial()
  .refine((v) => Object.keys(v).length > 0, "nothing to update: send at least one field");
const WebhookOut = z.object({ id: z.string(), name: z.string(), url_hint: z.string(), format: z.enum(["json", "slack"]), enabled: z.boolean(), signed: z.boolean(), created_at: z.string(), updated_at: z.string() });
const TestOut = z.object({ ok: z.boolean(), status: z.number().nullable(), attempts: z.number(), error: z.string().optional() });

const list = route({ method: "get", path: "/alerts", access: "viewer", summary: "List alerts: firing and pending first, then resolved", tags, query: z.strictObject({ ...Pagination, status: z.enum(["pending", "firing", "resolved"]).optional() }), responses: { 200: listOf(AlertOut) } });
const rules = route({ method: "get", path: "/alerts/rules", access: "viewer", summary: "The alert rules and their thresholds", tags, responses: { 200: RulesOut } });
const putRules = route({
  method: "put",
  path: "/alerts/rules",
  access: "admin",
  summary: "Change alert rules (admin)",
  description: "Send any rule and any of its fields; the rest keep their values. `{\"disk_space\": {\"enabled\": false}}` turns one off.",
  tags,
  body: RulesPatch,
  example: { queue_depth: { threshold: 500, for_minutes: 10 }, disk_space: { enabled: false } },
  responses: { 200: RulesOut },
});
const hooks = route({ method: "get", path: "/alerts/webhooks", access: "admin", summary: "The webhooks alerts go to (admin)", tags, responses: { 200: z.object({ items: z.array(WebhookOut) }) } });
const addHook = route({
  method: "post",
  path: "/alerts/webhooks",
  access: "admin",
  summary: "Add a webhook for alerts (admin)",
  tags,
  body: WebhookBody,
  example: { name: "pager", url: "https://alerts.example.com/agentvine", format: "json", secret: "a-long-random-key" },
  responses: { 201: WebhookOut },
  errors: [409],
});
const patchHook = route({ method: "patch", path: "/alerts/webhooks/:id", access: "admin", summary: "Change a webhook (admin)", tags, body: WebhookPatch, responses: { 200: WebhookOut }, errors: [409] });
const delHook = route({ method: "delete", path: "/alerts/webhooks/:id", access: "admin", summary: "Remove a webhook (admin)", tags, responses: { 204: "Removed" } });
const testHook = route({ method: "post", path: "/alerts/webhooks/:id/test", access: "admin", summary: "Send a test alert to a webhook now (admin)", description: "Answers with what the receiver said (it is not retried later).", tags, responses: { 200: TestOut } });
const one = route({ method: "get", path: "/alerts/:id", access: "viewer", summary: "An alert and its webhook deliveries", tags, responses: { 200: AlertOut.extend({ deliveries: z.array(DeliveryOut) }) } });

export const alertsApi = new Hono()
  .get(list.spec.path, list.query, (c) => c.json(c.get("alerts").list(c.req.valid("query"))))
  .get(rules.spec.path, (c) => c.json(effectiveRules(c.get("deps"))))
  .put(putRules.spec.path, ...putRules.json, (c) => c.json(saveRules(c.get("deps"), c.req.valid("json"), actingOf(c))))
  .get(hooks.spec.path, (c) => c.json({ items: listAlertWebhooks({ db: c.get("deps").db, secrets: c.get("secrets") }) }))
  .post(addHook.spec.path, ...addHook.json, (c) => c.json(createAlertWebhook({ db: c.get("deps").db, secrets: c.get("secrets") }, c.req.valid("json"), actingOf(c)), 201))
  .patch(patchHook.spec.path, ...patchHook.json, (c) => c.json(updateAlertWebhook({ db: c.get("deps").db, secrets: c.get("secrets") }, c.req.param("id"), c.req.valid("json"), actingOf(c))))
  .delete(delHook.spec.path, (c) => {
    deleteAlertWebhook({ db: c.get("deps").db, secrets: c.get("secrets") }, c.req.param("id"), actingOf(c));
    return c.body(null, 204);
  })
  .post(testHook.spec.path, async (c) => c.json(await sendTest({ db: c.get("deps").db, secrets: c.get("secrets") }, c.req.param("id"))))
  .get(one.spec.path, (c) => {
    const row = c.get("deps").db.sqlite.query<AlertRow, [string]>("SELECT * FROM alerts WHERE id = ?").get(c.req.param("id"));
    if (!row) throw notFound("alert", c.req.param("id"));
    const deliveries = outboxOf(c.get("deps").db, `alert:${row.id}`).map((d) => ({
      id: d.id,
      target: d.target,
      event: d.event,
      status: d.status,
      attempts: d.attempts,
      response_status: d.response_status,
      last_error: d.last_error,
      created_at: iso(d.created_at)!,
      sent_at: iso(d.sent_at),
    }));
    return c.json({ ...alertToJson(row), deliveries });
  });

/** A test alert, straight to the webhook (also while it is turned off), answered with the outcome. */
export async function sendTest(deps: WebhookDeps, idOrName: string) {
  const hook = getAlertWebhook(deps, idOrName);
  const target = resolveAlertWebhook(deps, `alert_webhook:${hook.id}`, true);
  if (!target) return { ok: false, status: null, attempts: 0, error: "the webhook has no URL stored" };
  const payload = { alert: null, text: `[TEST] AgentVine alerts reach the webhook '${hook.name}'`, url: null };
  const result = await deliverWebhook(target.settings, "alert.test", target.format === "slack" ? slackMessage(payload) : payload, { raw: target.format === "slack", attempts: 1 });
  return { ok: result.ok, status: result.status, attempts: result.attempts, ...(result.error ? { error: result.error } : {}) };
}
