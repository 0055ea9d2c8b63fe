// The live hub: turns bus events into throttled, pre-encoded SSE frames for the pages' event streams.
// One bus listener per event kind serves every subscriber; a frame is encoded once and written to all.
import type { EventBus, LogEvent } from "../../events/bus.ts";
import { encodeSseFrame } from "../../http/sse.ts";

/**
 * A topic a page subscribes to, and the event it receives:
 * - `dashboard`      → `dashboard`  (task counts, queues or activity changed)
 * - `tasks`          → `tasks`      (a task was created, changed status, edited or deleted)
 * - `plans`          → `plans`      (a plan run — a task of type `plan` — started, changed status or was deleted)
 * - `workers`        → `workers`    (a worker registered, changed status or was drained, or an execution started or finished)
 * - `task:<id>`      → `task`       (that task or one of its children changed)
 * - `exec:<id>`      → `execution`  (an execution of that task started or finished)
 * - `log:<exec id>`  → `log`        (new log lines of that execution, as HTML; the SSE id is the last seq)
 * - `chat`           → `chat`       (a chat message was posted, recorded or edited, or a conversation started)
 * - `context`        → `context`    (a context document was created, edited or deleted)
 * - `requests`       → `requests`   (a question was asked, changed hands or was resolved: the Inbox, the nav badge)
 * - `answers`        → `answers`    (a model's answer to a question is streaming in)
 * - `questions:<task id>` → `questions` (a question of that task was asked, changed, resolved, or its answer streams)
 * - `steps:<task id>` → `steps`     (a coding agent's transcript grew, or it was paused or resumed)
 */
export type Topic = "dashboard" | "tasks" | "plans" | "workers" | "chat" | "context" | "requests" | "answers" | `task:${string}` | `exec:${string}` | `log:${string}` | `questions:${string}` | `steps:${string}`;

export const TOPIC_PATTERN = /^(dashboard|tasks|plans|workers|chat|context|requests|answers|(task|exec|log|questions|steps):[A-Za-z0-9._-]{1,100})$/;

export interface Subscriber {
  write(frame: Uint8Array): void;
  /** For log topics: the last seq this subscriber has; lines at or below it are not sent again. */
  after: number;
}

/** How often (at most) each kind of topic is sent: the first change goes out at once, a burst is folded into one. */
const WINDOW_MS: Record<string, number> = { dashboard: 1000, tasks: 500, plans: 500, workers: 1000, task: 150, exec: 0, log: 50, chat: 500, context: 300, requests: 50, answers: 150, questions: 100, steps: 150 };
const EVENT_OF: Record<string, string> = {
  dashboard: "dashboard",
  tasks: "tasks",
  plans: "plans",
  workers: "workers",
  task: "task",
  exec: "execution",
  log: "log",
  chat: "chat",
  context: "context",
  requests: "requests",
  answers: "answers",
  questions: "questions",
  steps: "steps",
};
const MAX_TRACKED_VERSIONS = 20_000;

const kindOf = (topic: string) => {
  const colon = topic.indexOf(":");
  return colon < 0 ? topic : topic.slice(0, colon);
};

export type LogRenderer = (lines: LogEvent[]) => string;

export class LiveHub {
  #subs = new Map<string, Set<Subscriber>>();
  #timers = new Map<string, ReturnType<typeof setTimeout>>();
  #lastSent = new Map<string, number>();
  #pendingLogs = new Map<string, LogEvent[]>();
  /** Version of the last change of each topic: a page renders with `version`, its stream catches up on connect. */
  #versions = new Map<string, number>();
  #version: number;
  #offs: Array<() => void>;

  constructor(
    bus: EventBus,
    private readonly renderLog: LogRenderer,
  ) {
    // Wall-clock based, so a page rendered before a restart still sees later changes as newer.
    this.#version = Date.now() * 1000;
    this.#offs = [
      bus.on("task:changed", (e) => {
        this.#touch("tasks");
        this.#touch("dashboard");
        if (e.taskType === "plan") this.#touch("plans");
        this.#touch(`task:${e.taskId}`);
        if (e.parentTaskId) this.#touch(`task:${e.parentTaskId}`);
      }),
      bus.on("task:updated", (e) => {
        this.#touch("tasks");
        this.#touch(`task:${e.taskId}`);
      }),
      bus.on("task:deleted", (e) => {
        this.#touch("tasks");
        this.#touch("dashboard");
        this.#touch("plans"); // the event does not say whether it was a run
        this.#touch(`task:${e.taskId}`);
      }),
      bus.on("execution:started", (e) => {
        this.#touch(`exec:${e.taskId}`);
        this.#touch(`task:${e.taskId}`);
        this.#touch("workers"); // a worker's current tasks and concurrency changed
      }),
      bus.on("execution:finished", (e) => {
        this.#touch(`exec:${e.taskId}`);
        this.#touch(`task:${e.taskId}`);
        this.#touch("workers");
      }),
      bus.on("worker:changed", () => this.#touch("workers")),
      // Questions: the Inbox and the nav badge follow every one; the dashboard counts those waiting for a person.
      ...(["request:created", "request:updated", "request:resolved"] as const).map((event) =>
        bus.on(event, (e) => {
          this.#touch("requests");
          this.#touch("dashboard");
          this.#touch(`questions:${e.taskId}`);
        }),
      ),
      bus.on("request:delta", (e) => {
        this.#touch("answers");
        this.#touch(`questions:${e.taskId}`);
      }),
      bus.on("agent:step", (e) => this.#touch(`steps:${e.taskId}`)),
      bus.on("queue:ready", () => this.#touch("dashboard")),
      bus.on("chat:message", () => this.#touch("chat")),
      bus.on("chat:conversation", () => this.#touch("chat")),
      bus.on("context:changed", () => this.#touch("context")),
      bus.on("log:appended", (e) => {
        const topic = `log:${e.executionId}`;
        if (!this.#subs.has(topic)) return;
        let lines = this.#pendingLogs.get(e.executionId);
        if (!lines) this.#pendingLogs.set(e.executionId, (lines = []));
        lines.push(e);
        this.#schedule(topic);
      }),
    ];
  }

  /** The current version: read it before querying what a page shows, pass it as `v` to the stream. */
  get version(): number {
    return this.#version;
  }

  get subscriberCount(): number {
    let n = 0;
    for (const set of this.#subs.values()) n += set.size;
    return n;
  }

  /**
   * Subscribes to topics. Topics that changed after version `since` are sent at once (the page was
   * rendered before that change), so nothing falls between rendering a page and opening its stream.
   */
  subscribe(topics: Topic[], sub: Subscriber, since: number | null): () => void {
    for (const topic of topics) {
      let set = this.#subs.get(topic);
      if (!set) this.#subs.set(topic, (set = new Set()));
      set.add(sub);
    }
    if (since !== null) {
      for (const topic of topics) {
        const kind = kindOf(topic);
        if (kind === "log") continue;
        const changed = this.#versions.get(topic);
        if (changed !== undefined && changed > since) sub.write(encodeSseFrame(EVENT_OF[kind]!, topic));
      }
    }
    return () => {
      for (const topic of topics) {
        const set = this.#subs.get(topic);
        if (!set) continue;
        set.delete(sub);
        if (set.size === 0) {
          this.#subs.delete(topic);
          if (kindOf(topic) === "log") this.#pendingLogs.delete(topic.slice(4));
        }
      }
    };
  }

  close(): void {
    for (const off of this.#offs) off();
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  #touch(topic: string) {
    this.#version = Math.max(this.#version + 1, Date.now() * 1000);
    // Updated in place (a delete + re-insert per touch, to keep the map in LRU order, cost 13 % of the
    // main thread at 2,500 tasks/s); trimmed in batches to the most recently changed topics.
    this.#versions.set(topic, this.#version);
    if (this.#versions.size > MAX_TRACKED_VERSIONS * 1.25) {
      const newest = [...this.#versions].sort((a, b) => b[1] - a[1]).slice(0, MAX_TRACKED_VERSIONS);
      this.#versions = new Map(newest);
    }
    if (this.#subs.has(topic)) this.#schedule(topic);
  }

  #schedule(topic: string) {
    if (this.#timers.has(topic)) return;
    const window = WINDOW_MS[kindOf(topic)] ?? 250;
    const delay = Math.max(0, (this.#lastSent.get(topic) ?? 0) + window - Date.now());
    const timer = setTimeout(() => {
      this.#timers.delete(topic);
      this.#lastSent.set(topic, Date.now());
      this.#flush(topic);
    }, delay);
    (timer as { unref?: () => void }).unref?.();
    this.#timers.set(topic, timer);
  }

  #flush(topic: string) {
    const subs = this.#subs.get(topic);
    const kind = kindOf(topic);
    if (kind === "log") {
      const executionId = topic.slice(4);
      const lines = this.#pendingLogs.get(executionId);
      this.#pendingLogs.delete(executionId);
      if (!subs || !lines?.length) return;
      this.#flushLog(subs, lines);
      return;
    }
    if (!subs) return;
    const frame = encodeSseFrame(EVENT_OF[kind]!, topic);
    for (const sub of subs) sub.write(frame);
  }

  #flushLog(subs: Set<Subscriber>, lines: LogEvent[]) {
    const last = lines.at(-1)!.seq;
    let shared: Uint8Array | null = null;
    for (const sub of subs) {
      if (sub.after >= last) continue;
      if (sub.after < lines[0]!.seq) {
        shared ??= encodeSseFrame("log", this.renderLog(lines), last);
        sub.write(shared);
      } else {
        // Just replayed part of this batch from history: only the rest.
        sub.write(encodeSseFrame("log", this.renderLog(lines.filter((l) => l.seq > sub.after)), last));
      }
      sub.after = last;
    }
  }
}
