// Context documents on a real SQLite file through the HTTP API: FTS5 ranking, highlighted snippets,
// filters by type, tags and repository, old versions never found; versions kept, viewed and restored;
// a stale save refused; and the context manager giving the model the matching documents within its budget.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { errorOf, expectOk, send } from "../../../test/auth.ts";
import { cleanup, json, startTestApp, type TestServer } from "../../../test/helpers.ts";
import { getTaskRecord } from "../../engine/task-record.ts";
import { buildContext, contextDocumentsSource, DOCUMENTS_BUDGET_TOKENS, DEFAULT_SOURCES } from "../controller/context-manager.ts";
import { documentsForContext } from "./for-agents.ts";
import { ftsQuery, snippetHtml } from "./service.ts";

let server: TestServer;
const REPO = "https://git.example.com/acme/payments";

async function doc(body: Record<string, unknown>) {
  return expectOk(await server.api("/context/documents", json({ document_type: "design", ...body })), 201);
}
const search = async (qs: string) => expectOk(await server.api(`/context/documents?${qs}`));

beforeAll(async () => {
  server = await startTestApp({ rateLimit: 0 });
});
afterAll(cleanup);

describe("full-text search", () => {
  let title: any;
  let body: any;
  let tagged: any;
  beforeAll(async () => {
    // "idempotency" in the title of one, once in the body of another, in a tag of a third.
    title = await doc({ title: "Idempotency keys for payment retries", content: "Each request carries a key.", repository_url: REPO, tags: ["payments", "api"] });
    body = await doc({ title: "Webhook delivery", document_type: "spec", content: "Deliveries retry with backoff. Receivers must handle idempotency themselves; see the payments design.", tags: ["webhooks"] });
    tagged = await doc({ title: "On-call runbook", document_type: "runbook", content: "Page the payments team when refunds stall.", tags: ["idempotency", "ops"] });
    await doc({ title: "Unrelated note", document_type: "note", content: "Lunch is at noon." });
  });

  test("ranked by relevance: a title match above a tag match above a body match; each with a snippet that marks the words", async () => {
    const r = await search("q=idempotency");
    expect(r.items.map((d: any) => d.id)).toEqual([title.id, tagged.id, body.id]);
    expect(r.total).toBe(3);
    for (const d of r.items) expect(d.snippet).toContain("<mark>");
    expect(r.items[2].snippet).toContain("handle <mark>idempotency</mark> themselves");
    // Ranks are bm25 scores (lower is better), in order.
    const ranks = r.items.map((d: any) => d.rank);
    expect([...ranks].sort((a, b) => a - b)).toEqual(ranks);
  });

  test("stemming and prefixes: 'retrying' finds 'retries'/'retry'; 'idem' finds idempotency as you type", async () => {
    expect((await search("q=retrying")).items.map((d: any) => d.id).sort()).toEqual([title.id, body.id].sort());
    expect((await search("q=idem")).total).toBe(3);
    // Every word must match.
    expect((await search("q=idempotency%20webhook")).items.map((d: any) => d.id)).toEqual([body.id]);
  });

  test("filters: type, tags (all of them), repository — alone and with a query", async () => {
    expect((await search("document_type=spec")).items.map((d: any) => d.id)).toEqual([body.id]);
    expect((await search("q=idempotency&document_type=runbook")).items.map((d: any) => d.id)).toEqual([tagged.id]);
    expect((await search("tags=payments")).items.map((d: any) => d.id)).toEqual([title.id]);
    expect((await search("tags=payments,api")).items.map((d: any) => d.id)).toEqual([title.id]);
    expect((await search("tags=payments,ops")).total).toBe(0);
    expect((await search(`repository_url=${encodeURIComponent(REPO)}`)).items.map((d: any) => d.id)).toEqual([title.id]);
    expect((await search(`q=payments&repository_url=${encodeURIComponent(REPO)}`)).items.map((d: any) => d.id)).toEqual([title.id]);
  });

  test("hostile queries are words, never FTS syntax: no 500, no error", async () => {
    for (const q of ['"', "a OR", "NEAR(", "*", "title:x", "-", "') OR 1=1 --", "\u0000", "ünïcödé"]) {
      const res = await server.api(`/context/documents?q=${encodeURIComponent(q)}`);
      expect(res.status).toBe(200);
    }
    expect(ftsQuery('he said "drop" OR *')).toBe('"he" "said" "drop" "or"*');
    expect(snippetHtml("<b>\u0002x\u0003</b>")).toBe("&lt;b&gt;<mark>x</mark>&lt;/b&gt;");
  });

  test("an edited document is found by its new words only: old versions are never returned", async () => {
    const d = await doc({ title: "Cache policy", content: "We use memcached for sessions." });
    expect((await search("q=memcached")).items.map((x: any) => x.id)).toEqual([d.id]);
    await expectOk(await server.api(`/context/documents/${d.id}`, send("PATCH", { content: "We use redis for sessions.", version: 1 })));
    expect((await search("q=memcached")).total).toBe(0);
    expect((await search("q=redis")).items.map((x: any) => x.id)).toEqual([d.id]);
    // The old text is still in its history.
    const v1 = await expectOk(await server.api(`/context/documents/${d.id}/versions/1`));
    expect(v1.content).toBe("We use memcached for sessions.");
  });
});

describe("versions", () => {
  test("every save keeps the old version with who and when; restore makes a new version; a stale save is 409", async () => {
    const d = await doc({ title: "Release process", content: "v1 text", tags: ["Release", " release ", "ops"] });
    expect(d.tags).toEqual(["release", "ops"]);
    expect(d.version).toBe(1);
    const v2 = await expectOk(await server.api(`/context/documents/${d.id}`, send("PATCH", { content: "v2 text", version: 1 })));
    expect(v2.version).toBe(2);
    const stale = await server.api(`/context/documents/${d.id}`, send("PATCH", { content: "lost update", version: 1 }));
    const err = await errorOf(stale);
    expect(err.status).toBe(409);
    expect(err.message).toContain("saved by someone else");
    const restored = await expectOk(await server.api(`/context/documents/${d.id}/versions/1/restore`, { method: "POST" }));
    expect(restored.version).toBe(3);
    expect(restored.content).toBe("v1 text");
    const history = await expectOk(await server.api(`/context/documents/${d.id}/versions`));
    expect(history.items.map((v: any) => [v.version, v.content, v.restored_from, v.current, v.edited_by_name])).toEqual([
      [3, "v1 text", 1, true, "admin"],
      [2, "v2 text", null, false, "admin"],
      [1, "v1 text", null, false, "admin"],
    ]);
    expect((await errorOf(await server.api(`/context/documents/${d.id}/versions/3/restore`, { method: "POST" }))).status).toBe(409);
    expect((await errorOf(await server.api(`/context/documents/${d.id}/versions/9`))).status).toBe(404);
    // Audited.
    const audit = server.db.sqlite.query<{ action: string }, [string]>("SELECT action FROM audit_events WHERE resource_id = ? ORDER BY id").all(d.id).map((r) => r.action);
    expect(audit).toEqual(["context_document.created", "context_document.updated", "context_document.restored"]);
    // Deleted: gone with its versions, and not found.
    expect((await server.api(`/context/documents/${d.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await errorOf(await server.api(`/context/documents/${d.id}`))).status).toBe(404);
    expect(server.db.sqlite.query("SELECT count(*) AS n FROM context_document_versions WHERE document_id = ?").get(d.id)).toEqual({ n: 0 });
    expect((await search("q=release")).items.some((x: any) => x.id === d.id)).toBe(false);
  });

  test("bad input names each field; nothing is written", async () => {
    const before = server.db.sqlite.query<{ n: number }, []>("SELECT count(*) AS n FROM context_documents").get()!.n;
    const res = await server.api("/context/documents", json({ title: "", document_type: "memo", tags: ["a,b"], extra: 1 }));
    const body = (await res.json()) as { error: { details: Array<{ field: string }> } };
    expect(res.status).toBe(400);
    expect(body.error.details.map((d) => d.field).sort()).toEqual(["document_type", "extra", "tags.0", "title"]);
    expect(server.db.sqlite.query<{ n: number }, []>("SELECT count(*) AS n FROM context_documents").get()!.n).toBe(before);
  });
});

describe("the context manager's documents source", () => {
  test("the task's repository first, then by rank; within the stated budget; each named with its version in context_used", async () => {
    const mine = await doc({ title: "Refund flow", content: "Refunds are queued and settled nightly. ".repeat(5), repository_url: REPO });
    const other = await doc({ title: "Refund flow (legacy)", content: "Refunds refunds refunds: the old system.", repository_url: "https://git.example.com/acme/legacy" });
    const big = await doc({ title: "Refund handbook", content: "refund ".repeat(40_000) });
    const task = await expectOk(await server.api("/tasks", json({ title: "fix refunds", task_type: "hello", params: { name: "x" }, repository_url: REPO })), 201);
    const record = getTaskRecord(server.db, task.id)!;
    const found = documentsForContext(server.db, { query: "How are refunds settled?", repositoryUrl: REPO, budgetTokens: DOCUMENTS_BUDGET_TOKENS });
    expect(found.documents[0]!.id).toBe(mine.id);
    expect(found.documents[0]!.sameRepository).toBe(true);
    expect(found.documents.map((d) => d.id)).toContain(other.id);
    const spent = found.documents.reduce((n, d) => n + d.tokens, 0);
    expect(spent).toBeLessThanOrEqual(DOCUMENTS_BUDGET_TOKENS);
    // The long one is clipped to its share (or left out), never whole.
    const handbook = found.documents.find((d) => d.id === big.id);
    if (handbook) expect(handbook.clipped).toBe(true);
    else expect(found.omitted.map((o) => o.id)).toContain(big.id);

    const sections = contextDocumentsSource({ db: server.db, task: record, requestId: "r1", question: "How are refunds settled?" });
    expect(sections[0]!.id).toBe(`context-document:${mine.id}@v1`);
    const built = buildContext({ db: server.db, task: record, requestId: "r1", question: "How are refunds settled?" }, DEFAULT_SOURCES, 6000);
    expect(built.used.map((s) => s.id)).toContain(`context-document:${mine.id}@v1`);
    expect(built.text).toContain("Refunds are queued and settled nightly.");
    // The question and the task's title are what is searched: nothing matching, no documents.
    const plain = await expectOk(await server.api("/tasks", json({ title: "tidy the zoo", task_type: "hello", params: { name: "x" } })), 201);
    expect(contextDocumentsSource({ db: server.db, task: getTaskRecord(server.db, plain.id)!, requestId: "r2", question: "zebra giraffe" })).toEqual([]);
  });
});
