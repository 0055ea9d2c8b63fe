// callModel: the one way AgentVine calls a model — one step (no SDK tool loop, no SDK retries), streamed
// when the caller wants text deltas, with usage, cost and latency, and every failure as an LlmError.
import { generateText, isStepCount, streamText, type FinishReason, type LanguageModelUsage } from "ai";
import { costOf, estimateTokens, type TokenUsage } from "./cost.ts";
import { LlmError, toLlmError } from "./errors.ts";
import { promptText, toModelMessages, type LlmMessage, type LlmToolCall } from "./messages.ts";
import { createLanguageModel } from "./model.ts";
import type { LlmSettings } from "./settings.ts";
import { toSdkTools, toolsText, type LlmTools } from "./tools.ts";

export interface CallModelOptions {
  settings: LlmSettings;
  system?: string;
  messages: LlmMessage[];
  tools?: LlmTools;
  /** Output tokens allowed for this call; default and ceiling: settings.maxTokens. */
  maxTokens?: number;
  /** Aborting rejects with the signal's reason (not an LlmError): a cancelled call is not a failed one. */
  signal?: AbortSignal;
  /** Given: the call streams and this gets each piece of text as it arrives. */
  onTextDelta?: (delta: string) => void;
}

export interface CallModelResult {
  text: string;
  toolCalls: LlmToolCall[];
  /** stop | length | tool-calls | content-filter | error | interrupted | other */
  finishReason: FinishReason;
  /** `estimated`: the provider did not report (all of) it and estimateTokens filled the gap. */
  usage: TokenUsage & { estimated: boolean };
  costUsd: number;
  latencyMs: number;
  /** The model that answered, as the provider named it (else the configured one). */
  model: string;
}

interface StepOutcome {
  text: string;
  toolCalls: Array<{ toolCallId: string; toolName: string; input: unknown; invalid?: boolean; error?: unknown }>;
  finishReason: FinishReason;
  usage: LanguageModelUsage;
  modelId: string | undefined;
}

export async function callModel(options: CallModelOptions): Promise<CallModelResult> {
  const { settings, system, messages, tools, signal, onTextDelta } = options;
  const started = performance.now();
  signal?.throwIfAborted();
  // Our own timer rather than the SDK's `timeout`, so a timeout is told apart from the caller's abort.
  const timeout = settings.timeoutMs ? AbortSignal.timeout(settings.timeoutMs) : undefined;
  const abortSignal = timeout && signal ? AbortSignal.any([signal, timeout]) : (timeout ?? signal);
  const request = {
    model: createLanguageModel(settings),
    instructions: system,
    messages: toModelMessages(messages),
    tools: tools ? toSdkTools(tools) : undefined,
    maxOutputTokens: Math.min(options.maxTokens ?? settings.maxTokens, settings.maxTokens),
    temperature: settings.temperature,
    // Each attempt must reserve budget again, so callers retry (retryWithBackoff), never the SDK.
    maxRetries: 0,
    // One model call per callModel: the agent loop persists every step and runs the tools itself.
    stopWhen: isStepCount(1),
    abortSignal,
  };
  let step: StepOutcome;
  try {
    step = onTextDelta ? await streamStep(request, onTextDelta) : await generateStep(request);
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if (timeout?.aborted) {
      throw new LlmError({ kind: "timeout", message: `${settings.provider}: no complete answer within ${settings.timeoutMs} ms`, cause: err });
    }
    throw toLlmError(err, { provider: settings.provider, apiKey: settings.apiKey }) ?? err;
  }
  const toolCalls = step.toolCalls.map(
    (c): LlmToolCall => ({ id: c.toolCallId, name: c.toolName, input: c.input, ...(c.invalid ? { invalid: invalidReason(c.error) } : {}) }),
  );
  const usage = settleUsage(step.usage, () => promptText(system, messages) + toolsText(tools), step.text, toolCalls);
  return {
    text: step.text,
    toolCalls,
    finishReason: step.finishReason,
    usage,
    costUsd: costOf(settings, usage),
    latencyMs: Math.round(performance.now() - started),
    model: step.modelId || settings.model,
  };
}

type StepRequest = Parameters<typeof generateText>[0] & Parameters<typeof streamText>[0];

async function generateStep(request: StepRequest): Promise<StepOutcome> {
  const result = await generateText(request);
  return { text: result.text, toolCalls: result.toolCalls, finishReason: result.finishReason, usage: result.usage, modelId: result.response.modelId };
}

async function streamStep(request: StepRequest, onTextDelta: (delta: string) => void): Promise<StepOutcome> {
  let failure: { error: unknown } | undefined;
  // The default onError logs to the console; errors are read from the stream below instead.
  const result = streamText({ ...request, onError: () => {} });
  for await (const part of result.fullStream) {
    if (part.type === "text-delta") onTextDelta(part.text);
    else if (part.type === "error") failure ??= { error: part.error };
    else if (part.type === "abort") failure ??= { error: request.abortSignal?.reason ?? new DOMException("aborted", "AbortError") };
  }
  if (failure) throw failure.error;
  const [text, toolCalls, finishReason, usage, response] = await Promise.all([
    result.text,
    result.toolCalls,
    result.finishReason,
    result.usage,
    result.response,
  ]);
  return { text, toolCalls, finishReason, usage, modelId: response.modelId };
}

/** The provider's counts where it gave them; an estimate (flagged) where it did not, so nothing is free. */
function settleUsage(reported: LanguageModelUsage, prompt: () => string, text: string, toolCalls: LlmToolCall[]): TokenUsage & { estimated: boolean } {
  const inputTokens = reported.inputTokens ?? estimateTokens(prompt());
  const outputTokens = reported.outputTokens ?? estimateTokens(text + toolCalls.map((c) => c.name + JSON.stringify(c.input)).join(""));
  return { inputTokens, outputTokens, estimated: reported.inputTokens === undefined || reported.outputTokens === undefined };
}

function invalidReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error ?? "invalid tool call");
  return message.length > 1000 ? `${message.slice(0, 1000)}…` : message;
}
