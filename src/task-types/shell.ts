// `shell`: runs a command (no shell interpolation unless `shell: true`) in the execution's workspace,
// streaming stdout/stderr line by line into the task log.
import { isAbsolute, normalize, resolve, sep } from "node:path";
import { z } from "zod";
import type { TextCutter } from "../masking/forms.ts";
import { killTree } from "../sandbox/index.ts";
import { constants } from "node:os";
import { LineSplitter, StreamTail } from "./lines.ts";
import { defineTaskType, output, TaskFailure, type TaskContext } from "./types.ts";

const TAIL_BYTES = 64 * 1024;

const relativePath = z
  .string()
  .max(1024)
  .refine((p) => !isAbsolute(p) && !normalize(p).split(/[\\/]/).includes(".."), {
    message: "must be a relative path inside the workspace (no '..', not absolute)",
  });

export const ShellParams = z.strictObject({
  command: z.string().min(1).max(64 * 1024).describe("Program to run, or a script when shell is true"),
  args: z.array(z.string().max(64 * 1024)).max(1000).default([]).describe("Arguments, passed as-is (no interpolation)"),
  shell: z.boolean().default(false).describe("Run `command` through /bin/sh -c"),
  cwd: relativePath.optional().describe("Working directory, relative to the execution's workspace"),
  env: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "invalid environment variable name"), z.string().max(32 * 1024))
    .default({})
    .describe("Extra environment variables"),
  stdin: z.string().max(1024 * 1024).optional().describe("Text written to the command's stdin"),
  timeout_seconds: z.number().int().min(1).max(7 * 24 * 3600).optional().describe("Kill the command after this long"),
  network: z
    .boolean()
    .optional()
    .describe("Reach the network from the sandbox (default: the server's --shell-network, off: only the sandbox's own loopback). Without a sandbox a command always can"),
});

type Params = z.infer<typeof ShellParams>;

/** Streams a command's output into log lines (split at MAX_LINE_CHARS) and keeps its tail; linear in its size. */
async function pumpLines(stream: ReadableStream<Uint8Array>, onLine: (line: string, partial: boolean) => void, tail: StreamTail, cutter: TextCutter, ready: () => Promise<void>) {
  const decoder = new TextDecoder();
  const lines = new LineSplitter(cutter, onLine);
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    const text = decoder.decode(chunk, { stream: true });
    tail.push(text);
    lines.push(text);
    // Backpressure: while the log is behind, the command waits on its full pipe.
    await ready();
  }
  const last = decoder.decode();
  tail.push(last);
  lines.push(last);
  lines.end();
}

async function run(ctx: TaskContext<Params>) {
  const p = ctx.params;
  const cwd = p.cwd ? resolve(ctx.workspace, p.cwd) : ctx.workspace;
  if (cwd !== ctx.workspace && !cwd.startsWith(ctx.workspace + sep)) {
    throw new TaskFailure(`cwd '${p.cwd}' escapes the workspace`, { retryable: false });
  }
  const argv = p.shell ? ["/bin/sh", "-c", p.command, "sh", ...p.args] : [p.command, ...p.args];
  const started = performance.now();
  let proc;
  try {
    proc = ctx.spawn(argv, { cwd, env: p.env, stdin: p.stdin, network: p.network });
  } catch (err) {
    throw new TaskFailure(`could not start '${p.command}': ${(err as Error).message}`, { retryable: false });
  }
  let killedByTimeout = false;
  const timer =
    p.timeout_seconds != null
      ? setTimeout(() => {
          killedByTimeout = true;
          ctx.log.warn(`command timed out after ${p.timeout_seconds}s; killing it`);
          killTree(proc.pid);
        }, p.timeout_seconds * 1000)
      : undefined;
  // The tails are cut, like long lines, never inside one of the task's secret values: the server masks whole values.
  const out = new StreamTail(ctx.text, TAIL_BYTES);
  const err = new StreamTail(ctx.text, TAIL_BYTES);
  const meta = (stream: string, partial: boolean) => (partial ? { stream, partial: true } : { stream });
  await Promise.all([
    pumpLines(proc.stdout, (line, partial) => ctx.log.info(line, meta("stdout", partial)), out, ctx.text, ctx.log.ready),
    pumpLines(proc.stderr, (line, partial) => ctx.log.warn(line, meta("stderr", partial)), err, ctx.text, ctx.log.ready),
  ]);
  const exitCode = await proc.exited;
  clearTimeout(timer);
  const usage = proc.resourceUsage();
  const durationMs = Math.round(performance.now() - started);
  const result = { exit_code: exitCode, signal: proc.signalCode ?? null, stdout: out.value(), stderr: err.value(), duration_ms: durationMs };
  if (killedByTimeout) {
    throw new TaskFailure(`command timed out after ${p.timeout_seconds}s`, { result, exitCode, stdout: result.stdout, stderr: result.stderr, timedOut: true });
  }
  if (exitCode !== 0) {
    // In the sandbox a command killed by a signal shows as bwrap's exit 128+n.
    const signalled = exitCode !== null && exitCode > 128 && exitCode < 160 ? signalName(exitCode - 128) : null;
    const how = proc.signalCode
      ? `was killed by ${proc.signalCode}`
      : `exited with code ${exitCode}${signalled ? ` (128+${exitCode! - 128}: killed by ${signalled}, in the sandbox a signal shows as 128+n)` : ""}`;
    throw new TaskFailure(`command ${how}`, { result, exitCode, stdout: result.stdout, stderr: result.stderr });
  }
  return output({
    result,
    exitCode,
    stdout: result.stdout,
    stderr: result.stderr,
    cpuMs: usage ? Math.round(Number(usage.cpuTime.total) / 1000) : null,
    // Not recorded: a forked child's peak RSS counts the memory of the server it was forked from (150 MB
    // for `echo`), which would tell nothing about the command.
    maxRssBytes: null,
  });
}

function signalName(n: number): string | null {
  return Object.entries(constants.signals).find(([, v]) => v === n)?.[0] ?? null;
}

export default defineTaskType({
  name: "shell",
  runsOnHost: true,
  description: "Runs a command in the execution's workspace, in the sandbox (no network unless `network`); non-zero exit fails the task",
  params: ShellParams,
  run,
});
