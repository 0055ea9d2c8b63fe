// The batching every external log sink shares: a bounded in-memory buffer that `push` never blocks on
// (full: the item is dropped and counted), one request in flight at a time, retries with backoff while
// the sink is down (the buffer keeps filling up to its bound), and a stop that sends what it can within
// a deadline. Nothing here throws at the caller: a task never waits for, or fails because of, a sink.
import { logger } from "../../log.ts";

const log = logger("log-sinks");

/** What sending a batch can end in: sent, worth retrying (down, 5xx, 429), or refused for good (drop it). */
export class SinkError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export interface SinkCounters {
  sent(n: number): void;
  dropped(n: number): void;
  buffered(n: number): void;
}

export interface SinkBufferOptions<T> {
  name: string;
  /** Sends one batch; throws SinkError (or any error: retried) when it did not arrive. */
  send: (batch: T[]) => Promise<void>;
  counters?: SinkCounters;
  /** Items kept at most while the sink is slow or down (default 10,000). */
  maxBuffered?: number;
  /** Items per request (default 512). */
  batchSize?: number;
  /** How long an item may wait for a fuller batch (default 1,000 ms). */
  flushIntervalMs?: number;
  /** Tries per batch before it is dropped (default 5); the waits double from `retryBaseMs` (500 ms) to 30 s. */
  maxAttempts?: number;
  retryBaseMs?: number;
}

/** What a sink's options pass on to its buffer (the sinks take them from the server's flags and tests). */
export type SinkTuning = Pick<SinkBufferOptions<unknown>, "counters" | "maxBuffered" | "batchSize" | "flushIntervalMs" | "retryBaseMs">;

export const sinkTuning = ({ counters, maxBuffered, batchSize, flushIntervalMs, retryBaseMs }: SinkTuning): SinkTuning => ({ counters, maxBuffered, batchSize, flushIntervalMs, retryBaseMs });

export interface SinkStats {
  sent: number;
  dropped: number;
  buffered: number;
  failures: number;
}

export class SinkBuffer<T> {
  #items: T[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  #sending: Promise<void> | null = null;
  #stopped = false;
  #lastWarnAt = 0;
  readonly stats: SinkStats = { sent: 0, dropped: 0, buffered: 0, failures: 0 };
  readonly #max: number;
  readonly #batch: number;
  readonly #interval: number;
  readonly #attempts: number;
  readonly #retryBase: number;

  constructor(private readonly opts: SinkBufferOptions<T>) {
    this.#max = opts.maxBuffered ?? 10_000;
    this.#batch = opts.batchSize ?? 512;
    this.#interval = opts.flushIntervalMs ?? 1000;
    this.#attempts = opts.maxAttempts ?? 5;
    this.#retryBase = opts.retryBaseMs ?? 500;
  }

  /** Queues one item; when the buffer is full (or the sink stopped) it is dropped and counted. Never blocks. */
  push(item: T): void {
    if (this.#stopped || this.#items.length >= this.#max) {
      this.#drop(1, this.#stopped ? "the sink has stopped" : `its buffer of ${this.#max} is full (the sink is slow or down)`);
      return;
    }
    this.#items.push(item);
    this.#setBuffered();
    if (this.#items.length >= this.#batch) this.#kick();
    else this.#timer ??= setTimeout(() => this.#kick(), this.#interval);
  }

  /** Sends what is buffered now and resolves once it arrived or was given up on (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.#items.length > 0 || this.#sending) {
      this.#kick();
      await this.#sending;
    }
  }

  /**
   * Takes no more items; sends what is buffered within `deadlineMs` — a batch waiting to be retried gets
   * one last try at once — and drops (and counts) the rest.
   */
  async stop(deadlineMs = 5000): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), deadlineMs)));
    const outcome = await Promise.race([this.flush().then(() => "done" as const), deadline]);
    clearTimeout(timer);
    if (outcome === "late") {
      this.#gaveUp = true;
      // The batch in flight is counted by its own send (sent, or dropped when it fails); the rest here.
      const left = this.#items.splice(this.#inFlight);
      this.#setBuffered();
      if (left.length > 0) this.#drop(left.length, "the server stopped before the sink took them");
    }
  }

  /** Items of the batch being sent (they stay at the head of the buffer until it is settled). */
  #inFlight = 0;
  /** Ends a retry's wait early (stop). */
  #wake: (() => void) | null = null;

  /** Set by stop() past its deadline: the batch in flight is not retried any more. */
  #gaveUp = false;

  #kick() {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#sending || this.#items.length === 0) return;
    this.#sending = this.#drain().finally(() => {
      this.#sending = null;
      // Items that arrived while sending wait for their own interval, or go now if a batch is full.
      if (this.#items.length >= this.#batch || (this.#stopped && this.#items.length > 0 && !this.#gaveUp)) this.#kick();
      else if (this.#items.length > 0 && !this.#gaveUp) this.#timer ??= setTimeout(() => this.#kick(), this.#interval);
    });
  }

  async #drain() {
    while (this.#items.length > 0 && !this.#gaveUp) {
      // The batch stays in the buffer while it is tried, so it counts against the bound.
      const batch = this.#items.slice(0, this.#batch);
      this.#inFlight = batch.length;
      const delivered = await this.#sendWithRetries(batch);
      this.#items.splice(0, batch.length);
      this.#inFlight = 0;
      this.#setBuffered();
      if (delivered) {
        this.stats.sent += batch.length;
        this.opts.counters?.sent(batch.length);
      }
      if (this.#items.length < this.#batch && !this.#stopped) return;
    }
  }

  async #sendWithRetries(batch: T[]): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.opts.send(batch);
        return true;
      } catch (err) {
        this.stats.failures++;
        const retryable = !(err instanceof SinkError) || err.retryable;
        if (!retryable || attempt >= this.#attempts || this.#stopped) {
          this.#drop(batch.length, `${(err as Error).message}${retryable ? ` (after ${attempt} tries)` : ""}`);
          return false;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(30_000, this.#retryBase * 2 ** (attempt - 1)));
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = null;
      }
    }
  }

  #drop(n: number, why: string) {
    this.stats.dropped += n;
    this.opts.counters?.dropped(n);
    // One warning a minute at most: a sink that is down must not flood the server's own log.
    const now = Date.now();
    if (now - this.#lastWarnAt >= 60_000) {
      this.#lastWarnAt = now;
      log.warn(`${this.opts.name}: dropped ${n} log line(s): ${why} (agentvine_log_sink_lines_total{outcome="dropped"} counts them all)`);
    }
  }

  #setBuffered() {
    this.stats.buffered = this.#items.length;
    this.opts.counters?.buffered(this.#items.length);
  }
}
