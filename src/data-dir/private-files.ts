// Everything in the data dir (and a worker's state dir) is its owner's only — 0700 directories, 0600 files —
// whatever the umask: the database and its WAL hold every task, log line and hash; workspaces hold what
// tasks wrote (secrets included). And the workspaces of failed executions, kept for inspection, are
// removed once they are older than the retention.
import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { logger } from "../log.ts";

const log = logger("data-dir");

export const PRIVATE_DIR = 0o700;
export const PRIVATE_FILE = 0o600;

/** Creates `dir` (and parents) and makes it 0700 even when it existed, or the umask widened it. */
export function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
  chmodSync(dir, PRIVATE_DIR);
}

/**
 * Creates the SQLite file empty with mode 0600 before SQLite opens it: SQLite gives its -wal and -shm the
 * database file's own permissions, so they are 0600 too.
 */
export function privateDatabaseFile(path: string): void {
  closeSync(openSync(path, "a", PRIVATE_FILE));
  chmodSync(path, PRIVATE_FILE);
}

/**
 * Tightens a data dir made by an earlier version, or under a loose umask: the dir 0700, and below it every
 * directory 0700 and every file 0600 (symlinks are left alone) — except inside each workspace, whose files
 * keep the modes their task gave them (a script stays executable; the workspace itself becomes 0700, and
 * the data dir around it already keeps everyone else out). Returns how many modes it changed.
 */
export function secureTree(root: string): number {
  let changed = 0;
  const fix = (path: string, mode: number) => {
    try {
      const st = lstatSync(path);
      if (st.isSymbolicLink() || (st.mode & 0o777) === mode) return;
      chmodSync(path, mode);
      changed++;
    } catch {
      // gone meanwhile
    }
  };
  const walk = (dir: string, depth: number, inWorkspaces: boolean) => {
    fix(dir, PRIVATE_DIR);
    if (inWorkspaces && depth > 1) return; // a workspace: its own modes stay
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path, depth + 1, inWorkspaces || (depth === 0 && e.name === "workspaces"));
      else if (e.isFile() && !(inWorkspaces && depth >= 1)) fix(path, PRIVATE_FILE);
    }
  };
  walk(root, 0, false);
  if (changed) log.warn(`${root}: made ${changed} file(s) and folder(s) readable by their owner only (0600/0700)`);
  return changed;
}

/** An execution's workspace is named by its id (a UUID); anything else under the root is not one. */
const EXECUTION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Removes workspaces under `root` older than `olderThanMs` (by when they were last modified) that `inUse`
 * does not claim (a running execution's). Successful executions' workspaces are removed as they end; this
 * takes the failed ones, kept for inspection until then. Only executions' workspaces: `agents/` (the coding
 * agents' clones and worktrees, which their own janitor sweeps) and anything else is left. Returns how many
 * it removed.
 */
export function sweepWorkspaces(root: string, opts: { olderThanMs: number; inUse: (name: string) => boolean; now?: number }): number {
  const now = opts.now ?? Date.now();
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    if (!EXECUTION_ID.test(name) || opts.inUse(name)) continue;
    const path = join(root, name);
    try {
      const st = statSync(path);
      if (!st.isDirectory() || now - st.mtimeMs < opts.olderThanMs) continue;
      rmSync(path, { recursive: true, force: true });
      removed++;
    } catch (err) {
      log.warn(`could not remove the old workspace ${path}: ${(err as Error).message}`);
    }
  }
  return removed;
}
