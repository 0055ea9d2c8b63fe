/** @jsxImportSource hono/jsx */
// One chat message as the page shows it — the same HTML the server renders into the page and sends over
// the page's WebSocket: who (a person, the task, the controller, the system), when, the markdown (rendered
// safely on the server), attachments, a question's options, and Reply / Edit / thread links. Whether a
// message is the reader's own is decided in the browser (public/chat.js), so one rendering serves everyone.
import type { FC } from "hono/jsx";
import { raw } from "hono/html";
import type { MessageJson } from "../../src/features/chat/store.ts";
import { renderMarkdown } from "../../src/features/chat/markdown.ts";
import { RelTime } from "../components/ui.tsx";

export interface MessageContext {
  /** The conversation the list is of: a message from another one (a plan run's step) is labelled. */
  conversationId: string;
  /** Titles of the steps' conversations, by conversation id. */
  stepTitles?: Map<string, string>;
  /** The parent of a reply, when known: quoted above it. */
  parent?: { sender: string; excerpt: string } | null;
  /** Questions still open (their option buttons show). */
  openRequests?: Set<string>;
}

const SENDER_LABEL: Record<string, string> = { human: "person", worker: "task", controller: "controller", system: "system" };
const SENDER_TONE: Record<string, string> = { human: "tone-info", worker: "tone-violet", controller: "tone-ok", system: "tone-neutral" };
const AVATAR: Record<string, string> = { worker: "⚙", controller: "✦", system: "•" };

export const excerpt = (text: string, max = 90) => {
  const one = text.replace(/\s+/g, " ").trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
};

const senderName = (m: MessageJson) => m.sender_name ?? (m.sender_type === "system" ? "system" : SENDER_LABEL[m.sender_type]!);

const sizeText = (n: number) => (n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`);

export const MessageItem: FC<{ m: MessageJson; ctx: MessageContext }> = ({ m, ctx }) => {
  const requestId = typeof m.metadata.request_id === "string" ? m.metadata.request_id : null;
  const step = m.conversation_id !== ctx.conversationId ? (ctx.stepTitles?.get(m.conversation_id) ?? "a step") : null;
  const common = {
    id: `m-${m.id}`,
    "data-message-id": m.id,
    "data-seq": String(m.seq),
    "data-sender-type": m.sender_type,
    "data-sender-id": m.sender_id ?? "",
    "data-parent-id": m.parent_message_id ?? "",
    "data-request-id": requestId ?? "",
    "data-message-type": m.message_type,
  };
  if (m.message_type === "status_change") {
    return (
      <li {...common} class="msg msg-status flex items-center justify-center gap-2 py-1 text-xs text-muted">
        <span class="h-px w-6 bg-line" aria-hidden="true" />
        <span class="min-w-0 break-words text-center">
          {step ? <span class="font-medium">{step}: </span> : null}
          {m.message}
        </span>
        <span class="shrink-0">
          · <RelTime at={m.created_at} />
        </span>
        <span class="h-px w-6 bg-line" aria-hidden="true" />
      </li>
    );
  }
  const options = Array.isArray(m.metadata.options) ? (m.metadata.options as unknown[]).filter((o): o is string => typeof o === "string") : [];
  const open = m.message_type === "question" && requestId !== null && (ctx.openRequests ? ctx.openRequests.has(requestId) : true);
  const name = senderName(m);
  return (
    <li {...common} class={`msg msg-${m.sender_type} flex gap-2 py-1.5${m.parent_message_id ? " pl-6 sm:pl-10" : ""}`}>
      <span
        class={`mt-0.5 flex h-8 w-8 shrink-0 items-center justify-center rounded-full text-sm font-semibold ${SENDER_TONE[m.sender_type]}`}
        aria-hidden="true"
      >
        {AVATAR[m.sender_type] ?? name.slice(0, 1).toUpperCase()}
      </span>
      <div class="msg-bubble min-w-0 flex-1 rounded-lg border border-line bg-surface px-3 py-2">
        <div class="flex flex-wrap items-baseline gap-x-2 gap-y-0.5 text-xs">
          <span class="font-semibold text-fg" data-sender-name="">
            {name}
          </span>
          <span class={`badge ${SENDER_TONE[m.sender_type]}`}>{SENDER_LABEL[m.sender_type]}</span>
          {m.message_type !== "text" ? <span class="badge tone-neutral">{m.message_type.replace("_", " ")}</span> : null}
          {step ? <span class="badge tone-warn">step: {step}</span> : null}
          <span class="text-muted">
            <RelTime at={m.created_at} />
          </span>
          {m.edited_at ? (
            <span class="text-muted" data-edited="" title={`edited ${m.edited_at}`}>
              (edited)
            </span>
          ) : null}
        </div>
        {m.parent_message_id ? (
          <a class="mt-1 block truncate text-xs text-muted hover:underline" href={`?thread=${m.parent_message_id}`} data-thread-link={m.parent_message_id}>
            ↳ {ctx.parent ? `reply to ${ctx.parent.sender}: ${ctx.parent.excerpt}` : "reply in a thread"}
          </a>
        ) : null}
        <div class="md mt-1 text-sm" data-message-body="">
          {raw(renderMarkdown(m.message))}
        </div>
        {m.attachments.length ? (
          <ul class="mt-2 flex flex-wrap gap-2" aria-label="Attachments">
            {m.attachments.map((a) => (
              <li>
                <a class="btn btn-sm" href={a.url} download={a.filename} data-attachment={a.id}>
                  {a.filename} <span class="text-muted">({sizeText(a.size_bytes)})</span>
                </a>
              </li>
            ))}
          </ul>
        ) : null}
        {open && options.length ? (
          <div class="mt-2 flex flex-wrap gap-2" data-answer-options={requestId}>
            {options.map((o) => (
              <button type="button" class="btn btn-sm" data-action="answer" data-answer={o} data-reply-to={m.id}>
                {o}
              </button>
            ))}
          </div>
        ) : null}
        {m.message_type === "question" && typeof m.metadata.deadline_at === "string" && open ? (
          <p class="mt-1 text-xs text-muted">
            Deadline <RelTime at={m.metadata.deadline_at} />
          </p>
        ) : null}
        <div class="mt-1 flex flex-wrap items-center gap-1 text-xs">
          {m.parent_message_id ? null : (
            <button type="button" class="btn-ghost btn-sm" data-action="reply" data-reply-to={m.id} data-reply-name={name} data-reply-excerpt={excerpt(m.message, 60)}>
              {m.message_type === "question" && open ? "Answer" : "Reply"}
            </button>
          )}
          <button type="button" class="btn-ghost btn-sm msg-edit-btn" data-action="edit" data-edit={m.id}>
            Edit
          </button>
          {!m.parent_message_id && m.reply_count > 0 ? (
            <a class="link px-2" href={`?thread=${m.id}`} data-thread-link={m.id} data-reply-count={String(m.reply_count)}>
              {m.reply_count} {m.reply_count === 1 ? "reply" : "replies"}
            </a>
          ) : null}
        </div>
        <template data-source="">{m.message}</template>
      </div>
    </li>
  );
};

/** The message's HTML as a string (what the page's WebSocket carries). */
export function renderMessageHtml(m: MessageJson, ctx: MessageContext): string {
  return (<MessageItem m={m} ctx={ctx} />).toString();
}
