// `shell`: runs a command (no shell interpolation unless `shell: true`) in the execution's workspace,
// streaming stdout/stderr line by line into the task log.
import { isAbsolute, normalize, resolve, sep } from "node:path";
import { z } from "zod";
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
});

type Params = z.infer<typeof ShellParams>;

/**
 * Keeps the last TAIL_BYTES characters of a stream. The cut does not know the secrets, so it can start
 * the tail inside a value: the pool masks such a leading fragment along with whole values.
 */
class Tail {
  text = "";
  push(chunk: string) {
    this.text += chunk;
    if (this.text.length > TAIL_BYTES * 2) this.text = this.text.slice(-TAIL_BYTES);
  }
  value() {
    return this.text.length > TAIL_BYTES ? this.text.slice(-TAIL_BYTES) : this.text;
  }
}

async function pumpLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void, tail: Tail) {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    const text = decoder.decode(chunk, { stream: true });
    tail.push(text);
    pending += text;
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      onLine(pending.slice(0, nl).replace(/\r$/, ""));
      pending = pending.slice(nl + 1);
    }
  }
  pending += decoder.decode();
  if (pending) onLine(pending);
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
    proc = ctx.spawn(argv, { cwd, env: p.env, stdin: p.stdin });
  } catch (err) {
    throw new TaskFailure(`could not start '${p.command}': ${(err as Error).message}`, { retryable: false });
  }
  let killedByTimeout = false;
  const timer =
    p.timeout_seconds != null
      ? setTimeout(() => {
          killedByTimeout = true;
          ctx.log.warn(`command timed out after ${p.timeout_seconds}s; killing it`);
          try {
            process.kill(-proc.pid, "SIGKILL");
          } catch {
            proc.kill("SIGKILL");
          }
        }, p.timeout_seconds * 1000)
      : undefined;
  const out = new Tail();
  const err = new Tail();
  await Promise.all([
    pumpLines(proc.stdout, (line) => ctx.log.info(line, { stream: "stdout" }), out),
    pumpLines(proc.stderr, (line) => ctx.log.warn(line, { stream: "stderr" }), err),
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
    const how = proc.signalCode ? `was killed by ${proc.signalCode}` : `exited with code ${exitCode}`;
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

export default defineTaskType({
  name: "shell",
  runsOnHost: true,
  description: "Runs a command in the execution's workspace; non-zero exit fails the task",
  params: ShellParams,
  run,
});
