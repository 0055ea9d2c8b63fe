// The domain's error: services throw AppError(status, code, message, details); the HTTP layer renders it
// (src/http/errors.ts) and the CLI prints it. Nothing here knows about Hono.
import type { ZodError } from "zod";

/** An HTTP status an AppError may carry (the documented 4xx set, 5xx for the server's own failures). */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 429 | 500 | 503 | 507;

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
    readonly status: ErrorStatus,
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
    // zod says "Invalid input: expected string, received undefined" for a field that is simply missing.
    const missing = issue.code === "invalid_type" && /received undefined$/.test(issue.message);
    return [{ field: path || undefined, message: missing ? `required (${issue.message.replace(/^Invalid input: /, "").replace(/, received undefined$/, "")})` : issue.message, code: issue.code }];
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

