/** @jsxImportSource hono/jsx */
// /alerts: the Alerts page (alerts, rules, webhooks), its refreshing parts, the banner every page shows,
// and the admins' forms for the rules and the webhooks.
import { Hono, type Context } from "hono";
import { AppError, zodDetails } from "../../errors.ts";
import { actionDone, fragment, page, toast } from "../../pages/render.tsx";
import { errorsOf, type FormValues } from "../../../views/components/form.tsx";
import { AlertBanner } from "../../../views/alerts/banner.tsx";
import { AlertList, AlertsPage, RulesForm, WebhookList, type RuleRow } from "../../../views/alerts/page.tsx";
import { hasRole } from "../auth/middleware.ts";
import { actingOf } from "../auth/request.ts";
import { sendTest, WebhookBody } from "./api.ts";
import { effectiveRules, RULE_NAMES, RULE_TITLES, RulesPatch, saveRules } from "./rules.ts";
import { createAlertWebhook, deleteAlertWebhook, listAlertWebhooks } from "./webhooks.ts";

type Ctx = Context;

const RESOLVED_SHOWN_MS = 10 * 60_000;

/** The banner: firing alerts and those resolved in the last ten minutes. */
export function alertBanner(c: Ctx) {
  const alerts = c.get("alerts");
  return <AlertBanner firing={alerts.firing()} resolved={alerts.resolvedSince(Date.now() - RESOLVED_SHOWN_MS)} />;
}

function ruleRows(c: Ctx): RuleRow[] {
  const rules = effectiveRules(c.get("deps"));
  return RULE_NAMES.map((name) => ({ name, ...RULE_TITLES[name], settings: rules[name] as Record<string, number | boolean> }));
}

const hookDeps = (c: Ctx) => ({ db: c.get("deps").db, secrets: c.get("secrets") });
const alertItems = (c: Ctx) => c.get("alerts").list({ page: 1, per_page: 100 }).items;

async function formValues(c: Ctx): Promise<FormValues> {
  const values: FormValues = {};
  for (const [k, v] of Object.entries(await c.req.parseBody())) if (typeof v === "string") values[k] = v;
  return values;
}

export const alertRoutes = new Hono()
  .get("/", (c) => {
    const admin = hasRole(c.get("principal"), "admin");
    return page(c, { title: "Alerts", active: "alerts" }, <AlertsPage items={alertItems(c)} rules={ruleRows(c)} webhooks={admin ? listAlertWebhooks(hookDeps(c)) : null} admin={admin} />);
  })
  .get("/list", (c) => fragment(c, <AlertList items={alertItems(c)} />))
  .get("/banner", (c) => fragment(c, alertBanner(c)))
  .post("/rules", async (c) => {
    const values = await formValues(c);
    // Each rule's fields are `rule.field`; an unticked checkbox is absent, so every rule's `enabled` is sent.
    const patch: Record<string, Record<string, unknown>> = {};
    for (const name of RULE_NAMES) patch[name] = { enabled: values[`${name}.enabled`] === "1" };
    for (const [key, value] of Object.entries(values)) {
      const [rule, field] = key.split(".");
      if (!rule || !field || field === "enabled" || value.trim() === "") continue;
      (patch[rule] ??= {})[field] = Number(value);
    }
    const parsed = RulesPatch.safeParse(patch);
    const again = (errors: Record<string, string>) => fragment(c, <RulesForm rules={ruleRows(c)} admin errors={errors} />, 422);
    if (!parsed.success) return again(Object.fromEntries(zodDetails(parsed.error).map((d) => [d.field ?? "_form", `${d.field}: ${d.message}`])));
    saveRules(c.get("deps"), parsed.data, actingOf(c));
    return actionDone(c, { message: "Alert rules saved: they apply from the next check", redirect: "/alerts", body: <RulesForm rules={ruleRows(c)} admin /> });
  })
  .post("/webhooks", async (c) => {
    const values = await formValues(c);
    const parsed = WebhookBody.safeParse({ name: values.name ?? "", url: values.url ?? "", format: values.format || "json", secret: values.secret || null });
    const again = (errors: Record<string, string>) => fragment(c, <WebhookList items={listAlertWebhooks(hookDeps(c))} values={values} errors={errors} />, 422);
    if (!parsed.success) return again(errorsOf(zodDetails(parsed.error)));
    try {
      createAlertWebhook(hookDeps(c), parsed.data, actingOf(c));
    } catch (err) {
      if (err instanceof AppError && err.status === 409) return again(errorsOf(err.details, err.message));
      throw err;
    }
    return actionDone(c, { message: `Webhook ${parsed.data.name} added`, redirect: "/alerts", body: <WebhookList items={listAlertWebhooks(hookDeps(c))} /> });
  })
  .post("/webhooks/:id/test", async (c) => {
    const result = await sendTest(hookDeps(c), c.req.param("id"));
    const message = result.ok ? `The webhook answered ${result.status}` : `The test failed: ${result.error ?? `status ${result.status}`}`;
    toast(c, result.ok ? "success" : "error", message);
    return actionDone(c, { message, level: result.ok ? "success" : "error", redirect: "/alerts", body: null });
  })
  .post("/webhooks/:id/delete", (c) => {
    deleteAlertWebhook(hookDeps(c), c.req.param("id"), actingOf(c));
    return actionDone(c, { message: "Webhook removed", redirect: "/alerts", body: <WebhookList items={listAlertWebhooks(hookDeps(c))} /> });
  });
