// Per request: its correlation id (X-Correlation-Id as sent, else the request id), a log context that
// puts `req_id` and `correlation_id` on every log line written while it is handled, an access-log line
// when it is answered (`error` for a 5xx, else `debug`: a line per request at the default level would
// cost ~20 % of a cached GET, bench/logging.ts), and the figures the metrics keep.
import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { enabled, logger, withLogContext, type LogLevel } from "../log.ts";

const log = logger("http");

/** What a client may send as X-Correlation-Id: an opaque token, no spaces or quotes (it ends up in logs). */
const CORRELATION_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

export interface AnsweredRequest {
  method: string;
  /** The pattern of the route that answered (`/api/v1/tasks/:id`), or `unmatched`: never the raw path. */
  route: string;
  status: number;
  seconds: number;
}

export interface RequestContextOptions {
  /** Called once per answered request (the metrics). */
  onAnswered?: (r: AnsweredRequest) => void;
}

/** The route pattern that matched the request (the handler's, not a middleware's). */
export function routePatternOf(c: Parameters<MiddlewareHandler>[0]): string {
  const handler = matchedRoutes(c).findLast((r) => r.method !== "ALL");
  return handler?.path ?? "unmatched";
}

export function requestContext(opts: RequestContextOptions = {}): MiddlewareHandler {
  return async function withRequestContext(c, next) {
    const started = performance.now();
    const requestId = c.get("requestId");
    const sent = c.req.header("x-correlation-id");
    const correlationId = sent && CORRELATION_ID.test(sent) ? sent : requestId;
    c.set("correlationId", correlationId);
    c.header("X-Correlation-Id", correlationId);
    await withLogContext({ req_id: requestId, correlation_id: correlationId }, async () => {
      try {
        await next();
      } finally {
        const seconds = (performance.now() - started) / 1000;
        const route = routePatternOf(c);
        const status = c.res.status;
        opts.onAnswered?.({ method: c.req.method, route, status, seconds });
        const level: LogLevel = status >= 500 ? "error" : "debug";
        if (enabled(level)) {
          // The path without its query (a reset token or a search could be in it).
          log[level](`${c.req.method} ${c.req.path} ${status}`, { method: c.req.method, path: c.req.path, route, status, ms: Math.round(seconds * 10_000) / 10 });
        }
      }
    });
  };
}
