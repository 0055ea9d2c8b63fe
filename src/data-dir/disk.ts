// The data dir's disk: telling a full disk from a bug (SQLITE_FULL, ENOSPC, EDQUOT), and the health check —
// free space, and the last write that failed for want of it. Writers report what failed and what worked.
import { statfsSync } from "node:fs";

/** Whether `err` says the disk (or the user's quota) is full: SQLite's SQLITE_FULL, or ENOSPC / EDQUOT. */
export function isDiskFull(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown } | null;
  if (!e || typeof e !== "object") return false;
  return e.code === "SQLITE_FULL" || e.code === "ENOSPC" || e.code === "EDQUOT";
}

export interface DiskCheck {
  /** `ok`; `low` (under the free-space floor: writes may soon fail); `full` (a write just failed for want of space). */
  status: "ok" | "low" | "full";
  ok: boolean;
  free_bytes: number | null;
  total_bytes: number | null;
  /** The last write that failed for want of space, while no write has worked since. */
  last_failure?: { at: string; what: string; error: string };
}

export interface DiskWatchOptions {
  /** Under this much free space the check says `low` (default 64 MiB). */
  lowBytes?: number;
  clock?: () => number;
  /** Replaces statfs (tests). */
  statfs?: (path: string) => { bavail: number; blocks: number; bsize: number };
}

/**
 * Watches the disk under `dir`. Writers call `failed(what, err)` when a write failed for want of space
 * and `worked()` when one went through: the check says `full` from a failure until the next success.
 * The health endpoint calls `check()` (a statfs, microseconds).
 */
export class DiskWatch {
  #failure: { at: number; what: string; error: string } | null = null;
  #waiters: Array<{ what: string; resolve: () => void }> = [];
  readonly #lowBytes: number;
  readonly #clock: () => number;
  readonly #statfs: NonNullable<DiskWatchOptions["statfs"]>;

  constructor(
    readonly dir: string,
    opts: DiskWatchOptions = {},
  ) {
    this.#lowBytes = opts.lowBytes ?? 64 * 1024 * 1024;
    this.#clock = opts.clock ?? Date.now;
    this.#statfs = opts.statfs ?? ((p) => statfsSync(p));
  }

  /** Notes a failed write when it was for want of space; returns whether it was. */
  failed(what: string, err: unknown): boolean {
    if (!isDiskFull(err)) return false;
    this.#failure = { at: this.#clock(), what, error: (err as Error).message ?? String(err) };
    this.#waiters = this.#waiters.filter((w) => (w.what === what ? (w.resolve(), false) : true));
    return true;
  }

  /** Resolves the next time a write of `what` fails for want of space (tests wait on it instead of polling). */
  whenFailed(what: string): Promise<void> {
    return new Promise((resolve) => this.#waiters.push({ what, resolve }));
  }

  worked(): void {
    this.#failure = null;
  }

  get full(): boolean {
    return this.#failure !== null;
  }

  check(): DiskCheck {
    let free: number | null = null;
    let total: number | null = null;
    try {
      const s = this.#statfs(this.dir);
      free = s.bavail * s.bsize;
      total = s.blocks * s.bsize;
    } catch {
      // no statfs here: the failures alone say it
    }
    const status = this.#failure ? "full" : free !== null && free < this.#lowBytes ? "low" : "ok";
    return {
      status,
      ok: status === "ok",
      free_bytes: free,
      total_bytes: total,
      ...(this.#failure ? { last_failure: { at: new Date(this.#failure.at).toISOString(), what: this.#failure.what, error: this.#failure.error } } : {}),
    };
  }
}
