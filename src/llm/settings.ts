// LLM provider settings (which API, where, which model, limits, prices): one zod schema, validated once.
import { z } from "zod";

export const LLM_PROVIDERS = ["anthropic", "openai", "openai-compatible"] as const;
export type LlmProvider = (typeof LLM_PROVIDERS)[number];

const httpUrl = z.string().refine((s) => {
  try {
    const url = new URL(s);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}, "must be an http(s) URL, e.g. http://127.0.0.1:11434/v1");

const price = z.number({ error: "must be a number (USD per million tokens)" }).finite().nonnegative("must be 0 or more (USD per million tokens)");

export const llmSettingsSchema = z
  .object({
    provider: z.enum(LLM_PROVIDERS, { error: `must be one of ${LLM_PROVIDERS.join(", ")}` }),
    /** The API root the provider appends its paths to (…/v1). Default: the provider's public API. */
    baseUrl: httpUrl.optional(),
    model: z.string({ error: "is required (the provider's model id)" }).trim().min(1, "is required (the provider's model id)"),
    apiKey: z.string().min(1, "must not be empty (leave it out instead)").optional(),
    /** The most output tokens one call may produce (callers may ask for less). */
    maxTokens: z.number({ error: "must be a whole number of tokens" }).int("must be a whole number of tokens").positive("must be at least 1"),
    temperature: z.number().min(0, "must be between 0 and 2").max(2, "must be between 0 and 2").optional(),
    priceInputPerMTok: price,
    priceOutputPerMTok: price,
    /** Per attempt, covering the whole response (a stream included). */
    timeoutMs: z.number().int("must be a whole number of milliseconds").positive("must be at least 1").optional(),
  })
  .superRefine((s, ctx) => {
    // Without a key the SDK would fall back to ANTHROPIC_API_KEY / OPENAI_API_KEY from the environment:
    // settings are the one source, so a hosted provider must be given its key here.
    if ((s.provider === "anthropic" || s.provider === "openai") && !s.apiKey) {
      ctx.addIssue({ code: "custom", path: ["apiKey"], message: `is required for provider ${s.provider}` });
    }
    if (s.provider === "openai-compatible" && !s.baseUrl) {
      ctx.addIssue({ code: "custom", path: ["baseUrl"], message: "is required for provider openai-compatible (e.g. http://127.0.0.1:11434/v1 for Ollama)" });
    }
  });

export type LlmSettings = z.infer<typeof llmSettingsSchema>;

export class LlmSettingsError extends Error {
  constructor(readonly issues: Array<{ field: string; message: string }>) {
    super(`invalid LLM settings: ${issues.map((i) => `${i.field}: ${i.message}`).join("; ")}`);
    this.name = "LlmSettingsError";
  }
}

/** Validates settings; the error names every bad field (and never echoes a key). */
export function parseLlmSettings(input: unknown): LlmSettings {
  const parsed = llmSettingsSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new LlmSettingsError(parsed.error.issues.map((issue) => ({ field: issue.path.join(".") || "settings", message: issue.message })));
}
