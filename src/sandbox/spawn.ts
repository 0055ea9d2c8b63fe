// Starting a planned command with Bun.spawn, the record to persist for it, and killing its whole tree.
import { accessSync, constants, readFileSync, realpathSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { Subprocess } from "bun";
import { isDead, procHost, recordProcess, type ProcessRecord } from "./leftovers.ts";
import { sandboxPlan, type SandboxOptions, type SpawnPlan } from "./plan.ts";

export interface SandboxedProcess {
  proc: Subprocess<"pipe" | "ignore", "pipe", "pipe">;
  plan: SpawnPlan;
  /** Persist it (crash recovery) until `proc.exited` resolves; null when the process was already gone. */
  record: ProcessRecord | null;
}

/**
 * Plans and starts `cmd`: stdout and stderr are pipes (in bwrap mode they reach EOF only once every process
 * of the sandbox is gone). Throws SandboxPlanError for bad options, and whatever Bun.spawn throws.
 */
export function spawnSandboxed(cmd: string[], opts: SandboxOptions, stdin?: string | Uint8Array): SandboxedProcess {
  const plan = sandboxPlan(cmd, withRealPaths(opts));
  if (plan.mode === "bwrap") assertRunnable(cmd[0]!, plan);
  const proc = Bun.spawn(plan.argv, {
    env: plan.env,
    cwd: plan.cwd,
    stdin: stdin === undefined ? "ignore" : typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin,
    stdout: "pipe",
    stderr: "pipe",
    detached: plan.detached,
  });
  return { proc: proc as SandboxedProcess["proc"], plan, record: recordProcess(proc.pid) };
}

/**
 * SIGKILLs the process group `pid` leads (cancel, timeout). In bwrap mode that is bwrap; its death takes the
 * sandbox's pid 1 and so every process inside, setsid'd or not. Without a sandbox it reaches the group only.
 */
export function killTree(pid: number): void {
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/**
 * killTree, then waits (bounded by `guardMs`) until every process of the tree is dead, so "killed" means
 * gone: in bwrap mode the sandbox's pid 1 (the kernel ends its pid 1 only once every other process of the
 * namespace is gone), without a sandbox each member of the group. Resolves false when the guard ran out.
 */
export async function killTreeAndWait(pid: number, guardMs = 2000): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 1) return true;
  // Looked up before the kill: afterwards the tree is no longer reachable from its leader.
  const group = procHost.all().filter((p) => p.pgrp === pid && !isDead(p));
  const inner = group.flatMap((p) => childrenOf(p.pid));
  killTree(pid);
  const watched = [...new Set([...group.map((p) => p.pid), ...inner])];
  const deadline = performance.now() + guardMs;
  for (const p of watched) {
    // No event says a process that is not our child died: look at /proc, briefly, only while killing.
    while (!isDead(procHost.stat(p))) {
      if (performance.now() > deadline) return false;
      await Bun.sleep(2);
    }
  }
  return true;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * bwrap itself always starts, so a program that does not exist would only show as bwrap's exit 1 with
 * "execvp" on stderr. Look it up first, as Bun.spawn does without a sandbox, and fail the same way.
 */
function assertRunnable(program: string, plan: SpawnPlan): void {
  const missing = (message: string) => Object.assign(new Error(message), { code: "ENOENT", path: program });
  if (program.includes("/")) {
    try {
      accessSync(resolve(plan.cwd, program), constants.X_OK);
    } catch {
      throw missing(`ENOENT: no such file or directory, posix_spawn '${program}'`);
    }
  } else if (!Bun.which(program, { PATH: plan.env.PATH ?? "/bin:/usr/bin" })) {
    throw missing(`Executable not found in $PATH: "${program}"`);
  }
}

/**
 * Bind and hide by real path: bwrap mounts onto what a path resolves to, so a symlinked data dir is hidden
 * where it really is. A hidden path that is a file moves to hideFiles; one that does not exist has nothing to hide.
 */
export function withRealPaths(opts: SandboxOptions): SandboxOptions {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return p; // left for bwrap to report
    }
  };
  const all = (ps: string[] | undefined) => ps?.map(real);
  const hideDirs: string[] = [];
  const hideFiles: string[] = [];
  for (const p of [...(opts.hidePaths ?? []), ...(opts.hideFiles ?? [])]) {
    const stat = statSync(p, { throwIfNoEntry: false });
    if (stat) (stat.isDirectory() ? hideDirs : hideFiles).push(real(p));
  }
  return {
    ...opts,
    workspace: real(opts.workspace),
    cwd: opts.cwd === undefined ? undefined : real(opts.cwd),
    readOnlyPaths: all(opts.readOnlyPaths),
    writablePaths: all(opts.writablePaths),
    hidePaths: hideDirs,
    hideFiles,
    readOnlyGitDir: opts.readOnlyGitDir === undefined ? undefined : real(opts.readOnlyGitDir),
  };
}
