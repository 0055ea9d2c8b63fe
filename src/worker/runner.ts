// Runs claimed work on the remote worker: one Bun Worker thread per slot, each running one task at a
// time with the server's own thread entry (src/runtime/thread.ts) and message protocol, so task types,
// logs and outcomes are the same as on the server. Mirrors WorkerPool's thread handling: timeouts
// terminate the thread after killing the task's process groups, crashed threads are replaced.
import { threadEntryUrl } from "../runtime/pool.ts";
import type { FromThread, LogTuple, ToThread } from "../runtime/protocol.ts";
import { retireThread, startTaskThread } from "../runtime/threads.ts";
import { logger } from "../log.ts";
import type { ClaimItem } from "./client.ts";

const log = logger("worker");


export type TaskOutcome =
  | { ok: true; result: unknown; exitCode?: number | null; stdout?: string; stderr?: string; cpuMs?: number | null; maxRssBytes?: number | null; durationMs: number }
  | { ok: false; error: string; result?: unknown; exitCode?: number | null; stdout?: string; stderr?: string; retryable?: boolean; timedOut?: boolean; durationMs: number };

export interface RunnerEvents {
  onLog(item: ClaimItem, lines: LogTuple[]): void;
  /** Called once per started item, unless it was stopped with `stop()` (its lease is gone: nobody wants the outcome). */
  onDone(item: ClaimItem, outcome: TaskOutcome): void;
}

interface Slot {
  index: number;
  thread: Worker;
  ready: boolean;
  item: ClaimItem | null;
  startedAt: number;
  startedAtMs: number;
  pids: Set<number>;
  timeout: ReturnType<typeof setTimeout> | null;
}

export interface RunnerOptions extends RunnerEvents {
  size: number;
  /** Executions' workspaces are created under it. */
  workspaceRoot: string;
  threadUrl?: URL;
}

export class TaskRunner {
  #slots: Slot[] = [];
  #queue: ClaimItem[] = [];
  #startFailures = 0;
  #stopping = false;
  #retiring = new Set<Promise<void>>();
  /** Timed-out items whose slot is free again but whose outcome waits for their thread to be retired: still held (the lease is ours until onDone). */
  #finishing = new Set<ClaimItem>();
  #idleWaiters: Array<() => void> = [];
  readonly #threadUrl: URL;

  constructor(private readonly opts: RunnerOptions) {
    this.#threadUrl = opts.threadUrl ?? threadEntryUrl();
  }

  start(): void {
    for (let i = 0; i < this.opts.size; i++) this.#slots.push(this.#spawn(i));
  }

  /** Slots that can take a claim now (claimed items waiting for a thread to load count as taken). */
  get free(): number {
    return Math.max(0, this.opts.size - this.running().length - this.#queue.length);
  }

  running(): Array<{ item: ClaimItem; startedAt: number }> {
    return this.#slots.flatMap((s) => (s.item ? [{ item: s.item, startedAt: s.startedAtMs }] : []));
  }

  /** Every held item: running, claimed and waiting for a thread, or timed out and not yet reported. */
  held(): ClaimItem[] {
    return [...this.running().map((r) => r.item), ...this.#queue, ...this.#finishing];
  }

  run(item: ClaimItem): void {
    this.#queue.push(item);
    this.#dispatch();
  }

  #dispatch() {
    for (const slot of this.#slots) {
      if (!slot.ready || slot.item) continue;
      const item = this.#queue.shift();
      if (!item) return;
      this.#start(slot, item);
    }
  }

  #start(slot: Slot, item: ClaimItem) {
    slot.item = item;
    slot.startedAt = performance.now();
    slot.startedAtMs = Date.now();
    slot.pids.clear();
    slot.timeout = setTimeout(() => this.#onTimeout(slot, item), item.timeout_seconds * 1000);
    const msg: ToThread = {
      type: "run",
      job: {
        taskId: item.task_id,
        executionId: item.execution_id,
        attempt: item.attempt,
        taskType: item.task_type,
        params: item.params,
        workspaceRoot: this.opts.workspaceRoot,
      },
    };
    slot.thread.postMessage(msg);
  }

  #spawn(index: number): Slot {
    const slot = { index, ready: false, item: null, startedAt: 0, startedAtMs: 0, pids: new Set(), timeout: null } as Omit<Slot, "thread"> as Slot;
    slot.thread = startTaskThread(this.#threadUrl, {
      message: (msg) => this.#onMessage(slot, msg),
      crash: (reason) => this.#onCrash(slot, reason),
      stillWanted: () => this.#slots[slot.index] === slot && !this.#stopping,
    });
    return slot;
  }

  #onMessage(slot: Slot, msg: FromThread) {
    if (msg.type === "ready") {
      slot.ready = true;
      this.#startFailures = 0;
      this.#dispatch();
      return;
    }
    if (msg.type === "children-gone") return;
    const item = slot.item;
    if (!item || msg.executionId !== item.execution_id) return;
    switch (msg.type) {
      case "log":
        this.opts.onLog(item, msg.lines);
        return;
      case "pid":
        if (msg.exited) slot.pids.delete(msg.pid);
        else slot.pids.add(msg.pid);
        return;
      case "done": {
        const durationMs = Math.round(performance.now() - slot.startedAt);
        const { type: _t, executionId: _e, ...rest } = msg;
        this.#release(slot);
        this.opts.onDone(item, { ...rest, durationMs } as TaskOutcome);
        this.#dispatch();
        this.#notifyIfIdle();
        return;
      }
    }
  }

  #release(slot: Slot) {
    if (slot.timeout) clearTimeout(slot.timeout);
    slot.timeout = null;
    slot.item = null;
  }

  #onTimeout(slot: Slot, item: ClaimItem) {
    if (slot.item !== item) return;
    const message = `timed out after ${item.timeout_seconds}s; killed`;
    this.opts.onLog(item, [["error", message, null, Date.now()]]);
    const durationMs = Math.round(performance.now() - slot.startedAt);
    this.#release(slot);
    // Reported once its processes are gone: a task reported timed out is no longer running anything.
    // Until then it is still held (heartbeats list it), else the server would take it for unknown and requeue it.
    this.#finishing.add(item);
    void this.#replace(slot).then(() => {
      this.#finishing.delete(item);
      this.opts.onDone(item, { ok: false, error: `timed out after ${item.timeout_seconds}s`, timedOut: true, durationMs });
      this.#notifyIfIdle();
    });
  }

  #onCrash(slot: Slot, error: string) {
    if (this.#slots[slot.index] !== slot) return;
    if (!slot.ready) {
      const delay = Math.min(30_000, 100 * 2 ** this.#startFailures++);
      log.error(`task thread ${slot.index} failed to start (${error}); retrying in ${delay} ms`);
      slot.thread.terminate();
      setTimeout(() => {
        if (!this.#stopping && this.#slots[slot.index] === slot) this.#slots[slot.index] = this.#spawn(slot.index);
      }, delay);
      return;
    }
    const item = slot.item;
    const durationMs = Math.round(performance.now() - slot.startedAt);
    this.#release(slot);
    void this.#replace(slot);
    if (item) {
      this.opts.onLog(item, [["error", error, null, Date.now()]]);
      this.opts.onDone(item, { ok: false, error, durationMs });
      this.#notifyIfIdle();
    }
  }

  /**
   * Stops a task whose lease the server says is gone: kills its processes and thread, reports nothing.
   * Returns whether it was held here.
   */
  stop(executionId: string): boolean {
    const queued = this.#queue.findIndex((i) => i.execution_id === executionId);
    if (queued >= 0) {
      this.#queue.splice(queued, 1);
      return true;
    }
    const slot = this.#slots.find((s) => s.item?.execution_id === executionId);
    if (!slot) return false;
    this.#release(slot);
    void this.#replace(slot);
    this.#notifyIfIdle();
    return true;
  }

  #replace(slot: Slot): Promise<void> {
    const retired = this.#retire(slot);
    if (!this.#stopping) this.#slots[slot.index] = this.#spawn(slot.index);
    return retired;
  }

  /** Kills a slot's processes and terminates its thread (see retireThread); tracked until it is gone. */
  #retire(slot: Slot): Promise<void> {
    const retired = retireThread(slot.thread, slot.pids);
    this.#retiring.add(retired);
    void retired.then(() => this.#retiring.delete(retired));
    return retired;
  }

  #notifyIfIdle() {
    if (this.held().length > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Resolves once nothing is running (true) or after `ms` (false). */
  waitIdle(ms: number): Promise<boolean> {
    if (this.held().length === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.#idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Kills whatever still runs (reporting nothing for it) and terminates every thread. Returns the items that were cut off. */
  async shutdown(): Promise<ClaimItem[]> {
    this.#stopping = true;
    // Timed-out items still finishing are not cut off: their outcome is reported once their thread is gone.
    const cut = [...this.running().map((r) => r.item), ...this.#queue];
    this.#queue = [];
    await Promise.all([...this.#slots.map((slot) => (this.#release(slot), this.#retire(slot))), ...this.#retiring]);
    this.#slots = [];
    return cut;
  }
}

