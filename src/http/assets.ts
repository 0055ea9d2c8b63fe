// The web UI's static files, embedded in the binary: htmx, its SSE extension, the UI script and the
// generated stylesheet, served at content-hashed URLs (`/assets/<name>.<hash>.<ext>`) that never change,
// so browsers cache them for a year; gzip is precomputed once.
import { readFileSync } from "node:fs";
import { Hono } from "hono";
import htmxPath from "htmx.org/dist/htmx.min.js" with { type: "file" };
import ssePath from "htmx-ext-sse/dist/sse.min.js" with { type: "file" };
import appJsPath from "../../public/app.js" with { type: "file" };
import chatJsPath from "../../public/chat.js" with { type: "file" };
import cssPath from "../../public/build/app.css" with { type: "file" };
import faviconPath from "../../public/favicon.svg" with { type: "file" };

interface Asset {
  url: string;
  type: string;
  body: Uint8Array<ArrayBuffer>;
  gzip: Uint8Array<ArrayBuffer> | null;
  etag: string;
}

function asset(name: string, path: string, type: string): Asset {
  const body = new Uint8Array(readFileSync(path));
  const hash = new Bun.CryptoHasher("sha256").update(body).digest("hex").slice(0, 12);
  const ext = name.slice(name.lastIndexOf("."));
  const url = `/assets/${name.slice(0, -ext.length)}.${hash}${ext}`;
  return { url, type, body, gzip: body.length > 1024 ? Bun.gzipSync(body, { level: 9 }) : null, etag: `"${hash}"` };
}

export const ASSETS = {
  htmx: asset("htmx.js", htmxPath, "text/javascript; charset=utf-8"),
  sse: asset("htmx-sse.js", ssePath, "text/javascript; charset=utf-8"),
  app: asset("app.js", appJsPath, "text/javascript; charset=utf-8"),
  /** The Chat page's script (its WebSocket, the composer); only that page loads it. */
  chat: asset("chat.js", chatJsPath, "text/javascript; charset=utf-8"),
  css: asset("app.css", cssPath, "text/css; charset=utf-8"),
  favicon: asset("favicon.svg", faviconPath, "image/svg+xml"),
} as const;

const byUrl = new Map<string, Asset>(Object.values(ASSETS).map((a) => [a.url, a]));

function serve(a: Asset, acceptEncoding: string | undefined, cache: string): Response {
  const headers: Record<string, string> = { "content-type": a.type, "cache-control": cache, etag: a.etag, vary: "Accept-Encoding" };
  if (a.gzip && /\bgzip\b/.test(acceptEncoding ?? "")) {
    return new Response(a.gzip, { headers: { ...headers, "content-encoding": "gzip" } });
  }
  return new Response(a.body, { headers });
}

export const assetRoutes = new Hono()
  .get("/assets/:file", (c) => {
    const a = byUrl.get(c.req.path);
    if (!a) return c.notFound();
    if (c.req.header("if-none-match") === a.etag) return c.body(null, 304);
    return serve(a, c.req.header("accept-encoding"), "public, max-age=31536000, immutable");
  })
  .get("/favicon.svg", (c) => serve(ASSETS.favicon, c.req.header("accept-encoding"), "public, max-age=86400"))
  // Browsers still ask for /favicon.ico now and then, whatever the page links: the same icon, not a 404.
  .get("/favicon.ico", (c) => serve(ASSETS.favicon, c.req.header("accept-encoding"), "public, max-age=86400"));
