// How many event streams (SSE) may be open at once per account and per client address: each holds a
// connection, a subscription and whatever it has queued for a slow reader, so a script opening a thousand
// of them is refused (429) instead of costing the server half a gigabyte.
import { AppError } from "../errors.ts";

export class StreamLimits {
  #open = new Map<string, number>();
  #onRelease: Array<() => void> = [];

  constructor(
    /** Per account (a user, or an API key). */
    readonly perAccount: number,
    /** Per client address (several accounts behind one address, or none signed in). */
    readonly perAddress: number,
  ) {}

  /** Takes a slot for each key, or throws 429 naming the limit reached (taking none). Returns the release. */
  acquire(account: string | null, address: string): () => void {
    const keys: Array<[string, number, string]> = [[`ip:${address}`, this.perAddress, `this address (${address})`]];
    if (account) keys.push([`acct:${account}`, this.perAccount, "this account"]);
    for (const [key, limit, who] of keys) {
      if ((this.#open.get(key) ?? 0) >= limit) {
        throw new AppError(429, "rate_limited", `Too many open event streams for ${who}: at most ${limit} at once; close one (each open page holds one) and try again`, [], {
          "Retry-After": "5",
        });
      }
    }
    for (const [key] of keys) this.#open.set(key, (this.#open.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const [key] of keys) {
        const n = (this.#open.get(key) ?? 1) - 1;
        if (n <= 0) this.#open.delete(key);
        else this.#open.set(key, n);
      }
      for (const w of this.#onRelease.splice(0)) w();
    };
  }

  /** Resolves at the next release of a slot (a stream ended): what a test waits on instead of polling. */
  nextRelease(): Promise<void> {
    return new Promise((resolve) => this.#onRelease.push(resolve));
  }

  /** Open streams under a key (`acct:…`, `ip:…`): tests and metrics. */
  count(key: string): number {
    return this.#open.get(key) ?? 0;
  }
}
