// Helpers for the sandbox's tests: temp trees outside /tmp, waiting on streams (never on timers), finding processes by a marker.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isDead, procHost, type ProcessRecord } from "./leftovers.ts";
import { probeSandbox } from "./probe.ts";

/** Failure guard only: a passing test never waits this long (long enough for a CPU-capped loop on a busy machine). */
export const GUARD_MS = 20_000;

/** Whether the bwrap tests of `file` run here; prints why not, so a skipped suite is never silent. */
export function bwrapAvailable(file: string): boolean {
  const probe = probeSandbox();
  if (!probe.available) console.warn(`[sandbox] ${file}: bwrap tests SKIPPED: ${probe.reason}`);
  return probe.available;
}

export interface Tree {
  root: string;
  /** Stands for the server's data dir: holds a secret file, and the workspaces. */
  dataDir: string;
  secretFile: string;
  workspace: string;
  /** A host directory outside the workspace and outside /tmp (which the sandbox replaces anyway). */
  outside: string;
  cleanup(): void;
}

/**
 * A fresh directory tree per test. It lives under /var/tmp when it can, because the sandbox's /tmp is a
 * private tmpfs: a "data dir" under /tmp would be invisible for that reason alone and prove nothing.
 */
export function makeTree(): Tree {
  const base = (() => {
    try {
      return mkdtempSync("/var/tmp/agentvine-sandbox-test-");
    } catch {
      return mkdtempSync(join(tmpdir(), "agentvine-sandbox-test-"));
    }
  })();
  const dataDir = join(base, "data");
  const workspace = join(dataDir, "workspaces", "exec-1");
  const outside = join(base, "outside");
  mkdirSync(workspace, { recursive: true });
  mkdirSync(outside);
  const secretFile = join(dataDir, "secrets.key");
  writeFileSync(secretFile, "TOP-SECRET-KEY-MATERIAL\n");
  return { root: base, dataDir, secretFile, workspace, outside, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

/** A marker to find a test's processes by: `sleep 300 <marker>` sleeps 300.000… s and shows the marker in its command line. */
export function marker(): string {
  return `0.${Date.now()}${Math.floor(Math.random() * 1e6)}`;
}

/** Live processes with `mark` in their command line (a sleep's argument, or a script that holds it). A dying process drops its command line (its memory) before it closes its files, so after a pipe's EOF none of its holders match. */
export function liveWith(mark: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8");
    } catch {
      continue;
    }
    if (!cmdline.includes(mark)) continue;
    if (!isDead(procHost.stat(Number(name)))) pids.push(Number(name));
  }
  return pids;
}

/** Cleanup for tests that show what escapes without a sandbox. */
export function killAllWith(mark: string): void {
  for (const pid of liveWith(mark)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}

/** The whole stream as text; rejects when it is still open after the guard (someone still holds its write end). */
export async function readToEnd(stream: ReadableStream<Uint8Array>, guardMs = GUARD_MS): Promise<string> {
  return withGuard(new Response(stream).text(), guardMs, "the stream was still open (a process still holds it)");
}

/** Reads until a line satisfies `match`; returns that line and a reader for the rest. */
export async function readUntilLine(stream: ReadableStream<Uint8Array>, match: (line: string) => boolean, guardMs = GUARD_MS) {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const found = async (): Promise<string> => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended before the expected line; got: ${text}`);
      text += decoder.decode(value, { stream: true });
      const line = text.split("\n").find((l, i, all) => i < all.length - 1 && match(l));
      if (line !== undefined) return line;
    }
  };
  const line = await withGuard(found(), guardMs, `no matching line; got: ${text}`);
  return {
    line,
    /** Everything after, until EOF (guarded). */
    rest: async () => {
      const pump = async () => {
        let more = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return more;
          more += decoder.decode(value, { stream: true });
        }
      };
      return withGuard(pump(), guardMs, "the stream was still open (a process still holds it)");
    },
  };
}

export async function withGuard<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`after ${ms} ms: ${what}`)), ms)));
  try {
    return await Promise.race([p, guard]);
  } finally {
    clearTimeout(timer);
  }
}

/** The fixture that plays the server: spawns a plan as its child and reports the record on stderr. */
export const PARENT_FIXTURE = join(import.meta.dir, "fixtures", "parent.ts");

/** Starts the fixture parent with `env` (its own environment, like the server's) running `plan`. */
export async function startParent(planJson: unknown, env: Record<string, string>) {
  const parent = Bun.spawn([process.execPath, PARENT_FIXTURE, JSON.stringify(planJson)], { env, stdout: "pipe", stderr: "pipe" });
  const { line } = await readUntilLine(parent.stderr, (l) => l.startsWith("RECORD "));
  const record = JSON.parse(line.slice("RECORD ".length)) as ProcessRecord;
  return { parent, record };
}
