// Messages for tasks that remote workers run: each `task:message` goes into the mailbox of the worker
// holding the task (by its current execution), numbered; the worker long-polls POST /queue/messages with
// the last number it has, which acknowledges everything up to it. Mailboxes live in memory: a message sent
// while the server restarts is still in the task's conversation, but is not delivered to the running task.
import type { EngineDeps } from "../../engine/engine-deps.ts";
import type { TaskMessage } from "../../events/bus.ts";

export interface MailItem {
  seq: number;
  execution_id: string;
  message: { id: string; text: string; sender: string | null; senderType: TaskMessage["senderType"]; at: number };
}

interface Mailbox {
  items: MailItem[];
  nextSeq: number;
  dropped: number;
  waiters: Set<() => void>;
}

/** Per worker, at most this many unacknowledged messages (the oldest go first). */
const LIMIT = 1000;

export class WorkerMailboxes {
  /** Message numbers start again with every server start: a worker's `after` from before means nothing now. */
  readonly epoch = Bun.randomUUIDv7();
  #boxes = new Map<string, Mailbox>();
  #off: () => void;

  constructor(private readonly deps: EngineDeps) {
    this.#off = deps.bus.on("task:message", (m) => this.#route(m));
  }

  /** The remote worker running the task now, and the execution it runs it under. */
  #holderOf(taskId: string): { worker_id: string; execution_id: string } | null {
    return this.deps.db.sqlite
      .query<{ worker_id: string; execution_id: string }, [string]>(
        `SELECT e.worker_id, e.id AS execution_id FROM executions e JOIN workers w ON w.id = e.worker_id
          WHERE e.task_id = ? AND e.status = 'running' AND w.worker_type = 'remote' ORDER BY e.started_at DESC LIMIT 1`,
      )
      .get(taskId);
  }

  #box(workerId: string): Mailbox {
    let box = this.#boxes.get(workerId);
    if (!box) this.#boxes.set(workerId, (box = { items: [], nextSeq: 1, dropped: 0, waiters: new Set() }));
    return box;
  }

  #route(m: TaskMessage) {
    const holder = this.#holderOf(m.taskId);
    if (!holder) return;
    const box = this.#box(holder.worker_id);
    box.items.push({ seq: box.nextSeq++, execution_id: holder.execution_id, message: { id: m.messageId, text: m.text, sender: m.sender, senderType: m.senderType, at: m.at } });
    if (box.items.length > LIMIT) {
      box.items.shift();
      box.dropped++;
    }
    for (const w of [...box.waiters]) w();
  }

  /**
   * Messages after `after` for `workerId` (acknowledging those up to it), waiting up to `waitMs` for one
   * when there is none. Resolves with what there is then (possibly nothing).
   */
  async take(workerId: string, after: number, waitMs: number, signal?: AbortSignal, epoch?: string): Promise<{ items: MailItem[]; dropped: number; epoch: string }> {
    const box = this.#box(workerId);
    if (epoch !== undefined && epoch !== this.epoch) after = 0;
    box.items = box.items.filter((i) => i.seq > after);
    if (box.items.length === 0 && waitMs > 0 && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", done);
          box.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, waitMs);
        signal?.addEventListener("abort", done, { once: true });
        box.waiters.add(done);
      });
    }
    return { items: box.items.slice(0, 100), dropped: box.dropped, epoch: this.epoch };
  }

  /** Answers every parked poll (shutdown). */
  close(): void {
    this.#off();
    for (const box of this.#boxes.values()) for (const w of [...box.waiters]) w();
  }
}
