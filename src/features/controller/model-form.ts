// The Models page's data and forms: the model settings, budgets and webhook as saved here over the
// configuration (flags / AGENTVINE_* environment), where each value comes from, whether an API key or a
// signing secret is set (never what it is), and the posted forms turned into settings or errors by field.
import { LLM_PROVIDERS, LlmSettingsError, parseLlmSettings, type LlmProvider, type LlmSettings } from "../../llm/index.ts";
import { readSetting } from "../settings/store.ts";
import type { BudgetLimits } from "./budgets.ts";
import { LLM_API_KEY_SECRET, WEBHOOK_SECRET_SECRET, effectiveBudgets, effectiveWebhook, type ControllerConfig, type ControllerSettingsDeps, type ModelSettings } from "./controller-settings.ts";

export type FormValues = Record<string, string>;
export type FormErrors = Record<string, string>;

/** Where a value comes from: saved on this page, the server's configuration (a flag or its AGENTVINE_* twin, or its default), or nowhere. */
export type Source = "saved" | "configuration" | "unset";

export interface SourcedValue {
  /** What is saved here ("" when nothing is). */
  saved: string;
  /** What the configuration gives ("" when nothing). */
  configured: string;
  /** The value in effect and where it comes from. */
  effective: string;
  source: Source;
  /** The flag's environment twin, to name where the configured value comes from. */
  env: string;
}

/** A model field of the form: its name in the form, in ModelSettings, in the configuration and in LlmSettings. */
interface ModelField {
  form: string;
  key: keyof ModelSettings;
  config: keyof ControllerConfig;
  llm: keyof LlmSettings;
  env: string;
  kind: "text" | "url" | "provider" | "int" | "number";
}

export const MODEL_FIELDS: ModelField[] = [
  { form: "provider", key: "provider", config: "llmProvider", llm: "provider", env: "AGENTVINE_LLM_PROVIDER", kind: "provider" },
  { form: "base_url", key: "baseUrl", config: "llmBaseUrl", llm: "baseUrl", env: "AGENTVINE_LLM_BASE_URL", kind: "url" },
  { form: "model", key: "model", config: "llmModel", llm: "model", env: "AGENTVINE_LLM_MODEL", kind: "text" },
  { form: "max_tokens", key: "maxTokens", config: "llmMaxTokens", llm: "maxTokens", env: "AGENTVINE_LLM_MAX_TOKENS", kind: "int" },
  { form: "temperature", key: "temperature", config: "llmTemperature", llm: "temperature", env: "AGENTVINE_LLM_TEMPERATURE", kind: "number" },
  { form: "price_input", key: "priceInputPerMTok", config: "llmPriceInput", llm: "priceInputPerMTok", env: "AGENTVINE_LLM_PRICE_INPUT", kind: "number" },
  { form: "price_output", key: "priceOutputPerMTok", config: "llmPriceOutput", llm: "priceOutputPerMTok", env: "AGENTVINE_LLM_PRICE_OUTPUT", kind: "number" },
  { form: "timeout_seconds", key: "timeoutSeconds", config: "llmTimeoutSeconds", llm: "timeoutMs", env: "AGENTVINE_LLM_TIMEOUT", kind: "int" },
];

export const BUDGET_FIELDS: Array<{ form: string; key: keyof BudgetLimits; config: keyof ControllerConfig; env: string; usd: boolean }> = [
  { form: "task_usd", key: "taskUsd", config: "budgetTaskUsd", env: "AGENTVINE_BUDGET_TASK_USD", usd: true },
  { form: "task_tokens", key: "taskTokens", config: "budgetTaskTokens", env: "AGENTVINE_BUDGET_TASK_TOKENS", usd: false },
  { form: "run_usd", key: "runUsd", config: "budgetRunUsd", env: "AGENTVINE_BUDGET_RUN_USD", usd: true },
  { form: "run_tokens", key: "runTokens", config: "budgetRunTokens", env: "AGENTVINE_BUDGET_RUN_TOKENS", usd: false },
  { form: "daily_usd", key: "dailyUsd", config: "budgetDailyUsd", env: "AGENTVINE_BUDGET_DAILY_USD", usd: true },
  { form: "daily_tokens", key: "dailyTokens", config: "budgetDailyTokens", env: "AGENTVINE_BUDGET_DAILY_TOKENS", usd: false },
];

const str = (v: unknown) => (v === undefined || v === null ? "" : String(v));

function sourced(saved: unknown, configured: unknown, env: string): SourcedValue {
  const s = str(saved);
  const c = str(configured);
  return { saved: s, configured: c, effective: s || c, source: s ? "saved" : c ? "configuration" : "unset", env };
}

/** Where the model's API key or the webhook's secret comes from (the secrets store wins over the environment). */
export interface SecretState {
  set: boolean;
  source: "secrets" | "environment" | null;
  name: string;
}

export interface SecretLookup {
  reveal(name: string): string | undefined;
  list(): Array<{ name: string }>;
}

function secretState(secrets: SecretLookup, name: string, fromEnv: string | undefined): SecretState {
  const stored = secrets.list().some((s) => s.name === name);
  return { set: stored || Boolean(fromEnv), source: stored ? "secrets" : fromEnv ? "environment" : null, name };
}

/** The model as it would be called, or why it cannot be (a field missing or wrong, each named). */
export type ModelReadiness =
  | { ready: true; settings: LlmSettings }
  /** `none`: nothing is configured at all (not a mistake: the model is optional). */
  | { ready: false; none?: true; problems: Array<{ field: string; message: string }> };

/** `saved` over the configuration, as controller-settings merges them, checked as the automated handler will use them. */
export function readinessOf(saved: ModelSettings, c: ControllerConfig, apiKey: string | undefined): ModelReadiness {
  const provider = saved.provider ?? c.llmProvider;
  const model = saved.model ?? c.llmModel;
  if (!provider && !model) return { ready: false, none: true, problems: [{ field: "provider", message: "no model is configured: questions a policy sends to the model go to a person instead" }] };
  try {
    const baseUrl = saved.baseUrl === undefined ? c.llmBaseUrl : saved.baseUrl;
    const temperature = saved.temperature === undefined ? c.llmTemperature : saved.temperature;
    return {
      ready: true,
      settings: parseLlmSettings({
        provider,
        baseUrl: baseUrl ?? undefined,
        model,
        apiKey,
        maxTokens: saved.maxTokens ?? c.llmMaxTokens,
        temperature: temperature ?? undefined,
        priceInputPerMTok: saved.priceInputPerMTok ?? c.llmPriceInput ?? 0,
        priceOutputPerMTok: saved.priceOutputPerMTok ?? c.llmPriceOutput ?? 0,
        timeoutMs: (saved.timeoutSeconds ?? c.llmTimeoutSeconds ?? 120) * 1000,
      }),
    };
  } catch (err) {
    if (err instanceof LlmSettingsError) return { ready: false, problems: err.issues.map((i) => ({ field: formFieldOfLlm(i.field), message: i.message })) };
    throw err;
  }
}

/** The model in effect now (what the controller calls), or why there is none. */
export function modelReadiness(deps: ControllerSettingsDeps & { secrets: SecretLookup }): ModelReadiness {
  return readinessOf(readSetting<ModelSettings>(deps, "llm") ?? {}, deps.config, deps.secrets.reveal(LLM_API_KEY_SECRET) ?? deps.config.llmApiKey);
}

const LLM_TO_FORM: Record<string, string> = { ...Object.fromEntries(MODEL_FIELDS.map((f) => [f.llm, f.form])), apiKey: "api_key" };
const formFieldOfLlm = (field: string) => LLM_TO_FORM[field] ?? field;

export interface ModelsPageData {
  fields: Record<string, SourcedValue>;
  key: SecretState;
  readiness: ModelReadiness;
  budgets: Record<string, SourcedValue>;
  webhook: { url: SourcedValue; secret: SecretState; active: boolean; savedOverride: boolean };
}

export function modelsPageData(deps: ControllerSettingsDeps & { secrets: SecretLookup }): ModelsPageData {
  const saved = readSetting<ModelSettings>(deps, "llm") ?? {};
  const fields: Record<string, SourcedValue> = {};
  for (const f of MODEL_FIELDS) fields[f.form] = sourced(saved[f.key], deps.config[f.config], f.env);
  const savedBudgets = readSetting<BudgetLimits>(deps, "budgets") ?? {};
  const budgets: Record<string, SourcedValue> = {};
  for (const f of BUDGET_FIELDS) budgets[f.form] = sourced(savedBudgets[f.key], deps.config[f.config], f.env);
  const savedHook = readSetting<{ url: string | null }>(deps, "webhook");
  const url = sourced(savedHook?.url, savedHook ? "" : deps.config.webhookUrl, "AGENTVINE_WEBHOOK_URL");
  return {
    fields,
    key: secretState(deps.secrets, LLM_API_KEY_SECRET, deps.config.llmApiKey),
    readiness: modelReadiness(deps),
    budgets,
    webhook: { url, secret: secretState(deps.secrets, WEBHOOK_SECRET_SECRET, deps.config.webhookSecret), active: effectiveWebhook(deps) !== null, savedOverride: savedHook !== undefined },
  };
}

const blank = (s: string | undefined) => (s ?? "").trim() === "";

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}

export interface ParsedModelForm {
  /** What to save (null: nothing saved, the configuration applies); absent when there are errors. */
  settings?: ModelSettings | null;
  /** A new API key to store, when one was typed. */
  apiKey?: string;
  errors: FormErrors;
  values: FormValues;
}

/**
 * Reads the model form. Empty fields fall back to the configuration. The result is checked the way the
 * controller will use it (provider, model, base URL, key together), so a setting that could never make a
 * call is refused here with the field named, not discovered at the first question.
 */
export function parseModelForm(values: FormValues, deps: ControllerSettingsDeps & { secrets: SecretLookup }, minKeyLength: number): ParsedModelForm {
  const errors: FormErrors = {};
  const settings: ModelSettings = {};
  for (const f of MODEL_FIELDS) {
    const raw = (values[f.form] ?? "").trim();
    if (raw === "") continue;
    switch (f.kind) {
      case "provider":
        if ((LLM_PROVIDERS as readonly string[]).includes(raw)) settings.provider = raw as LlmProvider;
        else errors[f.form] = `must be one of ${LLM_PROVIDERS.join(", ")}`;
        break;
      case "url":
        if (isHttpUrl(raw)) settings.baseUrl = raw;
        else errors[f.form] = "must be an http(s) URL, e.g. http://127.0.0.1:11434/v1";
        break;
      case "text":
        if (raw.length > 200) errors[f.form] = "at most 200 characters";
        else settings.model = raw;
        break;
      case "int":
      case "number": {
        const n = Number(raw);
        if (!Number.isFinite(n) || (f.kind === "int" && !Number.isInteger(n))) errors[f.form] = f.kind === "int" ? "must be a whole number" : "must be a number";
        else if (f.form === "temperature" && (n < 0 || n > 2)) errors[f.form] = "must be between 0 and 2";
        else if ((f.form === "max_tokens" || f.form === "timeout_seconds") && n < 1) errors[f.form] = "must be at least 1";
        else if (n < 0) errors[f.form] = "must be 0 or more";
        else (settings as Record<string, number>)[f.key] = n;
      }
    }
  }
  const apiKey = blank(values.api_key) ? undefined : values.api_key!.trim();
  if (apiKey !== undefined && apiKey.length < minKeyLength) errors.api_key = `at least ${minKeyLength} characters`;
  if (Object.keys(errors).length) return { errors, values };
  // The settings as they would be in effect, checked together (a hosted provider needs its key, a compatible one its URL).
  const saved = Object.keys(settings).length ? settings : null;
  const trial = readinessOf(saved ?? {}, deps.config, apiKey ?? deps.secrets.reveal(LLM_API_KEY_SECRET) ?? deps.config.llmApiKey);
  if (!trial.ready && !trial.none) for (const p of trial.problems) errors[p.field] ??= p.message;
  return Object.keys(errors).length ? { errors, values } : { settings: saved, apiKey, errors, values };
}

export interface ParsedBudgetForm {
  budgets?: BudgetLimits | null;
  errors: FormErrors;
  values: FormValues;
}

export function parseBudgetForm(values: FormValues): ParsedBudgetForm {
  const errors: FormErrors = {};
  const budgets: BudgetLimits = {};
  for (const f of BUDGET_FIELDS) {
    const raw = (values[f.form] ?? "").trim();
    if (raw === "") continue;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) errors[f.form] = f.usd ? "must be 0 or more US dollars" : "must be 0 or more tokens";
    else if (!f.usd && !Number.isInteger(n)) errors[f.form] = "must be a whole number of tokens";
    else budgets[f.key] = n;
  }
  if (Object.keys(errors).length) return { errors, values };
  return { budgets: Object.keys(budgets).length ? budgets : null, errors, values };
}

export interface ParsedWebhookForm {
  url?: string | null;
  secret?: string;
  errors: FormErrors;
  values: FormValues;
}

export function parseWebhookForm(values: FormValues, minSecretLength: number): ParsedWebhookForm {
  const errors: FormErrors = {};
  const url = (values.url ?? "").trim();
  if (url && !isHttpUrl(url)) errors.url = "must be an http(s) URL";
  const secret = blank(values.secret) ? undefined : values.secret!.trim();
  if (secret !== undefined && secret.length < minSecretLength) errors.secret = `at least ${minSecretLength} characters`;
  if (Object.keys(errors).length) return { errors, values };
  return { url: url || null, secret, errors, values };
}

export { effectiveBudgets, LLM_API_KEY_SECRET, WEBHOOK_SECRET_SECRET };
