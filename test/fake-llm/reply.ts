// Turns a scripted FakeReply into the concrete answer both wire formats render: ids, usage, chunks.
import type { FakeReply, RecordedRequest } from "./types.ts";

export interface ResolvedToolCall {
  id: string;
  name: string;
  /** The arguments as the JSON text the model "wrote". */
  json: string;
  input: unknown;
}

export interface ResolvedReply {
  n: number;
  model: string;
  text: string;
  toolCalls: ResolvedToolCall[];
  finish: "stop" | "length" | "tool_calls";
  usage: { inputTokens: number; outputTokens: number } | null;
  chunkSize: number;
}

/** The fake's own token estimate (ceil(chars / 4)), so default usage numbers are predictable. */
export function fakeTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export function resolveReply(reply: FakeReply, req: RecordedRequest, toolIdPrefix: string): ResolvedReply {
  const text = reply.text ?? "";
  const toolCalls = (reply.toolCalls ?? []).map((call, i) => ({
    id: call.id ?? `${toolIdPrefix}${req.n}_${i}`,
    name: call.name,
    json: JSON.stringify(call.input ?? {}),
    input: call.input ?? {},
  }));
  const output = text + toolCalls.map((c) => c.name + c.json).join("");
  return {
    n: req.n,
    model: typeof req.body?.model === "string" ? req.body.model : "fake-model",
    text,
    toolCalls,
    finish: reply.finish ?? (toolCalls.length ? "tool_calls" : "stop"),
    usage: reply.usage === null ? null : (reply.usage ?? { inputTokens: fakeTokens(req.promptText), outputTokens: fakeTokens(output) }),
    chunkSize: Math.max(1, reply.chunkSize ?? 4),
  };
}

/** Cuts text into pieces of `size` characters (an empty text gives no pieces). */
export function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/** What a streamed answer is made of: its SSE frames, and after how many of them a `mid-stream` hang stalls. */
export interface StreamPlan {
  frames: string[];
  hangAfter: number;
}
