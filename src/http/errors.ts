// AppError and the one place that turns any error into the documented JSON error shape.
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";
import { logger } from "../log.ts";

const log = logger("http");

export type ErrorCode =
  | "validation_failed"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "payload_too_large"
  | "rate_limited"
  | "internal";

export interface ErrorDetail {
  field?: string;
  message: string;
  code?: string;
}

export class AppError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetail[] = [],
    /** Extra response headers, e.g. Retry-After on a 429 or WWW-Authenticate on a 401. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "AppError";
  }
}

export const notFound = (what: string, id: string) => new AppError(404, "not_found", `${what} '${id}' not found`);
export const conflict = (message: string, details?: ErrorDetail[]) => new AppError(409, "conflict", message, details);
export const invalid = (message: string, details?: ErrorDetail[]) => new AppError(400, "validation_failed", message, details);

/** Turns a ZodError into details naming each bad field by its dotted path. */
export function zodDetails(error: ZodError, prefix = ""): ErrorDetail[] {
  return error.issues.flatMap((issue): ErrorDetail[] => {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join(".");
    if (issue.code === "unrecognized_keys") {
      // One detail per unknown field, named, so a typo is obvious.
      return issue.keys.map((key) => ({ field: path ? `${path}.${key}` : key, message: "unknown field", code: issue.code }));
    }
    return [{ field: path || undefined, message: issue.message, code: issue.code }];
  });
}

export function validationError(error: ZodError, prefix = ""): AppError {
  const details = zodDetails(error, prefix);
  const summary = details
    .slice(0, 3)
    .map((d) => (d.field ? `${d.field}: ${d.message}` : d.message))
    .join("; ");
  return invalid(`Invalid request: ${summary}`, details);
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details: ErrorDetail[] };
}

export function errorBody(code: ErrorCode, message: string, details: ErrorDetail[] = []): ErrorBody {
  return { error: { code, message, details } };
}

const STATUS_CODES: Record<number, ErrorCode> = {
  400: "validation_failed",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "not_found",
  409: "conflict",
  413: "payload_too_large",
  429: "rate_limited",
};

/** Normalises any thrown value to {status, body}; unknown errors are logged and hidden. */
export function toErrorResponse(err: unknown, requestId: string): { status: ContentfulStatusCode; body: ErrorBody; headers?: Record<string, string> } {
  if (err instanceof AppError) return { status: err.status, body: errorBody(err.code, err.message, err.details), headers: err.headers };
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    const code = STATUS_CODES[status] ?? (status >= 500 ? "internal" : "validation_failed");
    return { status, body: errorBody(code, err.message || "Request failed") };
  }
  log.error(`request ${requestId} failed:`, err);
  return { status: 500, body: errorBody("internal", `Internal error (request id ${requestId})`) };
}

export function jsonError(c: Context, err: unknown) {
  const { status, body, headers } = toErrorResponse(err, c.get("requestId") ?? "-");
  return c.json(body, status, headers);
}
