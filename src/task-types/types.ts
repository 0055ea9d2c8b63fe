// What a task type is: a name, a zod schema for its params, and a run(ctx) executed in a worker thread.
import type { Subprocess } from "bun";
import type { z } from "zod";
import type { LogLevel } from "../db/schema.ts";
import type { TextCutter } from "../masking/forms.ts";
import type { SandboxLimits } from "../sandbox/index.ts";

export interface TaskLog {
  debug(message: string, metadata?: Record<string, unknown>): void;
  info(message: string, metadata?: Record<string, unknown>): void;
  warn(message: string, metadata?: Record<string, unknown>): void;
  error(message: string, metadata?: Record<string, unknown>): void;
  write(level: LogLevel, message: string, metadata?: Record<string, unknown>): void;
  /**
   * Resolves when the log can take more: await it between chunks of a chatty command's output, so the
   * command waits on its pipe while the server catches up (instead of the lines piling up in memory).
   */
  ready(): Promise<void>;
}

export interface SpawnOptions {
  cwd?: string;
  env?: Record<string, string>;
  stdin?: string;
  /** Reach the network (in the sandbox; without one a command always can). Default: the server's `--shell-network`. */
  network?: boolean;
  /**
   * The directory the command is confined to: writable, its default cwd (a `cwd` must be inside it).
   * Default: the execution's workspace; a coding agent's commands get its worktree.
   */
  workspace?: string;
  /** Inside the sandbox: extra paths readable (e.g. a worktree's shared .git dir) or writable. */
  readOnlyPaths?: string[];
  writablePaths?: string[];
  /** prlimit caps for this command (CPU time, address space, processes, file size), over the server's. */
  limits?: SandboxLimits;
  /**
   * Refuse to run it unconfined: without a working sandbox the command fails, unless an admin chose
   * `--sandbox none` (a coding agent's commands, which a model chooses).
   */
  requireSandbox?: boolean;
  /**
   * The task type's own command (git for a coding agent's checkout and commit), not one a user or a model
   * chose: run as the task's thread itself would, outside the sandbox — still killed with the task.
   */
  trusted?: boolean;
}

/** A question a task asks (ctx.ask): the controller routes it by policy to the LLM or a human. */
export interface AskInput {
  question: string;
  /** Free text a policy can match: `approval`, `clarification`, … */
  category?: string;
  /** Answers to choose from; the answer is then one of them. */
  options?: string[];
  /** Anything the answerer should see (JSON). */
  context?: unknown;
  /** How long the question may stay open; default: the matching policy's timeout. */
  deadline_seconds?: number;
  /** The task's own name for the question: asked again under it (a retry), the recorded answer comes back. */
  key?: string;
}

/** How a question ended, as the task sees it. */
export interface AskAnswer {
  request_id: string;
  status: "answered" | "timed_out" | "cancelled";
  /** The answer (an option's text when there were options); null when there is none (denied, failed, cancelled). */
  answer: string | null;
  /** The policy, or its deadline, said no. */
  denied: boolean;
  answered_by: { type: "human" | "automated" | "auto_approve" | "timeout"; id: string | null } | null;
}

/** A message sent to the running task (a human steering it in its conversation). */
export interface TaskMessageIn {
  id: string;
  text: string;
  /** Who sent it, for people (a username), if known. */
  sender: string | null;
  senderType: "human" | "worker" | "controller" | "system";
  /** ms since the epoch. */
  at: number;
}

export interface TaskContext<P> {
  taskId: string;
  executionId: string;
  attempt: number;
  params: P;
  /** The execution's own directory under the data dir, created on first use. */
  readonly workspace: string;
  log: TaskLog;
  /**
   * Cuts text that may hold this task's secret values (a tail, a head, a long line) never inside one: the
   * server masks whole occurrences only. Keep `text.margin` characters beyond a cut for it to see them.
   */
  text: TextCutter;
  /** Internal hosts, addresses and CIDRs an admin lets `http` tasks reach (--http-allow); others are refused. */
  httpAllow: readonly string[];
  /** Aborted when the task is cancelled or the server shuts down. */
  signal: AbortSignal;
  /**
   * Starts a subprocess in the sandbox (bubblewrap: its own PID namespace, the data dir hidden, only the
   * workspace writable; without bwrap its own process group) and registers it with the main thread, so a
   * timeout or cancel kills it and everything it started — and so does its own exit.
   */
  spawn(cmd: string[], options?: SpawnOptions): Subprocess<"pipe", "pipe", "pipe">;
  /**
   * Asks the controller and waits for the answer; meanwhile the task is `waiting_input` and the wait does
   * not count against its timeout. Resolves with how it ended; throws a TaskFailure when the question
   * timed out with nothing to go on (the policy's `fail_task`) or could not be asked at all.
   */
  ask(input: AskInput): Promise<AskAnswer>;
  /**
   * Messages sent to this task while it runs, in order, each once: an async iterator that waits for the
   * next (it ends when the task ends). Messages that arrive before anyone reads are kept (the last 1,000).
   */
  messages(): AsyncIterableIterator<TaskMessageIn>;
  /** Calls `handler` for each message as it arrives (those already waiting first); returns the unsubscribe. */
  onMessage(handler: (message: TaskMessageIn) => void): () => void;
  /**
   * Calls a service of the server the task runs for (over HTTP from a remote worker): what the coding
   * agents use for model steps, so keys and budgets stay on the server. Throws a TaskFailure when refused.
   */
  call<T = unknown>(method: string, params: unknown): Promise<T>;
}

/** Throw from run() to fail with a result attached (exit code, captured output). */
export class TaskFailure extends Error {
  constructor(
    message: string,
    readonly details: { result?: unknown; exitCode?: number | null; stdout?: string; stderr?: string; retryable?: boolean; timedOut?: boolean } = {},
  ) {
    super(message);
    this.name = "TaskFailure";
  }
}

export interface TaskOutput {
  result: unknown;
  exitCode?: number | null;
  stdout?: string;
  stderr?: string;
  cpuMs?: number | null;
  maxRssBytes?: number | null;
}

export interface TaskType<S extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  params: S;
  /**
   * `thread` (default): run() executes in a worker thread. `parent`: the task never runs itself; its
   * status follows its child tasks (a plan run), and it cannot be submitted through POST /tasks.
   */
  kind?: "thread" | "parent";
  /**
   * Runs commands of the submitter's choosing on the host, as the server's OS user — which can read the
   * data dir (database, keys). Only roles at or above `--shell-role` (admin by default) may submit it.
   */
  runsOnHost?: boolean;
  /** Works on the task's repository (`repository_url`, and `branch_name` where it names one): a task without one is refused at submission. */
  needs?: { repository_url?: boolean; branch_name?: boolean };
  /** Runs in a worker thread. Return the result (or a TaskOutput via `output()`), throw to fail. */
  run(ctx: TaskContext<z.infer<S>>): Promise<unknown> | unknown;
}

/** The task fields a type `needs` that `task` leaves empty (none: it may be submitted). */
export function missingNeeds(needs: TaskType["needs"], task: { repository_url?: string | null; branch_name?: string | null }): Array<"repository_url" | "branch_name"> {
  return (["repository_url", "branch_name"] as const).filter((field) => needs?.[field] && !task[field]?.trim());
}

export function defineTaskType<S extends z.ZodType>(t: TaskType<S>): TaskType<S> {
  return t;
}

const OUTPUT = Symbol.for("agentvine.task-output");
/** Wraps a result with execution facts (exit code, captured output, resource use). */
export function output(o: TaskOutput): TaskOutput {
  return Object.assign(o, { [OUTPUT]: true });
}
export function isOutput(v: unknown): v is TaskOutput {
  return typeof v === "object" && v !== null && (v as Record<symbol, unknown>)[OUTPUT] === true;
}
