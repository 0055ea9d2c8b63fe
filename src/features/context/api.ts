// /api/v1/context/documents: create, search (full text, tags, type, repository), read, edit (each save a
// new version; `version` guards against overwriting someone's save), delete, and the version history.
import { Hono } from "hono";
import { z } from "zod";
import { invalid } from "../../errors.ts";
import { route } from "../../http/openapi.ts";
import { listOf } from "../../http/pagination.ts";
import { actingOf } from "../auth/request.ts";
import { CreateDocumentBody, DocumentOut, SearchDocumentsQuery, SearchHitOut, UpdateDocumentBody, VersionOut } from "./schemas.ts";
import { createDocument, deleteDocument, getDocument, getVersion, listVersions, restoreVersion, searchDocuments, updateDocument } from "./service.ts";

const tags = ["context"];

const create = route({ method: "post", path: "/context/documents", access: "operator", summary: "Create a context document (version 1)", tags, body: CreateDocumentBody, responses: { 201: DocumentOut } });
const search = route({
  method: "get",
  path: "/context/documents",
  access: "viewer",
  summary: "Search or list documents",
  description: "With `q`: ranked by relevance (bm25), each with a `snippet`. Without: the most recently updated first. Old versions are never returned.",
  tags,
  query: SearchDocumentsQuery,
  responses: { 200: listOf(SearchHitOut) },
});
const get = route({ method: "get", path: "/context/documents/:id", access: "viewer", summary: "A document (its current version)", tags, responses: { 200: DocumentOut } });
const patch = route({
  method: "patch",
  path: "/context/documents/:id",
  access: "operator",
  summary: "Edit a document: a new version (the old one is kept)",
  description: "Send `version` (the one you edited) to get 409 instead of overwriting someone else's save.",
  tags,
  body: UpdateDocumentBody,
  responses: { 200: DocumentOut },
});
const del = route({ method: "delete", path: "/context/documents/:id", access: "operator", summary: "Delete a document and its versions", tags, responses: { 204: "Deleted" } });
const versions = route({ method: "get", path: "/context/documents/:id/versions", access: "viewer", summary: "Every version, newest first, with who saved it and when", tags, responses: { 200: z.object({ items: z.array(VersionOut) }) } });
const version = route({ method: "get", path: "/context/documents/:id/versions/:version", access: "viewer", summary: "One version", tags, responses: { 200: VersionOut } });
const restore = route({ method: "post", path: "/context/documents/:id/versions/:version/restore", access: "operator", summary: "Restore a version (saved as a new version)", tags, responses: { 200: DocumentOut } });

export function versionParam(v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw invalid(`version must be a positive whole number, got '${v}'`, [{ field: "version", message: "a positive whole number" }]);
  return n;
}

export const contextApi = new Hono()
  .post(create.spec.path, ...create.json, (c) => c.json(createDocument(c.get("deps"), c.req.valid("json"), actingOf(c)), 201))
  .get(search.spec.path, search.query, (c) => c.json(searchDocuments(c.get("deps"), c.req.valid("query"))))
  .get(versions.spec.path, (c) => c.json({ items: listVersions(c.get("deps"), c.req.param("id")) }))
  .get(version.spec.path, (c) => c.json(getVersion(c.get("deps"), c.req.param("id"), versionParam(c.req.param("version")))))
  .post(restore.spec.path, (c) => c.json(restoreVersion(c.get("deps"), c.req.param("id"), versionParam(c.req.param("version")), actingOf(c))))
  .get(get.spec.path, (c) => c.json(getDocument(c.get("deps"), c.req.param("id"))))
  .patch(patch.spec.path, ...patch.json, (c) => c.json(updateDocument(c.get("deps"), c.req.param("id"), c.req.valid("json"), actingOf(c))))
  .delete(del.spec.path, (c) => {
    deleteDocument(c.get("deps"), c.req.param("id"), actingOf(c));
    return c.body(null, 204);
  });
