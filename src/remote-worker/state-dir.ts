// The worker's state dir: its owner's only (0700/0600), what a previous run's task commands left running
// killed at start (their records under processes/), and failed executions' workspaces removed once older
// than the retention.
import { join } from "node:path";
import { privateDir, secureTree, sweepWorkspaces } from "../data-dir/private-files.ts";
import { logger } from "../log.ts";
import { ProcessRecordDir } from "../sandbox/index.ts";

const log = logger("worker");

export class StateDir {
  readonly processes: ProcessRecordDir;

  constructor(
    readonly dir: string,
    private readonly retentionMs: number,
  ) {
    this.processes = new ProcessRecordDir(join(dir, "processes"));
  }

  /** At start, before claiming: private, no leftovers, no stale workspaces. */
  prepare(held: () => string[]): void {
    privateDir(this.dir);
    secureTree(this.dir);
    this.processes.killLeftoversAndSay(log);
    this.sweep(held());
  }

  /** Removes failed executions' workspaces older than the retention, not those of `held` executions. */
  sweep(held: string[]): number {
    const inUse = new Set(held);
    return sweepWorkspaces(join(this.dir, "workspaces"), { olderThanMs: this.retentionMs, inUse: (id) => inUse.has(id) });
  }
}
