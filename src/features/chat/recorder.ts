// The recorder: what happens to a task shows in its conversation. Each question of the controller is a
// message of the asking task (`question`), the routing decision and any hand-over are the controller's
// notes in its thread (`log_milestone`), the resolution is the thread's `answer`; each status change of the
// task is a system line (`status_change`). Status lines are written in batches (one transaction per
// short window), so a busy queue pays one commit for many; a question's messages flush the batch first, so
// the conversation keeps the order things happened in.
import type { Db } from "../../db/client.ts";
import { TERMINAL_TASK_STATUSES } from "../../db/schema.ts";
import type { RequestEvent, TaskEvent } from "../../events/bus.ts";
import { logger } from "../../log.ts";
import { getRequestRow, type RequestRow } from "../controller/requests.ts";
import type { ChatService } from "./service.ts";
import { conversationOfTask, questionMessageOf, type ConversationRow, type NewMessage } from "./store.ts";

const log = logger("chat");

/** How long status lines wait to be written together. */
const BATCH_MS = 25;
const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

const STATUS_TEXT: Record<string, string> = {
  pending: "Task created: waiting for its dependencies",
  queued: "Task queued",
  running: "Task running",
  waiting_input: "Task waiting for an answer",
  succeeded: "Task succeeded",
  failed: "Task failed",
  cancelled: "Task cancelled",
  timed_out: "Task timed out",
};

type Pending = { conv: ConversationRow; message: Omit<NewMessage, "conversation_id" | "created_at"> & { created_at: number } };

export class ChatRecorder {
  #pending: Pending[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  #offs: Array<() => void> = [];
  /** Requests whose model call was already noted (request:updated fires on each step of it). */
  #noted = new Set<string>();
  /** The last status recorded per task, so a repeated event does not repeat the line. */
  #lastStatus = new Map<string, string>();
  #conversations = new Map<string, ConversationRow>();

  constructor(private readonly chat: ChatService) {}

  private get db(): Db {
    return this.chat.deps.db;
  }

  start(): void {
    const { bus } = this.chat.deps;
    this.#offs.push(
      bus.on("task:changed", (e) => this.#guard(() => this.#status(e))),
      bus.on("request:created", (e) => this.#guard(() => this.#question(e))),
      bus.on("request:updated", (e) => this.#guard(() => this.#updated(e))),
      bus.on("request:resolved", (e) => this.#guard(() => this.#resolved(e))),
    );
  }

  stop(): void {
    for (const off of this.#offs) off();
    this.#offs = [];
    this.flush();
  }

  /** Writes whatever waits (tests call it instead of sleeping). */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#pending.length === 0) return;
    const batch = this.#pending;
    this.#pending = [];
    try {
      this.chat.recordMany(batch);
    } catch (err) {
      // A task deleted meanwhile takes its conversation with it; write the rest one by one.
      for (const item of batch) {
        try {
          this.chat.recordMany([item]);
        } catch {
          log.debug(`dropped a chat line of a conversation that is gone: ${String(err)}`);
        }
      }
    }
  }

  #guard(fn: () => void) {
    try {
      fn();
    } catch (err) {
      log.error("recording a chat message failed:", err);
    }
  }

  #enqueue(conv: ConversationRow, message: Pending["message"]) {
    this.#pending.push({ conv, message });
    this.#timer ??= setTimeout(() => this.flush(), BATCH_MS);
  }

  #status(e: TaskEvent) {
    if (this.#lastStatus.get(e.taskId) === e.status) return;
    this.#lastStatus.set(e.taskId, e.status);
    if (this.#lastStatus.size > 50_000) this.#lastStatus.clear();
    const conv = this.#conversationOf(e.taskId, (TERMINAL_TASK_STATUSES as readonly string[]).includes(e.status));
    if (!conv) return;
    const text = `${STATUS_TEXT[e.status] ?? `Task ${e.status}`}${e.error ? `: ${clip(e.error, 500)}` : ""}`;
    this.#enqueue(conv, {
      id: Bun.randomUUIDv7(),
      sender_type: "system",
      sender_id: null,
      sender_name: null,
      message: text,
      message_type: "status_change",
      parent_message_id: null,
      metadata: { task_id: e.taskId, status: e.status, ...(e.error ? { error: e.error } : {}) },
      created_at: e.at,
    });
  }

  /** A task's conversation, remembered from its first status change to its last (one lookup per task, not per change). */
  #conversationOf(taskId: string, last: boolean): ConversationRow | null {
    let conv = this.#conversations.get(taskId) ?? null;
    if (!conv) {
      conv = conversationOfTask(this.db, taskId);
      if (conv && !last) {
        if (this.#conversations.size >= 10_000) this.#conversations.clear();
        this.#conversations.set(taskId, conv);
      }
    } else if (last) this.#conversations.delete(taskId);
    return conv;
  }

  #question(e: RequestEvent) {
    const row = getRequestRow(this.db, e.requestId);
    const conv = row && conversationOfTask(this.db, row.task_id);
    if (!row || !conv) return;
    this.flush();
    const options = JSON.parse(row.options) as string[];
    const worker = row.execution_id
      ? this.db.sqlite.query<{ worker_id: string }, [string]>("SELECT worker_id FROM executions WHERE id = ?").get(row.execution_id)?.worker_id ?? null
      : null;
    const title = this.db.sqlite.query<{ title: string }, [string]>("SELECT title FROM tasks WHERE id = ?").get(row.task_id)?.title ?? "task";
    const question = this.chat.record(conv, {
      sender_type: "worker",
      sender_id: worker,
      sender_name: clip(title, 80),
      message: row.question,
      message_type: "question",
      parent_message_id: null,
      metadata: {
        request_id: row.id,
        task_id: row.task_id,
        category: row.category,
        options,
        deadline_at: row.deadline_at ? new Date(row.deadline_at).toISOString() : null,
      },
      created_at: row.created_at,
    });
    const deadline = row.deadline_at ? `; deadline ${new Date(row.deadline_at).toISOString().replace(/\.\d+Z$/, "Z")}` : "";
    const to = row.handler === "human" ? "a human" : row.handler === "automated" ? "the model" : "nobody (answered at once)";
    this.chat.record(conv, {
      sender_type: "controller",
      sender_id: row.policy_id,
      sender_name: "controller",
      message: `Routed by policy “${row.policy_name ?? "default"}” → ${row.route_action}: ${to}${deadline}${row.escalation_reason ? `. ${row.escalation_reason}` : ""}`,
      message_type: "log_milestone",
      parent_message_id: question.id,
      metadata: { request_id: row.id, route: { policy_id: row.policy_id, policy_name: row.policy_name, action: row.route_action, reason: row.route_reason }, handler: row.handler },
      created_at: row.created_at,
    });
  }

  #thread(row: RequestRow): { conv: ConversationRow; rootId: string } | null {
    const root = questionMessageOf(this.db, row.id);
    const conv = conversationOfTask(this.db, row.task_id);
    if (!conv) return null;
    if (!root) {
      this.#question({ requestId: row.id, taskId: row.task_id, status: row.status, handler: row.handler, at: row.created_at });
      const again = questionMessageOf(this.db, row.id);
      return again ? { conv, rootId: again.id } : null;
    }
    return { conv, rootId: root.id };
  }

  #updated(e: RequestEvent) {
    const row = getRequestRow(this.db, e.requestId);
    if (!row || row.status !== "open") return;
    const key = `${row.id}:${row.handler}:${row.context_used ? "ctx" : ""}:${row.escalation_reason ?? ""}`;
    if (this.#noted.has(key)) return;
    this.#noted.add(key);
    if (this.#noted.size > 10_000) this.#noted.clear();
    const thread = this.#thread(row);
    if (!thread) return;
    this.flush();
    let text: string;
    if (row.handler === "automated" && row.context_used) {
      const used = JSON.parse(row.context_used) as { sections?: Array<{ title: string }>; omitted?: Array<{ title: string }> };
      const given = (used.sections ?? []).map((s) => s.title).join(", ") || "nothing";
      text = `Asking the model with: ${given}${used.omitted?.length ? ` (left out: ${used.omitted.map((s) => s.title).join(", ")})` : ""}`;
    } else {
      text = `Handed to ${row.handler === "human" ? "a human" : "the model"}${row.escalation_reason ? `: ${row.escalation_reason}` : ""}`;
    }
    this.chat.record(thread.conv, {
      sender_type: "controller",
      sender_id: null,
      sender_name: "controller",
      message: text,
      message_type: "log_milestone",
      parent_message_id: thread.rootId,
      metadata: { request_id: row.id, handler: row.handler, ...(row.context_used ? { context_used: JSON.parse(row.context_used) } : {}) },
      created_at: row.updated_at,
    });
  }

  #resolved(e: RequestEvent) {
    if (this.chat.answering.has(e.requestId)) return; // answered by a message in the conversation: that is the answer
    const row = getRequestRow(this.db, e.requestId);
    if (!row) return;
    const thread = this.#thread(row);
    if (!thread) return;
    this.flush();
    let senderType: NewMessage["sender_type"] = "controller";
    let senderId = row.answered_by_id;
    let senderName: string | null = "controller";
    if (row.answered_by_type === "human") {
      senderType = "human";
      senderName = row.answered_by_id ? (this.db.sqlite.query<{ username: string }, [string]>("SELECT username FROM users WHERE id = ?").get(row.answered_by_id)?.username ?? null) : null;
    } else if (row.answered_by_type === "automated" && !row.denied) {
      senderName = row.answered_by_id ?? "model";
    } else if (row.answered_by_type === "timeout" || row.status === "cancelled") {
      senderType = "system";
      senderName = null;
    }
    const text =
      row.status === "cancelled"
        ? "Question cancelled (the task or its attempt ended)"
        : row.denied
          ? `Denied${row.status === "timed_out" ? " at the deadline" : " by policy"}`
          : row.answer == null
            ? "The deadline passed with no answer: the task fails"
            : row.status === "timed_out"
              ? `${row.answer} (answered automatically at the deadline)`
              : row.answer;
    this.chat.record(thread.conv, {
      sender_type: senderType,
      sender_id: senderId,
      sender_name: senderName,
      message: text,
      message_type: "answer",
      parent_message_id: thread.rootId,
      metadata: {
        request_id: row.id,
        status: row.status,
        answer: row.answer,
        denied: row.denied === 1,
        answered_by: row.answered_by_type ? { type: row.answered_by_type, id: row.answered_by_id } : null,
      },
      created_at: row.resolved_at ?? this.chat.deps.clock(),
    });
  }
}
