// The typed in-process event bus: `noun:verb` events that services publish and SSE, waiters and the
// dispatcher subscribe to.
import type { LogLevel, RequestHandler, RequestStatus, TaskStatus, WorkerStatus } from "../db/schema.ts";
import { logger } from "../log.ts";

const log = logger("bus");

export interface TaskEvent {
  taskId: string;
  status: TaskStatus;
  taskType: string;
  parentTaskId: string | null;
  at: number;
  error?: string | null;
}

export interface LogEvent {
  executionId: string;
  taskId: string;
  seq: number;
  level: LogLevel;
  message: string;
  metadata: Record<string, unknown> | null;
  ts: number;
}

export interface ExecutionEvent {
  executionId: string;
  taskId: string;
  workerId: string;
  status: string;
  attempt: number;
  at: number;
}

export interface RequestEvent {
  requestId: string;
  taskId: string;
  status: RequestStatus;
  handler: RequestHandler;
  at: number;
}

export interface TaskMessage {
  taskId: string;
  /** The chat message's id (a task may see the same message once only). */
  messageId: string;
  senderType: "human" | "worker" | "controller" | "system";
  senderId: string | null;
  /** Who it is from, for people (a username). */
  sender: string | null;
  text: string;
  at: number;
}

/** A chat message as it was stored or edited (the API's shape: see features/chat). */
export interface ChatMessageEvent {
  kind: "created" | "edited";
  conversationId: string;
  /** The conversation a step's conversation belongs to (its plan run's): it shows the message too. */
  parentConversationId: string | null;
  taskId: string | null;
  message: { id: string; seq: number; sender_type: string; sender_id: string | null; message_type: string } & Record<string, unknown>;
  at: number;
}

export interface EventMap {
  /** A task row changed status (created, queued, started, finished, cancelled, retried). */
  "task:changed": TaskEvent;
  /** A task's editable fields changed without a status change. */
  "task:updated": { taskId: string; at: number };
  "task:deleted": { taskId: string; at: number };
  /** A running task was asked to stop (cancel); the runtime holding it acts. */
  "task:cancel_requested": { taskId: string; workOrderId: string; claimedBy: string };
  "execution:started": ExecutionEvent;
  "execution:finished": ExecutionEvent;
  "log:appended": LogEvent;
  /** A failed attempt will be tried again (after `runAt`): the task went back to `queued`. */
  "task:retrying": { taskId: string; taskType: string; attempt: number; runAt: number; at: number };
  /** The reaper returned `count` work orders whose lease ran out (their worker stopped responding). */
  "lease:expired": { count: number; at: number };
  /** Work became claimable (enqueue, retry, lease reaped, dependency satisfied). */
  "queue:ready": { count: number; requires?: string[] };
  /** A running task asked a question (the controller routed it: `handler` is who has it now). */
  "request:created": RequestEvent;
  /** An open question changed hands (escalated) or its automated answer made progress. */
  "request:updated": RequestEvent;
  /** A question was answered, timed out or was cancelled: whoever waits on it resumes. */
  "request:resolved": RequestEvent;
  /** A piece of the LLM's answer as it streams in. */
  "request:delta": { requestId: string; taskId: string; text: string };
  /** A coding agent's transcript grew (a note, a model step, a tool result), or it was paused or resumed. */
  "agent:step": { taskId: string; seq: number; kind: "note" | "model" | "tool" | "paused" | "resumed"; at: number };
  /**
   * A message for a running task (a human steering it in the task's conversation): the runner holding
   * the task delivers it to the task's thread (ctx.messages() / ctx.onMessage), locally or to a remote worker.
   */
  "task:message": TaskMessage;
  /** A chat message was posted or edited (by a person, or recorded for a task: questions, answers, status). */
  "chat:message": ChatMessageEvent;
  /** A conversation was started (a general one; a task's comes with the task). */
  "chat:conversation": { conversationId: string; at: number };
  /** A context document was created, edited, restored or deleted. */
  "context:changed": { documentId: string; action: "created" | "updated" | "deleted"; at: number };
  /** An alert started firing or resolved (the banner, the Alerts page and people's notifications follow). */
  "alert:changed": { alertId: string; rule: string; status: "firing" | "resolved"; at: number };
  /** A person got an in-app notification (their unread count changed). */
  "notification:created": { userId: string; kind: string; at: number };
  /** A worker registered, or its derived status changed (idle, busy, offline, error), or it was drained. */
  "worker:changed": { workerId: string; status: WorkerStatus; previous: WorkerStatus | null; draining: boolean; at: number };
}

export type EventName = keyof EventMap;
type Listener<K extends EventName> = (payload: EventMap[K]) => void;

export class EventBus {
  #listeners = new Map<EventName, Set<Listener<any>>>();

  on<K extends EventName>(event: K, listener: Listener<K>): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Resolves with the first payload matching `predicate`, or rejects after `timeoutMs`. */
  once<K extends EventName>(event: K, predicate: (p: EventMap[K]) => boolean = () => true, timeoutMs = 30_000): Promise<EventMap[K]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${event}`));
      }, timeoutMs);
      const off = this.on(event, (p) => {
        if (!predicate(p)) return;
        clearTimeout(timer);
        off();
        resolve(p);
      });
    });
  }

  emit<K extends EventName>(event: K, payload: EventMap[K]): void {
    const set = this.#listeners.get(event);
    if (!set || set.size === 0) return;
    for (const listener of set) {
      try {
        listener(payload);
      } catch (err) {
        // One broken subscriber (a closed SSE stream) must not stop the others or the publisher.
        log.error(`a listener for ${event} threw:`, err);
      }
    }
  }
}
