// The zod schemas of the context documents API: they validate requests (the API's and the editor's) and
// generate the OpenAPI document.
import { z } from "zod";
import { Pagination } from "../../http/pagination.ts";
import { DOCUMENT_TYPES } from "./service.ts";

/** The largest document, in characters (the request body limit applies too). */
export const MAX_CONTENT_CHARS = 500_000;

const tag = z
  .string()
  .trim()
  .min(1, "a tag must not be empty")
  .max(50, "a tag is at most 50 characters")
  .regex(/^[^,\s][^,]*$/, "a tag has no commas");

const fields = {
  title: z.string().trim().min(1, "title must not be empty").max(200, "title is at most 200 characters"),
  document_type: z.enum(DOCUMENT_TYPES, `document_type is one of ${DOCUMENT_TYPES.join(", ")}`),
  content: z.string().max(MAX_CONTENT_CHARS, `content is at most ${MAX_CONTENT_CHARS} characters`).describe("Markdown"),
  repository_url: z.string().trim().max(2048).nullish().transform((v) => (v === "" ? null : v)).describe("The repository it is about (the controller prefers a task's own repository's documents)"),
  tags: z.array(tag).max(30, "at most 30 tags"),
  metadata: z.record(z.string(), z.unknown()).nullish(),
};

export const CreateDocumentBody = z.strictObject({ ...fields, content: fields.content.default(""), tags: fields.tags.default([]) });
export type CreateDocumentBody = z.infer<typeof CreateDocumentBody>;

export const UpdateDocumentBody = z
  .strictObject({ ...fields, version: z.number().int().min(1).optional().describe("The version you edited: 409 when someone saved another meanwhile") })
  .partial()
  .refine((v) => Object.keys(v).some((k) => k !== "version"), "nothing to update: send at least one field");
export type UpdateDocumentBody = z.infer<typeof UpdateDocumentBody>;

export const SearchDocumentsQuery = z.strictObject({
  ...Pagination,
  q: z.string().max(500).optional().describe("Full-text search (ranked; each word must match, the last as a prefix)"),
  tags: z
    .string()
    .max(1000)
    .transform((s) => s.split(",").map((t) => t.trim()).filter(Boolean))
    .optional()
    .describe("Comma-separated: documents carrying every one of these tags"),
  document_type: z.enum(DOCUMENT_TYPES).optional(),
  repository_url: z.string().max(2048).optional(),
});
export type SearchDocumentsQuery = z.infer<typeof SearchDocumentsQuery>;

/** What a document and each of its versions hold alike. */
const ContentOut = z.object({
  title: z.string(),
  document_type: z.enum(DOCUMENT_TYPES),
  content: z.string(),
  repository_url: z.string().nullable(),
  tags: z.array(z.string()),
  metadata: z.record(z.string(), z.unknown()),
});

export const DocumentOut = ContentOut.extend({
  id: z.string(),
  version: z.number(),
  created_by: z.string().nullable(),
  updated_by: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});

export const SearchHitOut = DocumentOut.extend({
  snippet: z.string().nullable().describe("With a query: the best passage, HTML-escaped, the matches in <mark>"),
  rank: z.number().nullable().describe("bm25: lower is better"),
});

export const VersionOut = ContentOut.extend({
  document_id: z.string(),
  version: z.number(),
  edited_by: z.string().nullable(),
  edited_by_name: z.string().nullable(),
  edited_at: z.string(),
  restored_from: z.number().nullable(),
  current: z.boolean(),
});
