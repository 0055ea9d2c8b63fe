// The client's address and scheme: from the socket, or — only when a reverse proxy is trusted to set
// them — from X-Forwarded-For / X-Forwarded-Proto (otherwise any client could claim any address).
import type { Server } from "bun";
import type { Context } from "hono";

/** The address the request came from; "unknown" when there is no socket (app.request() in tests). */
export function clientIp(c: Context, trustProxy = false): string {
  if (trustProxy) {
    // The proxy appends the address it saw: the last entry is the one a client cannot forge.
    const forwarded = c.req.header("x-forwarded-for")?.split(",").at(-1)?.trim();
    if (forwarded) return forwarded;
  }
  try {
    return (c.env as Server<unknown> | undefined)?.requestIP?.(c.req.raw)?.address ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** Whether the client reached us over HTTPS (directly, or via a trusted proxy that says so). */
export function isHttps(c: Context, trustProxy = false): boolean {
  if (trustProxy && c.req.header("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase() === "https") return true;
  return new URL(c.req.url).protocol === "https:";
}
