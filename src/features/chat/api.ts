// /api/v1/chat: conversations and their messages (pages both ways, threads), posting and editing,
// attachments, the SSE stream of a conversation and its WebSocket — which sends new and edited messages
// and who is typing, accepts posted messages, and closes with 4401 once its user loses access.
import { Hono, type Context } from "hono";
import { upgradeWebSocket } from "hono/bun";
import type { WSContext } from "hono/ws";
import { AppError, invalid, validationError } from "../../errors.ts";
import { route } from "../../http/openapi.ts";
import { listOf } from "../../http/pagination.ts";
import { sseResponse } from "../../http/sse.ts";
import { selfOrigin } from "../auth/csrf.ts";
import { hasRole, principalOf } from "../auth/middleware.ts";
import { accessGuard, watchAccess, ROLE_RANK, type Principal } from "../auth/principals.ts";
import { actingOf } from "../auth/request.ts";
import { serveAttachment } from "./attachments.ts";
import { CreateConversationBody, ConversationListItemOut, ConversationOut, EditMessageBody, ListConversationsQuery, ListMessagesQuery, MessageOut, MessagePageOut, PostMessageBody, SocketFrame } from "./schemas.ts";
import type { ChatService, Poster, UploadedFile } from "./service.ts";
import { CLOSE_CODES, type ChatSocket, type ChatSockets } from "./sockets.ts";
import { conversationJson, getMessageRow, lastSeqOf, listConversationRows, listMessageRows, markRead, toMessageJsons, type ConversationListItem } from "./store.ts";

/** The chat's services, built once per server (server.ts) and set on every request. */
export interface ChatFeature {
  service: ChatService;
  sockets: ChatSockets;
  /** The largest attachment, in bytes. */
  attachmentMaxBytes: number;
}

declare module "hono" {
  interface ContextVariableMap {
    chat: ChatFeature;
  }
}

const tags = ["chat"];

const listC = route({ method: "get", path: "/chat/conversations", access: "viewer", summary: "Conversations, the most recently active first, with your unread counts", tags, query: ListConversationsQuery, responses: { 200: listOf(ConversationListItemOut) } });
const createC = route({ method: "post", path: "/chat/conversations", access: "operator", summary: "Start a general conversation (a task's comes with the task)", tags, body: CreateConversationBody, responses: { 201: ConversationOut } });
const getC = route({ method: "get", path: "/chat/conversations/:id", access: "viewer", summary: "A conversation (by its id, or by its task's id)", tags, responses: { 200: ConversationOut } });
const listM = route({
  method: "get",
  path: "/chat/conversations/:id/messages",
  access: "viewer",
  summary: "Messages, oldest first: the newest page, or the page before or after a message",
  description: "A plan run's conversation includes its steps' messages. `older`/`newer` are the cursors of the neighbouring pages. `:id` may be the task's id.",
  tags,
  query: ListMessagesQuery,
  responses: { 200: MessagePageOut },
});
const postM = route({
  method: "post",
  path: "/chat/conversations/:id/messages",
  access: "operator",
  summary: "Post a message (markdown)",
  description:
    "A reply (`parent_message_id`) to an open question of the controller answers it — an option's text when it has options (400 otherwise), 409 when it is no longer open. " +
    "A message to a running task's conversation is delivered to the task (ctx.messages / ctx.onMessage).",
  tags,
  body: PostMessageBody,
  responses: { 201: MessageOut },
});
const editM = route({ method: "patch", path: "/chat/conversations/:id/messages/:messageId", access: "operator", summary: "Edit your own message", tags, body: EditMessageBody, responses: { 200: MessageOut } });
const upload = route({
  method: "post",
  path: "/chat/conversations/:id/attachments",
  access: "operator",
  summary: "Post a message with attached files (multipart/form-data: `file` (one or more), `message`, `parent_message_id`)",
  description: "Each file up to the attachment limit (AGENTVINE_ATTACHMENT_MAX_BYTES, 10 MiB by default; 413 beyond).",
  tags,
  responses: { 201: MessageOut },
});
const download = route({ method: "get", path: "/chat/attachments/:id", access: "viewer", summary: "Download an attachment (Content-Disposition: attachment, a safe content type)", tags, responses: { 200: "The file" } });
const events = route({
  method: "get",
  path: "/chat/conversations/:id/events",
  access: "viewer",
  summary: "Live messages of a conversation (SSE)",
  description: "Events: `message` (a new message, JSON) and `message_edited`.",
  tags,
  responses: { 200: "text/event-stream" },
});
const ws = route({
  method: "get",
  path: "/chat/ws/:id",
  access: "viewer",
  summary: "The conversation's WebSocket",
  description:
    "Authenticated like the API: `Authorization: Bearer` (token or API key), or the session cookie from a page of this server (the Origin must be this server). " +
    "Server → client: `{type:\"hello\"}`, `{type:\"message\", message}`, `{type:\"message_edited\", message}`, `{type:\"typing\", user}`, `{type:\"ack\", client_id, message}`, `{type:\"error\", client_id?, error}`. " +
    "Client → server: `{type:\"message\", message, parent_message_id?, client_id?}` (operators and up), `{type:\"edit\", message_id, message}`, `{type:\"typing\"}`, `{type:\"read\", seq}`. " +
    "Close codes: 4401 access withdrawn (signed out, session or key revoked, account deactivated), 4404 conversation deleted, 1001 server stopping.",
  tags,
  responses: { 101: "Switching Protocols" },
});

function poster(c: Context): Poster {
  const p = principalOf(c);
  return { userId: p.userId, username: p.username, acting: actingOf(c) };
}

function listItemJson(r: ConversationListItem) {
  return {
    ...conversationJson(r),
    title: r.task_title ?? r.title,
    task: r.task_id ? { id: r.task_id, title: r.task_title ?? r.title, status: r.task_status ?? "", task_type: r.task_type ?? "" } : null,
    unread: r.unread,
    last_message: r.last_message,
  };
}

/** A message id as a cursor: its seq, when it is a message of this conversation's list (404 otherwise). */
function seqOf(c: Context, messageId: string | undefined): number | undefined {
  if (!messageId) return undefined;
  const row = getMessageRow(c.get("deps").db, messageId);
  if (!row) throw invalid(`no message '${messageId}'`, [{ field: "before/after/thread", message: "unknown message id" }]);
  return row.seq;
}

export function messagePage(c: Context, conversationId: string, q: { before?: string; after?: string; thread?: string; per_page: number }) {
  const db = c.get("deps").db;
  const page = listMessageRows(db, conversationId, { beforeSeq: seqOf(c, q.before), afterSeq: seqOf(c, q.after), threadId: q.thread, limit: q.per_page });
  const items = toMessageJsons(db, page.rows);
  return {
    items,
    total: page.total,
    per_page: q.per_page,
    older: page.hasOlder && items.length ? items[0]!.id : null,
    newer: page.hasNewer && items.length ? items.at(-1)!.id : null,
  };
}

/** Files of a multipart body, each within the limit (413 naming the file otherwise). */
async function uploadedFiles(c: Context, max: number): Promise<{ files: UploadedFile[]; message: string; parent: string | null }> {
  const type = c.req.header("content-type") ?? "";
  if (!type.startsWith("multipart/form-data")) throw invalid("Content-Type must be multipart/form-data", [{ field: "content-type", message: `got '${type || "none"}'` }]);
  const form = await c.req.parseBody({ all: true });
  const list = [form.file ?? []].flat().filter((f): f is File => f instanceof File);
  if (list.length === 0) throw invalid("attach at least one file (field `file`)", [{ field: "file", message: "no file" }]);
  if (list.length > 10) throw invalid("at most 10 files per message", [{ field: "file", message: "too many files" }]);
  const files: UploadedFile[] = [];
  for (const f of list) {
    if (f.size > max) throw new AppError(413, "payload_too_large", `'${f.name}' is ${f.size} bytes; attachments may be at most ${max} bytes`);
    files.push({ name: f.name, type: f.type, bytes: new Uint8Array(await f.arrayBuffer()) });
  }
  const message = typeof form.message === "string" ? form.message : "";
  if (message.length > 20_000) throw invalid("message: at most 20000 characters", [{ field: "message", message: "too long" }]);
  const parent = typeof form.parent_message_id === "string" && form.parent_message_id ? form.parent_message_id : null;
  return { files, message, parent };
}

/** Whether the socket's user may post now (their role may have changed since it opened). */
function mayPost(c: Context, p: Principal): boolean {
  if (!hasRole(p, "viewer")) return false;
  const user = c.get("auth").principals.user(p.userId, c.get("auth").clock());
  return !!user && user.active && ROLE_RANK[user.role] >= ROLE_RANK.operator;
}

/** A browser's cookie-authenticated socket must come from one of our pages (cross-site WebSocket hijacking). */
function checkOrigin(c: Context) {
  if (c.req.header("authorization") !== undefined) return;
  const origin = c.req.header("origin");
  if (origin === undefined) throw new AppError(403, "forbidden", "A WebSocket authenticated by the session cookie must come from an AgentVine page (no Origin header); scripts send Authorization: Bearer");
  if (origin !== selfOrigin(c)) throw new AppError(403, "forbidden", `Cross-site WebSocket refused: Origin ${origin.slice(0, 200)} is not this server`);
}

const errorFrame = (err: unknown, clientId?: string) => {
  const e = err instanceof AppError ? err : null;
  return JSON.stringify({ type: "error", ...(clientId ? { client_id: clientId } : {}), error: { code: e?.code ?? "internal", message: e ? e.message : "internal error", details: e?.details ?? [] } });
};

const socketRoute = upgradeWebSocket((c) => {
  const chat = c.get("chat");
  const principal = principalOf(c);
  const conversation = chat.service.conversationOrTask(c.req.param("id")!);
  const html = c.req.query("html") === "1";
  const auth = c.get("auth");
  const guard = accessGuard(auth.principals, principal, auth.clock);
  let remove: (() => void) | null = null;
  let stopWatching: (() => void) | null = null;
  let socket: ChatSocket | null = null;
  const sendTo = (ws: WSContext, data: string) => {
    try {
      ws.send(data);
    } catch {
      // closed meanwhile
    }
  };
  return {
    onOpen(_evt, ws) {
      socket = {
        conversationId: conversation.id,
        taskId: conversation.task_id,
        userId: principal.userId,
        username: principal.username,
        html,
        send: (data) => sendTo(ws, data),
        close: (code, reason) => ws.close(code, reason),
      };
      remove = chat.sockets.add(socket);
      if (guard) stopWatching = watchAccess(guard, () => ws.close(CLOSE_CODES.accessWithdrawn, "access withdrawn: signed out, revoked or deactivated"));
      sendTo(ws, JSON.stringify({ type: "hello", conversation_id: conversation.id, task_id: conversation.task_id, user: { id: principal.userId, username: principal.username, may_post: mayPost(c, principal) } }));
    },
    onMessage(evt, ws) {
      if (!socket) return;
      let frame: SocketFrame;
      try {
        const data = typeof evt.data === "string" ? evt.data : new TextDecoder().decode(evt.data as ArrayBuffer);
        if (data.length > 64 * 1024) throw invalid("frame too large (64 KiB at most)");
        const parsed = SocketFrame.safeParse(JSON.parse(data));
        if (!parsed.success) throw validationError(parsed.error);
        frame = parsed.data;
      } catch (err) {
        sendTo(ws, errorFrame(err instanceof SyntaxError ? invalid("frames are JSON") : err));
        return;
      }
      const clientId = "client_id" in frame ? frame.client_id : undefined;
      try {
        switch (frame.type) {
          case "typing":
            chat.sockets.typing(socket);
            return;
          case "ping":
            sendTo(ws, JSON.stringify({ type: "pong" }));
            return;
          case "read":
            markRead(c.get("deps").db, conversation.id, principal.userId, Math.min(frame.seq, lastSeqOf(c.get("deps").db, conversation.id)), auth.clock());
            return;
          case "message":
          case "edit": {
            if (!mayPost(c, principal)) {
              throw new AppError(403, "forbidden", `Posting needs the operator role; ${principal.username} may only read`);
            }
            const who = { userId: principal.userId, username: principal.username, acting: actingOf(c) };
            const message =
              frame.type === "message"
                ? chat.service.post(conversation.id, { message: frame.message, parent_message_id: frame.parent_message_id }, who)
                : chat.service.edit(conversation.id, frame.message_id, frame.message, who);
            sendTo(ws, JSON.stringify({ type: "ack", client_id: clientId ?? null, message }));
            return;
          }
        }
      } catch (err) {
        sendTo(ws, errorFrame(err, clientId));
      }
    },
    onClose() {
      remove?.();
      stopWatching?.();
      socket = null;
    },
  };
});

export const chatApi = new Hono()
  .get(listC.spec.path, listC.query, (c) => {
    const q = c.req.valid("query");
    const { items, total } = listConversationRows(c.get("deps").db, { q: q.q, kind: q.kind, userId: principalOf(c).userId, limit: q.per_page, offset: (q.page - 1) * q.per_page });
    return c.json({ items: items.map(listItemJson), total, page: q.page, per_page: q.per_page });
  })
  .post(createC.spec.path, ...createC.json, (c) => {
    const conv = c.get("chat").service.startConversation(c.req.valid("json").title, principalOf(c).userId);
    return c.json(conversationJson(conv), 201, { Location: `/api/v1/chat/conversations/${conv.id}` });
  })
  .get(getC.spec.path, (c) => c.json(conversationJson(c.get("chat").service.conversationOrTask(c.req.param("id")))))
  .get(listM.spec.path, listM.query, (c) => {
    const conv = c.get("chat").service.conversationOrTask(c.req.param("id"));
    return c.json(messagePage(c, conv.id, c.req.valid("query")));
  })
  .post(postM.spec.path, ...postM.json, (c) => {
    const conv = c.get("chat").service.conversationOrTask(c.req.param("id"));
    return c.json(c.get("chat").service.post(conv.id, c.req.valid("json"), poster(c)), 201);
  })
  .patch(editM.spec.path, ...editM.json, (c) => {
    const conv = c.get("chat").service.conversationOrTask(c.req.param("id"));
    return c.json(c.get("chat").service.edit(conv.id, c.req.param("messageId"), c.req.valid("json").message, poster(c)));
  })
  .post(upload.spec.path, async (c) => {
    const chat = c.get("chat");
    const conv = chat.service.conversationOrTask(c.req.param("id"));
    const { files, message, parent } = await uploadedFiles(c, chat.attachmentMaxBytes);
    return c.json(chat.service.post(conv.id, { message, parent_message_id: parent }, poster(c), files), 201);
  })
  .get(download.spec.path, (c) => serveAttachment(c, c.req.param("id")))
  .get(events.spec.path, (c) => {
    const conv = c.get("chat").service.conversationOrTask(c.req.param("id"));
    c.get("holdOpen")();
    const auth = c.get("auth");
    const guard = accessGuard(auth.principals, c.get("principal"), auth.clock);
    const bus = c.get("deps").bus;
    return sseResponse(
      c.req.raw.signal,
      (sse) => {
        const offs = [
          bus.on("chat:message", (e) => {
            if (e.conversationId !== conv.id && e.parentConversationId !== conv.id) return;
            sse.send(e.kind === "created" ? "message" : "message_edited", e.message, e.message.id);
          }),
          bus.on("task:deleted", (e) => {
            if (e.taskId !== conv.task_id) return;
            sse.send("deleted", { id: conv.id });
            sse.close();
          }),
        ];
        return () => offs.forEach((off) => off());
      },
      { guard },
    );
  })
  .get(ws.spec.path, async (c, next) => {
    // Checked before the upgrade, so a refusal is an ordinary HTTP answer with the API's error body.
    c.get("chat").service.conversationOrTask(c.req.param("id"));
    if ((c.req.header("upgrade") ?? "").toLowerCase() !== "websocket") {
      throw invalid("This endpoint speaks WebSocket: connect with Upgrade: websocket (e.g. websocat)", [{ field: "upgrade", message: "expected 'websocket'" }]);
    }
    checkOrigin(c);
    const env = c.env as { upgrade?: unknown } | undefined;
    if (typeof env?.upgrade !== "function") throw new AppError(503, "internal", "WebSockets need the server's socket (not available in process)");
    return socketRoute(c, next);
  });

