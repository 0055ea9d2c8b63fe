// What every `agentvine <noun> …` client command shares: the connection flags, the client, bad usage,
// and turning the server's refusals into a message and an exit code.
import { readFileSync } from "node:fs";
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { TaskClient, TaskClientError } from "../client/task-client.ts";
import { flagProblem } from "./flags.ts";

export { flagProblem, isFlagError } from "./flags.ts";

export const commonOptions = {
  server: { type: "string" },
  token: { type: "string" },
  "token-file": { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

export const COMMON_HELP = `Every command takes --server URL (AGENTVINE_SERVER, default http://localhost:8080), the key
as AGENTVINE_TOKEN, --token-file PATH (AGENTVINE_TOKEN_FILE) or --token KEY (visible in ps), --json
(print raw JSON) and --help. The server needs a key: an admin creates one with
\`agentvine apikey create NAME --scope api --user USERNAME\` on the server's data dir.`;

/** How to get past a 401, printed after the server's refusal. */
const CREATE_KEY = "create a key: agentvine apikey create NAME --scope api --user USERNAME";

export type Out = { log: (s: string) => void; error: (s: string) => void };

/** Bad usage: exit 2 with the message, before any request is made. */
export class UsageError extends Error {}

export function clientFor(o: { server?: string; token?: string; "token-file"?: string }, env: Record<string, string | undefined>): TaskClient {
  return new TaskClient({ server: o.server ?? env.AGENTVINE_SERVER ?? "http://localhost:8080", token: tokenFrom(o, env) });
}

/**
 * The key, from the first of: --token, --token-file, AGENTVINE_TOKEN, AGENTVINE_TOKEN_FILE. A file holds
 * the key alone (surrounding whitespace ignored), so it can be mode 600 and out of `ps` and shell history.
 */
export function tokenFrom(o: { token?: string; "token-file"?: string }, env: Record<string, string | undefined>): string | undefined {
  if (o.token) return o.token;
  const file = o["token-file"] ?? (env.AGENTVINE_TOKEN ? undefined : env.AGENTVINE_TOKEN_FILE);
  if (file === undefined) return env.AGENTVINE_TOKEN || undefined;
  const flag = o["token-file"] !== undefined ? "--token-file" : "AGENTVINE_TOKEN_FILE";
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`${flag} ${file}: ${code === "ENOENT" ? "no such file" : `cannot be read (${code})`}`);
  }
  const key = text.trim();
  if (!key || /\s/.test(key)) throw new UsageError(`${flag} ${file}: expected the key alone in the file`);
  return key;
}

/** `k=v` values: JSON when they parse (numbers, booleans, objects), text otherwise. */
export function parseValue(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

/** `--flag k=v` pairs into an object, each value through parseValue. */
export function keyValues(flag: string, pairs: string[], into: Record<string, unknown> = {}): Record<string, unknown> {
  for (const kv of pairs) {
    const eq = kv.indexOf("=");
    if (eq < 1) throw new UsageError(`--${flag} ${kv}: expected key=value`);
    into[kv.slice(0, eq)] = parseValue(kv.slice(eq + 1));
  }
  return into;
}

/**
 * The exit code of an error a command did not handle: 2 for usage, 1 for the server's refusal; others
 * rethrown. A 401 says how to pass a key (`client`: whether one was sent).
 */
export function exitCodeOf(err: unknown, out: Out, client?: Pick<TaskClient, "hasToken">): number {
  if (err instanceof UsageError) {
    out.error(err.message);
    return 2;
  }
  if (err instanceof TaskClientError && err.status === 401) {
    out.error(
      client && !client.hasToken
        ? `error: Sign in first: the server needs an API key — pass --token KEY or set AGENTVINE_TOKEN (${CREATE_KEY})`
        : `error: ${err.message.replace(/\.$/, "")} — pass a valid key with --token KEY or AGENTVINE_TOKEN (${CREATE_KEY})`,
    );
    return 1;
  }
  if (err instanceof TaskClientError) {
    out.error(`error: ${err.message}`);
    for (const d of err.details) out.error(`  - ${d.field ? `${d.field}: ` : ""}${d.message}`);
    return 1;
  }
  throw err;
}


/**
 * `agentvine <noun> <command> [options]`: prints the usage for help (exit 0; exit 2 when no command was
 * given), parses the options strictly (a one-line message naming the bad flag, exit 2), or returns what
 * was parsed.
 */
export function parseSubcommand<const O extends ParseArgsOptionsConfig>(noun: string, argv: string[], usage: string, options: O, out: Out) {
  const [command, ...rest] = argv;
  if (!command || command === "help" || command === "--help" || command === "-h") {
    out.log(usage);
    return command ? 0 : 2;
  }
  if (command.startsWith("-")) {
    out.error(`agentvine ${noun}: give a command before options (got '${command}'); see agentvine ${noun} --help`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, allowPositionals: true, strict: true, options });
  } catch (err) {
    out.error(`agentvine ${noun} ${command}: ${flagProblem(err)} (see agentvine ${noun} --help)`);
    return 2;
  }
  if ((parsed.values as { help?: unknown }).help) {
    out.log(usage);
    return 0;
  }
  return { command, values: parsed.values, positionals: parsed.positionals };
}

/** An unknown sub-command: one line naming it and where the list is (exit 2). */
export const unknownCommand = (noun: string, command: string) => `agentvine: unknown command '${noun} ${command}' (see agentvine ${noun} --help)`;
