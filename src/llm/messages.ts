// The conversation as callers keep it (plain JSON, fit for a database row) → the AI SDK's ModelMessages.
import type { ModelMessage, ToolResultPart } from "ai";

export interface LlmToolCall {
  id: string;
  name: string;
  input: unknown;
  /**
   * Set when the model's call cannot be run as made: an unknown tool, or arguments that are not JSON or
   * do not fit the tool's schema. The caller answers it with an error result, so the model can correct itself.
   */
  invalid?: string;
}

export type LlmMessage =
  | { role: "user"; content: string }
  | { role: "assistant"; content: string; toolCalls?: LlmToolCall[] }
  /** The result of running one tool call; `isError` tells the model the call failed. */
  | { role: "tool"; toolCallId: string; toolName: string; content: string; isError?: boolean };

export function toModelMessages(messages: LlmMessage[]): ModelMessage[] {
  const out: ModelMessage[] = [];
  for (const message of messages) {
    if (message.role === "user") out.push({ role: "user", content: message.content });
    else if (message.role === "assistant") {
      out.push({
        role: "assistant",
        content: [
          ...(message.content ? [{ type: "text" as const, text: message.content }] : []),
          ...(message.toolCalls ?? []).map((call) => ({ type: "tool-call" as const, toolCallId: call.id, toolName: call.name, input: call.input })),
        ],
      });
    } else {
      const part: ToolResultPart = {
        type: "tool-result",
        toolCallId: message.toolCallId,
        toolName: message.toolName,
        output: message.isError ? { type: "error-text", value: message.content } : { type: "text", value: message.content },
      };
      // Results of one turn's several calls travel together (Anthropic wants them in one user turn).
      const last = out.at(-1);
      if (last?.role === "tool") last.content.push(part);
      else out.push({ role: "tool", content: [part] });
    }
  }
  return out;
}

/** All the text a prompt carries, for estimating its tokens. */
export function promptText(system: string | undefined, messages: LlmMessage[]): string {
  const parts = system ? [system] : [];
  for (const m of messages) {
    parts.push(m.content);
    if (m.role === "assistant") for (const call of m.toolCalls ?? []) parts.push(call.name, JSON.stringify(call.input));
  }
  return parts.join("\n");
}
