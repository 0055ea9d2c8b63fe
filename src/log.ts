// The process's own log, through pino: one JSON object a line on stdout (pino's fields — level, time,
// pid, hostname, msg — plus `scope`), or readable single lines on a terminal. Every line written while
// a request or a task's work is under way carries that work's `req_id` / `correlation_id` / `task_id`
// from the log context (AsyncLocalStorage), without passing a logger around.
import { AsyncLocalStorage } from "node:async_hooks";
import { hostname } from "node:os";
import pino, { type DestinationStream, type Logger } from "pino";
import pretty from "pino-pretty";

export type LogLevel = "debug" | "info" | "warn" | "error";
/** `auto`: readable on a terminal, JSON otherwise. */
export type LogFormat = "auto" | "json" | "pretty";
export const LOG_FORMATS = ["auto", "json", "pretty"] as const;

/** Fields every line written inside `withLogContext` carries. */
export interface LogContext {
  req_id?: string;
  correlation_id?: string;
  task_id?: string;
  execution_id?: string;
}

export interface LoggingOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Where lines go (tests); stdout by default. */
  destination?: DestinationStream;
}

const context = new AsyncLocalStorage<LogContext>();

/** Runs `fn` with `fields` added to the log context of everything it does, synchronously or later. */
export function withLogContext<T>(fields: LogContext, fn: () => T): T {
  const outer = context.getStore();
  return context.run(outer ? { ...outer, ...fields } : fields, fn);
}

/** The context of the work under way (the request, the task), if any. */
export function logContext(): LogContext | undefined {
  return context.getStore();
}

/**
 * Keys whose values never reach a log line, in a line's fields or one level below: credentials a caller
 * might pass along by mistake. Secret *values* in text are masked by the masker the server sets. (Checked
 * here rather than by pino's `redact`, whose wildcard paths cost ~10 µs a line: measured in bench/logging.ts.)
 */
const REDACT = new Set(["password", "new_password", "token", "access_token", "refresh_token", "api_key", "apiKey", "authorization", "cookie", "secret"]);

/** The fields with every credential key's value replaced by ***; the same object when there is none. */
function redacted(fields: Record<string, unknown>, depth = 0): Record<string, unknown> {
  let out: Record<string, unknown> | null = null;
  for (const key in fields) {
    const value = fields[key];
    let replaced: unknown = value;
    if (REDACT.has(key)) replaced = "***";
    else if (depth === 0 && value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof Error)) {
      replaced = redacted(value as Record<string, unknown>, 1);
    }
    if (replaced !== value) (out ??= { ...fields })[key] = replaced;
  }
  return out ?? fields;
}

let masker: ((text: string) => string) | null = null;

/** Masks known secret values in every message from now on (the secrets store, once it is open). */
export function setLogMasker(mask: ((text: string) => string) | null): void {
  masker = mask;
}

/** The stdout writer, when lines go there (flushed synchronously before the process exits). */
let stdout: (DestinationStream & { flushSync(): void }) | null = null;

function build(level: LogLevel, format: LogFormat, destination?: DestinationStream): Logger {
  const readable = format === "pretty" || (format === "auto" && !destination && process.stdout.isTTY === true);
  // Buffered writes to stdout: a slow reader of the pipe never stalls the server.
  stdout = destination || readable ? null : pino.destination({ dest: 1, sync: false });
  const stream = readable
    ? pretty({
        sync: true,
        destination: destination ?? 1,
        colorize: !destination && process.stdout.isTTY === true,
        translateTime: "SYS:HH:MM:ss.l",
        ignore: "pid,hostname,scope",
        messageFormat: "{if scope}[{scope}] {end}{msg}",
        singleLine: true,
      })
    : (destination ?? stdout!);
  return pino(
    {
      level,
      base: { pid: process.pid, hostname: hostname() },
      // A copy: pino merges each line's own fields into what mixin returns.
      mixin: () => {
        const store = context.getStore();
        return store ? { ...store } : {};
      },
    },
    stream,
  );
}

let root: Logger = build("info", "auto");
let generation = 0;

/** Sets the level and the format (once, at start; `serve --log-level`, `--log-format`). */
export function configureLogging(options: LoggingOptions): void {
  flushLogs();
  root = build(options.level ?? (root.level as LogLevel), options.format ?? "auto", options.destination);
  generation++;
}

export function setLogLevel(level: LogLevel): void {
  root.level = level;
  generation++;
}

export function enabled(level: LogLevel): boolean {
  return root.isLevelEnabled(level);
}

/** Writes out what is buffered (before the process exits). */
export function flushLogs(): void {
  try {
    stdout?.flushSync();
  } catch {
    // a destination that is not ready yet has nothing to flush
  }
}

export interface ScopedLogger {
  debug(message: string, ...extra: unknown[]): void;
  info(message: string, ...extra: unknown[]): void;
  warn(message: string, ...extra: unknown[]): void;
  error(message: string, ...extra: unknown[]): void;
}

/**
 * A logger for one part of the process: `const log = logger("pool")`. Extra arguments become fields:
 * an Error is `err` (message and stack), a plain object is merged in, anything else joins the message.
 */
export function logger(scope: string): ScopedLogger {
  let child: Logger | null = null;
  let built = -1;
  const current = () => {
    if (built !== generation) {
      child = root.child({ scope });
      built = generation;
    }
    return child!;
  };
  const write = (level: LogLevel) => (message: string, ...extra: unknown[]) => {
    const l = current();
    if (!l.isLevelEnabled(level)) return;
    let fields: Record<string, unknown> | null = null;
    let text = message;
    if (extra.length === 1 && extra[0] !== null && typeof extra[0] === "object" && !Array.isArray(extra[0]) && !(extra[0] instanceof Error)) {
      fields = extra[0] as Record<string, unknown>; // the common case, taken as is (never changed: redacted() copies)
    } else {
      for (const x of extra) {
        if (x instanceof Error) (fields ??= {}).err = x;
        else if (x !== null && typeof x === "object" && !Array.isArray(x)) Object.assign((fields ??= {}), x);
        else text += ` ${String(x)}`;
      }
    }
    if (masker) text = masker(text);
    if (fields) l[level](redacted(fields), text);
    else l[level](text);
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}
