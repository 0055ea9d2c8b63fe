/** @jsxImportSource hono/jsx */
// The Chat page: the conversation list (search, unread counts; refreshed live over /events), the open
// conversation (messages, the composer; live over its WebSocket, driven by public/chat.js) and the
// collapsible context sidebar (the task, its plan run, its documents). On a phone the list and the
// conversation are two screens.
import type { FC } from "hono/jsx";
import type { MessageJson } from "../../src/features/chat/store.ts";
import { AdminDialog, Field, FormButtons } from "../components/form.tsx";
import { EmptyState, RelTime, SearchField, Spinner, StatusBadge } from "../components/ui.tsx";
import { excerpt, MessageItem, type MessageContext } from "./message.tsx";

export interface ConversationListEntry {
  id: string;
  title: string;
  taskId: string | null;
  taskStatus: string | null;
  unread: number;
  lastMessage: string | null;
  lastSender: string | null;
  lastAt: string | null;
}

export interface ConversationListProps {
  items: ConversationListEntry[];
  total: number;
  q?: string;
  kind?: "task" | "general";
  selectedId: string | null;
  /** How many are shown (the list grows with "Show more"). */
  limit: number;
}

export function chatListHref(p: { q?: string; kind?: string; limit?: number; selected?: string | null }): string {
  const params = new URLSearchParams();
  if (p.q) params.set("q", p.q);
  if (p.kind) params.set("kind", p.kind);
  if (p.limit && p.limit !== 30) params.set("limit", String(p.limit));
  if (p.selected) params.set("selected", p.selected);
  const qs = params.toString();
  return `/chat/list${qs ? `?${qs}` : ""}`;
}

export const ConversationList: FC<ConversationListProps> = ({ items, total, q, kind, selectedId, limit }) => (
  <div id="chat-list" class="live-region min-h-0 flex-1 overflow-y-auto" hx-get={chatListHref({ q, kind, limit, selected: selectedId })} hx-trigger="sse:chat" hx-swap="outerHTML" data-total={total}>
    {items.length === 0 ? (
      q || kind ? (
        <EmptyState title="No conversation matches">
          <a class="link" href="/chat">
            Show all
          </a>
        </EmptyState>
      ) : (
        <EmptyState title="No conversations yet">Every task gets one when it starts; or start one yourself with “+ New”.</EmptyState>
      )
    ) : (
      <ul class="divide-y divide-line" aria-label="Conversations">
        {items.map((c) => (
          <li>
            <a
              href={`/chat/${c.id}`}
              hx-get={`/chat/${c.id}`}
              hx-target="#chat-pane"
              hx-swap="outerHTML"
              hx-push-url="true"
              class={`flex flex-col gap-0.5 px-3 py-2 hover:bg-surface-2 ${c.id === selectedId ? "bg-surface-2" : ""}`}
              aria-current={c.id === selectedId ? "true" : undefined}
              data-conversation-link={c.id}
            >
              <span class="flex items-center gap-2">
                <span class="min-w-0 flex-1 truncate text-sm font-medium">{c.title}</span>
                {c.unread > 0 ? (
                  <span class="badge tone-info" data-unread={String(c.unread)} aria-label={`${c.unread} unread`}>
                    {c.unread > 99 ? "99+" : c.unread}
                  </span>
                ) : null}
              </span>
              <span class="flex items-center gap-2 text-xs text-muted">
                {c.taskStatus ? <StatusBadge status={c.taskStatus} /> : <span class="badge tone-neutral">general</span>}
                <span class="min-w-0 flex-1 truncate">{c.lastMessage ? `${c.lastSender ? `${c.lastSender}: ` : ""}${excerpt(c.lastMessage, 60)}` : ""}</span>
                {c.lastAt ? <RelTime at={c.lastAt} /> : null}
              </span>
            </a>
          </li>
        ))}
        {total > items.length ? (
          <li class="p-2 text-center">
            <button type="button" class="btn btn-sm" hx-get={chatListHref({ q, kind, limit: limit + 30, selected: selectedId })} hx-target="#chat-list" hx-swap="outerHTML">
              Show more ({total - items.length})
            </button>
          </li>
        ) : null}
      </ul>
    )}
  </div>
);

export interface PaneProps {
  conversation: { id: string; title: string; taskId: string | null; taskStatus: string | null; taskType: string | null };
  messages: MessageJson[];
  /** The id to load older messages before (null: the start is shown). */
  older: string | null;
  ctx: MessageContext;
  parents: Map<string, { sender: string; excerpt: string }>;
  thread: { id: string; excerpt: string } | null;
  mayPost: boolean;
}

/** The "Load older" row at the top of the list (replaced by the older messages and a new row). */
export const OlderRow: FC<{ conversationId: string; older: string | null; thread: string | null }> = ({ conversationId, older, thread }) =>
  older ? (
    <li id="older-row" class="py-2 text-center">
      <button
        type="button"
        class="btn btn-sm"
        hx-get={`/chat/${conversationId}/messages?before=${encodeURIComponent(older)}${thread ? `&thread=${encodeURIComponent(thread)}` : ""}`}
        hx-target="#older-row"
        hx-swap="outerHTML"
        data-load-older=""
      >
        <span class="spinner htmx-indicator" aria-hidden="true" />
        Load older messages
      </button>
    </li>
  ) : (
    <li id="older-row" class="py-2 text-center text-xs text-muted">
      {thread ? "Start of the thread" : "Start of the conversation"}
    </li>
  );

export const MessageItems: FC<{ messages: MessageJson[]; ctx: MessageContext; parents: Map<string, { sender: string; excerpt: string }> }> = ({ messages, ctx, parents }) => (
  <>
    {messages.map((m) => (
      <MessageItem m={m} ctx={{ ...ctx, parent: m.parent_message_id ? (parents.get(m.parent_message_id) ?? null) : null }} />
    ))}
  </>
);

export const ConversationPane: FC<PaneProps> = ({ conversation, messages, older, ctx, parents, thread, mayPost }) => (
  <section
    id="chat-pane"
    class="card flex min-h-0 min-w-0 flex-1 flex-col"
    data-chat-pane=""
    data-conversation-id={conversation.id}
    data-task-id={conversation.taskId ?? ""}
    data-thread={thread?.id ?? ""}
    data-may-post={mayPost ? "true" : "false"}
    aria-label={`Conversation: ${conversation.title}`}
  >
    <header class="flex flex-wrap items-center gap-2 border-b border-line px-3 py-2">
      <a href="/chat" class="btn-ghost btn-sm lg:hidden" aria-label="Back to the conversations">
        ←
      </a>
      <h2 class="min-w-0 flex-1 truncate font-semibold" data-conversation-title="">
        {conversation.title}
      </h2>
      {conversation.taskStatus ? <StatusBadge status={conversation.taskStatus} /> : null}
      {conversation.taskId ? (
        <a class="btn btn-sm" href={`/tasks/${conversation.taskId}`}>
          Task
        </a>
      ) : null}
      <span class="hidden items-center gap-1 text-xs text-muted" data-socket-status="" role="status">
        <span class="pulse-dot" aria-hidden="true" />
        <span data-socket-text="">Connecting…</span>
      </span>
      <button type="button" class="btn btn-sm" data-context-toggle="" aria-controls="chat-context" aria-expanded="true">
        Context
      </button>
    </header>
    {thread ? (
      <div class="flex items-center gap-2 border-b border-line bg-surface-2 px-3 py-1.5 text-xs">
        <span class="min-w-0 flex-1 truncate">Thread: {thread.excerpt}</span>
        <a class="link" href={`/chat/${conversation.id}`} hx-get={`/chat/${conversation.id}`} hx-target="#chat-pane" hx-swap="outerHTML" hx-push-url="true">
          Show the whole conversation
        </a>
      </div>
    ) : null}
    <div class="relative min-h-0 flex-1">
      <ol id="msg-list" class="msg-list absolute inset-0 px-2 py-2 sm:px-3" aria-label="Messages" aria-live="polite" data-msg-list="">
        <OlderRow conversationId={conversation.id} older={older} thread={thread?.id ?? null} />
        {messages.length === 0 ? (
          <li class="py-8 text-center text-sm text-muted" data-msg-empty="">
            No messages yet.{mayPost ? " Say something below." : ""}
          </li>
        ) : null}
        <MessageItems messages={messages} ctx={ctx} parents={parents} />
      </ol>
      <button type="button" class="btn-primary btn-sm absolute bottom-2 left-1/2 -translate-x-1/2 shadow-lg" hidden data-new-messages="">
        New messages ↓
      </button>
    </div>
    <p class="h-5 px-3 text-xs text-muted" data-typing="" aria-live="polite"></p>
    {mayPost ? (
      <form id="chat-form" method="post" action={`/chat/${conversation.id}/messages`} class="chat-composer border-t border-line p-2" data-action="post" data-chat-form="">
        <div class="mb-1 flex items-center gap-2 rounded-md bg-surface-2 px-2 py-1 text-xs" hidden data-reply-banner="">
          <span class="min-w-0 flex-1 truncate" data-reply-text=""></span>
          <button type="button" class="btn-ghost btn-sm" data-reply-cancel="" aria-label="Cancel the reply">
            ✕
          </button>
        </div>
        <input type="hidden" name="parent_message_id" value={thread?.id ?? ""} data-parent-input="" />
        <div class="flex items-end gap-2">
          <label class="btn btn-sm cursor-pointer" title="Attach files">
            <svg width="16" height="16" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" aria-hidden="true">
              <path d="M21 11.5l-8.6 8.6a5 5 0 0 1-7.1-7.1l8.6-8.6a3.5 3.5 0 0 1 5 5l-8.6 8.6a2 2 0 0 1-2.9-2.9l7.9-7.9" />
            </svg>
            <span class="sr-only">Attach files</span>
            <input type="file" class="sr-only" multiple data-attach="" />
          </label>
          <label for="chat-message" class="sr-only">
            Message
          </label>
          <textarea
            id="chat-message"
            name="message"
            rows={1}
            maxlength={20000}
            required
            class="field min-w-0 flex-1"
            placeholder="Message (markdown) — Enter to send, Shift+Enter for a new line"
            data-composer=""
          ></textarea>
          <button type="submit" class="btn-primary" data-send="">
            <span class="spinner hidden" aria-hidden="true" data-sending="" />
            Send
          </button>
        </div>
      </form>
    ) : (
      <p class="border-t border-line px-3 py-3 text-sm text-muted" data-read-only="">
        You can read this conversation; posting needs the operator role.
      </p>
    )}
  </section>
);

export const NoConversation: FC = () => (
  <section id="chat-pane" class="card hidden min-h-0 flex-1 items-center justify-center lg:flex" data-chat-pane="">
    <EmptyState title="Pick a conversation">Each task has its own; messages to a running task reach it while it runs.</EmptyState>
  </section>
);

export interface ChatPageProps {
  list: ConversationListProps;
  pane: PaneProps | null;
  version: number;
  userId: string;
  /** The sidebar's content is loaded after the page (it reads the task, its plan run and documents). */
  contextHref: string | null;
}

export const ContextAside: FC<{ href: string | null }> = ({ href }) => (
  <aside id="chat-context" class="card min-h-0 overflow-y-auto lg:w-72 lg:shrink-0" aria-label="Context">
    {href ? (
      <div hx-get={href} hx-trigger="load, sse:chat throttle:2s" hx-swap="innerHTML" class="p-3">
        <Spinner label="Loading the context…" />
      </div>
    ) : (
      <p class="p-3 text-sm text-muted">No context: pick a conversation.</p>
    )}
  </aside>
);

export const ChatPage: FC<ChatPageProps> = ({ list, pane, version, userId, contextHref }) => (
  <div
    class="chat-shell flex min-h-0 flex-col gap-3 lg:flex-row"
    data-chat=""
    data-user-id={userId}
    sse-connect={`/events?topics=chat&v=${version}`}
    sse-close="bye"
  >
    <nav class={`card min-h-0 flex-col lg:flex lg:w-72 lg:shrink-0 ${pane ? "hidden" : "flex flex-1"}`} aria-label="Conversations" data-chat-nav="">
      <div class="flex items-center gap-2 border-b border-line p-2">
        <h1 class="flex-1 px-1 font-semibold">Chat</h1>
        <a href="/chat/new" class="btn-primary btn-sm" data-dialog-open="new-conversation" data-action="new">
          + New
        </a>
      </div>
      <form class="flex flex-col gap-2 border-b border-line p-2" method="get" action="/chat" role="search">
        <SearchField
          id="chat-q"
          label="Search conversations"
          value={list.q}
          placeholder="Search conversations…"
          attrs={{ "hx-get": "/chat/list", "hx-target": "#chat-list", "hx-swap": "outerHTML", "hx-trigger": "input changed delay:300ms, search", "hx-include": "[name=kind]" }}
        />
        <select name="kind" class="field" aria-label="Which conversations" hx-get="/chat/list" hx-target="#chat-list" hx-swap="outerHTML" hx-include="[name=q]">
          <option value="">All conversations</option>
          <option value="task" selected={list.kind === "task"}>
            Tasks' conversations
          </option>
          <option value="general" selected={list.kind === "general"}>
            General conversations
          </option>
        </select>
      </form>
      <ConversationList {...list} />
    </nav>
    {pane ? <ConversationPane {...pane} /> : <NoConversation />}
    <ContextAside href={contextHref} />
    <AdminDialog id="new-conversation" title="New conversation">
      <NewConversationForm />
    </AdminDialog>
  </div>
);

export const NewConversationForm: FC<{ values?: { title?: string }; error?: string }> = ({ values, error }) => (
  <form method="post" action="/chat" class="flex flex-col gap-4" hx-post="/chat" hx-target="this" hx-swap="outerHTML" data-action="create-conversation">
    <Field name="title" form="conv" label="Title" value={values?.title} error={error} required maxlength={200} autofocus placeholder="e.g. Release 2.3 coordination" />
    <FormButtons inDialog cancelHref="/chat" submit="Start" />
  </form>
);
