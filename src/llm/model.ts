// Settings → the AI SDK LanguageModel of that provider; the only place provider packages are imported.
import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import type { LanguageModel } from "ai";
import type { LlmSettings } from "./settings.ts";

export function createLanguageModel(settings: LlmSettings): LanguageModel {
  const common = { baseURL: settings.baseUrl, apiKey: settings.apiKey };
  switch (settings.provider) {
    case "anthropic":
      return createAnthropic(common)(settings.model);
    case "openai":
      // Chat Completions, not the provider's default Responses API: it is the format every
      // OpenAI-compatible server speaks too, so one code path (and one fake) covers all of them.
      return createOpenAI(common).chat(settings.model);
    case "openai-compatible":
      return createOpenAICompatible({
        name: "openai-compatible",
        baseURL: settings.baseUrl!,
        apiKey: settings.apiKey,
        // Ask for the usage chunk at the end of a stream; without it streamed calls could not be costed.
        includeUsage: true,
      })(settings.model);
  }
}
