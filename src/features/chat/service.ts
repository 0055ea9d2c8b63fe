// The chat: conversations (a task's, made with it; or a general one a person starts) and their messages —
// posted by people (a reply to an open question of the controller answers it; a message to a running task
// is handed to it as `task:message`), edited by their sender, recorded for tasks by the recorder. Every
// stored or edited message goes out as `chat:message` on the bus (the WebSocket, SSE and pages follow it).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Db } from "../../db/client.ts";
import type { ChatMessageEvent, EventBus } from "../../events/bus.ts";
import { AppError, conflict, invalid, notFound } from "../../errors.ts";
import type { Acting } from "../audit/service.ts";
import type { RequestJson } from "../controller/requests.ts";
import {
  conversationOfTask,
  editMessageRow,
  getConversationRow,
  getMessageRow,
  insertAttachment,
  insertConversation,
  insertMessage,
  insertMessages,
  messageJson,
  toMessageJsons,
  type AttachmentRow,
  type ConversationRow,
  type MessageJson,
  type MessageRow,
  type NewMessage,
} from "./store.ts";

/** What answering a question takes (the controller): the chat never resolves requests itself. */
export interface QuestionResponder {
  respond(id: string, answer: string, acting?: Acting): RequestJson;
}

export interface ChatDeps {
  db: Db;
  bus: EventBus;
  clock: () => number;
  /** Where attachments are stored: `<dataDir>/attachments/<conversation>/<id>`. */
  dataDir: string;
  responder?: QuestionResponder;
}

/** Who posts: a signed-in person (or an `api` key acting as one). */
export interface Poster {
  userId: string;
  username: string;
  acting?: Acting;
}

export interface PostInput {
  message: string;
  parent_message_id?: string | null;
  metadata?: Record<string, unknown> | null;
}

export interface UploadedFile {
  name: string;
  type: string;
  bytes: Uint8Array;
}

const RUNNING = new Set(["running", "waiting_input"]);
/** Content types an attachment keeps; anything else is served as application/octet-stream. */
const KEPT_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain", "application/json", "text/csv", "application/zip", "application/gzip"]);

export class ChatService {
  /** Requests being answered by a message right now: the recorder must not record a second answer. */
  readonly answering = new Set<string>();

  constructor(readonly deps: ChatDeps) {}

  conversation(id: string): ConversationRow {
    const row = getConversationRow(this.deps.db, id);
    if (!row) throw notFound("conversation", id);
    return row;
  }

  /** A conversation by its id, or a task's by the task id (the page links either). */
  conversationOrTask(id: string): ConversationRow {
    const row = getConversationRow(this.deps.db, id) ?? conversationOfTask(this.deps.db, id);
    if (!row) throw notFound("conversation", id);
    return row;
  }

  startConversation(title: string, createdBy: string | null): ConversationRow {
    const id = Bun.randomUUIDv7();
    const at = this.deps.clock();
    insertConversation(this.deps.db, { id, title, created_by: createdBy, at });
    this.deps.bus.emit("chat:conversation", { conversationId: id, at });
    return getConversationRow(this.deps.db, id)!;
  }

  /**
   * A person posts. A reply to an open question of the controller answers it (its options must match; 409
   * when it is no longer open) and is stored as that answer. Afterwards, a running task (or a plan run's
   * running steps) is handed the message.
   */
  post(conversationId: string, input: PostInput, poster: Poster, files: UploadedFile[] = []): MessageJson {
    const { db } = this.deps;
    const conv = this.conversation(conversationId);
    const text = input.message;
    if (text.trim() === "" && files.length === 0) throw invalid("message must not be empty", [{ field: "message", message: "write something" }]);
    let parentId: string | null = null;
    let messageType: NewMessage["message_type"] = "text";
    let metadata: Record<string, unknown> = { ...(input.metadata ?? {}) };
    let answered: RequestJson | null = null;
    if (input.parent_message_id) {
      const parent = getMessageRow(db, input.parent_message_id);
      if (!parent || !this.#inThread(conv, parent)) {
        throw invalid(`message '${input.parent_message_id}' is not in this conversation`, [{ field: "parent_message_id", message: "no such message here" }]);
      }
      // Threads are one level deep: a reply to a reply belongs to the same thread.
      const root = parent.parent_message_id ? getMessageRow(db, parent.parent_message_id) ?? parent : parent;
      parentId = root.id;
      const requestId = root.message_type === "question" ? (JSON.parse(root.metadata ?? "{}") as { request_id?: string }).request_id : undefined;
      // A reply in a question's thread is an answer to it: 409 (naming what happened) once it is no longer open.
      if (requestId && this.deps.responder) {
        answered = this.#answer(requestId, text.trim(), poster);
        messageType = "answer";
        metadata = { ...metadata, request_id: requestId, status: answered.status, answered_by: answered.answered_by };
      }
    }
    const at = this.deps.clock();
    const id = Bun.randomUUIDv7();
    const stored = db.sqlite.transaction(() => {
      const row = insertMessage(db, {
        id,
        conversation_id: conv.id,
        sender_type: "human",
        sender_id: poster.userId,
        sender_name: poster.username,
        message: text,
        message_type: messageType,
        parent_message_id: parentId,
        metadata: Object.keys(metadata).length ? metadata : null,
        created_at: at,
      });
      const attachments = files.map((f) => this.#storeFile(conv.id, id, f, poster.userId, at));
      return { row, attachments };
    })();
    if (answered) this.answering.delete(answered.id);
    const json = messageJson(stored.row, stored.attachments);
    this.#published("created", conv, json);
    this.#deliverToTasks(conv, stored.row, poster);
    return json;
  }

  /** Records a message for a task or the system (questions, answers, status): no delivery, no checks. */
  record(conv: ConversationRow, m: Omit<NewMessage, "conversation_id" | "id" | "created_at"> & { created_at?: number }): MessageJson {
    const row = insertMessage(this.deps.db, { ...m, id: Bun.randomUUIDv7(), conversation_id: conv.id, created_at: m.created_at ?? this.deps.clock() });
    const json = messageJson(row);
    this.#published("created", conv, json);
    return json;
  }

  /** Records several in one transaction (the recorder's batches), then publishes each in order. */
  recordMany(items: Array<{ conv: ConversationRow; message: Omit<NewMessage, "conversation_id" | "created_at"> & { created_at: number } }>): MessageJson[] {
    const { db } = this.deps;
    const rows = db.sqlite.transaction(() => insertMessages(db, items.map((i) => ({ ...i.message, conversation_id: i.conv.id }))))();
    return rows.map((row, n) => {
      const json = messageJson(row);
      this.#published("created", items[n]!.conv, json);
      return json;
    });
  }

  /** The sender edits their own message; anyone else gets 403, a message that is not theirs to edit. */
  edit(conversationId: string, messageId: string, text: string, poster: Poster): MessageJson {
    const { db } = this.deps;
    const conv = this.conversation(conversationId);
    const current = getMessageRow(db, messageId);
    if (!current || !this.#inThread(conv, current)) throw notFound("message", messageId);
    if (current.sender_type !== "human" || current.sender_id !== poster.userId) {
      throw new AppError(403, "forbidden", "Only its sender may edit a message");
    }
    if (current.message_type === "answer") throw conflict("an answer to a question cannot be edited: the task already received it");
    if (text.trim() === "") throw invalid("message must not be empty", [{ field: "message", message: "write something" }]);
    const row = editMessageRow(db, messageId, poster.userId, text, this.deps.clock());
    if (!row) throw notFound("message", messageId);
    const json = toMessageJsons(db, [row])[0]!;
    this.#published("edited", getConversationRow(db, row.conversation_id) ?? conv, json);
    return json;
  }

  #inThread(conv: ConversationRow, m: MessageRow): boolean {
    if (m.conversation_id === conv.id) return true;
    return getConversationRow(this.deps.db, m.conversation_id)?.parent_conversation_id === conv.id;
  }

  #answer(requestId: string, answer: string, poster: Poster): RequestJson {
    this.answering.add(requestId);
    try {
      return this.deps.responder!.respond(requestId, answer, poster.acting);
    } catch (err) {
      this.answering.delete(requestId);
      throw err;
    }
  }

  #storeFile(conversationId: string, messageId: string, f: UploadedFile, userId: string, at: number): AttachmentRow {
    const id = Bun.randomUUIDv7();
    const dir = join(this.deps.dataDir, "attachments", conversationId);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const storagePath = join("attachments", conversationId, id);
    writeFileSync(join(this.deps.dataDir, storagePath), f.bytes, { mode: 0o600 });
    const row: AttachmentRow = {
      id,
      message_id: messageId,
      conversation_id: conversationId,
      filename: safeFilename(f.name),
      content_type: safeContentType(f.type),
      size_bytes: f.bytes.byteLength,
      sha256: new Bun.CryptoHasher("sha256").update(f.bytes).digest("hex"),
      storage_path: storagePath,
      created_by: userId,
      created_at: at,
    };
    insertAttachment(this.deps.db, row);
    return row;
  }

  #published(kind: "created" | "edited", conv: ConversationRow, message: MessageJson) {
    this.deps.bus.emit("chat:message", {
      kind,
      conversationId: conv.id,
      parentConversationId: conv.parent_conversation_id,
      taskId: conv.task_id,
      message: message as unknown as ChatMessageEvent["message"],
      at: this.deps.clock(),
    });
  }

  /** A person's message to a running task (or to a plan run: to each of its running steps). */
  #deliverToTasks(conv: ConversationRow, row: MessageRow, poster: Poster) {
    if (!conv.task_id || row.message.trim() === "") return;
    const targets = this.deps.db.sqlite
      .query<{ id: string; status: string }, [string]>("SELECT id, status FROM tasks WHERE id = ?1 OR parent_task_id = ?1")
      .all(conv.task_id)
      .filter((t) => RUNNING.has(t.status));
    for (const t of targets) {
      this.deps.bus.emit("task:message", {
        taskId: t.id,
        messageId: row.id,
        senderType: "human",
        senderId: poster.userId,
        sender: poster.username,
        text: row.message,
        at: row.created_at,
      });
    }
  }
}

/** A file name fit for a Content-Disposition header and a listing: no path, no control characters. */
export function safeFilename(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? "";
  const clean = base.replace(/[\x00-\x1f\x7f"]/g, "").trim().slice(0, 200);
  return clean === "" || clean === "." || clean === ".." ? "attachment" : clean;
}

/** Types served as they are; everything else (HTML, SVG, scripts) becomes application/octet-stream. */
export function safeContentType(type: string): string {
  const t = type.split(";")[0]!.trim().toLowerCase();
  return KEPT_TYPES.has(t) ? t : "application/octet-stream";
}

export const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);
