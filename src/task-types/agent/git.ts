// The coding agents' git, with the git CLI: a cached bare clone per repository (fetched, never re-cloned)
// and a worktree per task on a branch of its own, kept across attempts so a retried or recovered task
// finds its edits; commit, diff stat and push. These are the task type's own commands (trusted), never
// the model's: the model gets the worktree with its .git read-only.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { TaskFailure, type TaskContext } from "../types.ts";

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs git (trusted) and collects its output; never throws for a non-zero exit. */
export async function git(ctx: TaskContext<unknown>, args: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<GitResult> {
  const env = {
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_AUTHOR_NAME: "AgentVine",
    GIT_AUTHOR_EMAIL: "agentvine@localhost",
    GIT_COMMITTER_NAME: "AgentVine",
    GIT_COMMITTER_EMAIL: "agentvine@localhost",
    ...opts.env,
  };
  const proc = ctx.spawn(["git", ...args], { cwd: opts.cwd, env, trusted: true });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

async function gitOk(ctx: TaskContext<unknown>, args: string[], opts: { cwd: string; env?: Record<string, string> }, what: string): Promise<string> {
  const r = await git(ctx, args, opts);
  if (r.code !== 0) throw new TaskFailure(`${what} failed (git ${args[0]} exited ${r.code}): ${(r.stderr || r.stdout).trim().slice(0, 2000)}`, { retryable: false });
  return r.stdout;
}

/** How git reaches the repository: a token for https goes in a header for this command only, never in a URL or on disk. */
function authEnv(url: string, token: string | undefined): Record<string, string> {
  if (!token || !/^https?:/.test(url)) return {};
  const basic = Buffer.from(`x-access-token:${token}`).toString("base64");
  return { GIT_CONFIG_COUNT: "1", GIT_CONFIG_KEY_0: "http.extraHeader", GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}` };
}

/** The repository as git takes it: a local path, file://, https or ssh URL, as given. */
const source = (url: string) => url;

/**
 * Runs `fn` holding the cached clone's lock (a directory beside it, created atomically), so agents of one
 * repository — threads of this process, or other processes on the machine — never clone, fetch or add
 * worktrees at once. A lock older than 10 minutes is a crashed holder's: taken over.
 */
async function withRepoLock<T>(gitDir: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${gitDir}.lock`;
  const deadline = Date.now() + 10 * 60_000;
  for (let attempt = 0; ; attempt++) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      try {
        if (Date.now() - statSync(lock).mtimeMs > 10 * 60_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        // gone meanwhile: try again
      }
      if (Date.now() > deadline) throw new TaskFailure(`the repository cache ${gitDir} stayed locked for 10 minutes`, { retryable: true });
      await Bun.sleep(Math.min(500, 10 * 2 ** Math.min(attempt, 6)));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export interface Workspace {
  /** The task's worktree: what the model sees and edits. */
  dir: string;
  /** The bare clone's directory (the worktree's shared .git): read-only for the model's commands. */
  gitDir: string;
  branch: string;
  /** The commit the branch started from. */
  base: string;
  resumed: boolean;
}

/**
 * The task's worktree on `branch`, from the cached clone of `url` (fetched now). An existing worktree of
 * this task (an earlier attempt) is reused as it is.
 */
export async function prepareWorkspace(ctx: TaskContext<unknown>, root: string, url: string, branch: string, token?: string): Promise<Workspace> {
  const key = createHash("sha256").update(url).digest("hex").slice(0, 24);
  const repos = join(root, "agents", "repos");
  const tasks = join(root, "agents", "tasks");
  mkdirSync(repos, { recursive: true, mode: 0o700 });
  mkdirSync(tasks, { recursive: true, mode: 0o700 });
  const gitDir = join(repos, `${key}.git`);
  return withRepoLock(gitDir, () => checkout(ctx, gitDir, join(tasks, ctx.taskId), repos, url, branch, token));
}

async function checkout(ctx: TaskContext<unknown>, gitDir: string, dir: string, repos: string, url: string, branch: string, token?: string): Promise<Workspace> {
  const env = authEnv(url, token);
  if (!existsSync(join(gitDir, "HEAD"))) {
    rmSync(gitDir, { recursive: true, force: true });
    await gitOk(ctx, ["clone", "--bare", "--quiet", source(url), gitDir], { cwd: repos, env }, `cloning ${url}`);
  }
  // The repository's branches land under refs/remotes/origin: the task branches (refs/heads) are ours alone.
  await gitOk(ctx, ["fetch", "--quiet", "--prune", source(url), "+refs/heads/*:refs/remotes/origin/*"], { cwd: gitDir, env }, `fetching ${url}`);
  const marker = join(dir, ".git");
  if (existsSync(marker) && readFileSync(marker, "utf8").includes(gitDir)) {
    const base = (await gitOk(ctx, ["rev-parse", `refs/agentvine-base/${ctx.taskId}`], { cwd: dir }, "reading the base commit")).trim();
    return { dir, gitDir, branch, base, resumed: true };
  }
  rmSync(dir, { recursive: true, force: true });
  const head = (await gitOk(ctx, ["symbolic-ref", "--short", "HEAD"], { cwd: gitDir }, "finding the default branch")).trim();
  const has = async (ref: string) => (await git(ctx, ["rev-parse", "--verify", "--quiet", ref], { cwd: gitDir })).code === 0;
  // The task's own branch: continued if it exists (here, or in the repository: a branch_name given
  // again), else cut from the repository's default branch as just fetched.
  const local = await has(`refs/heads/${branch}`);
  const remote = !local && (await has(`refs/remotes/origin/${branch}`));
  const start = remote ? `refs/remotes/origin/${branch}` : (await has(`refs/remotes/origin/${head}`)) ? `refs/remotes/origin/${head}` : head;
  // A branch an earlier step of a plan worked on (still checked out in its worktree) is continued here:
  // the steps run one after the other, so they never edit it at the same time.
  await gitOk(ctx, local ? ["worktree", "add", "--quiet", "--force", dir, branch] : ["worktree", "add", "--quiet", "-b", branch, dir, start], { cwd: gitDir }, "creating the worktree");
  const base = (await gitOk(ctx, ["rev-parse", "HEAD"], { cwd: dir }, "reading HEAD")).trim();
  await gitOk(ctx, ["update-ref", `refs/agentvine-base/${ctx.taskId}`, base], { cwd: dir }, "recording the base commit");
  return { dir, gitDir, branch, base, resumed: false };
}

/** Commits everything in the worktree; null when there is nothing to commit. */
export async function commitAll(ctx: TaskContext<unknown>, ws: Workspace, message: string): Promise<string | null> {
  await gitOk(ctx, ["add", "-A"], { cwd: ws.dir }, "staging the changes");
  const staged = await git(ctx, ["diff", "--cached", "--quiet"], { cwd: ws.dir });
  if (staged.code === 0) return null;
  await gitOk(ctx, ["commit", "--quiet", "--no-verify", "-m", message], { cwd: ws.dir }, "committing");
  return (await gitOk(ctx, ["rev-parse", "HEAD"], { cwd: ws.dir }, "reading the commit")).trim();
}

/** `git diff --stat` of the branch against its base: files, insertions, deletions. */
export async function diffStat(ctx: TaskContext<unknown>, ws: Workspace): Promise<{ files_changed: number; insertions: number; deletions: number; text: string }> {
  const text = (await git(ctx, ["diff", "--stat", ws.base, "HEAD"], { cwd: ws.dir })).stdout.trim();
  const m = /(\d+) files? changed(?:, (\d+) insertions?\(\+\))?(?:, (\d+) deletions?\(-\))?/.exec(text);
  return { files_changed: Number(m?.[1] ?? 0), insertions: Number(m?.[2] ?? 0), deletions: Number(m?.[3] ?? 0), text };
}

/** The branch's changes against its base as a unified diff, cut to `max` characters with a note. */
export async function diffText(ctx: TaskContext<unknown>, ws: Workspace, max = 200_000): Promise<string> {
  const text = (await git(ctx, ["diff", "--no-color", ws.base, "HEAD"], { cwd: ws.dir })).stdout;
  return text.length > max ? `${text.slice(0, max)}
… [${text.length - max} more characters of diff]` : text;
}

/** Uncommitted changes in the worktree (what the model edited since the last commit). */
export async function status(ctx: TaskContext<unknown>, ws: Workspace): Promise<string[]> {
  const out = (await git(ctx, ["status", "--porcelain"], { cwd: ws.dir })).stdout;
  return out.split("\n").filter(Boolean);
}

/** Pushes the branch to the repository (push permission only). */
export async function push(ctx: TaskContext<unknown>, ws: Workspace, url: string, token?: string): Promise<void> {
  await gitOk(ctx, ["push", "--quiet", source(url), `${ws.branch}:${ws.branch}`], { cwd: ws.dir, env: authEnv(url, token) }, `pushing ${ws.branch}`);
}
