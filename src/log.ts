// The server's own log: leveled lines on stderr (warn, error) and stdout (debug, info), set once by --log-level.
export type LogLevel = "debug" | "info" | "warn" | "error";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold = RANK.info;

export function setLogLevel(level: LogLevel): void {
  threshold = RANK[level];
}

export function enabled(level: LogLevel): boolean {
  return RANK[level] >= threshold;
}

function write(level: LogLevel, scope: string, message: string, extra: unknown[]) {
  if (RANK[level] < threshold) return;
  const line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} [${scope}] ${message}`;
  if (level === "warn" || level === "error") console.error(line, ...extra);
  else console.log(line, ...extra);
}

/** A logger for one part of the server: `const log = logger("pool")`. */
export function logger(scope: string) {
  return {
    debug: (message: string, ...extra: unknown[]) => write("debug", scope, message, extra),
    info: (message: string, ...extra: unknown[]) => write("info", scope, message, extra),
    warn: (message: string, ...extra: unknown[]) => write("warn", scope, message, extra),
    error: (message: string, ...extra: unknown[]) => write("error", scope, message, extra),
  };
}
