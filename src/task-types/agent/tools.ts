// The tools a coding agent's model can call, with JSON-schema arguments, and what each does — always
// inside the task's worktree: list_files, read_file, search (in process, ripgrep-like), write_file,
// edit_file (an exact, unique replacement), run_command (in the sandbox, time-limited, output cut with a
// note), ask (the controller, by policy), finish. A tool's failure is a result the model reads, not a crash.
import { mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync, existsSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import type { PermissionLevel } from "../../db/schema.ts";
import { TaskFailure, type TaskContext } from "../types.ts";
import { killTree } from "../../sandbox/index.ts";

export const TOOL_DEFS = {
  list_files: {
    description: "List files and directories under a path of the repository (recursively, to a depth).",
    inputSchema: { type: "object", properties: { path: { type: "string", description: "Relative to the repository root; default '.'" }, depth: { type: "integer", minimum: 1, maximum: 6 } }, additionalProperties: false },
  },
  read_file: {
    description: "Read a text file of the repository (lines numbered from 1).",
    inputSchema: { type: "object", properties: { path: { type: "string" }, offset: { type: "integer", minimum: 1 }, limit: { type: "integer", minimum: 1, maximum: 2000 } }, required: ["path"], additionalProperties: false },
  },
  search: {
    description: "Search the repository's text files for a regular expression; answers path:line: text for each match.",
    inputSchema: { type: "object", properties: { pattern: { type: "string" }, path: { type: "string" }, glob: { type: "string", description: "Only files whose name ends like this, e.g. .ts" } }, required: ["pattern"], additionalProperties: false },
  },
  write_file: {
    description: "Create or overwrite a file with the given content.",
    inputSchema: { type: "object", properties: { path: { type: "string" }, content: { type: "string" } }, required: ["path", "content"], additionalProperties: false },
  },
  edit_file: {
    description: "Replace the exact text `old` (which must occur exactly once) with `new` in a file.",
    inputSchema: { type: "object", properties: { path: { type: "string" }, old: { type: "string" }, new: { type: "string" } }, required: ["path", "old", "new"], additionalProperties: false },
  },
  run_command: {
    description: "Run a shell command in the repository (a sandbox: no network unless allowed, nothing outside the repository writable). Answers the exit code and the output.",
    inputSchema: { type: "object", properties: { command: { type: "string" }, timeout_seconds: { type: "integer", minimum: 1, maximum: 1800 } }, required: ["command"], additionalProperties: false },
  },
  ask: {
    description: "Ask a person (or the controller's policy) a question and wait for the answer. Use it when you are unsure.",
    inputSchema: { type: "object", properties: { question: { type: "string" }, options: { type: "array", items: { type: "string" } } }, required: ["question"], additionalProperties: false },
  },
  finish: {
    description: "Say you are done, with a summary of what you changed and why. The runner then verifies (runs the tests) and commits.",
    inputSchema: { type: "object", properties: { summary: { type: "string" } }, required: ["summary"], additionalProperties: false },
  },
} as const;

export type ToolName = keyof typeof TOOL_DEFS;

export interface ToolEnv {
  ctx: TaskContext<unknown>;
  root: string;
  gitDir: string;
  permission: PermissionLevel;
  network: boolean;
  /** Every command the model ran, with its exit code (the bugfix verification reads them). */
  commands: Array<{ command: string; code: number; step: number }>;
  step: number;
}

export interface ToolResult {
  output: string;
  isError: boolean;
}

const MAX_OUTPUT = 16 * 1024;
const MAX_FILE = 512 * 1024;
const SKIP_DIRS = new Set([".git", "node_modules", ".venv", "__pycache__", "dist", "target", ".pytest_cache"]);

/** Output for the model: whole when short, else its head and tail with a note of what was cut. */
export function truncate(text: string, max = MAX_OUTPUT): string {
  if (text.length <= max) return text;
  const half = Math.floor(max / 2);
  return `${text.slice(0, half)}\n… [${text.length - max} characters cut] …\n${text.slice(-half)}`;
}

/** A path the model gave, inside the worktree (symlinks resolved); throws a message for the model otherwise. */
function inside(root: string, path: string | undefined): string {
  const p = path ?? ".";
  if (isAbsolute(p)) throw new Error(`'${p}' is absolute: give a path relative to the repository root`);
  const full = resolve(root, p);
  const rel = relative(root, full);
  if (rel === ".." || rel.startsWith(`..${sep}`) || rel.split(sep).includes(".git")) throw new Error(`'${p}' is outside the repository (or inside .git)`);
  // A symlink must not lead out either: check the real path of what exists of it.
  let existing = full;
  while (!existsSync(existing) && existing !== root) existing = dirname(existing);
  const real = realpathSync(existing);
  const realRoot = realpathSync(root);
  if (real !== realRoot && !real.startsWith(realRoot + sep)) throw new Error(`'${p}' leads outside the repository`);
  return full;
}

function walk(root: string, dir: string, depth: number, out: string[], limit = 2000) {
  if (depth < 0 || out.length >= limit) return;
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (SKIP_DIRS.has(entry.name)) continue;
    const full = join(dir, entry.name);
    const rel = relative(root, full);
    if (entry.isDirectory()) {
      out.push(`${rel}/`);
      walk(root, full, depth - 1, out, limit);
    } else out.push(rel);
    if (out.length >= limit) return;
  }
}

function textOf(file: string): string | null {
  const st = statSync(file);
  if (st.size > MAX_FILE) return null;
  const buf = readFileSync(file);
  if (buf.includes(0)) return null; // binary
  return buf.toString("utf8");
}

const readOnly = (env: ToolEnv) => env.permission === "read";

export async function runTool(env: ToolEnv, name: string, input: Record<string, any>): Promise<ToolResult> {
  try {
    const output = await dispatch(env, name, input ?? {});
    return { output, isError: false };
  } catch (err) {
    // The task's own failure (no sandbox for the model's commands): it ends the task, the model cannot fix it.
    if (err instanceof TaskFailure) throw err;
    return { output: (err as Error).message, isError: true };
  }
}

async function dispatch(env: ToolEnv, name: string, input: Record<string, any>): Promise<string> {
  const { root } = env;
  switch (name) {
    case "list_files": {
      const out: string[] = [];
      walk(root, inside(root, input.path), Number(input.depth ?? 3) - 1, out);
      return out.length ? out.join("\n") : "(empty)";
    }
    case "read_file": {
      const file = inside(root, input.path);
      if (!existsSync(file)) throw new Error(`no file '${input.path}'`);
      const text = textOf(file);
      if (text === null) throw new Error(`'${input.path}' is binary or larger than ${MAX_FILE} bytes`);
      const lines = text.split("\n");
      const from = Math.max(1, Number(input.offset ?? 1));
      const to = Math.min(lines.length, from - 1 + Number(input.limit ?? 400));
      const body = lines.slice(from - 1, to).map((l, i) => `${String(from + i).padStart(5)}  ${l}`).join("\n");
      return to < lines.length ? `${body}\n… (${lines.length - to} more lines: read on with offset ${to + 1})` : body;
    }
    case "search": {
      let re: RegExp;
      try {
        re = new RegExp(String(input.pattern));
      } catch (err) {
        throw new Error(`not a valid regular expression: ${(err as Error).message}`);
      }
      const files: string[] = [];
      walk(root, inside(root, input.path), 20, files, 20_000);
      const hits: string[] = [];
      for (const rel of files) {
        if (rel.endsWith("/") || (input.glob && !rel.endsWith(String(input.glob).replace(/^\*/, "")))) continue;
        const text = textOf(join(root, rel));
        if (text === null) continue;
        text.split("\n").forEach((line, i) => {
          if (hits.length < 200 && re.test(line)) hits.push(`${rel}:${i + 1}: ${line.slice(0, 300)}`);
        });
        if (hits.length >= 200) break;
      }
      return hits.length ? hits.join("\n") + (hits.length >= 200 ? "\n… (first 200 matches)" : "") : "no matches";
    }
    case "write_file": {
      if (readOnly(env)) throw new Error("this task may only read the repository (permission_level read): write_file is refused");
      const file = inside(root, input.path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, String(input.content ?? ""));
      return `wrote ${input.path} (${Buffer.byteLength(String(input.content ?? ""))} bytes)`;
    }
    case "edit_file": {
      if (readOnly(env)) throw new Error("this task may only read the repository (permission_level read): edit_file is refused");
      const file = inside(root, input.path);
      if (!existsSync(file)) throw new Error(`no file '${input.path}'`);
      const text = readFileSync(file, "utf8");
      const old = String(input.old ?? "");
      if (!old) throw new Error("`old` must not be empty");
      const count = text.split(old).length - 1;
      if (count !== 1) throw new Error(count === 0 ? `the text to replace was not found in ${input.path}` : `the text to replace occurs ${count} times in ${input.path}: include more context so it is unique`);
      writeFileSync(file, text.replace(old, () => String(input.new ?? "")));
      return `edited ${input.path}`;
    }
    case "run_command":
      return runCommand(env, String(input.command ?? ""), Number(input.timeout_seconds ?? 300));
    default:
      throw new Error(`no tool '${name}'`);
  }
}

/** Caps of one model command, beside its wall-clock timeout: a runaway build or test run cannot take the host down. */
export const COMMAND_LIMITS = {
  /** Enough for a JavaScript runtime, which reserves far more address space than it uses. */
  addressSpaceBytes: 16 * 1024 ** 3,
  /** Processes of the sandbox's user (the kernel does not apply it to root). */
  processes: 512,
  fileSizeBytes: 1024 ** 3,
  openFiles: 4096,
} as const;

/**
 * The model's command, in the sandbox: its worktree the one writable place, the clone's shared .git
 * read-only, private /tmp, no network unless allowed, a cleared environment, CPU time capped at the
 * timeout and its whole tree killed at the wall-clock timeout. Refused without a sandbox unless an admin
 * chose `--sandbox none`.
 */
export async function runCommand(env: ToolEnv, command: string, timeoutSeconds: number): Promise<string> {
  if (!command.trim()) throw new Error("empty command");
  const proc = env.ctx.spawn(["/bin/sh", "-c", command], {
    workspace: env.root,
    cwd: env.root,
    env: { HOME: "/tmp", CI: "1", LANG: "C.UTF-8" },
    network: env.network,
    readOnlyPaths: [env.gitDir],
    limits: { ...COMMAND_LIMITS, cpuSeconds: timeoutSeconds },
    requireSandbox: true,
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killTree(proc.pid);
  }, timeoutSeconds * 1000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  env.commands.push({ command, code, step: env.step });
  const out = [stdout && `stdout:\n${stdout}`, stderr && `stderr:\n${stderr}`].filter(Boolean).join("\n");
  const head = timedOut ? `killed after ${timeoutSeconds}s (timeout); exit code ${code}` : `exit code ${code}`;
  return truncate(`${head}\n${out || "(no output)"}`);
}
