// The zod schemas of the chat API (requests, answers, and the WebSocket's frames).
import { z } from "zod";
import { Pagination } from "../../http/pagination.ts";
import { MESSAGE_TYPES, SENDER_TYPES } from "./store.ts";

/** The longest message, in characters. */
export const MAX_MESSAGE_CHARS = 20_000;

const id = z.string().min(1).max(100);
const messageText = z.string().max(MAX_MESSAGE_CHARS, `at most ${MAX_MESSAGE_CHARS} characters`);

export const ListConversationsQuery = z.strictObject({
  ...Pagination,
  q: z.string().max(200).optional().describe("Search in titles (a task's current title), or a conversation or task id"),
  kind: z.enum(["task", "general"]).optional().describe("Only tasks' conversations, or only general ones"),
});

export const CreateConversationBody = z.strictObject({
  title: z.string().trim().min(1, "title must not be empty").max(200),
});

export const ListMessagesQuery = z
  .strictObject({
    before: id.optional().describe("A message id: the messages before it (older), newest first in the page's order"),
    after: id.optional().describe("A message id: the messages after it (newer)"),
    thread: id.optional().describe("A message id: only its thread (the message and its replies)"),
    per_page: z.coerce.number().int().min(1).max(200).default(50),
  })
  .refine((q) => !(q.before && q.after), { message: "give before or after, not both", path: ["after"] });

export const PostMessageBody = z.strictObject({
  message: messageText.describe("Markdown"),
  parent_message_id: id.nullish().describe("Reply in this message's thread; a reply to an open question answers it"),
  metadata: z.record(z.string(), z.unknown()).nullish(),
});
export type PostMessageBody = z.infer<typeof PostMessageBody>;

export const EditMessageBody = z.strictObject({ message: messageText });

export const AttachmentOut = z.object({ id: z.string(), filename: z.string(), content_type: z.string(), size_bytes: z.number(), url: z.string() });

export const MessageOut = z.object({
  id: z.string(),
  seq: z.number(),
  conversation_id: z.string(),
  sender_type: z.enum(SENDER_TYPES),
  sender_id: z.string().nullable(),
  sender_name: z.string().nullable(),
  message: z.string(),
  message_type: z.enum(MESSAGE_TYPES),
  parent_message_id: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  attachments: z.array(AttachmentOut),
  reply_count: z.number(),
  created_at: z.string(),
  edited_at: z.string().nullable(),
});

export const MessagePageOut = z.object({
  items: z.array(MessageOut),
  total: z.number(),
  per_page: z.number(),
  older: z.string().nullable().describe("Pass as `before` for the previous (older) page; null at the start"),
  newer: z.string().nullable().describe("Pass as `after` for the next (newer) page; null at the end"),
});

export const ConversationOut = z.object({
  id: z.string(),
  title: z.string(),
  task_id: z.string().nullable(),
  parent_conversation_id: z.string().nullable(),
  created_by: z.string().nullable(),
  created_at: z.string(),
  last_message_at: z.string().nullable(),
});

export const ConversationListItemOut = ConversationOut.extend({
  task: z.object({ id: z.string(), title: z.string(), status: z.string(), task_type: z.string() }).nullable(),
  unread: z.number(),
  last_message: z.string().nullable(),
});

/** What a client may send over the WebSocket. */
export const SocketFrame = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("message"),
    message: messageText,
    parent_message_id: id.nullish(),
    client_id: z.string().max(100).optional().describe("Echoed in the ack or error"),
  }),
  z.strictObject({ type: z.literal("edit"), message_id: id, message: messageText, client_id: z.string().max(100).optional() }),
  z.strictObject({ type: z.literal("typing") }),
  z.strictObject({ type: z.literal("read"), seq: z.number().int().min(0) }),
  z.strictObject({ type: z.literal("ping") }),
]);
export type SocketFrame = z.infer<typeof SocketFrame>;
