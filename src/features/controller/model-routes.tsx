/** @jsxImportSource hono/jsx */
// /settings/models (admins): the model questions are sent to, its API key (write-only, kept in the
// secrets store), a test call, the budgets, the webhook and its signing secret, and the cost view. Each
// section posts on its own and comes back in place: errors inline (422), or saved with a toast. Every
// change is audited (settings through the settings store, keys through the secrets store).
import { Hono, type Context } from "hono";
import type { Child } from "hono/jsx";
import { actionDone, fragment, isHtmx, page, toast } from "../../pages/render.tsx";
import { CostSection, type CostTables } from "../../../views/controller/costs.tsx";
import { BudgetSection, ModelSection, ModelTestResultView, ModelsPage, WebhookSection } from "../../../views/controller/models.tsx";
import { actorOf } from "../audit/service.ts";
import { actingOf, clientMeta } from "../auth/request.ts";
import { MIN_SECRET_LENGTH } from "../secrets/store.ts";
import { writeSetting } from "../settings/store.ts";
import { costBreakdown, spendOf, utcDay, type CostRow } from "./budgets.ts";
import { saveBudgets, saveModelSettings, saveWebhook, type ControllerSettingsDeps } from "./controller-settings.ts";
import { effectiveBudgets, LLM_API_KEY_SECRET, modelReadiness, modelsPageData, parseBudgetForm, parseModelForm, parseWebhookForm, WEBHOOK_SECRET_SECRET, type FormErrors, type FormValues } from "./model-form.ts";
import { testModel } from "./model-test.ts";

type Ctx = Context;

const settingsDeps = (c: Ctx): ControllerSettingsDeps & { secrets: Ctx["var"]["secrets"]; clock: () => number } => ({
  db: c.get("deps").db,
  config: c.get("controllerConfig"),
  secrets: c.get("secrets"),
  clock: c.get("auth").clock,
});

async function formValues(c: Ctx): Promise<FormValues> {
  const values: FormValues = {};
  for (const [k, v] of Object.entries(await c.req.parseBody())) if (typeof v === "string") values[k] = v;
  return values;
}

function today(c: Ctx) {
  return spendOf(c.get("deps").db, { day: utcDay(c.get("auth").clock()) });
}

/** The cost tables, with task and run titles. */
function costTables(c: Ctx): CostTables {
  const { db } = c.get("deps");
  const titled = (rows: CostRow[]) => {
    const titles = new Map(
      db.sqlite
        .query<{ id: string; title: string }, [string]>("SELECT id, title FROM tasks WHERE id IN (SELECT value FROM json_each(?))")
        .all(JSON.stringify(rows.map((r) => r.key)))
        .map((t) => [t.id, t.title]),
    );
    return rows.map((r) => ({ ...r, title: titles.get(r.key) }));
  };
  return { day: costBreakdown(db, "day", 14), task: titled(costBreakdown(db, "task")), run: titled(costBreakdown(db, "run")), repository: costBreakdown(db, "repository") };
}

/** Stores a key in the secrets store: a new one, or a new value for the one there. */
function storeSecret(c: Ctx, name: string, value: string) {
  const store = c.get("secrets");
  const actor = actorOf(c.get("principal"));
  const ip = clientMeta(c).ip;
  if (store.list().some((s) => s.name === name)) store.update(name, value, actor, ip);
  else store.create(name, value, actor, ip);
}

/** A section that did not save: itself again with the errors (htmx, 422), or back to the page with a toast. */
function notSaved(c: Ctx, section: Child, errors: FormErrors) {
  if (isHtmx(c)) return fragment(c, section, 422);
  return actionDone(c, { message: `Nothing was saved: ${Object.entries(errors).map(([k, m]) => `${k} ${m}`).join("; ")}`, redirect: "/settings/models", level: "error" });
}

const done = (c: Ctx, message: string, section: Child, anchor: string) => actionDone(c, { message, redirect: `/settings/models#${anchor}`, body: section });

export const modelRoutes = new Hono()
  .get("/", (c) =>
    page(c, { title: "Models", active: "models" }, <ModelsPage data={modelsPageData(settingsDeps(c))} today={today(c)} costs={<CostSection costs={costTables(c)} />} />),
  )
  .post("/", async (c) => {
    const deps = settingsDeps(c);
    const form = parseModelForm(await formValues(c), deps, MIN_SECRET_LENGTH);
    if (Object.keys(form.errors).length) return notSaved(c, <ModelSection data={modelsPageData(deps)} values={form.values} errors={form.errors} />, form.errors);
    saveModelSettings(deps, form.settings ?? null, actingOf(c));
    if (form.apiKey) storeSecret(c, LLM_API_KEY_SECRET, form.apiKey);
    const ready = modelReadiness(deps);
    const message = ready.ready ? `Model settings saved: questions for the model go to ${ready.settings.model}` : "Model settings saved: no model is in use";
    return done(c, form.apiKey ? `${message} (API key stored)` : message, <ModelSection data={modelsPageData(deps)} />, "model");
  })
  .post("/key/delete", (c) => {
    c.get("secrets").delete(LLM_API_KEY_SECRET, actorOf(c.get("principal")), clientMeta(c).ip);
    return done(c, "API key removed", <ModelSection data={modelsPageData(settingsDeps(c))} />, "model");
  })
  .post("/test", async (c) => {
    const deps = settingsDeps(c);
    const ready = modelReadiness(deps);
    const result = ready.ready
      ? await testModel({ db: deps.db, clock: deps.clock }, ready.settings, effectiveBudgets(deps), c.req.raw.signal)
      : ({ ok: false, kind: "other", error: `No model to test: ${ready.problems.map((p) => (ready.none ? p.message : `${p.field} ${p.message}`)).join("; ")}` } as const);
    if (!isHtmx(c)) return actionDone(c, { message: result.ok ? `The model answered: ${result.answer}` : result.error, redirect: "/settings/models#model", level: result.ok ? "success" : "error" });
    toast(c, result.ok ? "success" : "error", result.ok ? `${result.model} answered in ${result.latencyMs} ms` : "The model test failed");
    return fragment(c, <ModelTestResultView result={result} />);
  })
  .post("/budgets", async (c) => {
    const deps = settingsDeps(c);
    const form = parseBudgetForm(await formValues(c));
    if (Object.keys(form.errors).length) return notSaved(c, <BudgetSection data={modelsPageData(deps)} today={today(c)} values={form.values} errors={form.errors} />, form.errors);
    saveBudgets(deps, form.budgets ?? null, actingOf(c));
    return done(c, "Budgets saved", <BudgetSection data={modelsPageData(deps)} today={today(c)} />, "budgets");
  })
  .post("/webhook", async (c) => {
    const deps = settingsDeps(c);
    const form = parseWebhookForm(await formValues(c), MIN_SECRET_LENGTH);
    if (Object.keys(form.errors).length) return notSaved(c, <WebhookSection data={modelsPageData(deps)} values={form.values} errors={form.errors} />, form.errors);
    saveWebhook(deps, form.url ?? null, actingOf(c));
    if (form.secret) storeSecret(c, WEBHOOK_SECRET_SECRET, form.secret);
    const message = form.url ? `Webhook saved: questions for a person are announced to ${form.url}` : "Webhook turned off";
    return done(c, form.secret ? `${message} (signing secret stored)` : message, <WebhookSection data={modelsPageData(deps)} />, "webhook");
  })
  .post("/webhook/reset", (c) => {
    const deps = settingsDeps(c);
    writeSetting(deps, "webhook", null, actingOf(c), { reset: true });
    return done(c, "Webhook: the configuration's URL applies again", <WebhookSection data={modelsPageData(deps)} />, "webhook");
  })
  .post("/webhook/secret/delete", (c) => {
    c.get("secrets").delete(WEBHOOK_SECRET_SECRET, actorOf(c.get("principal")), clientMeta(c).ip);
    return done(c, "Webhook signing secret removed", <WebhookSection data={modelsPageData(settingsDeps(c))} />, "webhook");
  });
