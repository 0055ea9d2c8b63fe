// The Anthropic Messages wire format (POST /v1/messages): JSON and SSE answers, errors, auth and prompt text.
import { pieces, type ResolvedReply, type StreamPlan } from "./reply.ts";
import type { FakeError } from "./types.ts";

const STOP_REASON = { stop: "end_turn", length: "max_tokens", tool_calls: "tool_use" } as const;

const ERROR_TYPE: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  529: "overloaded_error",
};

/** Anthropic always reports usage; a scripted `usage: null` is sent as zeros. */
function usage(reply: ResolvedReply) {
  return { input_tokens: reply.usage?.inputTokens ?? 0, output_tokens: reply.usage?.outputTokens ?? 0 };
}

function messageId(reply: ResolvedReply) {
  return `msg_fake_${reply.n}`;
}

export function anthropicJson(reply: ResolvedReply) {
  const content: unknown[] = [];
  if (reply.text) content.push({ type: "text", text: reply.text });
  for (const call of reply.toolCalls) content.push({ type: "tool_use", id: call.id, name: call.name, input: call.input });
  return {
    id: messageId(reply),
    type: "message",
    role: "assistant",
    model: reply.model,
    content,
    stop_reason: STOP_REASON[reply.finish],
    stop_sequence: null,
    usage: usage(reply),
  };
}

function frame(type: string, data: object): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

/**
 * As the API streams: message_start (input tokens), one content block per text and tool call with its
 * deltas (tool input as `input_json_delta` pieces, starting with an empty one as the API does),
 * message_delta (stop reason and output tokens), message_stop.
 */
export function anthropicStream(reply: ResolvedReply): StreamPlan {
  const frames: string[] = [];
  let hangAfter = -1;
  const { input_tokens, output_tokens } = usage(reply);
  frames.push(
    frame("message_start", {
      message: {
        id: messageId(reply), type: "message", role: "assistant", model: reply.model, content: [],
        stop_reason: null, stop_sequence: null, usage: { input_tokens, output_tokens: 1 },
      },
    }),
  );
  frames.push(frame("ping", {}));
  let index = 0;
  const markFirstDelta = () => {
    if (hangAfter < 0) hangAfter = frames.length;
  };
  if (reply.text) {
    frames.push(frame("content_block_start", { index, content_block: { type: "text", text: "" } }));
    for (const text of pieces(reply.text, reply.chunkSize)) {
      frames.push(frame("content_block_delta", { index, delta: { type: "text_delta", text } }));
      markFirstDelta();
    }
    frames.push(frame("content_block_stop", { index }));
    index++;
  }
  for (const call of reply.toolCalls) {
    frames.push(frame("content_block_start", { index, content_block: { type: "tool_use", id: call.id, name: call.name, input: {} } }));
    for (const partial_json of ["", ...pieces(call.json, reply.chunkSize)]) {
      frames.push(frame("content_block_delta", { index, delta: { type: "input_json_delta", partial_json } }));
    }
    markFirstDelta();
    frames.push(frame("content_block_stop", { index }));
    index++;
  }
  frames.push(frame("message_delta", { delta: { stop_reason: STOP_REASON[reply.finish], stop_sequence: null }, usage: { output_tokens } }));
  frames.push(frame("message_stop", {}));
  return { frames, hangAfter: hangAfter < 0 ? 2 : hangAfter };
}

/** An error event in a stream that had already started. */
export function anthropicStreamErrorFrame(err: { type?: string; message?: string }): string {
  const type = err.type ?? "overloaded_error";
  return frame("error", { error: { type, message: err.message ?? `fake ${type}` } });
}

export function anthropicError({ error }: FakeError): Response {
  const type = error.type ?? ERROR_TYPE[error.status] ?? (error.status >= 500 ? "api_error" : "invalid_request_error");
  const headers: Record<string, string> = { "content-type": "application/json", "request-id": `req_fake_${crypto.randomUUID()}` };
  if (error.retryAfter !== undefined) headers["retry-after"] = error.retryAfter;
  return Response.json(
    { type: "error", error: { type, message: error.message ?? `fake ${type}` } },
    { status: error.status, headers: { ...headers, ...error.headers } },
  );
}

/** The API refuses a request without a key or without `anthropic-version`; so does the fake. */
export function anthropicAuthFailure(headers: Record<string, string>, expectedKey: string | undefined): FakeError | null {
  const key = headers["x-api-key"];
  if (!key || (expectedKey !== undefined && key !== expectedKey)) {
    return { error: { status: 401, type: "authentication_error", message: "invalid x-api-key" } };
  }
  if (!headers["anthropic-version"]) {
    return { error: { status: 400, message: "anthropic-version: header is required" } };
  }
  return null;
}

/** System prompt, message text, tool calls and tool results, in order. */
export function anthropicPromptText(body: any): string {
  const out: string[] = [];
  const add = (content: unknown) => {
    if (typeof content === "string") return void out.push(content);
    if (!Array.isArray(content)) return;
    for (const block of content) {
      if (block?.type === "text") out.push(block.text);
      else if (block?.type === "tool_use") out.push(JSON.stringify(block.input));
      else if (block?.type === "tool_result") add(block.content);
    }
  };
  add(body?.system);
  for (const message of body?.messages ?? []) add(message?.content);
  return out.join("\n");
}
