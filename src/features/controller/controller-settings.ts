// The controller's effective settings: what an admin saved on the Settings pages (the `settings` table,
// keys in the encrypted secrets store) over the server's flags and AGENTVINE_* environment.
import type { Db } from "../../db/client.ts";
import { parseLlmSettings, type LlmProvider, type LlmSettings } from "../../llm/index.ts";
import { readSetting, writeSetting } from "../settings/store.ts";
import type { Acting } from "../audit/service.ts";
import type { BudgetLimits } from "./budgets.ts";
import type { WebhookSettings } from "./webhook.ts";

/** The secrets-store names of the keys the Settings pages keep (write-only there, like every secret). */
export const LLM_API_KEY_SECRET = "AGENTVINE_LLM_API_KEY";
export const WEBHOOK_SECRET_SECRET = "AGENTVINE_WEBHOOK_SECRET";

export interface ControllerConfig {
  llmProvider?: LlmProvider;
  llmBaseUrl?: string;
  llmModel?: string;
  llmMaxTokens: number;
  llmTemperature?: number;
  llmPriceInput: number;
  llmPriceOutput: number;
  llmTimeoutSeconds: number;
  llmApiKey?: string;
  budgetTaskUsd: number;
  budgetTaskTokens: number;
  budgetRunUsd: number;
  budgetRunTokens: number;
  budgetDailyUsd: number;
  budgetDailyTokens: number;
  webhookUrl?: string;
  webhookSecret?: string;
}

/** What the Models page saves (every field optional: unset falls back to the configuration). */
export interface ModelSettings {
  provider?: LlmProvider;
  baseUrl?: string | null;
  model?: string;
  maxTokens?: number;
  temperature?: number | null;
  priceInputPerMTok?: number;
  priceOutputPerMTok?: number;
  timeoutSeconds?: number;
}

export interface ControllerSettingsDeps {
  db: Db;
  config: ControllerConfig;
  secrets?: { reveal(name: string): string | undefined };
}

/** The model settings as they stand (saved over configured), without the key. */
export function modelSettings(deps: ControllerSettingsDeps): ModelSettings & { hasApiKey: boolean; source: "settings" | "configuration" | "none" } {
  const saved = readSetting<ModelSettings>(deps, "llm") ?? {};
  const c = deps.config;
  const merged: ModelSettings = {
    provider: saved.provider ?? c.llmProvider,
    baseUrl: saved.baseUrl === undefined ? c.llmBaseUrl : saved.baseUrl,
    model: saved.model ?? c.llmModel,
    maxTokens: saved.maxTokens ?? c.llmMaxTokens,
    temperature: saved.temperature === undefined ? c.llmTemperature : saved.temperature,
    priceInputPerMTok: saved.priceInputPerMTok ?? c.llmPriceInput,
    priceOutputPerMTok: saved.priceOutputPerMTok ?? c.llmPriceOutput,
    timeoutSeconds: saved.timeoutSeconds ?? c.llmTimeoutSeconds,
  };
  const hasApiKey = Boolean(deps.secrets?.reveal(LLM_API_KEY_SECRET) ?? c.llmApiKey);
  const source = Object.keys(saved).length ? "settings" : merged.provider ? "configuration" : "none";
  return { ...merged, hasApiKey, source };
}

/** The LLM the automated handler calls, or null when none is (completely) configured. */
export function effectiveLlm(deps: ControllerSettingsDeps): LlmSettings | null {
  const m = modelSettings(deps);
  if (!m.provider || !m.model) return null;
  try {
    return parseLlmSettings({
      provider: m.provider,
      baseUrl: m.baseUrl ?? undefined,
      model: m.model,
      apiKey: deps.secrets?.reveal(LLM_API_KEY_SECRET) ?? deps.config.llmApiKey,
      maxTokens: m.maxTokens,
      temperature: m.temperature ?? undefined,
      priceInputPerMTok: m.priceInputPerMTok ?? 0,
      priceOutputPerMTok: m.priceOutputPerMTok ?? 0,
      timeoutMs: (m.timeoutSeconds ?? 120) * 1000,
    });
  } catch {
    return null; // e.g. a hosted provider without its key: questions go to a human, the Models page says why
  }
}

export function saveModelSettings(deps: ControllerSettingsDeps, settings: ModelSettings | null, acting?: Acting): void {
  writeSetting(deps, "llm", settings, acting, settings ? { ...settings } : { reset: true });
}

export function effectiveBudgets(deps: ControllerSettingsDeps): BudgetLimits {
  const saved = readSetting<BudgetLimits>(deps, "budgets") ?? {};
  const c = deps.config;
  return {
    taskUsd: saved.taskUsd ?? c.budgetTaskUsd,
    taskTokens: saved.taskTokens ?? c.budgetTaskTokens,
    runUsd: saved.runUsd ?? c.budgetRunUsd,
    runTokens: saved.runTokens ?? c.budgetRunTokens,
    dailyUsd: saved.dailyUsd ?? c.budgetDailyUsd,
    dailyTokens: saved.dailyTokens ?? c.budgetDailyTokens,
  };
}

export function saveBudgets(deps: ControllerSettingsDeps, budgets: BudgetLimits | null, acting?: Acting): void {
  writeSetting(deps, "budgets", budgets, acting, budgets ? { ...budgets } : { reset: true });
}

export function effectiveWebhook(deps: ControllerSettingsDeps): WebhookSettings | null {
  const saved = readSetting<{ url: string | null }>(deps, "webhook");
  const url = saved ? saved.url : deps.config.webhookUrl;
  if (!url) return null;
  return { url, secret: deps.secrets?.reveal(WEBHOOK_SECRET_SECRET) ?? deps.config.webhookSecret ?? null };
}

export function saveWebhook(deps: ControllerSettingsDeps, url: string | null, acting?: Acting): void {
  writeSetting(deps, "webhook", { url }, acting, { url });
}
