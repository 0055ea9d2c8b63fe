// The chat's WebSockets: who is connected to which conversation, and what they are sent — each new or
// edited message (encoded once for all its readers; with its HTML for the page's sockets) and who is
// typing. A plan run's sockets also get its steps' messages.
import type { ChatMessageEvent, EventBus } from "../../events/bus.ts";
import type { MessageJson } from "./store.ts";

/** Close codes the chat's socket ends with (documented in the README and the API description). */
export const CLOSE_CODES = {
  /** The user signed out, the session or API key was revoked, or the account was deactivated. */
  accessWithdrawn: 4401,
  /** The conversation no longer exists (its task was deleted). */
  gone: 4404,
  /** The server is stopping. */
  goingAway: 1001,
} as const;

export interface ChatSocket {
  /** The conversation it follows, and its task (if it is a task's). */
  conversationId: string;
  taskId: string | null;
  userId: string;
  username: string;
  /** The page's socket wants each message's HTML too. */
  html: boolean;
  send(data: string): void;
  close(code: number, reason: string): void;
}

/** The message as the page shows it in the list of `conversationId` (a plan run's list labels its steps'). */
export type MessageRenderer = (message: MessageJson, conversationId: string) => string;

const TYPING_EVERY_MS = 1500;

export class ChatSockets {
  #byConversation = new Map<string, Set<ChatSocket>>();
  #lastTyping = new WeakMap<ChatSocket, number>();
  #offs: Array<() => void>;
  #count = 0;

  constructor(
    bus: EventBus,
    private readonly render: MessageRenderer,
  ) {
    this.#offs = [
      bus.on("chat:message", (e) => this.#broadcast(e)),
      // A deleted task takes its conversation with it: its sockets end with 4404.
      bus.on("task:deleted", (e) => {
        for (const set of this.#byConversation.values()) {
          for (const s of [...set]) if (s.taskId === e.taskId) s.close(CLOSE_CODES.gone, "the conversation was deleted (its task was deleted)");
        }
      }),
    ];
  }

  get size(): number {
    return this.#count;
  }

  add(socket: ChatSocket): () => void {
    let set = this.#byConversation.get(socket.conversationId);
    if (!set) this.#byConversation.set(socket.conversationId, (set = new Set()));
    set.add(socket);
    this.#count++;
    return () => {
      if (!set.delete(socket)) return;
      this.#count--;
      if (set.size === 0) this.#byConversation.delete(socket.conversationId);
    };
  }

  /** `from` is typing: the others in the conversation hear of it (at most every 1.5 s per socket). */
  typing(from: ChatSocket, now = Date.now()): void {
    if (now - (this.#lastTyping.get(from) ?? 0) < TYPING_EVERY_MS) return;
    this.#lastTyping.set(from, now);
    const frame = JSON.stringify({ type: "typing", conversation_id: from.conversationId, user: { id: from.userId, username: from.username }, at: new Date(now).toISOString() });
    for (const s of this.#byConversation.get(from.conversationId) ?? []) if (s !== from && s.userId !== from.userId) s.send(frame);
  }

  /** Ends every socket of a conversation (it was deleted). */
  closeConversation(conversationId: string, code: number, reason: string): void {
    for (const s of [...(this.#byConversation.get(conversationId) ?? [])]) s.close(code, reason);
  }

  close(): void {
    for (const off of this.#offs) off();
    for (const set of [...this.#byConversation.values()]) for (const s of [...set]) s.close(CLOSE_CODES.goingAway, "server stopping");
    this.#byConversation.clear();
  }

  #broadcast(e: ChatMessageEvent) {
    const targets = [this.#byConversation.get(e.conversationId), e.parentConversationId ? this.#byConversation.get(e.parentConversationId) : undefined];
    if (!targets[0] && !targets[1]) return;
    const type = e.kind === "created" ? "message" : "message_edited";
    const message = e.message as unknown as MessageJson;
    let plain: string | null = null;
    for (const [i, set] of targets.entries()) {
      if (!set) continue;
      let withHtml: string | null = null;
      const listOf = i === 0 ? e.conversationId : e.parentConversationId!;
      for (const s of set) {
        if (s.html) s.send((withHtml ??= JSON.stringify({ type, message, html: this.render(message, listOf) })));
        else s.send((plain ??= JSON.stringify({ type, message })));
      }
    }
  }
}
