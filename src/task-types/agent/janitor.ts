// Cleaning the agents' worktrees: a finished task leaves a note of how it ended beside its worktree; the
// janitor removes a succeeded task's worktree after `successTtlMs`, a failed (or crashed) one's after
// `failureTtlMs` — kept meanwhile for inspection — and prunes the clones' worktree lists. The branches and
// commits stay in the cached clones.
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface JanitorOptions {
  successTtlMs: number;
  failureTtlMs: number;
  now?: number;
}

const tasksDir = (root: string) => join(root, "agents", "tasks");

/** Notes how a task's agent ended (beside its worktree, not in it). */
export function noteOutcome(root: string, taskId: string, status: "succeeded" | "failed"): void {
  try {
    writeFileSync(join(tasksDir(root), `${taskId}.outcome.json`), JSON.stringify({ status, at: Date.now() }), { mode: 0o600 });
  } catch {
    // no worktree dir (the agent failed before making one): nothing to clean later
  }
}

/** Removes what is due; returns the task ids whose worktrees went. */
export function sweepWorktrees(root: string, o: JanitorOptions): string[] {
  const dir = tasksDir(root);
  if (!existsSync(dir)) return [];
  const now = o.now ?? Date.now();
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name.endsWith(".outcome.json")) continue;
    const worktree = join(dir, name);
    const outcomeFile = join(dir, `${name}.outcome.json`);
    let status = "unknown";
    let at = statSync(worktree).mtimeMs;
    if (existsSync(outcomeFile)) {
      try {
        const o2 = JSON.parse(readFileSync(outcomeFile, "utf8")) as { status: string; at: number };
        status = o2.status;
        at = o2.at;
      } catch {
        // unreadable: treated as unknown
      }
    }
    const ttl = status === "succeeded" ? o.successTtlMs : o.failureTtlMs;
    if (now - at < ttl) continue;
    rmSync(worktree, { recursive: true, force: true });
    rmSync(outcomeFile, { force: true });
    removed.push(name);
  }
  if (removed.length) {
    // The clones still list the removed worktrees (and hold their branches checked out) until pruned.
    const repos = join(root, "agents", "repos");
    for (const repo of existsSync(repos) ? readdirSync(repos).filter((r) => r.endsWith(".git")) : []) {
      Bun.spawnSync(["git", "worktree", "prune"], { cwd: join(repos, repo), env: { PATH: process.env.PATH ?? "/usr/bin:/bin", GIT_CONFIG_NOSYSTEM: "1" } });
    }
  }
  return removed;
}
