// `agentvine worker`'s loop: register, heartbeat, long-poll claims while a slot is free, run each claim in
// a task thread, stream logs and outcomes back through the ordered outbox — carried by the next claim when
// one is about to go (one request per round for a busy worker), else in a report of their own — ride out
// server outages with backoff, and drain on request. The flow: client (HTTP) ← remote (this) → runner (threads) → outbox.
import { randomUUID } from "node:crypto";
import { cpus, hostname, loadavg } from "node:os";
import { join } from "node:path";
import { logger } from "../log.ts";
import type { LogTuple } from "../thread-pool/protocol.ts";
import { VERSION } from "../version.ts";
import { Backoff, sleep, type BackoffOptions } from "./backoff.ts";
import { claimItemProblem, WorkerApiError, WorkerClient, type ClaimItem, type ReportAnswer } from "./api-client.ts";
import { Outbox, type OutboxBatch, type OutboxSender } from "./report-outbox.ts";
import { TaskRunner, type TaskOutcome } from "./task-runner.ts";
import { writeStatus, type WorkerStatus } from "./status-file.ts";

const log = logger("worker");

export interface RemoteWorkerOptions {
  server: string;
  token: string;
  name?: string;
  capabilities?: string[];
  concurrency?: number;
  /** status.json and the executions' workspaces live here. */
  stateDir: string;
  /** How long running tasks may take to finish once draining starts (default 30 s). */
  shutdownGraceMs?: number;
  heartbeatMs?: number;
  claimWaitSeconds?: number;
  backoff?: BackoffOptions;
  threadUrl?: URL;
}

/** How long an outcome may wait for a claim to carry it before it goes in a report of its own. */
const CARRY_WAIT_MS = 200;

const CREATE_KEY = "an admin creates one on the server with `agentvine apikey create NAME --scope worker --user USERNAME`";

export class RemoteWorker {
  readonly client: WorkerClient;
  readonly name: string;
  readonly concurrency: number;
  readonly capabilities: string[];
  /** Random once per start: sent with each registration, so the server can tell another process using the same name from this one coming back. */
  readonly instanceId = randomUUID();
  id: string | null = null;
  /** Resolves with the process exit code: 0 after a drain, 1 when the server refused the key. */
  readonly done: Promise<number>;
  #resolveDone!: (code: number) => void;
  #runner: TaskRunner;
  #outbox: Outbox;
  #draining = false;
  #finished = false;
  /** Aborts the long-poll and every wait when draining starts. */
  #stopClaiming = new AbortController();
  /** Aborts the delivery and heartbeat loops at the very end. */
  #stopAll = new AbortController();
  #slotFreed: (() => void) | null = null;
  /** The claim carrying a report that is out, if one is: a drain lets it finish (the server may have claimed items for it). */
  #quickClaim: Promise<void> | null = null;
  #quickClaimSettled: () => void = () => {};
  /** What the claim loop is doing: `quick` a claim carrying a report is out (answered at once), `poll` a long-poll is out, `pause` backing off or stopped. */
  #claimState: "ready" | "quick" | "poll" | "pause" = "ready";
  /** Off after a claim carrying a report failed: the report goes alone, so a report the server refuses cannot block claiming. */
  #carry = true;
  #counts = { done: 0, failed: 0 };
  #lastHeartbeatAt: number | null = null;
  #backingOff: WorkerStatus["backing_off"] = null;
  #startedAt = Date.now();
  #statusTimer: ReturnType<typeof setTimeout> | null = null;
  #cpu = { usage: process.cpuUsage(), at: performance.now() };

  constructor(private readonly opts: RemoteWorkerOptions) {
    this.client = new WorkerClient(opts.server, opts.token, `agentvine-worker/${VERSION}`);
    this.name = opts.name ?? hostname();
    this.concurrency = opts.concurrency ?? Math.max(1, cpus().length);
    this.capabilities = opts.capabilities ?? [];
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
    this.#outbox = new Outbox({ onDrop: (what, err) => log.warn(`dropped ${what}: ${err.message} (the lease moved on: the server gave the work to another attempt)`) });
    this.#runner = new TaskRunner({
      size: this.concurrency,
      workspaceRoot: join(opts.stateDir, "workspaces"),
      threadUrl: opts.threadUrl,
      onLog: (item, lines) => this.#onLog(item, lines),
      onDone: (item, outcome) => this.#onDone(item, outcome),
    });
  }

  /** Registers (retrying while the server is unreachable), then runs until drained or refused. */
  async start(): Promise<void> {
    this.#writeStatus("starting");
    this.#runner.start();
    try {
      await this.#register();
    } catch (err) {
      return this.#fatal(err);
    }
    if (this.#finished) return;
    log.info(`registered as '${this.name}' (${this.id}) with ${this.opts.server}: ${this.concurrency} slot(s), capabilities ${this.capabilities.join(", ") || "none"}`);
    this.#writeStatus("running");
    for (const loop of [this.#heartbeatLoop(), this.#claimLoop(), this.#deliveryLoop()]) void loop.catch((err) => this.#fatal(err));
  }

  async #register(): Promise<void> {
    const backoff = new Backoff(this.opts.backoff);
    let waitingForOther = false;
    for (;;) {
      try {
        const worker = await this.client.register({
          name: this.name,
          instance_id: this.instanceId,
          hostname: hostname(),
          version: VERSION,
          capabilities: this.capabilities,
          max_concurrent_tasks: this.concurrency,
          config: { pid: process.pid },
        });
        this.id = worker.id;
        if (waitingForOther) log.info(`the other worker named '${this.name}' went offline: this one takes over the name`);
        this.#online();
        return;
      } catch (err) {
        if (!(err instanceof WorkerApiError)) throw err;
        if (isNameTaken(err)) {
          // Another live process uses this name: not fatal (it may be on its way out), wait for it rather than fight over the id.
          if (!waitingForOther) log.warn(`a worker named '${this.name}' is already running elsewhere; waiting for it to go offline or pick another --name (${err.message})`);
          waitingForOther = true;
        } else if (err.transient) this.#offline(err);
        else throw err;
        await sleep(backoff.next(), this.#stopClaiming.signal);
        if (this.#draining) {
          await this.#finish(0);
          return;
        }
      }
    }
  }

  // ---- heartbeats ----

  async #heartbeatLoop(): Promise<void> {
    const every = this.opts.heartbeatMs ?? 5000;
    while (!this.#stopAll.signal.aborted) {
      await this.heartbeatOnce();
      await sleep(every, this.#stopAll.signal);
    }
  }

  /** One heartbeat: reports load and the held leases (running, and finished but undelivered), stops what the server says is lost. */
  async heartbeatOnce(): Promise<void> {
    const running = [...new Set([...this.#runner.held().map((i) => i.work_order_id), ...this.#outbox.pendingOutcomes().map((o) => o.work_order_id)])];
    try {
      const res = await this.client.heartbeat(this.id!, { load: loadavg()[0], cpu_percent: this.#cpuPercent(), memory_bytes: process.memoryUsage().rss, running_work_order_ids: running, instance_id: this.instanceId });
      this.#lastHeartbeatAt = Date.now();
      this.#online();
      if (res.draining && !this.#draining) {
        log.warn("an admin drained this worker on the server: finishing running tasks, then exiting");
        void this.drain();
      }
      for (const workOrderId of res.lost ?? []) {
        const item = this.#runner.held().find((i) => i.work_order_id === workOrderId);
        if (item && this.#runner.stop(item.execution_id)) {
          log.warn(`stopped ${item.task_type} task ${item.task_id}: the server says its lease is gone (another attempt may run it)`);
          this.#slotFreed?.();
        }
      }
    } catch (err) {
      if (!(err instanceof WorkerApiError)) throw err;
      if (err.auth) throw err;
      if (err.status === 404) await this.#reregister(err);
      else if (err.transient) this.#offline(err);
      else log.warn(`heartbeat refused: ${err.message}`);
    }
    this.#scheduleStatus();
  }

  /** The server forgot this worker (deleted, or a fresh database): register again; same name, so the same id if it still knows it. */
  async #reregister(err: WorkerApiError) {
    log.warn(`the server does not know this worker (${err.message}): registering again`);
    await this.#register();
  }

  #cpuPercent(): number {
    const now = performance.now();
    const usage = process.cpuUsage(this.#cpu.usage);
    const wallUs = (now - this.#cpu.at) * 1000;
    this.#cpu = { usage: process.cpuUsage(), at: now };
    return wallUs > 0 ? Math.round(((usage.user + usage.system) / wallUs) * 1000) / 10 : 0;
  }

  // ---- claiming ----

  async #claimLoop(): Promise<void> {
    const backoff = new Backoff(this.opts.backoff);
    const signal = this.#stopClaiming.signal;
    try {
      while (!this.#draining) {
        const free = this.#runner.free;
        if (free === 0) {
          this.#claimState = "ready";
          await new Promise<void>((resolve) => {
            this.#slotFreed = resolve;
            signal.addEventListener("abort", () => resolve(), { once: true });
          });
          this.#slotFreed = null;
          continue;
        }
        // What the outbox holds rides along: the server delivers it first, and the claim then answers at once.
        const batch = this.#carry ? this.#outbox.take() : null;
        let items: ClaimItem[];
        try {
          // One claim at a time: the next is sent only after this one's answer arrived (or it failed).
          this.#claimState = batch ? "quick" : "poll";
          // A drain aborts a parked long-poll, not a claim carrying a report: that one answers at once, maybe with
          // items the server already claimed for it, which are then run within the grace instead of left to expire.
          const claim = this.client.claim(
            { worker_id: this.id!, limit: Math.min(free, 32), wait_seconds: batch ? 0 : (this.opts.claimWaitSeconds ?? 30), ...(batch ? { report: batch.report } : {}) },
            batch ? this.#stopAll.signal : signal,
          );
          if (batch) this.#quickClaim = new Promise<void>((resolve) => (this.#quickClaimSettled = resolve));
          const res = await claim;
          items = this.#runnable(res.items);
          if (batch) this.#delivered(batch, res.report);
          this.#carry = true;
          backoff.reset();
          this.#online();
        } catch (err) {
          this.#settleQuickClaim();
          if (batch) {
            // Not stored (the server refuses a claim before its report): it goes alone, in order, from the outbox.
            this.#outbox.restore(batch);
            this.#carry = false;
          }
          this.#claimState = "pause";
          this.#outbox.poke();
          if (this.#draining) return;
          if (!(err instanceof WorkerApiError)) throw err;
          if (err.auth) throw err;
          if (err.status === 409) {
            log.warn(`the server is draining this worker (${err.message}): finishing running tasks, then exiting`);
            void this.drain();
            return;
          }
          if (err.status === 404) await this.#reregister(err);
          else if (err.transient) this.#offline(err);
          else log.error(`claim refused: ${err.message}`);
          await sleep(backoff.next(), signal);
          continue;
        } finally {
          if (this.#claimState !== "pause") this.#claimState = "ready";
        }
        if (this.#draining) {
          // Claimed just as the drain began: run them anyway within the grace rather than leave them to expire.
          for (const item of items) this.#runner.run(item);
          this.#settleQuickClaim();
          this.#scheduleStatus();
          return;
        }
        for (const item of items) this.#runner.run(item);
        this.#settleQuickClaim();
        if (items.length) this.#scheduleStatus();
      }
    } finally {
      this.#settleQuickClaim();
      this.#claimState = "pause";
      this.#outbox.poke();
    }
  }

  /** The claim carrying a report is over and what it brought back is in the runner (a drain waits for that). */
  #settleQuickClaim() {
    this.#quickClaim = null;
    this.#quickClaimSettled();
    this.#quickClaimSettled = () => {};
  }

  /** The claimed items that may run: one whose ids are not plain ids (a broken or hostile server) is refused, never run. */
  #runnable(items: ClaimItem[]): ClaimItem[] {
    return items.filter((item) => {
      const problem = claimItemProblem(item);
      if (problem) log.error(`refused a claimed item with bad ids: ${problem}; not running it (the server gets its lease back)`);
      return !problem;
    });
  }

  /** The answer to a report a claim carried. */
  #delivered(batch: OutboxBatch, answer: ReportAnswer | undefined) {
    this.#outbox.settle(batch, answer ?? { outcomes: [], logs: { accepted: batch.report.logs.length, refused: [] } });
    this.#scheduleStatus();
  }

  /**
   * Whether the claim loop is about to carry what the outbox holds: a carrying claim is out (the next
   * one takes what came meanwhile), or a slot is free and it is between claims. Not while it long-polls
   * (that may park for `claimWaitSeconds`), backs off, waits for a slot, or the worker drains.
   */
  #claimWillCarry(): boolean {
    if (this.#draining || !this.#carry || this.#backingOff) return false;
    if (this.#claimState === "quick") return true;
    return this.#claimState === "ready" && this.#runner.free > 0;
  }

  // ---- results ----

  #onLog(item: ClaimItem, lines: LogTuple[]) {
    for (const [level, message, metadata, ts] of lines) {
      this.#outbox.pushLog({ execution_id: item.execution_id, level, message, ts, ...(metadata ? { metadata } : {}) });
    }
  }

  #onDone(item: ClaimItem, outcome: TaskOutcome) {
    const base = {
      worker_id: this.id!,
      work_order_id: item.work_order_id,
      lease_token: item.lease_token,
      execution_id: item.execution_id,
      exit_code: outcome.exitCode,
      stdout: outcome.stdout,
      stderr: outcome.stderr,
      duration_ms: outcome.durationMs,
    };
    if (outcome.ok) {
      this.#counts.done++;
      this.#outbox.pushOutcome({ kind: "complete", body: { ...base, result: outcome.result, cpu_ms: outcome.cpuMs, max_rss_bytes: outcome.maxRssBytes } });
    } else {
      this.#counts.failed++;
      this.#outbox.pushOutcome({ kind: "fail", body: { ...base, error: outcome.error || "failed", retryable: outcome.retryable, timed_out: outcome.timedOut } });
    }
    this.#slotFreed?.();
    this.#scheduleStatus();
  }

  async #deliveryLoop(): Promise<void> {
    const backoff = new Backoff(this.opts.backoff);
    const send: OutboxSender = { report: (report) => this.client.report(this.id!, report) };
    while (!this.#stopAll.signal.aborted) {
      if (this.#claimWillCarry() && this.#outbox.waitedMs() < CARRY_WAIT_MS) {
        // The next claim takes it along: one request instead of two. Looked at again when it settles.
        await this.#outbox.waitForWork(CARRY_WAIT_MS, this.#stopAll.signal);
        continue;
      }
      const r = await this.#outbox.deliverOnce(send, this.#draining);
      if (r.state === "empty" || r.state === "busy") await this.#outbox.waitForWork(1000, this.#stopAll.signal);
      else if (r.state === "idle") await this.#outbox.waitForWork(r.dueInMs, this.#stopAll.signal);
      else if (r.state === "retry") {
        this.#offline(r.error);
        await sleep(backoff.next(), this.#stopAll.signal);
      } else {
        backoff.reset();
        this.#online();
        this.#scheduleStatus();
      }
    }
  }

  /** Outcomes and log lines not yet delivered. */
  get undelivered(): number {
    return this.#outbox.size;
  }

  // ---- server reachability and status ----

  #offline(err: WorkerApiError) {
    if (!this.#backingOff) log.warn(`server unreachable (${err.message}): retrying with backoff; running tasks go on`);
    this.#backingOff = { since: this.#backingOff?.since ?? Date.now(), failures: (this.#backingOff?.failures ?? 0) + 1, last_error: err.message };
    this.#scheduleStatus();
  }

  #online() {
    if (!this.#backingOff) return;
    log.info(`server reachable again after ${this.#backingOff.failures} failure(s)`);
    this.#backingOff = null;
    this.#scheduleStatus();
  }

  status(state: WorkerStatus["state"] = this.#finished ? "stopped" : this.#draining ? "draining" : this.id ? "running" : "starting"): WorkerStatus {
    return {
      pid: process.pid,
      name: this.name,
      id: this.id,
      server: this.opts.server,
      version: VERSION,
      state,
      concurrency: this.concurrency,
      capabilities: this.capabilities,
      started_at: this.#startedAt,
      running: this.#runner.running().map(({ item, startedAt }) => ({
        work_order_id: item.work_order_id,
        execution_id: item.execution_id,
        task_id: item.task_id,
        task_type: item.task_type,
        started_at: startedAt,
      })),
      done: this.#counts.done,
      failed: this.#counts.failed,
      outbox: this.#outbox.pendingOutcomes().length,
      last_heartbeat_at: this.#lastHeartbeatAt,
      backing_off: this.#backingOff,
      updated_at: Date.now(),
    };
  }

  /** Coalesced: a busy worker finishes hundreds of tasks a second, the file is rewritten at most every 100 ms. */
  #scheduleStatus() {
    if (this.#statusTimer || this.#finished) return;
    this.#statusTimer = setTimeout(() => {
      this.#statusTimer = null;
      if (!this.#finished) this.#writeStatus();
    }, 100);
  }

  #writeStatus(state?: WorkerStatus["state"]) {
    try {
      writeStatus(this.opts.stateDir, this.status(state));
    } catch (err) {
      log.warn(`cannot write the status file in ${this.opts.stateDir}: ${(err as Error).message}`);
    }
  }

  // ---- stopping ----

  /**
   * Graceful stop (SIGTERM): claim nothing more, let running tasks finish within the grace, deliver
   * every outcome (for up to the same grace while the server is unreachable), then resolve `done` with 0.
   * Tasks still running after the grace are killed and not reported: their leases expire and they run again.
   */
  async drain(): Promise<number> {
    if (this.#draining) return this.done;
    this.#draining = true;
    this.#stopClaiming.abort();
    this.#writeStatus("draining");
    const grace = this.opts.shutdownGraceMs ?? 30_000;
    const deadline = Date.now() + grace;
    // A claim carrying a report is answered at once: what it brings back is run within the grace (the claim loop does).
    if (this.#quickClaim) await Promise.race([this.#quickClaim, sleep(grace)]);
    if (!(await this.#runner.waitIdle(Math.max(0, deadline - Date.now())))) {
      const cut = this.#runner.held();
      log.warn(`${cut.length} task(s) still running after the ${Math.round(grace / 1000)}s grace: killed; their leases expire and they run again`);
    }
    await this.#runner.shutdown();
    while (this.#outbox.size > 0 && Date.now() < deadline + 10_000 && !this.#finished) await this.#outbox.waitForWork(50);
    if (this.#outbox.pendingOutcomes().length > 0) log.warn(`${this.#outbox.pendingOutcomes().length} outcome(s) could not be delivered: their leases expire and they run again`);
    return this.#finish(0);
  }

  async #fatal(err: unknown): Promise<void> {
    if (this.#finished) return;
    if (err instanceof WorkerApiError && err.auth) {
      log.error(`the server refused this worker's key (${err.message}): the key is wrong, revoked, or not a worker key — ${CREATE_KEY}`);
    } else if (err instanceof WorkerApiError) {
      log.error(`the server refused the worker: ${err.message}`);
    } else log.error("the worker failed:", err);
    this.#stopClaiming.abort();
    await this.#runner.shutdown();
    await this.#finish(1);
  }

  async #finish(code: number): Promise<number> {
    if (this.#finished) return this.done;
    this.#finished = true;
    this.#stopClaiming.abort();
    this.#stopAll.abort();
    if (this.#statusTimer) clearTimeout(this.#statusTimer);
    this.#writeStatus("stopped");
    this.#resolveDone(code);
    return code;
  }
}

/** The server's 409 for a name that a live worker of another instance holds (not the lease or drain conflicts). */
function isNameTaken(err: WorkerApiError): boolean {
  return err.status === 409 && (/instance/i.test(err.code) || /another instance/i.test(err.message));
}
