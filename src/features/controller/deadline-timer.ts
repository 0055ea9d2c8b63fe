// Deadlines: one timer at the earliest open deadline (re-armed after every change), firing within
// milliseconds of it; at start it fires at once for whatever fell due while the server was down.
// A deadline that cannot be applied (a full disk, a locked database, a bug in one request's action) is
// logged and retried with backoff — 1 s doubling to 30 s — while the others still fire: the timer never
// takes the server down, and it never spins on a request it cannot move.
import type { Db } from "../../db/client.ts";
import { logger } from "../../log.ts";
import { nextDeadline, overdueRequests, type RequestRow } from "./requests.ts";

const log = logger("controller");

export interface DeadlineTimerOptions {
  /** The first retry's delay after a failure (doubles each time up to `retryMaxMs`). */
  retryBaseMs?: number;
  retryMaxMs?: number;
}

export class DeadlineTimer {
  #timer: ReturnType<typeof setTimeout> | null = null;
  #timerAt = 0;
  #stopped = true;
  /** While backing off after a failure: when the next attempt is due, and the delay that led to it. */
  #retryAt = 0;
  #retryMs = 0;
  readonly #retryBaseMs: number;
  readonly #retryMaxMs: number;

  constructor(
    private readonly db: Db,
    private readonly clock: () => number,
    /** Applies the request's on-timeout action (it must leave `open`, or move its deadline). */
    private readonly onDue: (row: RequestRow) => void,
    options: DeadlineTimerOptions = {},
  ) {
    this.#retryBaseMs = options.retryBaseMs ?? 1000;
    this.#retryMaxMs = options.retryMaxMs ?? 30_000;
  }

  start(): void {
    this.#stopped = false;
    this.fire();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Sets the timer to the earliest open deadline (none: no timer); while backing off, not before the retry. */
  arm(): void {
    if (this.#stopped) return;
    let at: number | null;
    try {
      at = nextDeadline(this.db);
    } catch (err) {
      this.#backOff(err);
      return;
    }
    if (at !== null && this.#retryAt) at = Math.max(at, this.#retryAt);
    this.#setTimer(at);
  }

  /** Every open request whose deadline has passed gets its on-timeout action; then the next one is armed. */
  fire(): void {
    if (this.#stopped) return;
    const handled = new Set<string>();
    const failed = new Map<string, unknown>();
    try {
      for (;;) {
        const due = overdueRequests(this.db, this.clock());
        // One that is still open after its action has not moved: it waits for the retry, with the failures.
        for (const row of due) if (handled.has(row.id) && !failed.has(row.id)) failed.set(row.id, new Error(`request ${row.id} is still open after its on-timeout action`));
        const fresh = due.filter((row) => !handled.has(row.id));
        if (fresh.length === 0) break;
        for (const row of fresh) {
          handled.add(row.id);
          try {
            this.onDue(row);
          } catch (err) {
            failed.set(row.id, err);
          }
        }
      }
    } catch (err) {
      this.#backOff(err);
      return;
    }
    if (failed.size) {
      const [id, err] = failed.entries().next().value!;
      this.#backOff(err, `${failed.size} deadline(s) could not be applied (first: request ${id})`);
      return;
    }
    this.#retryAt = 0;
    this.#retryMs = 0;
    this.arm();
  }

  #backOff(err: unknown, what = "the deadlines could not be read") {
    this.#retryMs = Math.min(this.#retryMs ? this.#retryMs * 2 : this.#retryBaseMs, this.#retryMaxMs);
    this.#retryAt = this.clock() + this.#retryMs;
    log.error(`${what}; trying again in ${this.#retryMs} ms:`, err instanceof Error ? err : new Error(String(err)), { retry_in_ms: this.#retryMs });
    this.#setTimer(this.#retryAt);
  }

  #setTimer(at: number | null) {
    if (at === null) {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
      return;
    }
    if (this.#timer && this.#timerAt === at) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.fire();
    }, Math.min(Math.max(0, at - this.clock()), 2 ** 31 - 1));
  }
}
