// A scripted fake LLM provider on loopback (Bun.serve, port 0) speaking the Anthropic Messages and OpenAI
// Chat Completions wire formats, so the real AI SDK providers can be driven against it. No bun:test here:
// tests and bench scripts both use it.
import { anthropicAuthFailure, anthropicError, anthropicJson, anthropicPromptText, anthropicStream, anthropicStreamErrorFrame } from "./anthropic.ts";
import { openaiAuthFailure, openaiError, openaiJson, openaiPromptText, openaiStream, openaiStreamErrorFrame } from "./openai.ts";
import { resolveReply, type StreamPlan } from "./reply.ts";
import { isFakeError, type FakeError, type FakeFormat, type FakeReply, type FakeResponder, type FakeResponse, type RecordedRequest } from "./types.ts";

export * from "./types.ts";
export { fakeTokens } from "./reply.ts";

export interface FakeLlmOptions {
  /** When set, only this key is accepted (x-api-key for Anthropic, Bearer for OpenAI); otherwise any non-empty Anthropic key. */
  apiKey?: string;
}

export interface FakeLlm {
  /** http://127.0.0.1:<port> */
  url: string;
  /** What the Anthropic provider takes as baseURL (`<url>/v1`; it appends /messages). */
  anthropicBaseUrl: string;
  /** What the OpenAI and OpenAI-compatible providers take as baseURL (`<url>/v1`; they append /chat/completions). */
  openaiBaseUrl: string;
  /** Appends answers to the FIFO; a function in it answers one request from what that request carried. */
  script(...responses: Array<FakeResponse | FakeResponder>): void;
  /** A standing responder for every request the FIFO has nothing for (null removes it). */
  respond(responder: FakeResponder | null): void;
  /** Every request received, in order (also those refused for auth or an unknown path). */
  readonly requests: RecordedRequest[];
  /** How many scripted answers are still unused. */
  pending(): number;
  /** Resolves once at least `count` requests have arrived. */
  waitForRequests(count: number): Promise<RecordedRequest[]>;
  stop(): Promise<void>;
}

const ROUTES: Record<string, FakeFormat> = { "/v1/messages": "anthropic", "/v1/chat/completions": "openai" };

/**
 * Starts a fake on a free loopback port. For example:
 *
 *   const fake = startFakeLlm();
 *   fake.script({ text: "Yes, ship it." }, { error: { status: 429, retryAfter: "1" } });
 *   const settings = { provider: "anthropic", baseUrl: fake.anthropicBaseUrl, apiKey: "k", ... };
 *   await callModel({ settings, messages: [{ role: "user", content: "Ship?" }] }); // "Yes, ship it."
 *   fake.requests[0].promptText; // "Ship?"
 *   await fake.stop();
 */
export function startFakeLlm(options: FakeLlmOptions = {}): FakeLlm {
  const fifo: Array<FakeResponse | FakeResponder> = [];
  let standing: FakeResponder | null = null;
  const requests: RecordedRequest[] = [];
  const waiters: Array<{ count: number; resolve: (r: RecordedRequest[]) => void }> = [];
  /** Hanging answers, released when the fake stops so nothing outlives it. */
  const hanging = new Set<() => void>();

  function record(req: Request, path: string, body: any, format: FakeFormat | undefined) {
    let resolveDone!: (o: "answered" | "aborted") => void;
    const done = new Promise<"answered" | "aborted">((r) => (resolveDone = r));
    let settled = false;
    const rec: RecordedRequest = {
      n: requests.length + 1,
      method: req.method,
      path,
      headers: Object.fromEntries([...req.headers.entries()].map(([k, v]) => [k.toLowerCase(), v])),
      body,
      format,
      stream: body?.stream === true,
      promptText: format === "anthropic" ? anthropicPromptText(body) : format === "openai" ? openaiPromptText(body) : "",
      done,
    };
    requests.push(rec);
    for (const w of [...waiters]) {
      if (requests.length >= w.count) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(requests.slice());
      }
    }
    /** The first outcome wins: a stream cancelled after its last frame still counts as answered. */
    const finish = (outcome: "answered" | "aborted") => {
      if (settled) return;
      settled = true;
      resolveDone(outcome);
    };
    return { rec, finish };
  }

  /** Resolves when the client goes away (or the fake stops). */
  function untilAborted(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const release = () => {
        hanging.delete(release);
        resolve();
      };
      hanging.add(release);
      signal.addEventListener("abort", release, { once: true });
    });
  }

  /** Waits `ms` unless the client goes away first; true when it did. */
  function delay(ms: number, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      signal.addEventListener("abort", () => (clearTimeout(timer), resolve(true)), { once: true });
    });
  }

  async function next(rec: RecordedRequest): Promise<FakeResponse> {
    const item = fifo.shift() ?? standing;
    if (!item) {
      return {
        error: {
          status: 500,
          message: `fake-llm: nothing scripted for request #${rec.n} (${rec.method} ${rec.path}); call fake.script(...) or fake.respond(...) first`,
        },
      };
    }
    if (typeof item !== "function") return item;
    try {
      return await item(rec);
    } catch (err) {
      // A responder's bug shows up as a readable provider error, not as Bun's HTML error page.
      return { error: { status: 500, message: `fake-llm: the responder for request #${rec.n} threw: ${(err as Error)?.message ?? err}` } };
    }
  }

  function renderError(format: FakeFormat, err: FakeError): Response {
    return format === "anthropic" ? anthropicError(err) : openaiError(err);
  }

  function streamResponse(plan: StreamPlan, hang: boolean, signal: AbortSignal, finish: (o: "answered" | "aborted") => void): Response {
    const encoder = new TextEncoder();
    const count = hang ? Math.min(plan.hangAfter, plan.frames.length) : plan.frames.length;
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        for (const frame of plan.frames.slice(0, count)) controller.enqueue(encoder.encode(frame));
        if (hang) {
          await untilAborted(signal);
          finish("aborted");
          try {
            controller.close();
          } catch {
            // The client's disconnect already closed the stream.
          }
          return;
        }
        controller.close();
        finish("answered");
      },
      cancel() {
        finish("aborted");
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
  }

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    // A scripted delay or hang may be long; the client (or stop) ends it, not Bun's idle timer.
    idleTimeout: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      const format = req.method === "POST" ? ROUTES[path] : undefined;
      const raw = await req.text();
      let body: any;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        body = undefined;
      }
      const { rec, finish } = record(req, path, body, format);
      if (!format) {
        finish("answered");
        return openaiError({ error: { status: 404, message: `fake-llm does not serve ${req.method} ${path}` } });
      }
      if (body === undefined) {
        finish("answered");
        return renderError(format, { error: { status: 400, message: "fake-llm: the body is not JSON" } });
      }
      const refused = format === "anthropic" ? anthropicAuthFailure(rec.headers, options.apiKey) : openaiAuthFailure(rec.headers, options.apiKey);
      if (refused) {
        finish("answered");
        return renderError(format, refused);
      }
      const response = await next(rec);
      if (response.delayMs && (await delay(response.delayMs, req.signal))) {
        finish("aborted");
        return new Response(null, { status: 499 });
      }
      if (isFakeError(response)) {
        finish("answered");
        return renderError(format, response);
      }
      const reply = response as FakeReply;
      if (reply.hang === "before-response") {
        await untilAborted(req.signal);
        finish("aborted");
        return new Response(null, { status: 499 });
      }
      const resolved = resolveReply(reply, rec, format === "anthropic" ? "toolu_fake_" : "call_fake_");
      if (!rec.stream) {
        finish("answered");
        return Response.json(format === "anthropic" ? anthropicJson(resolved) : openaiJson(resolved));
      }
      let plan = format === "anthropic" ? anthropicStream(resolved) : openaiStream(resolved, body.stream_options?.include_usage === true);
      if (reply.streamError) {
        const errorFrame = format === "anthropic" ? anthropicStreamErrorFrame(reply.streamError) : openaiStreamErrorFrame(reply.streamError);
        plan = { frames: [...plan.frames.slice(0, plan.hangAfter), errorFrame], hangAfter: plan.hangAfter + 1 };
      }
      return streamResponse(plan, reply.hang === "mid-stream", req.signal, finish);
    },
  });

  const url = `http://127.0.0.1:${server.port}`;
  return {
    url,
    anthropicBaseUrl: `${url}/v1`,
    openaiBaseUrl: `${url}/v1`,
    script: (...responses) => void fifo.push(...responses),
    respond: (responder) => void (standing = responder),
    requests,
    pending: () => fifo.length,
    waitForRequests(count) {
      if (requests.length >= count) return Promise.resolve(requests.slice());
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    async stop() {
      for (const release of [...hanging]) release();
      await server.stop(true);
    },
  };
}
