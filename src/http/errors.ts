// The one place that turns any thrown value into the documented JSON error shape (AppError lives in src/errors.ts).
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AppError, type ErrorCode, type ErrorDetail } from "../errors.ts";
import { logger } from "../log.ts";
import { isDiskFull } from "../data-dir/disk.ts";

const log = logger("http");

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
  507: "insufficient_storage",
};

/** What a full disk answers: nothing was changed (the transaction rolled back), and it is not the client's fault. */
export const DISK_FULL_MESSAGE = "The server's disk is full: nothing was changed. Free space on the server (or wait for it to be freed) and try again";

/** Normalises any thrown value to {status, body}; unknown errors are logged and hidden. */
export function toErrorResponse(err: unknown, requestId: string): { status: ContentfulStatusCode; body: ErrorBody; headers?: Record<string, string> } {
  if (err instanceof AppError) return { status: err.status, body: errorBody(err.code, err.message, err.details), headers: err.headers };
  if (isDiskFull(err)) {
    log.error(`request ${requestId}: the disk is full (${(err as Error).message})`);
    return { status: 507, body: errorBody("insufficient_storage", DISK_FULL_MESSAGE), headers: { "Retry-After": "30" } };
  }
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
