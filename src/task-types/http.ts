// `http`: one HTTP request; captures status, headers and body; an unexpected status fails the task. Only
// public addresses unless the admin allows more (http-guard.ts), checked on every redirect, which this
// follows itself: user headers and the body never follow a redirect to another origin.
import { checkServerIdentity } from "node:tls";
import { z } from "zod";
import { DestinationRefused, resolveDestination } from "./http-guard.ts";
import { defineTaskType, TaskFailure, type TaskContext } from "./types.ts";

const MAX_BODY_CHARS = 1024 * 1024;
const MAX_REDIRECTS = 10;

export const HttpParams = z.strictObject({
  method: z.enum(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]).default("GET"),
  url: z
    .url({ protocol: /^https?$/, message: "must be an http:// or https:// URL" })
    .max(8192)
    .describe("Target URL (http or https); internal addresses (loopback, private, link-local) only when an admin allows them"),
  headers: z.record(z.string().min(1).max(256), z.string().max(8192)).default({}),
  body: z
    .union([z.string().max(10 * 1024 * 1024), z.record(z.string(), z.unknown()), z.array(z.unknown())])
    .optional()
    .describe("A string is sent as-is; an object or array is sent as JSON"),
  expected_status: z
    .union([z.number().int().min(100).max(599), z.array(z.number().int().min(100).max(599)).min(1)])
    .optional()
    .describe("Status (or list) that counts as success; default any 2xx"),
  timeout_seconds: z.number().int().min(1).max(3600).default(30),
  follow_redirects: z.boolean().default(true),
});

type Params = z.infer<typeof HttpParams>;

/** One request to the address `url`'s host resolved to (checked), with the host's name for Host and TLS. */
async function send(url: URL, init: { method: string; headers: Headers; body?: string; signal: AbortSignal }, allow: readonly string[]): Promise<Response> {
  const { address, family } = await resolveDestination(url, allow);
  const pinned = new URL(url);
  pinned.hostname = family === 6 ? `[${address}]` : address;
  const headers = new Headers(init.headers);
  headers.set("host", url.host);
  const servername = url.hostname.replace(/^\[|\]$/g, "");
  return fetch(pinned, {
    method: init.method,
    headers,
    body: init.body,
    redirect: "manual",
    signal: init.signal,
    // Connected by address: TLS still names and verifies the host the URL names.
    tls: url.protocol === "https:" ? { serverName: servername, checkServerIdentity: (_h: string, cert: never) => checkServerIdentity(servername, cert) } : undefined,
  } as RequestInit);
}

/** Reads at most `max` characters (and the cutter's margin past them) of the body, then stops reading. */
async function readBody(res: Response, ctx: TaskContext<Params>): Promise<{ text: string; truncated: boolean }> {
  if (!res.body) return { text: "", truncated: false };
  const keep = MAX_BODY_CHARS + ctx.text.margin;
  const decoder = new TextDecoder();
  let text = "";
  const reader = res.body.getReader();
  let truncated = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    if (text.length > keep) {
      truncated = true;
      await reader.cancel();
      break;
    }
  }
  if (!truncated) text += decoder.decode();
  // Never cut inside one of the task's secret values: the server masks whole values only.
  const body = ctx.text.head(text, MAX_BODY_CHARS);
  return { text: body, truncated: truncated || body.length < text.length };
}

async function run(ctx: TaskContext<Params>) {
  const p = ctx.params;
  let headers = new Headers(p.headers);
  let body: string | undefined;
  if (typeof p.body === "string") body = p.body;
  else if (p.body !== undefined) {
    body = JSON.stringify(p.body);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  ctx.log.info(`${p.method} ${p.url}`);
  const started = performance.now();
  const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(p.timeout_seconds * 1000)]);
  let url = new URL(p.url);
  let method: string = p.method;
  let res: Response;
  try {
    for (let hop = 0; ; hop++) {
      res = await send(url, { method, headers, body, signal }, ctx.httpAllow);
      const location = res.headers.get("location");
      if (!p.follow_redirects || res.status < 300 || res.status > 399 || !location) break;
      if (hop >= MAX_REDIRECTS) throw new TaskFailure(`request failed: more than ${MAX_REDIRECTS} redirects`);
      await res.body?.cancel();
      const next = new URL(location, url);
      if (next.protocol !== "http:" && next.protocol !== "https:") throw new TaskFailure(`request failed: a redirect to ${next.protocol} is not followed`, { retryable: false });
      if (next.origin !== url.origin) {
        // Another origin gets neither the headers (credentials) nor the body the task was given.
        if ((res.status === 307 || res.status === 308) && body !== undefined) {
          throw new TaskFailure(`request failed: not resending the request body to another origin (${next.origin}) on a ${res.status} redirect`, { retryable: false });
        }
        headers = new Headers();
        body = undefined;
      }
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === "POST")) {
        method = method === "HEAD" ? "HEAD" : "GET";
        body = undefined;
        headers.delete("content-type");
      }
      ctx.log.info(`${res.status} → ${next.href}`);
      url = next;
    }
  } catch (err) {
    if (err instanceof TaskFailure) throw err;
    if (err instanceof DestinationRefused) throw new TaskFailure(`request failed: ${err.message}`, { retryable: false });
    const e = err as Error;
    const reason = e.name === "TimeoutError" ? `no response within ${p.timeout_seconds}s` : e.message;
    throw new TaskFailure(`request failed: ${reason}`);
  }
  const { text, truncated } = p.method === "HEAD" ? { text: "", truncated: false } : await readBody(res, ctx);
  const durationMs = Math.round(performance.now() - started);
  const responseHeaders = Object.fromEntries(res.headers.entries());
  let json: unknown;
  if (!truncated && (res.headers.get("content-type") ?? "").includes("json")) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  const result = {
    status: res.status,
    headers: responseHeaders,
    body: text,
    truncated,
    ...(json !== undefined ? { json } : {}),
    duration_ms: durationMs,
  };
  ctx.log.info(`${res.status} ${res.statusText} in ${durationMs} ms (${text.length}${truncated ? "+" : ""} chars)`);
  const expected = p.expected_status === undefined ? null : [p.expected_status].flat();
  const ok = expected ? expected.includes(res.status) : res.status >= 200 && res.status < 300;
  if (!ok) {
    const want = expected ? expected.join(" or ") : "2xx";
    throw new TaskFailure(`unexpected status ${res.status} (expected ${want})`, { result });
  }
  return result;
}

export default defineTaskType({
  name: "http",
  description: "Sends one HTTP request and records the response (public addresses only, unless an admin allows internal ones)",
  params: HttpParams,
  run,
});
