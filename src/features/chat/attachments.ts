// Serving an attachment: always as a download (Content-Disposition: attachment), with the content type it
// was stored with (only a short list of inert types survives an upload; the rest are octet-stream), no
// sniffing, and a sandboxing CSP, so a file can never run as a page of this origin. Images of the kept
// types may be shown inline (`?inline=1`) for the chat's thumbnails.
import { join } from "node:path";
import type { Context } from "hono";
import { notFound } from "../../errors.ts";
import { IMAGE_TYPES } from "./service.ts";
import { getAttachmentRow } from "./store.ts";

/** RFC 6266 / 5987: an ASCII fallback and the UTF-8 name. */
export function contentDisposition(kind: "attachment" | "inline", filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\%;]/g, "_");
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

export function serveAttachment(c: Context, id: string): Response {
  const row = getAttachmentRow(c.get("deps").db, id);
  if (!row) throw notFound("attachment", id);
  const file = Bun.file(join(c.get("config").dataDir, row.storage_path));
  const inline = c.req.query("inline") === "1" && IMAGE_TYPES.has(row.content_type);
  return new Response(file, {
    headers: {
      "content-type": row.content_type,
      "content-length": String(row.size_bytes),
      "content-disposition": contentDisposition(inline ? "inline" : "attachment", row.filename),
      "x-content-type-options": "nosniff",
      "content-security-policy": "default-src 'none'; sandbox",
      "cache-control": "private, max-age=3600",
    },
  });
}
