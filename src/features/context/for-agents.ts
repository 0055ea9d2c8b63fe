// What a model is given of the team's documents: those that match a question or an instruction — the
// task's repository first, then by full-text rank — within a token budget, each clipped to a share of it,
// with what did not fit named. The controller's context manager uses it for questions; the coding-agent
// task types call it the same way for their instructions.
import type { Db } from "../../db/client.ts";
import { estimateTokens } from "../../llm/index.ts";
import { ftsQuery, type DocumentType } from "./service.ts";

export interface ContextDocument {
  id: string;
  title: string;
  document_type: DocumentType;
  version: number;
  repository_url: string | null;
  /** What the model reads: the title line and the content (clipped when it was longer than its share). */
  text: string;
  tokens: number;
  clipped: boolean;
  /** Whether it is about the same repository as the task. */
  sameRepository: boolean;
}

export interface DocumentsForContext {
  documents: ContextDocument[];
  /** Matches left out for the budget. */
  omitted: Array<{ id: string; title: string; version: number; tokens: number }>;
  budgetTokens: number;
}

/** Words that say nothing about which document is meant. */
const STOPWORDS = new Set(
  "a an and are as at be but by can could did do does for from had has have how i if in into is it its may me might my no not of on or our should so than that the their them then there these they this to us was we were what when where which who why will with would you your should shall ok yes".split(" "),
);

/** One document may take at most this share of the budget (so one long runbook does not crowd out the rest). */
const MAX_SHARE = 0.6;
const MAX_CANDIDATES = 20;

/**
 * The documents matching `query` for a task of `repositoryUrl`: same repository first, then by bm25 rank,
 * kept while they fit `budgetTokens` (estimated); the rest are listed as omitted.
 */
export function documentsForContext(db: Db, input: { query: string; repositoryUrl?: string | null; budgetTokens: number }): DocumentsForContext {
  const words = input.query
    .toLowerCase()
    .split(/[^\p{L}\p{N}_]+/u)
    .filter((w) => w.length >= 3 && !STOPWORDS.has(w));
  const match = ftsQuery(words.join(" "), "any");
  const out: DocumentsForContext = { documents: [], omitted: [], budgetTokens: input.budgetTokens };
  const hasTable = db.sqlite.query("SELECT 1 FROM sqlite_master WHERE name = 'context_documents_fts'").get();
  if (!match || !hasTable) return out;
  const rows = db.sqlite
    .query<
      { id: string; title: string; document_type: DocumentType; version: number; repository_url: string | null; content: string; same: number; rank: number },
      { match: string; repo: string; limit: number }
    >(
      `SELECT d.id, d.title, d.document_type, d.version, d.repository_url, d.content,
              (d.repository_url IS NOT NULL AND d.repository_url = $repo) AS same,
              bm25(context_documents_fts, 10.0, 1.0, 5.0) AS rank
         FROM context_documents_fts JOIN context_documents d ON d.doc_no = context_documents_fts.rowid
        WHERE context_documents_fts MATCH $match
        ORDER BY same DESC, rank LIMIT $limit`,
    )
    .all({ match, repo: input.repositoryUrl ?? "", limit: MAX_CANDIDATES });
  const share = Math.max(200, Math.floor(input.budgetTokens * MAX_SHARE));
  let spent = 0;
  for (const r of rows) {
    const head = `### ${r.title} (${r.document_type}, version ${r.version}${r.repository_url ? `, ${r.repository_url}` : ""})\n`;
    let body = r.content;
    let clipped = false;
    // ~4 characters a token: clip to the share, then say so.
    if (estimateTokens(head + body) > share) {
      body = `${body.slice(0, share * 4 - head.length - 80)}\n… [clipped: ${r.content.length} characters in all]`;
      clipped = true;
    }
    const text = head + body;
    const tokens = estimateTokens(text);
    if (spent + tokens > input.budgetTokens) {
      out.omitted.push({ id: r.id, title: r.title, version: r.version, tokens });
      continue;
    }
    spent += tokens;
    out.documents.push({ id: r.id, title: r.title, document_type: r.document_type, version: r.version, repository_url: r.repository_url, text, tokens, clipped, sameRepository: r.same === 1 });
  }
  return out;
}
