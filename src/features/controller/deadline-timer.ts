// Deadlines: one timer at the earliest open deadline (re-armed after every change), firing within
// milliseconds of it; at start it fires at once for whatever fell due while the server was down.
import type { Db } from "../../db/client.ts";
import { nextDeadline, overdueRequests, type RequestRow } from "./requests.ts";

export class DeadlineTimer {
  #timer: ReturnType<typeof setTimeout> | null = null;
  #timerAt = 0;
  #stopped = true;

  constructor(
    private readonly db: Db,
    private readonly clock: () => number,
    /** Applies the request's on-timeout action (it must leave `open`, or move its deadline). */
    private readonly onDue: (row: RequestRow) => void,
  ) {}

  start(): void {
    this.#stopped = false;
    this.fire();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Sets the timer to the earliest open deadline (none: no timer). */
  arm(): void {
    if (this.#stopped) return;
    const at = nextDeadline(this.db);
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

  /** Every open request whose deadline has passed gets its on-timeout action; then the next one is armed. */
  fire(): void {
    if (this.#stopped) return;
    for (;;) {
      const due = overdueRequests(this.db, this.clock());
      if (due.length === 0) break;
      for (const row of due) this.onDue(row);
    }
    this.arm();
  }
}
