/** @jsxImportSource hono/jsx */
// /chat: the Chat page — the conversation list (searchable, unread counts, refreshed on the `chat` event),
// a conversation (its messages, older pages on demand, a thread on its own), the context sidebar, starting a
// conversation, and posting without JavaScript. public/chat.js makes it live over the conversation's WebSocket.
import { Hono, type Context } from "hono";
import { z } from "zod";
import { getTask } from "../tasks/service.ts";
import { hasRole, principalOf } from "../auth/middleware.ts";
import { actingOf } from "../auth/request.ts";
import { AppError, notFound } from "../../errors.ts";
import { actionDone, fragment, htmxTarget, isHtmx, page, trigger } from "../../pages/render.tsx";
import { ChatPage, ConversationList, ConversationPane, MessageItems, NewConversationForm, OlderRow, type ConversationListProps, type PaneProps } from "../../../views/chat/page.tsx";
import { ContextSidebar, type SidebarDocument } from "../../../views/chat/context.tsx";
import { excerpt } from "../../../views/chat/message.tsx";
import { FormPage } from "../../../views/components/form.tsx";
import { runView } from "../plans/run-view.ts";
import { ASSETS } from "../../http/assets.ts";
import { messagePage } from "./api.ts";
import { getMessageRow, lastSeqOf, listConversationRows, markRead, type ConversationRow, type MessageJson } from "./store.ts";

type Ctx = Context;

const idParam = z.string().min(1).max(100);

function listProps(c: Ctx, selectedId: string | null): ConversationListProps {
  const q = c.req.query("q")?.trim().slice(0, 200) || undefined;
  const kindQ = c.req.query("kind");
  const kind = kindQ === "task" || kindQ === "general" ? kindQ : undefined;
  const limitN = Number(c.req.query("limit") ?? 30);
  const limit = Number.isInteger(limitN) && limitN >= 1 && limitN <= 500 ? limitN : 30;
  const userId = c.get("principal")?.userId ?? null;
  const { items, total } = listConversationRows(c.get("deps").db, { q, kind, userId, limit, offset: 0 });
  return {
    q,
    kind,
    limit,
    total,
    selectedId,
    items: items.map((r) => ({
      id: r.id,
      title: r.task_title ?? r.title,
      taskId: r.task_id,
      taskStatus: r.task_status,
      unread: r.id === selectedId ? 0 : r.unread,
      lastMessage: r.last_message,
      lastSender: r.last_sender,
      lastAt: r.last_message_at ? new Date(r.last_message_at).toISOString() : null,
    })),
  };
}

function stepTitles(c: Ctx, conv: ConversationRow): Map<string, string> {
  const rows = c
    .get("deps")
    .db.sqlite.query<{ id: string; title: string; step: string | null }, [string]>(
      "SELECT c.id, COALESCE(t.title, c.title) AS title, json_extract(t.metadata, '$.plan_step') AS step FROM conversations c LEFT JOIN tasks t ON t.id = c.task_id WHERE c.parent_conversation_id = ?",
    )
    .all(conv.id);
  return new Map(rows.map((r) => [r.id, r.step ?? r.title]));
}

function openRequestsOf(c: Ctx, messages: MessageJson[]): Set<string> {
  const ids = messages.filter((m) => m.message_type === "question" && typeof m.metadata.request_id === "string").map((m) => m.metadata.request_id as string);
  if (ids.length === 0) return new Set();
  return new Set(
    c
      .get("deps")
      .db.sqlite.query<{ id: string }, [string]>("SELECT id FROM worker_requests WHERE status = 'open' AND id IN (SELECT value FROM json_each(?))")
      .all(JSON.stringify(ids))
      .map((r) => r.id),
  );
}

/** Quotes of the parents of the replies on a page (those on the page, and older ones looked up). */
function parentsOf(c: Ctx, messages: MessageJson[]): Map<string, { sender: string; excerpt: string }> {
  const byId = new Map(messages.map((m) => [m.id, m]));
  const out = new Map<string, { sender: string; excerpt: string }>();
  for (const m of messages) {
    if (!m.parent_message_id || out.has(m.parent_message_id)) continue;
    const p = byId.get(m.parent_message_id);
    if (p) out.set(p.id, { sender: p.sender_name ?? p.sender_type, excerpt: excerpt(p.message, 60) });
    else {
      const row = getMessageRow(c.get("deps").db, m.parent_message_id);
      if (row) out.set(row.id, { sender: row.sender_name ?? row.sender_type, excerpt: excerpt(row.message, 60) });
    }
  }
  return out;
}

function paneProps(c: Ctx, conv: ConversationRow): PaneProps {
  const threadId = c.req.query("thread") || undefined;
  const threadRoot = threadId ? getMessageRow(c.get("deps").db, threadId) : null;
  const thread = threadRoot ? { id: threadRoot.id, excerpt: excerpt(threadRoot.message, 80) } : null;
  const pageData = messagePage(c, conv.id, { thread: thread?.id, per_page: 50 });
  const task = conv.task_id ? c.get("deps").db.sqlite.query<{ title: string; status: string; task_type: string }, [string]>("SELECT title, status, task_type FROM tasks WHERE id = ?").get(conv.task_id) : null;
  const principal = c.get("principal");
  return {
    conversation: { id: conv.id, title: task?.title ?? conv.title, taskId: conv.task_id, taskStatus: task?.status ?? null, taskType: task?.task_type ?? null },
    messages: pageData.items,
    older: pageData.older,
    ctx: { conversationId: conv.id, stepTitles: stepTitles(c, conv), openRequests: openRequestsOf(c, pageData.items) },
    parents: parentsOf(c, pageData.items),
    thread,
    mayPost: hasRole(principal, "operator"),
  };
}

/** The documents the sidebar lists: those of the task's repository, and those the controller gave the model. */
function sidebarDocuments(c: Ctx, task: { id: string; repository_url: string | null } | null): SidebarDocument[] {
  if (!task) return [];
  const db = c.get("deps").db;
  const docs: SidebarDocument[] = [];
  const seen = new Set<string>();
  const used = db.sqlite.query<{ context_used: string }, [string]>("SELECT context_used FROM worker_requests WHERE task_id = ? AND context_used IS NOT NULL").all(task.id);
  const usedIds = new Set<string>();
  for (const u of used) {
    for (const s of (JSON.parse(u.context_used) as { sections?: Array<{ id: string }> }).sections ?? []) {
      const m = /^context-document:(.+)@v\d+$/.exec(s.id);
      if (m) usedIds.add(m[1]!);
    }
  }
  const rows = db.sqlite
    .query<{ id: string; title: string; document_type: string; version: number; repository_url: string | null }, [string, string]>(
      `SELECT id, title, document_type, version, repository_url FROM context_documents
        WHERE (repository_url IS NOT NULL AND repository_url = ?) OR id IN (SELECT value FROM json_each(?))
        ORDER BY updated_at DESC LIMIT 30`,
    )
    .all(task.repository_url ?? "", JSON.stringify([...usedIds]));
  for (const r of rows) {
    if (seen.has(r.id)) continue;
    seen.add(r.id);
    const why = [usedIds.has(r.id) ? "given to the model for this task's questions" : null, r.repository_url && r.repository_url === task.repository_url ? "about this repository" : null].filter(Boolean).join("; ");
    docs.push({ id: r.id, title: r.title, document_type: r.document_type, version: r.version, why });
  }
  return docs;
}

function fullPage(c: Ctx, conv: ConversationRow | null) {
  const principal = principalOf(c);
  const pane = conv ? paneProps(c, conv) : null;
  if (conv && pane && !pane.thread) markRead(c.get("deps").db, conv.id, principal.userId, lastSeqOf(c.get("deps").db, conv.id), c.get("auth").clock());
  return page(
    c,
    { title: pane ? pane.conversation.title : "Chat", active: "chat" },
    <>
      <ChatPage list={listProps(c, conv?.id ?? null)} pane={pane} version={c.get("live").version} userId={principal.userId} contextHref={conv ? `/chat/${conv.id}/context` : null} />
      <script src={ASSETS.chat.url} defer></script>
    </>,
  );
}

export const chatRoutes = new Hono()
  .get("/", (c) => {
    if (htmxTarget(c) === "chat-list") return fragment(c, <ConversationList {...listProps(c, c.req.query("selected") || null)} />);
    return fullPage(c, null);
  })
  .get("/list", (c) => fragment(c, <ConversationList {...listProps(c, c.req.query("selected") || null)} />))
  .get("/new", (c) => page(c, { title: "New conversation", active: "chat" }, <FormPage title="New conversation"><NewConversationForm /></FormPage>))
  .post("/", async (c) => {
    const form = await c.req.parseBody();
    const title = typeof form.title === "string" ? form.title.trim() : "";
    if (title === "" || title.length > 200) {
      const error = title === "" ? "Give the conversation a title" : "At most 200 characters";
      const formEl = <NewConversationForm values={{ title }} error={error} />;
      if (isHtmx(c)) return fragment(c, formEl, 422);
      return page(c, { title: "New conversation", status: 422 }, <FormPage title="New conversation">{formEl}</FormPage>);
    }
    const conv = c.get("chat").service.startConversation(title, principalOf(c).userId);
    return actionDone(c, { message: `Conversation “${title}” started`, redirect: `/chat/${conv.id}` });
  })
  .get("/:id", (c) => {
    const id = idParam.safeParse(c.req.param("id"));
    if (!id.success) throw notFound("conversation", c.req.param("id"));
    const conv = c.get("chat").service.conversationOrTask(id.data);
    if (htmxTarget(c) === "chat-pane") {
      const pane = paneProps(c, conv);
      if (!pane.thread) markRead(c.get("deps").db, conv.id, principalOf(c).userId, lastSeqOf(c.get("deps").db, conv.id), c.get("auth").clock());
      trigger(c, "chat:switched", { id: conv.id, context: `/chat/${conv.id}/context` });
      return fragment(c, <ConversationPane {...pane} />);
    }
    return fullPage(c, conv);
  })
  .get("/:id/messages", (c) => {
    const conv = c.get("chat").service.conversationOrTask(c.req.param("id"));
    const before = c.req.query("before") || undefined;
    const after = c.req.query("after") || undefined;
    const thread = c.req.query("thread") || undefined;
    const data = messagePage(c, conv.id, { before, after: before ? undefined : after, thread, per_page: 50 });
    const ctx = { conversationId: conv.id, stepTitles: stepTitles(c, conv), openRequests: openRequestsOf(c, data.items) };
    const items = <MessageItems messages={data.items} ctx={ctx} parents={parentsOf(c, data.items)} />;
    // Older: the new "load older" row goes first; newer (after a reconnect): just the messages.
    return fragment(c, before ? <><OlderRow conversationId={conv.id} older={data.older} thread={thread ?? null} />{items}</> : items);
  })
  .get("/:id/context", (c) => {
    const conv = c.get("chat").service.conversationOrTask(c.req.param("id"));
    const deps = c.get("deps");
    const task = conv.task_id ? getTask(deps, conv.task_id) : null;
    let run: Parameters<typeof ContextSidebar>[0]["run"] = null;
    const runId = task ? (task.task_type === "plan" ? task.id : task.parent_task_id) : null;
    if (runId) {
      try {
        const view = runView(deps, runId);
        run = { id: runId, name: view.planName, planId: view.planId, steps: view.steps.map((s) => ({ taskId: s.taskId, name: s.name, status: s.status })) };
      } catch (err) {
        if (!(err instanceof AppError) || err.status !== 404) throw err;
      }
    }
    return fragment(
      c,
      <ContextSidebar task={task} run={run} documents={sidebarDocuments(c, task)} conversation={{ id: conv.id, title: conv.title, created_at: new Date(conv.created_at).toISOString() }} />,
    );
  })
  .post("/:id/messages", async (c) => {
    const conv = c.get("chat").service.conversationOrTask(c.req.param("id"));
    const form = await c.req.parseBody();
    const message = typeof form.message === "string" ? form.message : "";
    const parent = typeof form.parent_message_id === "string" && form.parent_message_id ? form.parent_message_id : null;
    const p = principalOf(c);
    c.get("chat").service.post(conv.id, { message, parent_message_id: parent }, { userId: p.userId, username: p.username, acting: actingOf(c) });
    return actionDone(c, { message: "Message sent", redirect: `/chat/${conv.id}`, body: null });
  });
