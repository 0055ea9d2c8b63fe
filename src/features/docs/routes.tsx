/** @jsxImportSource hono/jsx */
// GET /docs: the API reference page, built from the same OpenAPI document as /api/v1/openapi.json.
import { Hono } from "hono";
import { openApiDocument } from "../../http/openapi.ts";
import { page } from "../../pages/render.tsx";
import { ApiReference, type DocOperation, type DocTag } from "../../../views/docs/api-reference.tsx";

type Doc = ReturnType<typeof openApiDocument>;
type Response = { $ref?: string; description?: string; content?: Record<string, { example?: unknown }> };

/** The document's operations grouped by tag, $refs of the shared error answers resolved. */
export function docTags(doc: Doc): DocTag[] {
  const shared = doc.components.responses as Record<string, Response>;
  const byTag = new Map<string, DocOperation[]>();
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, raw] of Object.entries(ops)) {
      const op = raw as { operationId: string; summary: string; description?: string; tags: string[]; "x-agentvine-access"?: string; security?: unknown[]; parameters?: Array<{ name: string; in: string; required: boolean; schema?: { description?: string } }>; requestBody?: { content: Record<string, { example?: unknown }> }; responses: Record<string, Response> };
      const responses = Object.entries(op.responses).map(([status, r]) => {
        const res = r.$ref ? shared[r.$ref.split("/").pop()!]! : r;
        return { status, description: res.description ?? "", example: res.content?.["application/json"]?.example };
      });
      const entry: DocOperation = {
        id: op.operationId,
        method,
        path,
        summary: op.summary,
        description: op.description,
        access: op["x-agentvine-access"] ?? "public",
        params: (op.parameters ?? []).map((p) => ({ name: p.name, in: p.in, required: p.required, description: p.schema?.description })),
        body: op.requestBody?.content["application/json"]?.example,
        responses,
      };
      const tag = op.tags[0] ?? "other";
      byTag.set(tag, [...(byTag.get(tag) ?? []), entry]);
    }
  }
  return [...byTag.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, operations]) => ({ name, operations }));
}

export const docsRoutes = new Hono().get("/docs", (c) => {
  const base = new URL(c.req.url).origin;
  const doc = openApiDocument({ version: c.get("version"), serverUrl: base });
  return page(c, { title: "API reference" }, <ApiReference tags={docTags(doc)} base={base} version={c.get("version")} />);
});
