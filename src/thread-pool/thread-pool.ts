// Slots of Bun Worker threads that each run one task at a time — the one implementation the server's
// local runner and the remote worker both use. It starts threads, hands a job to a ready one, enforces
// the job's timeout, cancels, backs off when threads cannot start, replaces crashed threads, and never
// lets a task's processes outlive the thread (see thread-lifecycle.ts). What to run next, and what to do
// with an outcome, is the caller's policy: it hears `available`, `log` and `done`.
import { logger } from "../log.ts";
import { threadEntryUrl } from "./entry-url.ts";
import type { AskInput, TaskMessageIn } from "../task-types/types.ts";
import type { ProcessRecord } from "../sandbox/index.ts";
import type { AskReply, CallReply, FromThread, Job, LogTuple, ToThread } from "./protocol.ts";
import { killProcessGroups, retireThread, startTaskThread } from "./thread-lifecycle.ts";

const log = logger("threads");

/** How a started job ended, as its thread (or the pool, for a timeout, crash or forced cancel) tells it. */
export type ThreadOutcome =
  | { ok: true; result: unknown; exitCode?: number | null; stdout?: string; stderr?: string; cpuMs?: number | null; maxRssBytes?: number | null; durationMs: number }
  | { ok: false; error: string; result?: unknown; exitCode?: number | null; stdout?: string; stderr?: string; retryable?: boolean; timedOut?: boolean; durationMs: number };

export interface ThreadPoolEvents<T> {
  /**
   * Log lines of a running job (the pool's own lines too: a timeout, a crash). A promise holds the job's
   * next lines back until it settles (stored, or queued for delivery): backpressure from the logger to the task.
   */
  log(item: T, lines: LogTuple[]): void | Promise<void>;
  /** Exactly once per started job, unless it was `stop()`ped or cut off by `shutdown()`. The slot is free again. */
  done(item: T, outcome: ThreadOutcome): void;
  /** A slot became idle and ready (a thread loaded, or a job ended): the caller may `run` something. */
  available(): void;
  /**
   * The job asks a question (ctx.ask): the owner routes it and calls `answer` with the same askId. While
   * any question of a job is unanswered its timeout is paused (the question's deadline governs the wait).
   */
  ask?(item: T, askId: number, input: AskInput): void;
  /** The job calls a server service (ctx.call): the owner answers with `reply(executionId, callId, …)`. */
  call?(item: T, callId: number, method: string, params: unknown): void;
  /**
   * A job's command started (`record`: what to persist, so a restart can kill whatever of it survived) or
   * is gone (it exited, or its thread was retired with it). The owner keeps records between the two.
   */
  process?(item: T, pid: number, record: ProcessRecord | null, gone: boolean): void;
}

export interface ThreadPoolOptions<T> extends ThreadPoolEvents<T> {
  size: number;
  threadUrl?: URL;
  /** How long a cancelled job may take to stop by itself before its thread is terminated (default 5 s). */
  cancelGraceMs?: number;
}

interface Slot<T> {
  index: number;
  thread: Worker;
  /** The thread loaded and said so; only ready threads get work. */
  ready: boolean;
  item: T | null;
  executionId: string | null;
  startedAt: number;
  startedAtMs: number;
  pids: Set<number>;
  /** Every process started on this thread and not known to be gone, with the job it ran for (reported gone on retire). */
  processes: Map<number, T>;
  timeout: ReturnType<typeof setTimeout> | null;
  cancelTimer: ReturnType<typeof setTimeout> | null;
  timeoutSeconds: number;
  /** Timeout time left when it was paused for questions; null while it runs. */
  remainingMs: number | null;
  timeoutStartedAt: number;
  timeoutLeftMs: number;
  /** Questions asked and not answered yet. */
  asks: Set<number>;
}

export class ThreadPool<T> {
  #slots: Array<Slot<T>> = [];
  #stopping = false;
  /** Threads that died before they were ready, in a row: a broken build or entry path, not a task's fault. */
  #startFailures = 0;
  #retiring = new Set<Promise<void>>();
  /** Jobs that timed out: their slot is free, but they are still held until their thread is gone and `done` fired. */
  #finishing = new Set<T>();
  #idleWaiters: Array<() => void> = [];
  readonly #threadUrl: URL;

  constructor(private readonly opts: ThreadPoolOptions<T>) {
    this.#threadUrl = opts.threadUrl ?? threadEntryUrl();
  }

  start(): void {
    for (let i = 0; i < this.opts.size; i++) this.#slots.push(this.#spawn(i));
  }

  get size(): number {
    return this.opts.size;
  }

  get busyCount(): number {
    return this.#slots.filter((s) => s.item !== null).length;
  }

  get readyCount(): number {
    return this.#slots.filter((s) => s.ready).length;
  }

  /** Slots that can take a job right now. */
  get idleCount(): number {
    return this.#slots.filter((s) => s.ready && s.item === null).length;
  }

  /** Running jobs, with when each started (epoch ms). */
  running(): Array<{ item: T; startedAt: number }> {
    return this.#slots.flatMap((s) => (s.item !== null ? [{ item: s.item, startedAt: s.startedAtMs }] : []));
  }

  /** Every job not yet reported: running, or timed out and waiting for its thread to be retired. */
  held(): T[] {
    return [...this.running().map((r) => r.item), ...this.#finishing];
  }

  /** Starts `job` on an idle ready thread; false when none is idle (call again on `available`). */
  run(item: T, job: Job, timeoutSeconds: number): boolean {
    if (this.#stopping) return false;
    const slot = this.#slots.find((s) => s.ready && s.item === null);
    if (!slot) return false;
    slot.item = item;
    slot.executionId = job.executionId;
    slot.startedAt = performance.now();
    slot.startedAtMs = Date.now();
    slot.pids.clear();
    slot.asks.clear();
    slot.timeoutSeconds = timeoutSeconds;
    slot.remainingMs = null;
    this.#armTimeout(slot, item, timeoutSeconds * 1000);
    slot.thread.postMessage({ type: "run", job } satisfies ToThread);
    return true;
  }

  #armTimeout(slot: Slot<T>, item: T, ms: number) {
    slot.timeoutStartedAt = performance.now();
    slot.timeoutLeftMs = ms;
    slot.timeout = setTimeout(() => this.#onTimeout(slot, item, slot.timeoutSeconds), ms);
  }

  /**
   * Answers the job's question `askId` (the reply the owner got from the controller). The job's timeout
   * resumes, with the time it had left, once no question of it is open. False when the job is gone.
   */
  answer(executionId: string, askId: number, reply: AskReply): boolean {
    const slot = this.#slotOf(executionId);
    if (!slot || !slot.asks.delete(askId)) return false;
    slot.thread.postMessage({ type: "answer", executionId, askId, reply } satisfies ToThread);
    if (slot.asks.size === 0 && slot.remainingMs !== null && slot.item !== null) {
      const left = slot.remainingMs;
      slot.remainingMs = null;
      this.#armTimeout(slot, slot.item, left);
    }
    return true;
  }

  /** The reply to a job's call (false when the job is gone). */
  reply(executionId: string, callId: number, reply: CallReply): boolean {
    const slot = this.#slotOf(executionId);
    if (!slot) return false;
    slot.thread.postMessage({ type: "reply", executionId, callId, reply } satisfies ToThread);
    return true;
  }

  /** Hands a message to a running job (ctx.messages / ctx.onMessage); false when it is not running here. */
  deliver(executionId: string, message: TaskMessageIn): boolean {
    const slot = this.#slotOf(executionId);
    if (!slot) return false;
    slot.thread.postMessage({ type: "message", executionId, message } satisfies ToThread);
    return true;
  }

  /** Jobs with a question out: which execution, and since when its timeout is paused. */
  waiting(): Array<{ item: T; asks: number }> {
    return this.#slots.flatMap((s) => (s.item !== null && s.asks.size > 0 ? [{ item: s.item, asks: s.asks.size }] : []));
  }

  /**
   * Asks the job to stop and kills its processes; if it has not finished `cancelGraceMs` later, its
   * thread is replaced and it ends as failed ("cancelled"). Returns whether the job was running here.
   */
  cancel(executionId: string): boolean {
    const slot = this.#slotOf(executionId);
    if (!slot) return false;
    const item = slot.item!;
    slot.thread.postMessage({ type: "cancel", executionId } satisfies ToThread);
    killProcessGroups(slot.pids);
    slot.cancelTimer = setTimeout(() => {
      if (slot.item !== item) return;
      const durationMs = this.#elapsed(slot);
      this.#release(slot);
      void this.#replace(slot);
      this.#finish(item, { ok: false, error: "cancelled", durationMs });
    }, this.opts.cancelGraceMs ?? 5000);
    return true;
  }

  /** Kills a job nobody wants the outcome of any more (its lease is gone) and replaces its thread; reports nothing. */
  stop(executionId: string): boolean {
    const slot = this.#slotOf(executionId);
    if (!slot) return false;
    this.#release(slot);
    void this.#replace(slot);
    this.#notifyIfIdle();
    return true;
  }

  /** Resolves true once nothing is held, or false after `ms`. */
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

  /** Resolves once every thread being retired is gone (and the timed-out jobs among them reported). */
  async settled(): Promise<void> {
    while (this.#retiring.size > 0) await Promise.all(this.#retiring);
  }

  /** Takes no more work, kills whatever still runs (reporting nothing for it) and terminates every thread. Returns the jobs cut off. */
  async shutdown(): Promise<T[]> {
    this.#stopping = true;
    const cut = this.running().map((r) => r.item);
    const retired = this.#slots.map((slot) => {
      this.#release(slot);
      return this.#retire(slot);
    });
    await Promise.all([...retired, ...this.#retiring]);
    this.#slots = [];
    return cut;
  }

  #slotOf(executionId: string): Slot<T> | undefined {
    return this.#slots.find((s) => s.item !== null && s.executionId === executionId);
  }

  #elapsed(slot: Slot<T>): number {
    return Math.round(performance.now() - slot.startedAt);
  }

  #spawn(index: number): Slot<T> {
    const slot = {
      index,
      ready: false,
      item: null,
      executionId: null,
      startedAt: 0,
      startedAtMs: 0,
      pids: new Set(),
      processes: new Map(),
      timeout: null,
      cancelTimer: null,
      timeoutSeconds: 0,
      remainingMs: null,
      timeoutStartedAt: 0,
      timeoutLeftMs: 0,
      asks: new Set(),
    } as Omit<Slot<T>, "thread"> as Slot<T>;
    slot.thread = startTaskThread(this.#threadUrl, {
      message: (msg) => this.#onMessage(slot, msg),
      crash: (reason) => this.#onCrash(slot, reason),
      stillWanted: () => this.#slots[slot.index] === slot && !this.#stopping,
    });
    return slot;
  }

  #onMessage(slot: Slot<T>, msg: FromThread) {
    if (msg.type === "ready") {
      slot.ready = true;
      this.#startFailures = 0;
      this.opts.available();
      return;
    }
    if (msg.type === "children-gone") return; // answered to retireThread's own listener
    if (msg.type === "pid" && msg.exited) {
      // Whenever it comes (its job may have finished first), a process that exited is gone for good.
      slot.pids.delete(msg.pid);
      const owner = slot.processes.get(msg.pid);
      slot.processes.delete(msg.pid);
      if (owner !== undefined) this.opts.process?.(owner, msg.pid, null, true);
      return;
    }
    const item = slot.item;
    if (item === null || msg.executionId !== slot.executionId) return;
    switch (msg.type) {
      case "log": {
        const taken = this.opts.log(item, msg.lines);
        if (msg.batch === undefined) return;
        const ack = () => slot.thread.postMessage({ type: "log-ack", executionId: msg.executionId, batch: msg.batch! } satisfies ToThread);
        if (taken) void taken.then(ack, ack);
        else ack();
        return;
      }
      case "pid":
        slot.pids.add(msg.pid);
        slot.processes.set(msg.pid, item);
        this.opts.process?.(item, msg.pid, msg.record ?? null, false);
        return;
      case "call":
        if (!this.opts.call) {
          slot.thread.postMessage({ type: "reply", executionId: msg.executionId, callId: msg.callId, reply: { ok: false, error: `this runner offers no '${msg.method}'` } } satisfies ToThread);
          return;
        }
        this.opts.call(item, msg.callId, msg.method, msg.params);
        return;
      case "ask": {
        if (!this.opts.ask) {
          slot.thread.postMessage({ type: "answer", executionId: msg.executionId, askId: msg.askId, reply: { ok: false, error: "this runner cannot ask questions" } } satisfies ToThread);
          return;
        }
        // Waiting for an answer does not count against the task's timeout: pause it while any question is open.
        if (slot.asks.size === 0 && slot.timeout) {
          clearTimeout(slot.timeout);
          slot.timeout = null;
          slot.remainingMs = Math.max(0, slot.timeoutLeftMs - (performance.now() - slot.timeoutStartedAt));
        }
        slot.asks.add(msg.askId);
        this.opts.ask(item, msg.askId, msg.input);
        return;
      }
      case "done": {
        const { type: _type, executionId: _id, ...rest } = msg;
        const durationMs = this.#elapsed(slot);
        this.#release(slot);
        this.#finish(item, { ...rest, durationMs } as ThreadOutcome);
        if (slot.item === null && !this.#stopping) this.opts.available();
        return;
      }
    }
  }

  #finish(item: T, outcome: ThreadOutcome) {
    this.opts.done(item, outcome);
    this.#notifyIfIdle();
  }

  #release(slot: Slot<T>) {
    if (slot.timeout) clearTimeout(slot.timeout);
    if (slot.cancelTimer) clearTimeout(slot.cancelTimer);
    slot.timeout = slot.cancelTimer = null;
    slot.item = null;
    slot.executionId = null;
    slot.asks.clear();
    slot.remainingMs = null;
  }

  #onTimeout(slot: Slot<T>, item: T, timeoutSeconds: number) {
    if (slot.item !== item) return;
    this.opts.log(item, [["error", `timed out after ${timeoutSeconds}s; killed`, null, Date.now()]]);
    const durationMs = this.#elapsed(slot);
    this.#release(slot);
    // Reported once its processes are gone: a task reported timed out is no longer running anything.
    // Until then it is still held, so a remote worker's heartbeat keeps its lease.
    this.#finishing.add(item);
    void this.#replace(slot).then(() => {
      this.#finishing.delete(item);
      this.#finish(item, { ok: false, error: `timed out after ${timeoutSeconds}s`, timedOut: true, durationMs });
    });
  }

  #onCrash(slot: Slot<T>, error: string) {
    if (this.#slots[slot.index] !== slot) return; // already replaced
    if (!slot.ready) {
      // It never loaded: respawning at once would spin. Back off, and say why loudly.
      const delay = Math.min(30_000, 100 * 2 ** this.#startFailures++);
      log.error(`task thread ${slot.index} failed to start (${error}); retrying in ${delay} ms`);
      slot.thread.terminate();
      setTimeout(() => {
        if (!this.#stopping && this.#slots[slot.index] === slot) this.#slots[slot.index] = this.#spawn(slot.index);
      }, delay);
      return;
    }
    const item = slot.item;
    const durationMs = this.#elapsed(slot);
    this.#release(slot);
    void this.#replace(slot);
    if (item !== null) {
      this.opts.log(item, [["error", error, null, Date.now()]]);
      this.#finish(item, { ok: false, error, durationMs });
    }
  }

  /** Kills a slot's processes and puts a fresh thread in its place; resolves once the old thread is terminated. */
  #replace(slot: Slot<T>): Promise<void> {
    const retired = this.#retire(slot);
    if (!this.#stopping) this.#slots[slot.index] = this.#spawn(slot.index);
    return retired;
  }

  /** Kills a slot's processes and terminates its thread (see retireThread); tracked until it is gone. */
  #retire(slot: Slot<T>): Promise<void> {
    const processes = new Map(slot.processes);
    slot.processes.clear();
    const retired = retireThread(slot.thread, slot.pids).then(() => {
      // Killed with their thread (and, sandboxed, by --die-with-parent when it ended): no longer running.
      for (const [pid, item] of processes) this.opts.process?.(item, pid, null, true);
    });
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
}
