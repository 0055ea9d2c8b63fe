// LlmError: every provider failure as one kind (rate_limited, server, timeout, auth, bad_request,
// network) with retryability, Retry-After, and a message safe to show a user.
import { AISDKError, APICallError, InvalidArgumentError, InvalidMessageRoleError, InvalidPromptError, StreamProviderError } from "ai";

export type LlmErrorKind = "rate_limited" | "server" | "timeout" | "auth" | "bad_request" | "network";

/** Whether trying the same call again later can succeed. */
const RETRYABLE: Record<LlmErrorKind, boolean> = {
  rate_limited: true,
  server: true,
  timeout: true,
  network: true,
  auth: false,
  bad_request: false,
};

export class LlmError extends Error {
  readonly kind: LlmErrorKind;
  readonly status?: number;
  readonly retryable: boolean;
  /** How long the provider asked us to wait (Retry-After / retry-after-ms), when it said. */
  readonly retryAfterMs?: number;

  constructor(init: { kind: LlmErrorKind; message: string; status?: number; retryAfterMs?: number; cause?: unknown }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "LlmError";
    this.kind = init.kind;
    this.status = init.status;
    this.retryable = RETRYABLE[init.kind];
    this.retryAfterMs = init.retryAfterMs;
  }
}

export function kindOfStatus(status: number): LlmErrorKind {
  if (status === 401 || status === 403) return "auth";
  if (status === 408) return "timeout";
  if (status === 429) return "rate_limited";
  if (status >= 500) return "server"; // 529 is Anthropic's "overloaded"
  return "bad_request";
}

/**
 * `retry-after-ms` (OpenAI) wins over `retry-after`, which is seconds or an HTTP date. Absent,
 * unparsable or in the past: undefined. `now` is injectable for the date form.
 */
export function retryAfterMs(headers: Record<string, string> | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const ms = Number.parseFloat(lower["retry-after-ms"] ?? "");
  if (Number.isFinite(ms) && ms >= 0) return Math.round(ms);
  const value = lower["retry-after"]?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number.parseFloat(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) || at < now ? undefined : at - now;
}

const MAX_MESSAGE = 500;

/** The provider's message without the key (OpenAI echoes part of a wrong key) and without runaway length. */
export function safeMessage(message: string, apiKey?: string): string {
  let out = apiKey ? message.split(apiKey).join("[key]") : message;
  out = out.replace(/\b(sk|sk-ant|sk-proj)-[A-Za-z0-9_*-]{6,}/g, "[key]");
  return out.length > MAX_MESSAGE ? `${out.slice(0, MAX_MESSAGE)}…` : out;
}

/**
 * Normalises what the SDK threw. An error that is neither the SDK's nor a network failure is a bug of
 * ours: null, so the caller rethrows it as it is and it is not mistaken for a provider failure and retried.
 */
export function toLlmError(err: unknown, ctx: { provider: string; apiKey?: string }): LlmError | null {
  if (err instanceof LlmError) return err;
  const say = (text: string) => `${ctx.provider}: ${safeMessage(text, ctx.apiKey)}`;
  if (APICallError.isInstance(err)) {
    if (err.statusCode === undefined) return new LlmError({ kind: "network", message: say(err.message), cause: err });
    return new LlmError({
      kind: kindOfStatus(err.statusCode),
      status: err.statusCode,
      message: say(`${err.statusCode} ${err.message}`),
      retryAfterMs: retryAfterMs(err.responseHeaders),
      cause: err,
    });
  }
  // An error event inside a stream that had already started (e.g. Anthropic's overloaded_error).
  if (StreamProviderError.isInstance(err)) {
    const kind = err.statusCode !== undefined ? kindOfStatus(err.statusCode) : "server";
    return new LlmError({ kind, status: err.statusCode, message: say(err.message), cause: err });
  }
  if (InvalidPromptError.isInstance(err) || InvalidArgumentError.isInstance(err) || InvalidMessageRoleError.isInstance(err)) {
    return new LlmError({ kind: "bad_request", message: say(err.message), cause: err });
  }
  // Anything else from the SDK is a response it could not read (bad JSON, unexpected shape).
  if (AISDKError.isInstance(err)) {
    return new LlmError({ kind: "server", message: say(`unreadable response: ${err.message}`), cause: err });
  }
  if (err instanceof TypeError && /fetch|connect|socket/i.test(err.message)) {
    return new LlmError({ kind: "network", message: say(err.message), cause: err });
  }
  return null;
}
