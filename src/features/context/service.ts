// Context documents: design docs, specs, runbooks, notes and decisions the agents and the controller read.
// Every save is a new version (the row keeps the current one; context_document_versions keeps each version
// with who saved it and when), any version can be viewed and restored (as a new version), and the current
// versions — never the old ones — are searchable with SQLite FTS5 (migration 0011), ranked by bm25 with
// highlighted snippets, filtered by type, tags and repository.
import type { Db } from "../../db/client.ts";
import type { EventBus } from "../../events/bus.ts";
import { iso } from "../../engine/task-record.ts";
import { conflict, notFound } from "../../errors.ts";
import { audited, type Acting } from "../audit/service.ts";

export const DOCUMENT_TYPES = ["design", "spec", "runbook", "note", "decision"] as const;
export type DocumentType = (typeof DOCUMENT_TYPES)[number];

export interface ContextDeps {
  db: Db;
  bus: EventBus;
  clock?: () => number;
}

/** The columns a document and each of its versions share (tags and metadata as stored: JSON text). */
interface ContentRow {
  title: string;
  document_type: DocumentType;
  content: string;
  repository_url: string | null;
  tags: string;
  metadata: string | null;
}

interface DocumentRow extends ContentRow {
  doc_no: number;
  id: string;
  version: number;
  created_by: string | null;
  updated_by: string | null;
  created_at: number;
  updated_at: number;
}

interface VersionRow extends ContentRow {
  document_id: string;
  version: number;
  edited_by: string | null;
  edited_at: number;
  restored_from: number | null;
}

/** The content of a document or of one of its versions, as the API shows it. */
export interface ContentJson {
  title: string;
  document_type: DocumentType;
  content: string;
  repository_url: string | null;
  tags: string[];
  metadata: Record<string, unknown>;
}

/** A document as the API shows it (DESIGN: ContextDocument). */
export interface DocumentJson extends ContentJson {
  id: string;
  version: number;
  created_by: string | null;
  updated_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface VersionJson extends ContentJson {
  document_id: string;
  version: number;
  edited_by: string | null;
  /** Who saved it, for display. */
  edited_by_name: string | null;
  edited_at: string;
  /** The version it restored, when it was a restore. */
  restored_from: number | null;
  current: boolean;
}

export interface DocumentInput {
  title: string;
  document_type: DocumentType;
  content: string;
  repository_url?: string | null;
  tags?: string[];
  metadata?: Record<string, unknown> | null;
}

export type DocumentPatch = Partial<DocumentInput> & {
  /** The version the edit was made on: 409 when someone saved another meanwhile. */
  version?: number;
};

export interface SearchQuery {
  q?: string;
  tags?: string[];
  document_type?: DocumentType;
  repository_url?: string;
  page: number;
  per_page: number;
}

export type SearchHit = DocumentJson & { snippet: string | null; rank: number | null };

const now = (deps: ContextDeps) => (deps.clock ?? Date.now)();

/** What a document and each of its versions hold alike. */
const contentJson = (r: ContentRow): ContentJson => ({
  title: r.title,
  document_type: r.document_type,
  content: r.content,
  repository_url: r.repository_url,
  tags: JSON.parse(r.tags) as string[],
  metadata: r.metadata == null ? {} : (JSON.parse(r.metadata) as Record<string, unknown>),
});

function toJson(r: DocumentRow): DocumentJson {
  return {
    id: r.id,
    ...contentJson(r),
    version: r.version,
    created_by: r.created_by,
    updated_by: r.updated_by,
    created_at: iso(r.created_at)!,
    updated_at: iso(r.updated_at)!,
  };
}

/** Tags are kept lowercase, trimmed and without repeats, in the order given. */
export function normalizeTags(tags: string[] | undefined): string[] {
  return [...new Set((tags ?? []).map((t) => t.trim().toLowerCase()).filter(Boolean))];
}

function getRow(db: Db, id: string): DocumentRow | null {
  return db.sqlite.query<DocumentRow, [string]>("SELECT * FROM context_documents WHERE id = ?").get(id);
}

function insertVersion(db: Db, r: DocumentRow, editedBy: string | null, at: number, restoredFrom: number | null) {
  db.sqlite
    .query(
      `INSERT INTO context_document_versions (document_id, version, title, document_type, content, repository_url, tags, metadata, edited_by, edited_at, restored_from)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(r.id, r.version, r.title, r.document_type, r.content, r.repository_url, r.tags, r.metadata, editedBy, at, restoredFrom);
}

export function getDocument(deps: ContextDeps, id: string): DocumentJson {
  const row = getRow(deps.db, id);
  if (!row) throw notFound("document", id);
  return toJson(row);
}

export function createDocument(deps: ContextDeps, input: DocumentInput, acting?: Acting): DocumentJson {
  const { db } = deps;
  const at = now(deps);
  const id = Bun.randomUUIDv7();
  const userId = acting?.userId ?? null;
  const row = db.sqlite.transaction(() => {
    const r = db.sqlite
      .query<DocumentRow, Record<string, string | number | null>>(
        `INSERT INTO context_documents (id, title, document_type, content, repository_url, tags, metadata, version, created_by, updated_by, created_at, updated_at)
         VALUES ($id, $title, $document_type, $content, $repository_url, $tags, $metadata, 1, $user, $user, $at, $at) RETURNING *`,
      )
      .get({
        id,
        title: input.title,
        document_type: input.document_type,
        content: input.content,
        repository_url: input.repository_url ?? null,
        tags: JSON.stringify(normalizeTags(input.tags)),
        metadata: input.metadata == null ? null : JSON.stringify(input.metadata),
        user: userId,
        at,
      })!;
    insertVersion(db, r, userId, at, null);
    audited(deps, acting, "context_document.created", { type: "context_document", id }, { title: input.title, document_type: input.document_type });
    return r;
  })();
  deps.bus.emit("context:changed", { documentId: id, action: "created", at });
  return toJson(row);
}

/** Saves a new version; 409 when `patch.version` is not the current one (someone saved meanwhile). */
export function updateDocument(deps: ContextDeps, id: string, patch: DocumentPatch, acting?: Acting, restoredFrom: number | null = null): DocumentJson {
  const { db } = deps;
  const at = now(deps);
  const userId = acting?.userId ?? null;
  const row = db.sqlite.transaction(() => {
    const current = getRow(db, id);
    if (!current) throw notFound("document", id);
    if (patch.version !== undefined && patch.version !== current.version) {
      throw conflict(`document '${current.title}' was saved by someone else meanwhile (version ${current.version}; you edited version ${patch.version}): reload it and edit again`, [
        { field: "version", message: `current version is ${current.version}` },
      ]);
    }
    const next = {
      title: patch.title ?? current.title,
      document_type: patch.document_type ?? current.document_type,
      content: patch.content ?? current.content,
      repository_url: patch.repository_url === undefined ? current.repository_url : patch.repository_url,
      tags: patch.tags === undefined ? current.tags : JSON.stringify(normalizeTags(patch.tags)),
      metadata: patch.metadata === undefined ? current.metadata : patch.metadata === null ? null : JSON.stringify(patch.metadata),
    };
    const unchanged = (Object.keys(next) as Array<keyof typeof next>).every((k) => next[k] === current[k]);
    if (unchanged) return current;
    const r = db.sqlite
      .query<DocumentRow, Record<string, string | number | null>>(
        `UPDATE context_documents SET title = $title, document_type = $document_type, content = $content, repository_url = $repository_url,
                tags = $tags, metadata = $metadata, version = version + 1, updated_by = $user, updated_at = $at
          WHERE id = $id AND version = $version RETURNING *`,
      )
      .get({ ...next, user: userId, at, id, version: current.version })!;
    insertVersion(db, r, userId, at, restoredFrom);
    audited(deps, acting, restoredFrom ? "context_document.restored" : "context_document.updated", { type: "context_document", id }, { version: r.version, ...(restoredFrom ? { restored_from: restoredFrom } : {}) });
    return r;
  })();
  deps.bus.emit("context:changed", { documentId: id, action: "updated", at });
  return toJson(row);
}

export function deleteDocument(deps: ContextDeps, id: string, acting?: Acting): DocumentJson {
  const { db } = deps;
  const at = now(deps);
  const doc = db.sqlite.transaction(() => {
    const current = getRow(db, id);
    if (!current) throw notFound("document", id);
    db.sqlite.query("DELETE FROM context_documents WHERE id = ?").run(id);
    audited(deps, acting, "context_document.deleted", { type: "context_document", id }, { title: current.title, versions: current.version });
    return current;
  })();
  deps.bus.emit("context:changed", { documentId: id, action: "deleted", at });
  return toJson(doc);
}

const versionJson = (v: VersionRow & { edited_by_name?: string | null }, current: number): VersionJson => ({
  document_id: v.document_id,
  version: v.version,
  ...contentJson(v),
  edited_by: v.edited_by,
  edited_by_name: v.edited_by_name ?? null,
  edited_at: iso(v.edited_at)!,
  restored_from: v.restored_from,
  current: v.version === current,
});

/** Every version, newest first, with who saved it. */
export function listVersions(deps: ContextDeps, id: string): VersionJson[] {
  const doc = getDocument(deps, id);
  return deps.db.sqlite
    .query<VersionRow & { edited_by_name: string | null }, [string]>(
      `SELECT v.*, u.username AS edited_by_name FROM context_document_versions v LEFT JOIN users u ON u.id = v.edited_by
        WHERE v.document_id = ? ORDER BY v.version DESC`,
    )
    .all(id)
    .map((v) => versionJson(v, doc.version));
}

export function getVersion(deps: ContextDeps, id: string, version: number): VersionJson {
  const doc = getDocument(deps, id);
  const v = deps.db.sqlite
    .query<VersionRow & { edited_by_name: string | null }, [string, number]>(
      "SELECT v.*, u.username AS edited_by_name FROM context_document_versions v LEFT JOIN users u ON u.id = v.edited_by WHERE v.document_id = ? AND v.version = ?",
    )
    .get(id, version);
  if (!v) throw notFound("version", `${id}@${version}`);
  return versionJson(v, doc.version);
}

/** Makes an old version the current one again — as a new version, so nothing is lost. */
export function restoreVersion(deps: ContextDeps, id: string, version: number, acting?: Acting): DocumentJson {
  const v = getVersion(deps, id, version);
  if (v.current) throw conflict(`version ${version} is already the current one`);
  return updateDocument(
    deps,
    id,
    { title: v.title, document_type: v.document_type, content: v.content, repository_url: v.repository_url, tags: v.tags, metadata: v.metadata },
    acting,
    version,
  );
}

// ---- search ----

/**
 * The user's words as an FTS5 query that cannot be a syntax error: each word a quoted string (the last one
 * a prefix, for search as you type), all required. Null when there is no word to search for.
 */
export function ftsQuery(q: string, mode: "all" | "any" = "all"): string | null {
  const words = q
    .toLowerCase()
    .split(/[^\p{L}\p{N}_]+/u)
    .filter((w) => w.length > 0)
    .slice(0, 32);
  if (words.length === 0) return null;
  const quoted = words.map((w, i) => `"${w}"${mode === "all" && i === words.length - 1 ? "*" : ""}`);
  return quoted.join(mode === "all" ? " " : " OR ");
}

/** Snippet markers: control characters the text cannot hold (removed from it first), turned into <mark>. */
const OPEN = "\u0002";
const CLOSE = "\u0003";

/** The snippet as HTML: the text escaped, the matches in <mark>. */
export function snippetHtml(raw: string): string {
  const escaped = raw.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!);
  return escaped.split(OPEN).join("<mark>").split(CLOSE).join("</mark>");
}

/**
 * Documents by relevance (bm25: title ×10, tags ×5, content ×1) when `q` has words, else the most recently
 * updated; filtered by type, repository and tags (a document must carry every tag given). Old versions are
 * not in the index, so they are never found.
 */
export function searchDocuments(deps: ContextDeps, q: SearchQuery): { items: SearchHit[]; total: number; page: number; per_page: number } {
  const { db } = deps;
  const match = q.q ? ftsQuery(q.q) : null;
  const where: string[] = [];
  const params: Record<string, string | number> = { limit: q.per_page, offset: (q.page - 1) * q.per_page };
  if (q.document_type) {
    where.push("d.document_type = $type");
    params.type = q.document_type;
  }
  if (q.repository_url) {
    where.push("d.repository_url = $repo");
    params.repo = q.repository_url;
  }
  const tags = normalizeTags(q.tags);
  tags.forEach((t, i) => {
    where.push(`EXISTS (SELECT 1 FROM json_each(d.tags) WHERE value = $tag${i})`);
    params[`tag${i}`] = t;
  });
  if (q.q && !match) return { items: [], total: 0, page: q.page, per_page: q.per_page };
  let rows: Array<DocumentRow & { snippet: string | null; rank: number | null }>;
  let total: number;
  if (match) {
    params.match = match;
    const filter = where.length ? `AND ${where.join(" AND ")}` : "";
    // Two steps: rank every match and keep a page of ids (bm25 over the index alone when there is no
    // filter), then make snippets for that page only — a snippet per match would cost more than the search.
    const page = db.sqlite
      .query<{ doc_no: number; rank: number }, typeof params>(
        where.length
          ? `SELECT d.doc_no, bm25(context_documents_fts, 10.0, 1.0, 5.0) AS rank
               FROM context_documents_fts JOIN context_documents d ON d.doc_no = context_documents_fts.rowid
              WHERE context_documents_fts MATCH $match ${filter}
              ORDER BY rank, d.doc_no DESC LIMIT $limit OFFSET $offset`
          : `SELECT rowid AS doc_no, bm25(context_documents_fts, 10.0, 1.0, 5.0) AS rank FROM context_documents_fts
              WHERE context_documents_fts MATCH $match ORDER BY rank, rowid DESC LIMIT $limit OFFSET $offset`,
      )
      .all(params);
    const snippets = new Map(
      page.length === 0
        ? []
        : db.sqlite
            .query<{ doc_no: number; snippet: string }, { match: string; ids: string }>(
              `SELECT rowid AS doc_no, snippet(context_documents_fts, -1, '${OPEN}', '${CLOSE}', '…', 16) AS snippet FROM context_documents_fts
                WHERE context_documents_fts MATCH $match AND rowid IN (SELECT value FROM json_each($ids))`,
            )
            .all({ match, ids: JSON.stringify(page.map((p) => p.doc_no)) })
            .map((r) => [r.doc_no, r.snippet]),
    );
    const docs = new Map(
      page.length === 0
        ? []
        : db.sqlite
            .query<DocumentRow, [string]>("SELECT * FROM context_documents WHERE doc_no IN (SELECT value FROM json_each(?))")
            .all(JSON.stringify(page.map((p) => p.doc_no)))
            .map((d) => [d.doc_no, d]),
    );
    rows = page.flatMap((p) => {
      const d = docs.get(p.doc_no);
      return d ? [{ ...d, snippet: snippets.get(p.doc_no) ?? null, rank: p.rank }] : [];
    });
    const { limit: _l, offset: _o, ...countParams } = params;
    total = db.sqlite
      .query<{ n: number }, typeof countParams>(
        where.length
          ? `SELECT count(*) AS n FROM context_documents_fts JOIN context_documents d ON d.doc_no = context_documents_fts.rowid WHERE context_documents_fts MATCH $match ${filter}`
          : "SELECT count(*) AS n FROM context_documents_fts WHERE context_documents_fts MATCH $match",
      )
      .get(countParams)!.n;
  } else {
    const filter = where.length ? `WHERE ${where.join(" AND ")}` : "";
    rows = db.sqlite
      .query<DocumentRow, typeof params>(`SELECT d.*, NULL AS snippet, NULL AS rank FROM context_documents d ${filter} ORDER BY d.updated_at DESC, d.doc_no DESC LIMIT $limit OFFSET $offset`)
      .all(params) as typeof rows;
    const { limit: _l, offset: _o, ...countParams } = params;
    total = db.sqlite.query<{ n: number }, typeof countParams>(`SELECT count(*) AS n FROM context_documents d ${filter}`).get(countParams)!.n;
  }
  return {
    items: rows.map((r) => ({ ...toJson(r), snippet: r.snippet == null ? null : snippetHtml(r.snippet), rank: r.rank })),
    total,
    page: q.page,
    per_page: q.per_page,
  };
}

/** Every tag in use with how many documents carry it (the filter's choices). */
export function tagCounts(deps: ContextDeps): Array<{ tag: string; count: number }> {
  return deps.db.sqlite
    .query<{ tag: string; count: number }, []>("SELECT j.value AS tag, count(*) AS count FROM context_documents d, json_each(d.tags) j GROUP BY j.value ORDER BY count DESC, tag LIMIT 200")
    .all();
}

/** Repositories documents are about (the filter's choices). */
export function repositories(deps: ContextDeps): string[] {
  return deps.db.sqlite
    .query<{ r: string }, []>("SELECT DISTINCT repository_url AS r FROM context_documents WHERE repository_url IS NOT NULL ORDER BY r LIMIT 200")
    .all()
    .map((x) => x.r);
}
