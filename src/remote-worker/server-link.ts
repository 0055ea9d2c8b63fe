// The remote worker's link to the server: registering (retrying while the server is unreachable, waiting
// while another live process holds the name), registering again when the server forgot this worker, and
// whether the server is reachable right now (with how long it has not been).
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import { logger } from "../log.ts";
import { VERSION } from "../version.ts";
import { WorkerApiError, WorkerClient } from "./api-client.ts";
import { Backoff, sleep, type BackoffOptions } from "./backoff.ts";
import type { WorkerStatus } from "./status-file.ts";

const log = logger("worker");

export interface ServerLinkOptions {
  server: string;
  token: string;
  name: string;
  capabilities: string[];
  concurrency: number;
  backoff?: BackoffOptions;
  /** Reachability changed: the status file is rewritten. */
  onChange(): void;
}

export class ServerLink {
  readonly client: WorkerClient;
  /** Random once per start: sent with each registration, so the server can tell another process using the same name from this one coming back. */
  readonly instanceId = randomUUID();
  id: string | null = null;
  /** Set while the server is unreachable. */
  backingOff: WorkerStatus["backing_off"] = null;

  constructor(private readonly opts: ServerLinkOptions) {
    this.client = new WorkerClient(opts.server, opts.token, `agentvine-worker/${VERSION}`);
  }

  /**
   * Registers, retrying with backoff while the server is unreachable or another instance holds the name.
   * Resolves true once registered, false when `stopped()` turned true meanwhile. Throws when the server
   * refuses for good (a bad key).
   */
  async register(signal: AbortSignal, stopped: () => boolean): Promise<boolean> {
    const backoff = new Backoff(this.opts.backoff);
    let waitingForOther = false;
    for (;;) {
      try {
        const worker = await this.client.register({
          name: this.opts.name,
          instance_id: this.instanceId,
          hostname: hostname(),
          version: VERSION,
          capabilities: this.opts.capabilities,
          max_concurrent_tasks: this.opts.concurrency,
          config: { pid: process.pid },
        });
        this.id = worker.id;
        if (waitingForOther) log.info(`the other worker named '${this.opts.name}' went offline: this one takes over the name`);
        this.online();
        return true;
      } catch (err) {
        if (!(err instanceof WorkerApiError)) throw err;
        if (isNameTaken(err)) {
          // Another live process uses this name: not fatal (it may be on its way out), wait for it rather than fight over the id.
          if (!waitingForOther) log.warn(`a worker named '${this.opts.name}' is already running elsewhere; waiting for it to go offline or pick another --name (${err.message})`);
          waitingForOther = true;
        } else if (err.transient) this.offline(err);
        else throw err;
        await sleep(backoff.next(), signal);
        if (stopped()) return false;
      }
    }
  }

  /** The server forgot this worker (deleted, or a fresh database): register again; same name, so the same id if it still knows it. */
  async reregister(err: WorkerApiError, signal: AbortSignal, stopped: () => boolean): Promise<void> {
    log.warn(`the server does not know this worker (${err.message}): registering again`);
    await this.register(signal, stopped);
  }

  offline(err: WorkerApiError) {
    if (!this.backingOff) log.warn(`server unreachable (${err.message}): retrying with backoff; running tasks go on`);
    this.backingOff = { since: this.backingOff?.since ?? Date.now(), failures: (this.backingOff?.failures ?? 0) + 1, last_error: err.message };
    this.opts.onChange();
  }

  online() {
    if (!this.backingOff) return;
    log.info(`server reachable again after ${this.backingOff.failures} failure(s)`);
    this.backingOff = null;
    this.opts.onChange();
  }
}

/** The server's 409 for a name that a live worker of another instance holds (not the lease or drain conflicts). */
function isNameTaken(err: WorkerApiError): boolean {
  return err.status === 409 && (/instance/i.test(err.code) || /another instance/i.test(err.message));
}
