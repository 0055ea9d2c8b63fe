/** @jsxImportSource hono/jsx */
// /context: the Context pages — list and search, a document, the editor (new, edit; live preview with
// the problems the save would have), delete, the history and restoring a version.
import { Hono, type Context } from "hono";
import { raw } from "hono/html";
import { AppError } from "../../errors.ts";
import { actionDone, fragment, htmxTarget, isHtmx, page, trigger } from "../../pages/render.tsx";
import { ContextPage, DocumentForm, DocumentList, DocumentView, EditorPage, HistoryView, VersionView, DOC_TYPES, type ContextFilters } from "../../../views/context/pages.tsx";
import { errorsOf, type FormErrors, type FormValues } from "../../../views/components/form.tsx";
import { hasRole } from "../auth/middleware.ts";
import { actingOf } from "../auth/request.ts";
import { renderMarkdown } from "../chat/markdown.ts";
import { versionParam } from "./api.ts";
import { CreateDocumentBody } from "./schemas.ts";
import { createDocument, deleteDocument, getDocument, getVersion, listVersions, repositories, restoreVersion, searchDocuments, tagCounts, updateDocument, type DocumentJson, type DocumentType } from "./service.ts";

type Ctx = Context;
const PER_PAGE = 20;

function filtersOf(c: Ctx): ContextFilters {
  const q = c.req.query("q")?.trim().slice(0, 500) || undefined;
  const type = c.req.query("document_type");
  const tag = c.req.query("tag")?.trim().slice(0, 50) || undefined;
  const repo = c.req.query("repository_url")?.slice(0, 2048) || undefined;
  return { q, document_type: (DOC_TYPES as readonly string[]).includes(type ?? "") ? type : undefined, tag, repository_url: repo };
}

function listProps(c: Ctx) {
  const filters = filtersOf(c);
  const n = Number(c.req.query("page") ?? 1);
  const pageNo = Number.isInteger(n) && n >= 1 && n <= 100_000 ? n : 1;
  const result = searchDocuments(c.get("deps"), {
    q: filters.q,
    document_type: filters.document_type as DocumentType | undefined,
    tags: filters.tag ? [filters.tag] : undefined,
    repository_url: filters.repository_url,
    page: pageNo,
    per_page: PER_PAGE,
  });
  return { filters, items: result.items, total: result.total, page: pageNo, perPage: PER_PAGE };
}

function valuesOf(form: Record<string, unknown>): FormValues {
  const v: FormValues = {};
  for (const k of ["title", "document_type", "repository_url", "tags", "content", "version"]) if (typeof form[k] === "string") v[k] = form[k] as string;
  return v;
}

/** The form's values as the API's body (tags comma separated), or the errors by field. */
function bodyOf(values: FormValues): { body: CreateDocumentBody | null; errors: FormErrors } {
  const parsed = CreateDocumentBody.safeParse({
    title: values.title ?? "",
    document_type: values.document_type ?? "",
    content: values.content ?? "",
    repository_url: values.repository_url?.trim() || null,
    tags: (values.tags ?? "")
      .split(",")
      .map((t) => t.trim())
      .filter(Boolean),
  });
  if (parsed.success) return { body: parsed.data, errors: {} };
  const errors: FormErrors = {};
  for (const issue of parsed.error.issues) {
    const key = String(issue.path[0] ?? "_form");
    errors[key] ??= issue.message;
  }
  return { body: null, errors };
}

function userNames(c: Ctx, ids: Array<string | null>): Map<string, string> {
  const list = ids.filter((x): x is string => !!x);
  if (!list.length) return new Map();
  return new Map(
    c
      .get("deps")
      .db.sqlite.query<{ id: string; username: string }, [string]>("SELECT id, username FROM users WHERE id IN (SELECT value FROM json_each(?))")
      .all(JSON.stringify(list))
      .map((r) => [r.id, r.username]),
  );
}

function valuesOfDoc(d: DocumentJson): FormValues {
  return { title: d.title, document_type: d.document_type, repository_url: d.repository_url ?? "", tags: d.tags.join(", "), content: d.content };
}

function editorAgain(c: Ctx, action: string, values: FormValues, errors: FormErrors, opts: { version?: number; inDialog?: boolean; title: string }) {
  const form = <DocumentForm action={action} values={values} errors={errors} version={opts.version} inDialog={opts.inDialog} preview={renderMarkdown(values.content ?? "")} />;
  if (isHtmx(c)) return fragment(c, form, 422);
  return page(c, { title: opts.title, active: "context", status: 422 }, <EditorPage title={opts.title}>{form}</EditorPage>);
}

export const contextRoutes = new Hono()
  .get("/", (c) => {
    const list = listProps(c);
    if (htmxTarget(c) === "context-list") return fragment(c, <DocumentList {...list} />);
    return page(
      c,
      { title: "Context", active: "context" },
      <ContextPage {...list} version={c.get("live").version} tags={tagCounts(c.get("deps"))} repositories={repositories(c.get("deps"))} mayEdit={hasRole(c.get("principal"), "operator")} />,
    );
  })
  .get("/new", (c) =>
    page(c, { title: "New document", active: "context" }, <EditorPage title="New document"><DocumentForm action="/context" values={{ document_type: "design" }} errors={{}} /></EditorPage>),
  )
  .post("/preview", async (c) => {
    const values = valuesOf(await c.req.parseBody());
    const { errors } = bodyOf(values);
    const problems = Object.entries(errors);
    return fragment(
      c,
      <>
        {problems.length ? (
          <ul class="mb-2 rounded-md tone-err px-3 py-1.5 text-xs " role="alert" data-preview-problems="">
            {problems.map(([k, m]) => (
              <li>
                {k}: {m}
              </li>
            ))}
          </ul>
        ) : null}
        {(values.content ?? "").trim() ? raw(renderMarkdown(values.content ?? "")) : <span class="text-muted">Nothing to preview yet.</span>}
      </>,
    );
  })
  .post("/", async (c) => {
    const form = await c.req.parseBody();
    const values = valuesOf(form);
    const inDialog = isHtmx(c) && c.req.header("hx-current-url")?.replace(/^https?:\/\/[^/]+/, "").split("?")[0] === "/context";
    const { body, errors } = bodyOf(values);
    if (!body) return editorAgain(c, "/context", values, errors, { inDialog, title: "New document" });
    const doc = createDocument(c.get("deps"), body, actingOf(c));
    if (inDialog) trigger(c, "dialog:close", "new-document");
    return actionDone(c, { message: `Document “${doc.title}” created`, redirect: `/context/${doc.id}` });
  })
  .get("/:id", (c) => {
    const doc = getDocument(c.get("deps"), c.req.param("id"));
    const names = userNames(c, [doc.created_by, doc.updated_by]);
    return page(
      c,
      { title: doc.title, active: "context" },
      <DocumentView doc={doc} html={renderMarkdown(doc.content)} createdBy={doc.created_by ? (names.get(doc.created_by) ?? null) : null} updatedBy={doc.updated_by ? (names.get(doc.updated_by) ?? null) : null} />,
    );
  })
  .get("/:id/edit", (c) => {
    const doc = getDocument(c.get("deps"), c.req.param("id"));
    return page(
      c,
      { title: `Edit ${doc.title}`, active: "context" },
      <EditorPage title={`Edit “${doc.title}”`}>
        <DocumentForm action={`/context/${doc.id}`} values={valuesOfDoc(doc)} errors={{}} version={doc.version} preview={renderMarkdown(doc.content)} />
      </EditorPage>,
    );
  })
  .post("/:id", async (c) => {
    const current = getDocument(c.get("deps"), c.req.param("id"));
    const values = valuesOf(await c.req.parseBody());
    const version = Number(values.version);
    const title = `Edit “${current.title}”`;
    const { body, errors } = bodyOf(values);
    if (!body) return editorAgain(c, `/context/${current.id}`, values, errors, { version: current.version, title });
    try {
      const doc = updateDocument(c.get("deps"), current.id, { ...body, version: Number.isInteger(version) && version > 0 ? version : undefined }, actingOf(c));
      return actionDone(c, { message: doc.version === current.version ? "No changes to save" : `Saved as version ${doc.version}`, level: doc.version === current.version ? "info" : "success", redirect: `/context/${doc.id}` });
    } catch (err) {
      if (!(err instanceof AppError) || (err.status !== 409 && err.status !== 400)) throw err;
      return editorAgain(c, `/context/${current.id}`, values, errorsOf(err.details.filter((d) => d.field !== "version"), err.message), { version: current.version, title });
    }
  })
  .post("/:id/delete", (c) => {
    const doc = deleteDocument(c.get("deps"), c.req.param("id"), actingOf(c));
    return actionDone(c, { message: `Document “${doc.title}” deleted (${doc.version} ${doc.version === 1 ? "version" : "versions"})`, redirect: "/context" });
  })
  .get("/:id/history", (c) => {
    const doc = getDocument(c.get("deps"), c.req.param("id"));
    return page(c, { title: `History: ${doc.title}`, active: "context" }, <HistoryView doc={doc} versions={listVersions(c.get("deps"), doc.id)} />);
  })
  .get("/:id/versions/:version", (c) => {
    const doc = getDocument(c.get("deps"), c.req.param("id"));
    const v = getVersion(c.get("deps"), doc.id, versionParam(c.req.param("version")));
    return page(c, { title: `${v.title} v${v.version}`, active: "context" }, <VersionView doc={doc} v={v} html={renderMarkdown(v.content)} />);
  })
  .post("/:id/versions/:version/restore", (c) => {
    const version = versionParam(c.req.param("version"));
    const doc = restoreVersion(c.get("deps"), c.req.param("id"), version, actingOf(c));
    return actionDone(c, { message: `Version ${version} restored as version ${doc.version}`, redirect: `/context/${doc.id}` });
  });
