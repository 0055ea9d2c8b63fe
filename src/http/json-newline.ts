// JSON answers end with a newline, as text on a terminal should: `curl` output no longer runs into the
// shell prompt, and `… | while read` sees the last line.
import type { MiddlewareHandler } from "hono";

export const jsonNewline: MiddlewareHandler = async function jsonNewline(c, next) {
  await next();
  const type = c.res.headers.get("content-type");
  if (!type?.startsWith("application/json") || !c.res.body) return;
  const text = await c.res.text();
  c.res = new Response(text.endsWith("\n") ? text : `${text}\n`, c.res);
};
