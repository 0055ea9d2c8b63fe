// The OpenAI Chat Completions wire format (POST /v1/chat/completions), also spoken by Ollama, vLLM,
// llama.cpp's server and LM Studio: JSON and SSE answers, errors, auth and prompt text.
import { pieces, type ResolvedReply, type StreamPlan } from "./reply.ts";
import type { FakeError } from "./types.ts";

const ERROR_TYPE: Record<number, { type: string; code: string | null }> = {
  400: { type: "invalid_request_error", code: null },
  401: { type: "invalid_request_error", code: "invalid_api_key" },
  403: { type: "invalid_request_error", code: "unsupported_country_region_territory" },
  404: { type: "invalid_request_error", code: "model_not_found" },
  429: { type: "requests", code: "rate_limit_exceeded" },
  500: { type: "server_error", code: null },
  503: { type: "server_error", code: null },
};

function usage(reply: ResolvedReply) {
  if (!reply.usage) return undefined;
  const { inputTokens, outputTokens } = reply.usage;
  return { prompt_tokens: inputTokens, completion_tokens: outputTokens, total_tokens: inputTokens + outputTokens };
}

function completionId(reply: ResolvedReply) {
  return `chatcmpl-fake-${reply.n}`;
}

export function openaiJson(reply: ResolvedReply) {
  const toolCalls = reply.toolCalls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.json } }));
  return {
    id: completionId(reply),
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: reply.model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: reply.text || null, refusal: null, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) },
        logprobs: null,
        finish_reason: reply.finish,
      },
    ],
    ...(reply.usage ? { usage: usage(reply) } : {}),
  };
}

/**
 * As the API streams: a role chunk, content deltas, per tool call a first chunk with id and name then
 * argument pieces (keyed by `index`), a chunk with finish_reason, a usage chunk with empty `choices` when
 * the request asked for `stream_options.include_usage`, then `[DONE]`.
 */
export function openaiStream(reply: ResolvedReply, includeUsage: boolean): StreamPlan {
  const base = { id: completionId(reply), object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model: reply.model };
  const chunk = (choice: object | null, extra: object = {}) =>
    `data: ${JSON.stringify({ ...base, choices: choice ? [{ index: 0, logprobs: null, finish_reason: null, ...choice }] : [], ...extra })}\n\n`;
  const frames = [chunk({ delta: { role: "assistant", content: "", refusal: null } })];
  let hangAfter = -1;
  for (const content of pieces(reply.text, reply.chunkSize)) {
    frames.push(chunk({ delta: { content } }));
    if (hangAfter < 0) hangAfter = frames.length;
  }
  reply.toolCalls.forEach((call, index) => {
    frames.push(chunk({ delta: { tool_calls: [{ index, id: call.id, type: "function", function: { name: call.name, arguments: "" } }] } }));
    for (const args of pieces(call.json, reply.chunkSize)) {
      frames.push(chunk({ delta: { tool_calls: [{ index, function: { arguments: args } }] } }));
    }
    if (hangAfter < 0) hangAfter = frames.length;
  });
  frames.push(chunk({ delta: {}, finish_reason: reply.finish }));
  if (includeUsage && reply.usage) frames.push(chunk(null, { usage: usage(reply) }));
  frames.push("data: [DONE]\n\n");
  return { frames, hangAfter: hangAfter < 0 ? 1 : hangAfter };
}

/** An error chunk in a stream that had already started; the stream then ends without [DONE]. */
export function openaiStreamErrorFrame(err: { type?: string; message?: string }): string {
  const type = err.type ?? "server_error";
  return `data: ${JSON.stringify({ error: { message: err.message ?? `fake ${type}`, type, param: null, code: null } })}\n\n`;
}

export function openaiError({ error }: FakeError): Response {
  const known = ERROR_TYPE[error.status] ?? { type: error.status >= 500 ? "server_error" : "invalid_request_error", code: null };
  const headers: Record<string, string> = { "content-type": "application/json", "x-request-id": `req_fake_${crypto.randomUUID()}` };
  if (error.retryAfter !== undefined) headers["retry-after"] = error.retryAfter;
  return Response.json(
    { error: { message: error.message ?? `fake ${known.type}`, type: error.type ?? known.type, param: null, code: known.code } },
    { status: error.status, headers: { ...headers, ...error.headers } },
  );
}

/**
 * OpenAI needs `Authorization: Bearer <key>`; local OpenAI-compatible servers (Ollama, llama.cpp) take
 * none. So the fake checks the key only when it was started with one.
 */
export function openaiAuthFailure(headers: Record<string, string>, expectedKey: string | undefined): FakeError | null {
  if (expectedKey === undefined) return null;
  const auth = headers["authorization"] ?? "";
  if (auth === `Bearer ${expectedKey}`) return null;
  return { error: { status: 401, message: "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys." } };
}

/** Message text (string or text parts), assistant tool call arguments and tool results, in order. */
export function openaiPromptText(body: any): string {
  const out: string[] = [];
  for (const message of body?.messages ?? []) {
    const content = message?.content;
    if (typeof content === "string") out.push(content);
    else if (Array.isArray(content)) for (const part of content) if (typeof part?.text === "string") out.push(part.text);
    for (const call of message?.tool_calls ?? []) if (typeof call?.function?.arguments === "string") out.push(call.function.arguments);
  }
  return out.join("\n");
}
