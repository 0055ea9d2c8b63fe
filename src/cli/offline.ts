// What the offline admin commands (`agentvine user …`, `agentvine apikey …`) share: they open the data
// dir's database directly — no server needed, and safe while one runs (SQLite WAL, busy timeout) — with
// the auth services the API uses, and record their changes in the audit log as actor "cli".
import { createInterface } from "node:readline";
import { loadServeConfig, type ServeConfig } from "../config.ts";
import { openDatabase } from "../db/client.ts";
import { migrate } from "../db/migrate.ts";
import type { AuditActor } from "../features/audit/service.ts";
import { createAuth, type AuthDeps } from "../features/auth/auth-services.ts";
import { findUserByLogin, type UserRecord } from "../features/auth/users.ts";
import { AppError } from "../errors.ts";
import { UsageError, type Out } from "./common.ts";

/** Audit actor of every change made from the command line. */
export const CLI_ACTOR: AuditActor = { type: "system", id: "cli" };

export const offlineOptions = {
  "data-dir": { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

export const OFFLINE_HELP = `Every command works on the database in --data-dir DIR (AGENTVINE_DATA_DIR, default ./data),
with or without a server running on it; --json prints JSON. A running server sees a change of role or
a deactivation within 30 seconds. Each change is recorded in the audit log with actor "cli".`;

export interface Offline {
  auth: AuthDeps;
  config: ServeConfig;
  close(): void;
}

/** Opens (and migrates, as `serve` would) the data dir's database with the auth services on it. */
export async function openOffline(dataDir: string | undefined, env: Record<string, string | undefined>): Promise<Offline> {
  const config = loadServeConfig(dataDir === undefined ? [] : ["--data-dir", dataDir], env);
  const db = openDatabase(config.dbPath, { synchronous: config.dbSynchronous });
  try {
    migrate(db);
    const auth = await createAuth({ db, dataDir: config.dataDir, jwtSecret: config.jwtSecret });
    return { auth, config, close: () => db.close() };
  } catch (err) {
    db.close();
    throw err;
  }
}

/** The user named `username` (or with that email), or a refusal that exits 1. */
export function requireUser(auth: AuthDeps, username: string): UserRecord {
  const user = findUserByLogin(auth, username);
  if (!user) throw new AppError(404, "not_found", `no user '${username}'`);
  return user;
}

/**
 * The exit code of an error an offline command did not handle: 2 for bad usage and for input the
 * service refused as invalid (a password that breaks the rules), 1 for any other refusal (taken,
 * not found, the last admin); others rethrown.
 */
export function offlineExitCode(err: unknown, out: Out): number {
  if (err instanceof UsageError) {
    out.error(err.message);
    return 2;
  }
  if (err instanceof AppError) {
    out.error(`error: ${err.message}`);
    const seen = err.message;
    for (const d of err.details) if (!seen.includes(d.message)) out.error(`  - ${d.field ? `${d.field}: ` : ""}${d.message}`);
    return err.code === "validation_failed" ? 2 : 1;
  }
  throw err;
}

/** Where a password comes from: a line of stdin, or a prompt without echo on a terminal. */
export interface PasswordInput {
  isTTY: boolean;
  /** The first line of stdin (without its line ending), or null at end of input. */
  readLine(): Promise<string | null>;
  /** Prompts on stderr and reads a line without echoing it. */
  readHidden(prompt: string): Promise<string>;
}

export const stdinPasswordInput: PasswordInput = {
  get isTTY() {
    return Boolean(process.stdin.isTTY);
  },
  async readLine() {
    const rl = createInterface({ input: process.stdin, terminal: false });
    try {
      for await (const line of rl) return line.replace(/\r$/, "");
      return null;
    } finally {
      rl.close();
    }
  },
  readHidden(prompt) {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.setEncoding("utf8");
    stdin.resume();
    return new Promise((resolve, reject) => {
      let typed = "";
      const finish = () => {
        stdin.off("data", onData);
        stdin.setRawMode(false);
        stdin.pause();
        process.stderr.write("\n");
      };
      const onData = (chunk: string) => {
        for (const ch of chunk) {
          if (ch === "\r" || ch === "\n" || ch === "\u0004") {
            finish();
            return resolve(typed);
          }
          if (ch === "\u0003") {
            finish();
            return reject(new UsageError("cancelled"));
          }
          if (ch === "\u007f" || ch === "\b") typed = typed.slice(0, -1);
          else typed += ch;
        }
      };
      stdin.on("data", onData);
    });
  },
};

/**
 * A new password: one line of stdin with --password-stdin or when stdin is not a terminal; otherwise
 * asked twice without echo.
 */
export async function readNewPassword(input: PasswordInput, fromStdin: boolean): Promise<string> {
  if (fromStdin || !input.isTTY) {
    const line = await input.readLine();
    if (line === null || line === "") throw new UsageError("no password on stdin: pipe it in, e.g. printf '%s\\n' \"$PASSWORD\" | agentvine user create …");
    return line;
  }
  const first = await input.readHidden("Password: ");
  const second = await input.readHidden("Repeat password: ");
  if (first !== second) throw new UsageError("the passwords do not match");
  return first;
}

const iso = (ms: number | null) => (ms === null ? "-" : new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z"));
export { iso as shortIso };

/** Rows as aligned columns under a header. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ");
  return [line(header), ...rows.map(line)];
}

/** Runs `fn` with the data dir open, closes it after, and turns a refusal into its exit code. */
export async function withOffline(
  o: { "data-dir"?: string },
  env: Record<string, string | undefined>,
  out: Out,
  fn: (offline: Offline) => number | Promise<number>,
): Promise<number> {
  const offline = await openOffline(o["data-dir"], env);
  try {
    return await fn(offline);
  } catch (err) {
    return offlineExitCode(err, out);
  } finally {
    offline.close();
  }
}
