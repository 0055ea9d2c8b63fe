// Runs claimed work on the remote worker with the same ThreadPool, thread entry and task types as the
// server, so logs and outcomes are the same wherever a task runs. Claimed items wait here for a ready
// thread (threads may still be loading when the first claim arrives).
import type { AskReply, CallReply, JobSandbox, LogTuple } from "../thread-pool/protocol.ts";
import type { ProcessRecord } from "../sandbox/index.ts";
import type { AskInput, TaskMessageIn } from "../task-types/types.ts";
import { ThreadPool, type ThreadOutcome } from "../thread-pool/thread-pool.ts";
import type { ClaimItem } from "./api-client.ts";

export type TaskOutcome = ThreadOutcome;

export interface RunnerEvents {
  /** A promise holds the task's next lines back until it settles (backpressure). */
  onLog(item: ClaimItem, lines: LogTuple[]): void | Promise<void>;
  /** Called once per started item, unless it was stopped with `stop()` (its lease is gone: nobody wants the outcome). */
  onDone(item: ClaimItem, outcome: TaskOutcome): void;
  /** The task asks a question: answer it with `answer(executionId, askId, reply)`. */
  onAsk?(item: ClaimItem, askId: number, input: AskInput): void;
  /** The task calls a server service (ctx.call): reply with `reply(executionId, callId, …)`. */
  onCall?(item: ClaimItem, callId: number, method: string, params: unknown): void;
  /** A command started (record it: a restart kills what survived) or is gone. */
  onProcess?(item: ClaimItem, pid: number, record: ProcessRecord | null, gone: boolean): void;
}

export interface RunnerOptions extends RunnerEvents {
  size: number;
  /** Executions' workspaces are created under it. */
  workspaceRoot: string;
  /** How task commands run (the worker decides at start); absent: no sandbox. */
  sandbox?: JobSandbox;
  /** Internal destinations http tasks may reach from this worker (--http-allow). */
  httpAllow?: string[];
  /** Where task threads record the processes they start (<state-dir>/processes). */
  processRecordDir?: string;
  threadUrl?: URL;
}

export class TaskRunner {
  #pool: ThreadPool<ClaimItem>;
  /** Claimed, waiting for a thread. */
  #queue: ClaimItem[] = [];
  #idleWaiters: Array<() => void> = [];

  constructor(private readonly opts: RunnerOptions) {
    this.#pool = new ThreadPool<ClaimItem>({
      size: opts.size,
      threadUrl: opts.threadUrl,
      log: (item, lines) => opts.onLog(item, lines),
      done: (item, outcome) => {
        opts.onDone(item, outcome);
        this.#notifyIfIdle();
      },
      available: () => this.#dispatch(),
      ask: opts.onAsk ? (item, askId, input) => opts.onAsk!(item, askId, input) : undefined,
      call: opts.onCall ? (item, callId, method, params) => opts.onCall!(item, callId, method, params) : undefined,
      process: opts.onProcess ? (item, pid, record, gone) => opts.onProcess!(item, pid, record, gone) : undefined,
    });
  }

  /** The reply to a task's call (false when the task is gone). */
  reply(executionId: string, callId: number, reply: CallReply): boolean {
    return this.#pool.reply(executionId, callId, reply);
  }

  /** Hands a message to a running task (false when it is not running here). */
  deliver(executionId: string, message: TaskMessageIn): boolean {
    return this.#pool.deliver(executionId, message);
  }

  /** The answer to a task's question (false when the task is gone). */
  answer(executionId: string, askId: number, reply: AskReply): boolean {
    return this.#pool.answer(executionId, askId, reply);
  }

  start(): void {
    this.#pool.start();
  }

  /** Slots that can take a claim now (claimed items waiting for a thread to load count as taken). */
  get free(): number {
    return Math.max(0, this.opts.size - this.#pool.busyCount - this.#queue.length);
  }

  running(): Array<{ item: ClaimItem; startedAt: number }> {
    return this.#pool.running();
  }

  /** Every held item: running, claimed and waiting for a thread, or timed out and not yet reported. */
  held(): ClaimItem[] {
    return [...this.#pool.held(), ...this.#queue];
  }

  run(item: ClaimItem): void {
    this.#queue.push(item);
    this.#dispatch();
  }

  #dispatch() {
    while (this.#queue.length > 0) {
      const item = this.#queue[0]!;
      const job = {
        taskId: item.task_id,
        executionId: item.execution_id,
        attempt: item.attempt,
        taskType: item.task_type,
        params: item.params,
        secretValues: Array.isArray(item.secret_values) ? item.secret_values.filter((v) => typeof v === "string") : [],
        workspaceRoot: this.opts.workspaceRoot,
        sandbox: this.opts.sandbox,
        httpAllow: this.opts.httpAllow,
        processRecordDir: this.opts.processRecordDir,
      };
      if (!this.#pool.run(item, job, item.timeout_seconds)) return;
      this.#queue.shift();
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
      this.#notifyIfIdle();
      return true;
    }
    const stopped = this.#pool.stop(executionId);
    if (stopped) this.#notifyIfIdle();
    return stopped;
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
    // Timed-out items still finishing are not cut off: their outcome is reported once their thread is gone.
    const waiting = this.#queue.splice(0);
    const cut = await this.#pool.shutdown();
    return [...cut, ...waiting];
  }
}
