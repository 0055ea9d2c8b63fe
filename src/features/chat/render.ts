// Messages as the page shows them, for the page's WebSocket: the HTML of views/chat/message.tsx with the
// quoted parent of a reply and the step a plan run's message came from.
import type { Db } from "../../db/client.ts";
import { excerpt, renderMessageHtml } from "../../../views/chat/message.tsx";
import { getConversationRow, getMessageRow, type MessageJson } from "./store.ts";

export function parentQuote(db: Db, parentId: string | null): { sender: string; excerpt: string } | null {
  if (!parentId) return null;
  const p = getMessageRow(db, parentId);
  return p ? { sender: p.sender_name ?? p.sender_type, excerpt: excerpt(p.message, 60) } : null;
}

export function socketRenderer(db: Db) {
  return (m: MessageJson, conversationId: string): string => {
    const stepTitles = new Map<string, string>();
    if (m.conversation_id !== conversationId) stepTitles.set(m.conversation_id, getConversationRow(db, m.conversation_id)?.title ?? "a step");
    return String(renderMessageHtml(m, { conversationId, stepTitles, parent: parentQuote(db, m.parent_message_id) }));
  };
}
