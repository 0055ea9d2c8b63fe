// `http`: one HTTP request; captures status, headers and body; an unexpected status fails the task.
import { z } from "zod";
import { defineTaskType, TaskFailure } from "./types.ts";

const MAX_BODY_CHARS = 1024 * 1024;

export const HttpParams = z.strictObject({
  method: z.enum(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]).default("GET"),
  url: z
    .url({ protocol: /^https?$/, message: "must be an http:// or https:// URL" })
    .max(8192)
    .describe("Target URL (http or https)"),
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

export default defineTaskType({
  name: "http",
  description: "Sends one HTTP request and records the response",
  params: HttpParams,
  async run(ctx) {
    const p = ctx.params;
    const headers = new Headers(p.headers);
    let body: string | undefined;
    if (typeof p.body === "string") body = p.body;
    else if (p.body !== undefined) {
      body = JSON.stringify(p.body);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
    }
    ctx.log.info(`${p.method} ${p.url}`);
    const started = performance.now();
    let res: Response;
    try {
      res = await fetch(p.url, {
        method: p.method,
        headers,
        body,
        redirect: p.follow_redirects ? "follow" : "manual",
        signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(p.timeout_seconds * 1000)]),
      });
    } catch (err) {
      const e = err as Error;
      const reason = e.name === "TimeoutError" ? `no response within ${p.timeout_seconds}s` : e.message;
      throw new TaskFailure(`request failed: ${reason}`);
    }
    const text = p.method === "HEAD" ? "" : await res.text();
    const durationMs = Math.round(performance.now() - started);
    const responseHeaders = Object.fromEntries(res.headers.entries());
    let json: unknown;
    if ((res.headers.get("content-type") ?? "").includes("json")) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    const result = {
      status: res.status,
      headers: responseHeaders,
      // Never cut inside one of the task's secret values: the server masks whole values only.
      body: ctx.text.head(text, MAX_BODY_CHARS),
      truncated: text.length > MAX_BODY_CHARS,
      ...(json !== undefined ? { json } : {}),
      duration_ms: durationMs,
    };
    ctx.log.info(`${res.status} ${res.statusText} in ${durationMs} ms (${text.length} chars)`);
    const expected = p.expected_status === undefined ? null : [p.expected_status].flat();
    const ok = expected ? expected.includes(res.status) : res.status >= 200 && res.status < 300;
    if (!ok) {
      const want = expected ? expected.join(" or ") : "2xx";
      throw new TaskFailure(`unexpected status ${res.status} (expected ${want})`, { result });
    }
    return result;
  },
});
