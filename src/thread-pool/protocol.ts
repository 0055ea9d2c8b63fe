// The typed messages between the main thread (which owns the database) and a task thread.
import type { LogLevel } from "../db/schema.ts";
import type { ProcessRecord, SandboxLimits, SandboxMode } from "../sandbox/index.ts";
import type { AskAnswer, AskInput, TaskMessageIn } from "../task-types/types.ts";

export interface Job {
  taskId: string;
  executionId: string;
  attempt: number;
  taskType: string;
  params: Record<string, unknown>;
  /** The secret values resolved into `params`: text the task keeps only part of is never cut inside one (masking matches whole values). */
  secretValues?: string[];
  /** Directory under which the thread creates this execution's workspace. */
  workspaceRoot: string;
  /** How the task's commands run (absent: no sandbox, nothing hidden — tests that build jobs by hand). */
  sandbox?: JobSandbox;
  /** The execution's log cap: beyond it lines are counted and dropped (default LOG_LIMITS). */
  logLimits?: LogLimits;
  /** Internal hosts, addresses and CIDRs `http` tasks may reach (--http-allow); default none. */
  httpAllow?: string[];
  /** Where the thread records each process it starts, until it exits (ProcessRecordDir): what a restart kills. */
  processRecordDir?: string;
}

/** A per-execution log cap, in lines and in bytes (UTF-8 of the messages). */
export interface LogLimits {
  maxLines: number;
  maxBytes: number;
}

/** The default cap of one execution's log: far more than anyone reads, far less than fills a disk. */
export const LOG_LIMITS: LogLimits = { maxLines: 200_000, maxBytes: 64 * 1024 * 1024 };

/** Log batches a thread may have on their way before its task waits (backpressure from the logger to the task). */
export const LOG_WINDOW = 8;

/** The sandbox every command of a job runs in (src/sandbox): decided once at server or worker start. */
export interface JobSandbox {
  mode: SandboxMode;
  /** The helpers the start-up probe found (bwrap, prlimit). */
  tools?: { bwrap?: string; prlimit?: string };
  /** Directories the commands must not see: the data dir (the worker's state dir), extra ones configured. */
  hidePaths: string[];
  /** Files the commands must not read: a TLS key kept outside the data dir. */
  hideFiles: string[];
  /** Extra directories the commands may write (the workspace always is). */
  writablePaths: string[];
  limits?: SandboxLimits;
  /** Network for commands that do not say (`--shell-network`); off, they see only their own loopback. */
  network: boolean;
  /** An admin chose `--sandbox none`: commands that require a sandbox may run without one (else they fail). */
  unconfinedChosen?: boolean;
  /** Why there is no sandbox, when there is none (the start-up warning's reason). */
  unconfinedReason?: string;
}

/** A call's outcome: its value, or an error to throw in the thread (`retryable`: the attempt may be retried). */
export type CallReply = { ok: true; value: unknown } | { ok: false; error: string; retryable?: boolean };

/** How an ask ended for the thread: the answer, or why it could not be asked at all. */
export type AskReply = { ok: true; answer: AskAnswer } | { ok: false; error: string };

export type ToThread =
  | { type: "run"; job: Job }
  | { type: "cancel"; executionId: string }
  /** The answer to the thread's `ask` number `askId`. */
  | { type: "answer"; executionId: string; askId: number; reply: AskReply }
  /** The result of the thread's `call` number `callId` (a server service, e.g. a coding agent's model step). */
  | { type: "reply"; executionId: string; callId: number; reply: CallReply }
  /** A message for the running task (ctx.messages / ctx.onMessage). */
  | { type: "message"; executionId: string; message: TaskMessageIn }
  /** The thread is being retired: kill every process it started, answer `children-gone` once they exited. */
  | { type: "kill-children" }
  /** Log batch `batch` of the execution was taken in (stored, or queued for delivery): the thread may send more. */
  | { type: "log-ack"; executionId: string; batch: number };

/** [level, message, metadata, ts] — compact, since a chatty command sends thousands. */
export type LogTuple = [LogLevel, string, Record<string, unknown> | null, number];

export interface DoneOk {
  type: "done";
  executionId: string;
  ok: true;
  result: unknown;
  exitCode?: number | null;
  stdout?: string;
  stderr?: string;
  cpuMs?: number | null;
  maxRssBytes?: number | null;
}

export interface DoneFailed {
  type: "done";
  executionId: string;
  ok: false;
  error: string;
  result?: unknown;
  exitCode?: number | null;
  stdout?: string;
  stderr?: string;
  retryable?: boolean;
  timedOut?: boolean;
}

export type FromThread =
  | { type: "ready" }
  | { type: "children-gone" }
  /** `batch` numbers it for the `log-ack` that lets the thread send more. */
  | { type: "log"; executionId: string; lines: LogTuple[]; batch?: number }
  /** A command started (`record`: what to persist so a restart can kill what is left of it) or exited. */
  | { type: "pid"; executionId: string; pid: number; exited: boolean; record?: ProcessRecord | null }
  /** The task calls a server service (ctx.call); the thread waits for `reply` with the same callId. */
  | { type: "call"; executionId: string; callId: number; method: string; params: unknown }
  /** The task asks the controller (ctx.ask); the thread waits for `answer` with the same askId. */
  | { type: "ask"; executionId: string; askId: number; input: AskInput }
  | DoneOk
  | DoneFailed;
