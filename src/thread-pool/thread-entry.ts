// A task thread's entry: receives one job at a time, runs its task type, sends logs and the outcome back.
import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { textCutter } from "../masking/forms.ts";
import { getTaskType } from "../task-types/index.ts";
import { isOutput, TaskFailure, type AskAnswer, type AskInput, type SpawnOptions, type TaskMessageIn, type TaskContext } from "../task-types/types.ts";
import { killTree, killTreeAndWait, ProcessRecordDir, spawnSandboxed } from "../sandbox/index.ts";
import type { AskReply, CallReply, DoneFailed, DoneOk, FromThread, Job, JobSandbox, ToThread } from "./protocol.ts";
import { ThreadLog } from "./thread-log.ts";

declare const self: Worker;

const send = (msg: FromThread) => self.postMessage(msg);

/** Environment a subprocess inherits: enough to find programs, nothing of the server's secrets. */
const BASE_ENV_KEYS = ["PATH", "LANG", "LC_ALL", "TZ", "USER", "SHELL", "TERM"];
/** HOME and TMPDIR point into the sandbox's private /tmp, not at the server's home or temp dir. */
const PRIVATE_ENV = { HOME: "/tmp", TMPDIR: "/tmp" };
const NO_SANDBOX: JobSandbox = { mode: "none", hidePaths: [], hideFiles: [], writablePaths: [], network: true };

let current: { executionId: string; abort: AbortController; log: ThreadLog } | null = null;

/**
 * The current job's inbox: messages sent to it, kept until read (bounded), for the iterators and handlers
 * of ctx.messages() / ctx.onMessage. Closed when the job ends, which ends every iterator.
 */
class Inbox {
  #queue: TaskMessageIn[] = [];
  #waiting: Array<(r: IteratorResult<TaskMessageIn>) => void> = [];
  #handlers = new Set<(m: TaskMessageIn) => void>();
  #closed = false;
  static readonly LIMIT = 1000;

  push(m: TaskMessageIn) {
    if (this.#closed) return;
    for (const h of this.#handlers) {
      try {
        h(m);
      } catch {
        // a task's handler that throws must not stop delivery to the others
      }
    }
    const waiter = this.#waiting.shift();
    if (waiter) waiter({ value: m, done: false });
    else if (this.#handlers.size === 0) {
      this.#queue.push(m);
      if (this.#queue.length > Inbox.LIMIT) this.#queue.shift();
    }
  }

  onMessage(handler: (m: TaskMessageIn) => void): () => void {
    for (const m of this.#queue.splice(0)) handler(m);
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  iterator(): AsyncIterableIterator<TaskMessageIn> {
    const it: AsyncIterableIterator<TaskMessageIn> = {
      next: () => {
        const m = this.#queue.shift();
        if (m) return Promise.resolve({ value: m, done: false });
        if (this.#closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.#waiting.push(resolve));
      },
      return: () => Promise.resolve({ value: undefined, done: true }),
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  close() {
    this.#closed = true;
    this.#handlers.clear();
    for (const w of this.#waiting.splice(0)) w({ value: undefined, done: true });
  }
}

let inbox = new Inbox();

/** The current job's calls waiting for their reply, by callId. */
const calling = new Map<number, (reply: CallReply) => void>();
let nextCallId = 1;

/** The current job's questions waiting for their answer, by askId. */
const asking = new Map<number, (reply: AskReply) => void>();
let nextAskId = 1;

/** Every process this thread started that has not exited: the thread knows them before the pool does. */
const live = new Set<{ pid: number; exited: Promise<number> }>();

/** Kills every tree this thread started; answers once all their processes are dead (a sandbox's pid 1 ends last). */
function killChildren() {
  const procs = [...live];
  void Promise.all(procs.map((p) => killTreeAndWait(p.pid).then(() => p.exited))).then(() => send({ type: "children-gone" }));
}

/** The execution's own directory under the workspace root; refused when the id would put it anywhere else (it is removed recursively after success). */
function workspaceOf(job: Job): string {
  const root = resolve(job.workspaceRoot);
  const dir = resolve(root, job.executionId);
  const rel = relative(root, dir);
  if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new TaskFailure(`refused workspace for execution id '${job.executionId}': it is not a directory inside ${root}`, { retryable: false });
  }
  return dir;
}

async function runJob(job: Job) {
  const abort = new AbortController();
  const threadLog = new ThreadLog(job.executionId, send, job.logLimits);
  current = { executionId: job.executionId, abort, log: threadLog };
  inbox = new Inbox();
  const jobInbox = inbox;
  const { log } = threadLog;
  const flush = () => threadLog.flush();
  // A cancelled task waiting for room in the log must not wait for ever.
  abort.signal.addEventListener("abort", () => threadLog.release(), { once: true });
  let workspace: string | null = null;
  const finish = (msg: DoneOk | DoneFailed) => {
    threadLog.finish();
    asking.clear();
    calling.clear();
    jobInbox.close();
    if (workspace && msg.ok) rmSync(workspace, { recursive: true, force: true });
    current = null;
    send(msg);
  };
  const type = getTaskType(job.taskType);
  if (!type) return finish({ type: "done", executionId: job.executionId, ok: false, error: `unknown task type '${job.taskType}'`, retryable: false });
  const parsed = type.params.safeParse(job.params);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join(".") || "params"}: ${i.message}`).join("; ");
    return finish({ type: "done", executionId: job.executionId, ok: false, error: `invalid params: ${detail}`, retryable: false });
  }
  const ctx: TaskContext<unknown> = {
    taskId: job.taskId,
    executionId: job.executionId,
    attempt: job.attempt,
    params: parsed.data,
    get workspace() {
      if (!workspace) {
        workspace = workspaceOf(job);
        // Its owner's only: what a task writes there (secrets included) is no other local user's business.
        mkdirSync(workspace, { recursive: true, mode: 0o700 });
        chmodSync(workspace, 0o700);
      }
      return workspace;
    },
    log,
    text: textCutter(job.secretValues ?? []),
    httpAllow: job.httpAllow ?? [],
    signal: abort.signal,
    spawn(cmd: string[], options: SpawnOptions = {}) {
      const sandbox = job.sandbox ?? NO_SANDBOX;
      if (options.requireSandbox && !options.trusted && sandbox.mode === "none" && !sandbox.unconfinedChosen) {
        throw new TaskFailure(
          `refused to run a command without a sandbox: ${sandbox.unconfinedReason ?? "none is set up"}. Install bubblewrap (apt install bubblewrap), or have an admin start with --sandbox none to run such commands unconfined`,
          { retryable: false },
        );
      }
      const env: Record<string, string> = {};
      for (const key of BASE_ENV_KEYS) if (process.env[key]) env[key] = process.env[key]!;
      Object.assign(env, PRIVATE_ENV, options.env, {
        AGENTVINE_TASK_ID: job.taskId,
        AGENTVINE_EXECUTION_ID: job.executionId,
        AGENTVINE_WORKSPACE: ctx.workspace,
      });
      // Spawned from this thread: bwrap's --die-with-parent binds the sandbox to it (and so to the process).
      const { proc, record } = spawnSandboxed(
        cmd,
        {
          // A task type's own command (git for an agent's checkout): no sandbox, still recorded and killed with the task.
          mode: options.trusted ? "none" : sandbox.mode,
          tools: sandbox.tools,
          // A trusted command (git) runs where it says; anything else in its workspace (an agent's: its worktree).
          workspace: options.workspace ?? (options.trusted && options.cwd ? options.cwd : ctx.workspace),
          cwd: options.cwd,
          env,
          network: options.network ?? sandbox.network,
          hidePaths: sandbox.hidePaths,
          hideFiles: sandbox.hideFiles,
          readOnlyPaths: options.readOnlyPaths,
          writablePaths: [...sandbox.writablePaths, ...(options.writablePaths ?? [])],
          limits: options.limits ? { ...sandbox.limits, ...options.limits } : sandbox.limits,
        },
        options.stdin,
      );
      live.add(proc);
      // Recorded here, at once: a server killed a moment later still finds it at its next start.
      const records = job.processRecordDir && record ? new ProcessRecordDir(job.processRecordDir) : null;
      try {
        records?.add(record!, job.executionId);
      } catch (err) {
        log.warn(`could not record process ${proc.pid} (a restart after a crash would not find it): ${(err as Error).message}`);
      }
      send({ type: "pid", executionId: job.executionId, pid: proc.pid, exited: false, record });
      const onAbort = () => killTree(proc.pid);
      abort.signal.addEventListener("abort", onAbort, { once: true });
      void proc.exited.then(() => {
        // Without a sandbox, what the command left running in its group ends with it (bwrap does this itself).
        if (sandbox.mode === "none" || options.trusted) killTree(proc.pid);
        try {
          records?.remove(record!);
        } catch {
          // the pool removes it when it hears the process is gone
        }
        live.delete(proc);
        abort.signal.removeEventListener("abort", onAbort);
        send({ type: "pid", executionId: job.executionId, pid: proc.pid, exited: true });
      });
      return proc as any;
    },
    call<T>(method: string, params: unknown): Promise<T> {
      const callId = nextCallId++;
      return new Promise<T>((resolve, reject) => {
        const onAbort = () => {
          calling.delete(callId);
          reject(new TaskFailure("cancelled while waiting for the server", { retryable: false }));
        };
        abort.signal.addEventListener("abort", onAbort, { once: true });
        calling.set(callId, (reply) => {
          abort.signal.removeEventListener("abort", onAbort);
          if (reply.ok) resolve(reply.value as T);
          else reject(new TaskFailure(reply.error, { retryable: reply.retryable ?? false }));
        });
        send({ type: "call", executionId: job.executionId, callId, method, params });
      });
    },
    messages: () => jobInbox.iterator(),
    onMessage: (handler) => jobInbox.onMessage(handler),
    ask(input: AskInput): Promise<AskAnswer> {
      flush(); // the lines before the question are in the log before it is
      const askId = nextAskId++;
      return new Promise<AskAnswer>((resolve, reject) => {
        const onAbort = () => {
          asking.delete(askId);
          reject(new TaskFailure("cancelled while waiting for an answer", { retryable: false }));
        };
        abort.signal.addEventListener("abort", onAbort, { once: true });
        asking.set(askId, (reply) => {
          abort.signal.removeEventListener("abort", onAbort);
          if (!reply.ok) return reject(new TaskFailure(`could not ask: ${reply.error}`, { retryable: false }));
          const a = reply.answer;
          // Nothing to go on: the question's deadline passed and its policy says the task fails.
          if (a.status === "timed_out" && a.answer === null && !a.denied) {
            return reject(new TaskFailure(`the question "${input.question.slice(0, 200)}" was not answered before its deadline`, { retryable: false }));
          }
          resolve(a);
        });
        send({ type: "ask", executionId: job.executionId, askId, input });
      });
    },
  };
  try {
    const value = await type.run(ctx);
    if (isOutput(value)) {
      const { result, exitCode, stdout, stderr, cpuMs, maxRssBytes } = value;
      finish({ type: "done", executionId: job.executionId, ok: true, result, exitCode, stdout, stderr, cpuMs, maxRssBytes });
    } else finish({ type: "done", executionId: job.executionId, ok: true, result: value ?? null });
  } catch (err) {
    if (err instanceof TaskFailure) {
      const d = err.details;
      finish({
        type: "done",
        executionId: job.executionId,
        ok: false,
        error: err.message,
        result: d.result,
        exitCode: d.exitCode,
        stdout: d.stdout,
        stderr: d.stderr,
        retryable: d.retryable,
        timedOut: d.timedOut,
      });
    } else {
      const e = err as Error;
      log.error(e?.stack ?? String(err));
      finish({ type: "done", executionId: job.executionId, ok: false, error: e?.message ?? String(err) });
    }
  }
}

self.onmessage = (event: MessageEvent<ToThread>) => {
  const msg = event.data;
  if (msg.type === "run") void runJob(msg.job);
  else if (msg.type === "cancel" && current?.executionId === msg.executionId) current.abort.abort(new Error("cancelled"));
  else if (msg.type === "kill-children") killChildren();
  else if (msg.type === "message" && current?.executionId === msg.executionId) inbox.push(msg.message);
  else if (msg.type === "reply" && current?.executionId === msg.executionId) {
    const settle = calling.get(msg.callId);
    calling.delete(msg.callId);
    settle?.(msg.reply);
  }
  else if (msg.type === "log-ack" && current?.executionId === msg.executionId) current.log.acked(msg.batch);
  else if (msg.type === "answer" && current?.executionId === msg.executionId) {
    const settle = asking.get(msg.askId);
    asking.delete(msg.askId);
    settle?.(msg.reply);
  }
};

// Tells the pool this thread loaded (its imports resolved) and can take work.
send({ type: "ready" });
