// `agentvine worker`: registers (server-link.ts), heartbeats, claims while a slot is free (claim-loop.ts),
// runs each claim in a task thread (task-runner.ts), streams logs and outcomes back through the ordered
// report outbox — carried by the next claim when one is about to go, else in a report of their own —
// rides out server outages with backoff, keeps status.json current, and drains on request.
import { cpus, hostname, loadavg } from "node:os";
import { join } from "node:path";
import { logger } from "../log.ts";
import type { LogTuple } from "../thread-pool/protocol.ts";
import { VERSION } from "../version.ts";
import { WorkerApiError, type ClaimItem, type RequestAnswer, type WorkerClient } from "./api-client.ts";
import type { AskInput } from "../task-types/types.ts";
import { Backoff, sleep, type BackoffOptions } from "./backoff.ts";
import { ClaimLoop } from "./claim-loop.ts";
import { ReportOutbox, type OutboxSender } from "./report-outbox.ts";
import { ServerLink } from "./server-link.ts";
import { TaskRunner, type TaskOutcome } from "./task-runner.ts";
import { writeStatus, type WorkerStatus } from "./status-file.ts";
import { sweepWorktrees } from "../task-types/agent/janitor.ts";

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
  readonly name: string;
  readonly concurrency: number;
  readonly capabilities: string[];
  /** Resolves with the process exit code: 0 after a drain, 1 when the server refused the key. */
  readonly done: Promise<number>;
  #resolveDone!: (code: number) => void;
  #link: ServerLink;
  #runner: TaskRunner;
  #outbox: ReportOutbox;
  #claims: ClaimLoop;
  #draining = false;
  #finished = false;
  /** Aborts the long-poll and every wait when draining starts. */
  #stopClaiming = new AbortController();
  /** Aborts the delivery and heartbeat loops at the very end. */
  #stopAll = new AbortController();
  #counts = { done: 0, failed: 0 };
  #lastHeartbeatAt: number | null = null;
  #startedAt = Date.now();
  #statusTimer: ReturnType<typeof setTimeout> | null = null;
  #cpu = { usage: process.cpuUsage(), at: performance.now() };
  #janitor: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly opts: RemoteWorkerOptions) {
    this.name = opts.name ?? hostname();
    this.concurrency = opts.concurrency ?? Math.max(1, cpus().length);
    this.capabilities = opts.capabilities ?? [];
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
    this.#link = new ServerLink({
      server: opts.server,
      token: opts.token,
      name: this.name,
      capabilities: this.capabilities,
      concurrency: this.concurrency,
      backoff: opts.backoff,
      onChange: () => this.#scheduleStatus(),
    });
    this.#outbox = new ReportOutbox({ onDrop: (what, err) => log.warn(`dropped ${what}: ${err.message} (the lease moved on: the server gave the work to another attempt)`) });
    this.#runner = new TaskRunner({
      size: this.concurrency,
      workspaceRoot: join(opts.stateDir, "workspaces"),
      threadUrl: opts.threadUrl,
      onLog: (item, lines) => this.#onLog(item, lines),
      onDone: (item, outcome) => this.#onDone(item, outcome),
      onAsk: (item, askId, input) => void this.#ask(item, askId, input),
      onCall: (item, callId, method, params) => void this.#call(item, callId, method, params),
    });
    this.#claims = new ClaimLoop({
      link: this.#link,
      runner: this.#runner,
      outbox: this.#outbox,
      waitSeconds: opts.claimWaitSeconds ?? 30,
      backoff: opts.backoff,
      claiming: this.#stopClaiming.signal,
      all: this.#stopAll.signal,
      draining: () => this.#draining,
      drainRequested: () => void this.drain(),
      changed: () => this.#scheduleStatus(),
    });
  }

  get client(): WorkerClient {
    return this.#link.client;
  }

  get id(): string | null {
    return this.#link.id;
  }

  /** Random once per start (see ServerLink). */
  get instanceId(): string {
    return this.#link.instanceId;
  }

  /** Registers (retrying while the server is unreachable), then runs until drained or refused. */
  async start(): Promise<void> {
    this.#writeStatus("starting");
    this.#runner.start();
    try {
      if (!(await this.#link.register(this.#stopClaiming.signal, () => this.#draining))) {
        await this.#finish(0);
        return;
      }
    } catch (err) {
      return this.#fatal(err);
    }
    if (this.#finished) return;
    log.info(`registered as '${this.name}' (${this.id}) with ${this.opts.server}: ${this.concurrency} slot(s), capabilities ${this.capabilities.join(", ") || "none"}`);
    this.#writeStatus("running");
    this.#sweepWorktrees();
    this.#janitor = setInterval(() => this.#sweepWorktrees(), 3_600_000);
    this.#janitor.unref();
    for (const loop of [this.#heartbeatLoop(), this.#claims.run(), this.#deliveryLoop(), this.#messageLoop()]) void loop.catch((err) => this.#fatal(err));
  }

  /** Coding agents' worktrees on this machine: removed a day after success, a week after failure. */
  #sweepWorktrees() {
    try {
      const removed = sweepWorktrees(join(this.opts.stateDir, "workspaces"), { successTtlMs: 24 * 3_600_000, failureTtlMs: 7 * 24 * 3_600_000 });
      if (removed.length) log.info(`removed ${removed.length} agent worktree(s) past their time`);
    } catch (err) {
      log.warn(`sweeping agent worktrees failed: ${(err as Error).message}`);
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
      this.#link.online();
      if (res.draining && !this.#draining) {
        log.warn("an admin drained this worker on the server: finishing running tasks, then exiting");
        void this.drain();
      }
      for (const workOrderId of res.lost ?? []) {
        const item = this.#runner.held().find((i) => i.work_order_id === workOrderId);
        if (item && this.#runner.stop(item.execution_id)) {
          log.warn(`stopped ${item.task_type} task ${item.task_id}: the server says its lease is gone (another attempt may run it)`);
          this.#claims.slotFreed();
        }
      }
    } catch (err) {
      if (!(err instanceof WorkerApiError)) throw err;
      if (err.auth) throw err;
      if (err.status === 404) await this.#link.reregister(err, this.#stopClaiming.signal, () => this.#draining);
      else if (err.transient) this.#link.offline(err);
      else log.warn(`heartbeat refused: ${err.message}`);
    }
    this.#scheduleStatus();
  }

  #cpuPercent(): number {
    const now = performance.now();
    const usage = process.cpuUsage(this.#cpu.usage);
    const wallUs = (now - this.#cpu.at) * 1000;
    this.#cpu = { usage: process.cpuUsage(), at: now };
    return wallUs > 0 ? Math.round(((usage.user + usage.system) / wallUs) * 1000) / 10 : 0;
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
    this.#claims.slotFreed();
    this.#scheduleStatus();
  }

  /**
   * A task's question, over HTTP: POST /requests (with an id of our own, so a resend after a lost answer
   * is the same question), then long-polls GET /requests/:id/wait until it is resolved — riding out server
   * outages with backoff, while heartbeats keep the task's lease. Ends when the task is no longer held.
   */
  async #ask(item: ClaimItem, askId: number, input: AskInput): Promise<void> {
    const backoff = new Backoff(this.opts.backoff);
    const held = () => this.#runner.held().some((i) => i.execution_id === item.execution_id) && !this.#stopAll.signal.aborted;
    const body = { id: crypto.randomUUID(), task_id: item.task_id, execution_id: item.execution_id, ...input };
    let r: RequestAnswer | null = null;
    while (held()) {
      try {
        r = r === null ? await this.client.ask(body) : await this.client.waitRequest(r.id, 60, this.#stopAll.signal);
        backoff.reset();
        this.#link.online();
        if (r.status !== "open") break;
      } catch (err) {
        if (!(err instanceof WorkerApiError) || !err.transient) {
          this.#runner.answer(item.execution_id, askId, { ok: false, error: (err as Error).message });
          return;
        }
        this.#link.offline(err);
        await sleep(backoff.next(), this.#stopAll.signal);
      }
    }
    if (r && r.status !== "open") {
      this.#runner.answer(item.execution_id, askId, { ok: true, answer: { request_id: r.id, status: r.status, answer: r.answer, denied: r.denied, answered_by: r.answered_by } });
    }
  }

  /**
   * A task's service call, over HTTP. Resent while the server is unreachable (a model step carries its own
   * key, so a resend after a lost answer is the same step); any other refusal goes to the task as an error.
   */
  async #call(item: ClaimItem, callId: number, method: string, params: unknown): Promise<void> {
    const backoff = new Backoff(this.opts.backoff);
    for (;;) {
      try {
        const value = await this.client.call(this.id!, item.execution_id, method, params, this.#stopAll.signal);
        this.#runner.reply(item.execution_id, callId, { ok: true, value });
        return;
      } catch (err) {
        const transient = err instanceof WorkerApiError && err.transient && err.status !== 503;
        if (!transient || this.#stopAll.signal.aborted || !this.#runner.held().some((i) => i.execution_id === item.execution_id)) {
          this.#runner.reply(item.execution_id, callId, { ok: false, error: (err as Error).message, retryable: err instanceof WorkerApiError && err.transient });
          return;
        }
        this.#link.offline(err as WorkerApiError);
        await sleep(backoff.next(), this.#stopAll.signal);
      }
    }
  }

  /** Messages people send to the tasks this worker runs: long-polled, handed to each task's thread. */
  async #messageLoop(): Promise<void> {
    const backoff = new Backoff(this.opts.backoff);
    let after = 0;
    let epoch: string | undefined;
    while (!this.#stopAll.signal.aborted) {
      try {
        const res = await this.client.messages(this.id!, after, epoch, this.opts.claimWaitSeconds ?? 30, this.#stopAll.signal);
        backoff.reset();
        if (res.epoch !== epoch) after = 0; // the server restarted: its numbers start again
        epoch = res.epoch;
        for (const item of res.items) {
          after = Math.max(after, item.seq);
          this.#runner.deliver(item.execution_id, item.message);
        }
      } catch (err) {
        if (this.#stopAll.signal.aborted) return;
        if (!(err instanceof WorkerApiError)) throw err;
        if (err.auth) throw err;
        // A server without the endpoint, or that forgot this worker: not worth dying over; try again later.
        await sleep(backoff.next(), this.#stopAll.signal);
      }
    }
  }

  async #deliveryLoop(): Promise<void> {
    const backoff = new Backoff(this.opts.backoff);
    const send: OutboxSender = { report: (report) => this.client.report(this.id!, report) };
    while (!this.#stopAll.signal.aborted) {
      if (this.#claims.willCarry() && this.#outbox.waitedMs() < CARRY_WAIT_MS) {
        // The next claim takes it along: one request instead of two. Looked at again when it settles.
        await this.#outbox.waitForWork(CARRY_WAIT_MS, this.#stopAll.signal);
        continue;
      }
      const r = await this.#outbox.deliverOnce(send, this.#draining);
      if (r.state === "empty" || r.state === "busy") await this.#outbox.waitForWork(1000, this.#stopAll.signal);
      else if (r.state === "idle") await this.#outbox.waitForWork(r.dueInMs, this.#stopAll.signal);
      else if (r.state === "retry") {
        this.#link.offline(r.error);
        await sleep(backoff.next(), this.#stopAll.signal);
      } else {
        backoff.reset();
        this.#link.online();
        this.#scheduleStatus();
      }
    }
  }

  /** Outcomes and log lines not yet delivered. */
  get undelivered(): number {
    return this.#outbox.size;
  }

  // ---- status ----

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
      backing_off: this.#link.backingOff,
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
    const quick = this.#claims.quickClaim;
    if (quick) await Promise.race([quick, sleep(grace)]);
    if (!(await this.#runner.waitIdle(Math.max(0, deadline - Date.now())))) {
      const cut = this.#runner.held();
      log.warn(`${cut.length} task(s) still running after the ${Math.round(grace / 1000)}s grace: killed; their leases expire and they run again`);
    }
    await this.#runner.shutdown();
    while (this.#outbox.size > 0 && Date.now() < deadline + 10_000 && !this.#finished) await this.#outbox.waitForWork(50);
    if (this.#outbox.pendingOutcomes().length > 0) log.warn(`${this.#outbox.pendingOutcomes().length} outcome(s) could not be delivered: their leases expire and they run again`);
    // Goodbye: the server shows this worker offline now, not after three missed heartbeats.
    if (this.id) await this.client.offline(this.id, { instance_id: this.instanceId }).catch((err) => log.debug(`sign-off not delivered: ${(err as Error).message}`));
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
    if (this.#janitor) clearInterval(this.#janitor);
    this.#writeStatus("stopped");
    this.#resolveDone(code);
    return code;
  }
}
