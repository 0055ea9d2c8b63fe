// What a test scripts the fake LLM server with, and what the server records of each request it gets.

/** A tool call the fake model makes; `id` defaults to a provider-style id (toolu_… / call_…). */
export interface FakeToolCall {
  id?: string;
  name: string;
  input: unknown;
}

/** A successful answer: text and/or tool calls, in the wire format of whichever endpoint was called. */
export interface FakeReply {
  text?: string;
  toolCalls?: FakeToolCall[];
  /**
   * Token counts the response reports. Default: a chars/4 estimate of the prompt and the output.
   * `null` leaves usage out where the format allows it (OpenAI), as some OpenAI-compatible servers do.
   */
  usage?: { inputTokens: number; outputTokens: number } | null;
  /** Why the model stopped; default `tool_calls` when there are tool calls, else `stop`. */
  finish?: "stop" | "length" | "tool_calls";
  /** Streaming: text and tool arguments are cut into pieces of this many characters (default 4). */
  chunkSize?: number;
  /** Wait this long before answering. */
  delayMs?: number;
  /**
   * Never finish until the client goes away: `before-response` sends nothing at all,
   * `mid-stream` (streaming requests) sends the start and the first delta, then stalls.
   */
  hang?: "before-response" | "mid-stream";
  /**
   * Streaming: after the first delta the stream carries this error event and ends, as a provider does
   * when it fails mid-answer (Anthropic's overloaded_error, say). `type` defaults to the server error type.
   */
  streamError?: { type?: string; message?: string };
}

/** An error answer in the provider's own error shape. */
export interface FakeError {
  error: {
    status: number;
    message?: string;
    /** The provider's error type; default chosen from the status (e.g. 429 → rate_limit_error). */
    type?: string;
    /** Sent as the `retry-after` header (seconds, or an HTTP date). */
    retryAfter?: string;
    headers?: Record<string, string>;
  };
  delayMs?: number;
}

export type FakeResponse = FakeReply | FakeError;

export type FakeFormat = "anthropic" | "openai";

export interface RecordedRequest {
  /** 1-based, in arrival order. */
  n: number;
  method: string;
  path: string;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** The parsed JSON body (undefined when it was not JSON). */
  body: any;
  /** Which wire format the path belongs to (undefined for an unknown path). */
  format?: FakeFormat;
  stream: boolean;
  /** Every piece of prompt text the request carried (system, messages, tool results), joined by newlines. */
  promptText: string;
  /** Settles when the fake finished answering (`answered`) or the client went away first (`aborted`). */
  done: Promise<"answered" | "aborted">;
}

/** Decides the answer from what the model was sent. */
export type FakeResponder = (request: RecordedRequest) => FakeResponse | Promise<FakeResponse>;

export function isFakeError(r: FakeResponse): r is FakeError {
  return "error" in r && r.error !== undefined;
}
