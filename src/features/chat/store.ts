// Conversations, messages, attachments and read markers: one function per SQL statement. A task's
// conversation is made with the task (a trigger in migration 0011); a step's conversation points at its
// plan run's, whose message list gathers every step's messages too.
import type { Db } from "../../db/client.ts";
import { iso } from "../../engine/task-record.ts";

export const SENDER_TYPES = ["human", "worker", "controller", "system"] as const;
export type SenderType = (typeof SENDER_TYPES)[number];
export const MESSAGE_TYPES = ["text", "question", "answer", "log_milestone", "status_change"] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];
/** Messages that count as unread (people's words, questions, answers — not status lines). */
export const READABLE_TYPES: readonly MessageType[] = ["text", "question", "answer"];

export interface ConversationRow {
  id: string;
  title: string;
  task_id: string | null;
  parent_conversation_id: string | null;
  created_by: string | null;
  created_at: number;
  last_message_at: number | null;
}

export interface MessageRow {
  seq: number;
  id: string;
  conversation_id: string;
  sender_type: SenderType;
  sender_id: string | null;
  sender_name: string | null;
  message: string;
  message_type: MessageType;
  parent_message_id: string | null;
  metadata: string | null;
  created_at: number;
  edited_at: number | null;
}

export interface AttachmentRow {
  id: string;
  message_id: string;
  conversation_id: string;
  filename: string;
  content_type: string;
  size_bytes: number;
  sha256: string;
  storage_path: string;
  created_by: string | null;
  created_at: number;
}

export interface AttachmentJson {
  id: string;
  filename: string;
  content_type: string;
  size_bytes: number;
  url: string;
}

/** A message as the API shows it (DESIGN: ChatMessage). */
export interface MessageJson {
  id: string;
  /** Order within the server: later messages have higher numbers (cursors are message ids). */
  seq: number;
  conversation_id: string;
  sender_type: SenderType;
  sender_id: string | null;
  /** Who it is from, for display: a username, the asking task's title, the model. */
  sender_name: string | null;
  message: string;
  message_type: MessageType;
  parent_message_id: string | null;
  metadata: Record<string, unknown>;
  attachments: AttachmentJson[];
  /** Replies in its thread (0 for a reply itself). */
  reply_count: number;
  created_at: string;
  edited_at: string | null;
}

export interface ConversationJson {
  id: string;
  title: string;
  task_id: string | null;
  parent_conversation_id: string | null;
  created_by: string | null;
  created_at: string;
  last_message_at: string | null;
}

export const attachmentUrl = (id: string) => `/api/v1/chat/attachments/${id}`;

export function attachmentJson(a: AttachmentRow): AttachmentJson {
  return { id: a.id, filename: a.filename, content_type: a.content_type, size_bytes: a.size_bytes, url: attachmentUrl(a.id) };
}

export function conversationJson(c: ConversationRow): ConversationJson {
  return {
    id: c.id,
    title: c.title,
    task_id: c.task_id,
    parent_conversation_id: c.parent_conversation_id,
    created_by: c.created_by,
    created_at: iso(c.created_at)!,
    last_message_at: iso(c.last_message_at),
  };
}

export function messageJson(m: MessageRow, attachments: AttachmentRow[] = [], replyCount = 0): MessageJson {
  return {
    id: m.id,
    seq: m.seq,
    conversation_id: m.conversation_id,
    sender_type: m.sender_type,
    sender_id: m.sender_id,
    sender_name: m.sender_name,
    message: m.message,
    message_type: m.message_type,
    parent_message_id: m.parent_message_id,
    metadata: m.metadata == null ? {} : (JSON.parse(m.metadata) as Record<string, unknown>),
    attachments: attachments.map(attachmentJson),
    reply_count: replyCount,
    created_at: iso(m.created_at)!,
    edited_at: iso(m.edited_at),
  };
}

// ---- conversations ----

export function getConversationRow(db: Db, id: string): ConversationRow | null {
  return db.sqlite.query<ConversationRow, [string]>("SELECT * FROM conversations WHERE id = ?").get(id);
}

export function conversationOfTask(db: Db, taskId: string): ConversationRow | null {
  return db.sqlite.query<ConversationRow, [string]>("SELECT * FROM conversations WHERE task_id = ?").get(taskId);
}

export function insertConversation(db: Db, c: { id: string; title: string; created_by: string | null; at: number }): void {
  db.sqlite
    .query("INSERT INTO conversations (id, title, task_id, parent_conversation_id, created_by, created_at, last_message_at) VALUES (?, ?, NULL, NULL, ?, ?, ?)")
    .run(c.id, c.title, c.created_by, c.at, c.at);
}

export interface ConversationListItem extends ConversationRow {
  task_title: string | null;
  task_status: string | null;
  task_type: string | null;
  unread: number;
  last_message: string | null;
  last_sender: string | null;
}

export interface ConversationFilter {
  q?: string;
  kind?: "task" | "general";
  userId: string | null;
  limit: number;
  offset: number;
}

const likePattern = (q: string) => `%${q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;

/**
 * Conversations with something in them, the most recently active first, with the caller's unread count
 * (people's messages, questions and answers after their read marker, not their own) and the last message.
 */
export function listConversationRows(db: Db, f: ConversationFilter): { items: ConversationListItem[]; total: number } {
  const where = ["c.last_message_at IS NOT NULL"];
  const params: Record<string, string | number | null> = { user: f.userId ?? "", limit: f.limit, offset: f.offset };
  if (f.kind === "task") where.push("c.task_id IS NOT NULL");
  if (f.kind === "general") where.push("c.task_id IS NULL");
  if (f.q) {
    where.push("(COALESCE(t.title, c.title) LIKE $q ESCAPE '\\' OR c.id = $exact OR c.task_id = $exact)");
    params.q = likePattern(f.q);
    params.exact = f.q;
  }
  const sql = where.join(" AND ");
  const items = db.sqlite
    .query<ConversationListItem, typeof params>(
      `SELECT c.*, t.title AS task_title, t.status AS task_status, t.task_type AS task_type,
              (SELECT count(*) FROM chat_messages m
                WHERE m.conversation_id = c.id
                  AND m.seq > COALESCE((SELECT r.last_read_seq FROM chat_reads r WHERE r.conversation_id = c.id AND r.user_id = $user), 0)
                  AND m.message_type IN ('text', 'question', 'answer')
                  AND NOT (m.sender_type = 'human' AND m.sender_id = $user)) AS unread,
              (SELECT m.message FROM chat_messages m WHERE m.conversation_id = c.id ORDER BY m.seq DESC LIMIT 1) AS last_message,
              (SELECT COALESCE(m.sender_name, m.sender_type) FROM chat_messages m WHERE m.conversation_id = c.id ORDER BY m.seq DESC LIMIT 1) AS last_sender
         FROM conversations c LEFT JOIN tasks t ON t.id = c.task_id
        WHERE ${sql}
        ORDER BY c.last_message_at DESC, c.id DESC
        LIMIT $limit OFFSET $offset`,
    )
    .all(params);
  const { limit: _l, offset: _o, user: _u, ...countParams } = params;
  const total = db.sqlite
    .query<{ n: number }, typeof countParams>(`SELECT count(*) AS n FROM conversations c LEFT JOIN tasks t ON t.id = c.task_id WHERE ${sql}`)
    .get(countParams)!.n;
  return { items, total };
}

// ---- messages ----

export type NewMessage = Omit<MessageRow, "seq" | "edited_at" | "metadata"> & { metadata?: Record<string, unknown> | null };

export function insertMessage(db: Db, m: NewMessage): MessageRow {
  return db.sqlite
    .query<MessageRow, Record<string, string | number | null>>(
      `INSERT INTO chat_messages (id, conversation_id, sender_type, sender_id, sender_name, message, message_type, parent_message_id, metadata, created_at)
       VALUES ($id, $conversation_id, $sender_type, $sender_id, $sender_name, $message, $message_type, $parent_message_id, $metadata, $created_at)
       RETURNING *`,
    )
    .get({
      id: m.id,
      conversation_id: m.conversation_id,
      sender_type: m.sender_type,
      sender_id: m.sender_id,
      sender_name: m.sender_name,
      message: m.message,
      message_type: m.message_type,
      parent_message_id: m.parent_message_id,
      metadata: m.metadata == null ? null : JSON.stringify(m.metadata),
      created_at: m.created_at,
    })!;
}

const MESSAGE_COLUMNS = "id, conversation_id, sender_type, sender_id, sender_name, message, message_type, parent_message_id, metadata, created_at";
const valuesOf = (m: NewMessage) => [m.id, m.conversation_id, m.sender_type, m.sender_id, m.sender_name, m.message, m.message_type, m.parent_message_id, m.metadata == null ? null : JSON.stringify(m.metadata), m.created_at];

/**
 * Inserts many messages with few statements (the recorder's batches: every task's status changes) — in
 * chunks of 64, 16, 4 and 1 rows, so only four statement texts exist; the rows come back in `ms`' order.
 */
export function insertMessages(db: Db, ms: NewMessage[]): MessageRow[] {
  const byId = new Map<string, MessageRow>();
  for (let at = 0; at < ms.length; ) {
    const size = [64, 16, 4, 1].find((n) => ms.length - at >= n)!;
    const chunk = ms.slice(at, at + size);
    const rows = db.sqlite
      .query<MessageRow, Array<string | number | null>>(`INSERT INTO chat_messages (${MESSAGE_COLUMNS}) VALUES ${Array(size).fill("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ")} RETURNING *`)
      .all(...chunk.flatMap(valuesOf));
    for (const row of rows) byId.set(row.id, row); // RETURNING's order is SQLite's, not the VALUES'
    at += size;
  }
  return ms.map((m) => byId.get(m.id)!);
}

export function getMessageRow(db: Db, id: string): MessageRow | null {
  return db.sqlite.query<MessageRow, [string]>("SELECT * FROM chat_messages WHERE id = ?").get(id);
}

/** Sets the text of a message, only when `senderId` (a person) sent it; null when not. */
export function editMessageRow(db: Db, id: string, senderId: string, text: string, at: number): MessageRow | null {
  return db.sqlite
    .query<MessageRow, [string, number, string, string]>(
      "UPDATE chat_messages SET message = ?, edited_at = ? WHERE id = ? AND sender_type = 'human' AND sender_id = ? RETURNING *",
    )
    .get(text, at, id, senderId);
}

/** The question message of a controller request (the root of its thread), if recorded. */
export function questionMessageOf(db: Db, requestId: string): MessageRow | null {
  return db.sqlite
    .query<MessageRow, [string]>(
      "SELECT * FROM chat_messages WHERE message_type IN ('question', 'answer') AND json_extract(metadata, '$.request_id') = ? ORDER BY seq LIMIT 1",
    )
    .get(requestId);
}

/** Conversations whose messages a conversation's list shows: itself and, for a plan run, its steps'. */
const GATHERED = "SELECT id FROM conversations WHERE id = $conv OR parent_conversation_id = $conv";

export interface MessagePage {
  rows: MessageRow[];
  /** More messages before the first row / after the last one. */
  hasOlder: boolean;
  hasNewer: boolean;
  total: number;
}

export interface MessageCursor {
  /** Messages older than this seq (the newest `limit` of them). */
  beforeSeq?: number;
  /** Messages newer than this seq (the oldest `limit` of them). */
  afterSeq?: number;
  /** Only this thread: the root and its replies. */
  threadId?: string;
  limit: number;
}

/** A page of a conversation's messages, oldest first: the newest by default, or either side of a cursor. */
export function listMessageRows(db: Db, conversationId: string, c: MessageCursor): MessagePage {
  const where = [`m.conversation_id IN (${GATHERED})`];
  const params: Record<string, string | number> = { conv: conversationId, limit: c.limit + 1 };
  if (c.threadId) {
    where.push("(m.id = $thread OR m.parent_message_id = $thread)");
    params.thread = c.threadId;
  }
  const base = [...where];
  let order = "DESC";
  if (c.afterSeq !== undefined) {
    where.push("m.seq > $after");
    params.after = c.afterSeq;
    order = "ASC";
  } else if (c.beforeSeq !== undefined) {
    where.push("m.seq < $before");
    params.before = c.beforeSeq;
  }
  let rows = db.sqlite
    .query<MessageRow, typeof params>(`SELECT m.* FROM chat_messages m WHERE ${where.join(" AND ")} ORDER BY m.seq ${order} LIMIT $limit`)
    .all(params);
  const more = rows.length > c.limit;
  if (more) rows = rows.slice(0, c.limit);
  if (order === "DESC") rows.reverse();
  const { limit: _l, after: _a, before: _b, ...countParams } = params;
  const total = db.sqlite.query<{ n: number }, typeof countParams>(`SELECT count(*) AS n FROM chat_messages m WHERE ${base.join(" AND ")}`).get(countParams)!.n;
  let hasOlder: boolean;
  let hasNewer: boolean;
  if (order === "ASC") {
    hasNewer = more;
    hasOlder = rows.length > 0 ? existsBefore(db, base, countParams, rows[0]!.seq) : c.afterSeq! > 0 && total > 0;
  } else {
    hasOlder = more;
    hasNewer = c.beforeSeq !== undefined && rows.length > 0 ? existsAfter(db, base, countParams, rows.at(-1)!.seq) : false;
  }
  return { rows, hasOlder, hasNewer, total };
}

function existsBefore(db: Db, where: string[], params: Record<string, string | number>, seq: number): boolean {
  return db.sqlite.query(`SELECT 1 FROM chat_messages m WHERE ${where.join(" AND ")} AND m.seq < $seq LIMIT 1`).get({ ...params, seq }) !== null;
}
function existsAfter(db: Db, where: string[], params: Record<string, string | number>, seq: number): boolean {
  return db.sqlite.query(`SELECT 1 FROM chat_messages m WHERE ${where.join(" AND ")} AND m.seq > $seq LIMIT 1`).get({ ...params, seq }) !== null;
}

/** Attachments and reply counts of a page of messages, in two queries. */
export function messageExtras(db: Db, rows: MessageRow[]): { attachments: Map<string, AttachmentRow[]>; replies: Map<string, number> } {
  const ids = JSON.stringify(rows.map((r) => r.id));
  const attachments = new Map<string, AttachmentRow[]>();
  const replies = new Map<string, number>();
  if (rows.length === 0) return { attachments, replies };
  for (const a of db.sqlite
    .query<AttachmentRow, [string]>("SELECT * FROM chat_attachments WHERE message_id IN (SELECT value FROM json_each(?)) ORDER BY created_at, id")
    .all(ids)) {
    let list = attachments.get(a.message_id);
    if (!list) attachments.set(a.message_id, (list = []));
    list.push(a);
  }
  for (const r of db.sqlite
    .query<{ parent_message_id: string; n: number }, [string]>(
      "SELECT parent_message_id, count(*) AS n FROM chat_messages WHERE parent_message_id IN (SELECT value FROM json_each(?)) GROUP BY parent_message_id",
    )
    .all(ids)) {
    replies.set(r.parent_message_id, r.n);
  }
  return { attachments, replies };
}

export function toMessageJsons(db: Db, rows: MessageRow[]): MessageJson[] {
  const { attachments, replies } = messageExtras(db, rows);
  return rows.map((r) => messageJson(r, attachments.get(r.id) ?? [], replies.get(r.id) ?? 0));
}

// ---- read markers ----

/** Moves the user's read marker forward (never back). */
export function markRead(db: Db, conversationId: string, userId: string, seq: number, at: number): void {
  db.sqlite
    .query(
      `INSERT INTO chat_reads (conversation_id, user_id, last_read_seq, updated_at) VALUES (?1, ?2, ?3, ?4)
       ON CONFLICT (conversation_id, user_id) DO UPDATE SET last_read_seq = max(last_read_seq, excluded.last_read_seq), updated_at = excluded.updated_at`,
    )
    .run(conversationId, userId, seq, at);
}

export function lastSeqOf(db: Db, conversationId: string): number {
  return db.sqlite.query<{ s: number | null }, [string]>("SELECT max(seq) AS s FROM chat_messages WHERE conversation_id = ?").get(conversationId)?.s ?? 0;
}

// ---- attachments ----

export function insertAttachment(db: Db, a: AttachmentRow): void {
  db.sqlite
    .query(
      `INSERT INTO chat_attachments (id, message_id, conversation_id, filename, content_type, size_bytes, sha256, storage_path, created_by, created_at)
       VALUES ($id, $message_id, $conversation_id, $filename, $content_type, $size_bytes, $sha256, $storage_path, $created_by, $created_at)`,
    )
    .run({ ...a });
}

export function getAttachmentRow(db: Db, id: string): AttachmentRow | null {
  return db.sqlite.query<AttachmentRow, [string]>("SELECT * FROM chat_attachments WHERE id = ?").get(id);
}
