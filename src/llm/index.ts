// The LLM layer's public surface: settings, the model factory, callModel, errors, retries and costs.
export { callModel, type CallModelOptions, type CallModelResult } from "./call.ts";
export { costOf, estimateTokens, worstCaseCost, type TokenUsage } from "./cost.ts";
export { LlmError, type LlmErrorKind } from "./errors.ts";
export { toModelMessages, type LlmMessage, type LlmToolCall } from "./messages.ts";
export { createLanguageModel } from "./model.ts";
export { retryWithBackoff, type RetryOptions } from "./retry.ts";
export { LLM_PROVIDERS, llmSettingsSchema, LlmSettingsError, parseLlmSettings, type LlmProvider, type LlmSettings } from "./settings.ts";
export { type LlmToolDef, type LlmTools } from "./tools.ts";
