// The server's Prometheus metrics (prom-client): what happens is counted as it happens — HTTP requests,
// claims, completions, failures, retries, lease expiries, task durations, questions — from the event bus
// and the request middleware; what *is* (tasks by status, queue depth, workers, open questions, LLM spend)
// is read from the database when Prometheus scrapes (scrape-gauges.ts).
import client, { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { EngineDeps } from "../../engine/engine-deps.ts";
import type { AnsweredRequest } from "../../http/request-context.ts";
import { registerScrapeGauges, type ScrapeSources } from "./scrape-gauges.ts";

/** Seconds: from a cached page (1 ms) to a long-poll that ran its course (30 s). */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Seconds: from a hello task (ms) to an agent working for hours. */
const TASK_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600];
/** Seconds: an automated answer (s) to a human's next morning. */
const ANSWER_BUCKETS = [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600];
const NOT_UNDER_BUN = [
  "nodejs_active_resources",
  "nodejs_active_resources_total",
  "nodejs_active_handles",
  "nodejs_active_handles_total",
  "nodejs_active_requests",
  "nodejs_active_requests_total",
  "nodejs_heap_space_size_total_bytes",
  "nodejs_heap_space_size_used_bytes",
  "nodejs_heap_space_size_available_bytes",
];
const TERMINAL = new Set(["succeeded", "failed", "cancelled", "timed_out"]);

export interface ServerMetricsOptions extends ScrapeSources {
  deps: EngineDeps;
  /** The local worker's id: its claims count as `local`, everyone else's as `remote`. */
  localWorkerId: string;
}

export class ServerMetrics {
  readonly registry = new Registry();
  readonly #httpRequests: Counter<"method" | "route" | "status">;
  readonly #httpDuration: Histogram<"method" | "route" | "status">;
  readonly sinkLines: Counter<"sink" | "outcome">;
  readonly sinkBuffered: Gauge<"sink">;
  readonly retentionDeleted: Counter<"kind">;
  #offs: Array<() => void> = [];
  /** Tasks running now → when they first started (for their duration once they finish). */
  #started = new Map<string, number>();

  constructor(private readonly opts: ServerMetricsOptions) {
    const r = this.registry;
    client.collectDefaultMetrics({ register: r, eventLoopMonitoringPrecision: 20 });
    // Node's handle and heap-space figures read 0 under Bun, and the `_total` gauges fail promtool's lint.
    for (const name of NOT_UNDER_BUN) r.removeSingleMetric(name);
    this.#httpRequests = new Counter({ name: "agentvine_http_requests_total", help: "HTTP requests answered, by method, route pattern and status.", labelNames: ["method", "route", "status"], registers: [r] });
    this.#httpDuration = new Histogram({ name: "agentvine_http_request_duration_seconds", help: "Time to answer an HTTP request (to its headers, for streams).", labelNames: ["method", "route", "status"], buckets: HTTP_BUCKETS, registers: [r] });
    this.sinkLines = new Counter({ name: "agentvine_log_sink_lines_total", help: "Task log lines handed to an external sink: sent, or dropped (buffer full, or the sink refused them).", labelNames: ["sink", "outcome"], registers: [r] });
    this.sinkBuffered = new Gauge({ name: "agentvine_log_sink_buffered_lines", help: "Task log lines waiting to be sent to an external sink.", labelNames: ["sink"], registers: [r] });
    this.retentionDeleted = new Counter({ name: "agentvine_retention_deleted_total", help: "Rows and files removed by retention, by kind.", labelNames: ["kind"], registers: [r] });
    this.#countEvents(r);
    registerScrapeGauges(r, opts.deps, opts);
  }

  /** What a log sink counts: lines sent, dropped, and waiting in its buffer. */
  sinkCounters(sink: string) {
    return {
      sent: (n: number) => this.sinkLines.inc({ sink, outcome: "sent" }, n),
      dropped: (n: number) => this.sinkLines.inc({ sink, outcome: "dropped" }, n),
      buffered: (n: number) => this.sinkBuffered.set({ sink }, n),
    };
  }

  /** Bound children per label set: a request then costs two calls, no label hashing. */
  #httpSeries = new Map<string, { count: { inc(): void }; duration: { observe(v: number): void } }>();

  /** The request middleware's report: one per answered request. */
  observeHttp(a: AnsweredRequest): void {
    const key = `${a.method} ${a.status} ${a.route}`;
    let series = this.#httpSeries.get(key);
    if (!series) {
      const labels = { method: a.method, route: a.route, status: String(a.status) };
      series = { count: this.#httpRequests.labels(labels), duration: this.#httpDuration.labels(labels) };
      this.#httpSeries.set(key, series);
    }
    series.count.inc();
    series.duration.observe(a.seconds);
  }

  /** The Prometheus text exposition. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close(): void {
    for (const off of this.#offs) off();
    this.#offs = [];
  }

  #countEvents(r: Registry) {
    const { bus, db } = this.opts.deps;
    const claims = new Counter({ name: "agentvine_queue_claims_total", help: "Work orders claimed and started, by kind of worker.", labelNames: ["worker_type"], registers: [r] });
    const completions = new Counter({ name: "agentvine_queue_completions_total", help: "Attempts that succeeded.", registers: [r] });
    const failures = new Counter({ name: "agentvine_queue_failures_total", help: "Attempts that did not succeed, by how they ended.", labelNames: ["reason"], registers: [r] });
    const retries = new Counter({ name: "agentvine_queue_retries_total", help: "Failed attempts queued again with backoff, by task type.", labelNames: ["task_type"], registers: [r] });
    const expiries = new Counter({ name: "agentvine_queue_lease_expiries_total", help: "Work orders returned to the queue because their worker's lease ran out.", registers: [r] });
    const finished = new Counter({ name: "agentvine_tasks_finished_total", help: "Tasks that reached a final status, by type and status.", labelNames: ["task_type", "status"], registers: [r] });
    const duration = new Histogram({ name: "agentvine_task_duration_seconds", help: "From a task's first start to its final status, by type and status.", labelNames: ["task_type", "status"], buckets: TASK_BUCKETS, registers: [r] });
    const asked = new Counter({ name: "agentvine_questions_asked_total", help: "Questions running tasks asked, by who the policy gave them to.", labelNames: ["handler"], registers: [r] });
    const resolved = new Counter({ name: "agentvine_questions_resolved_total", help: "Questions answered, timed out or cancelled, by status and handler.", labelNames: ["status", "handler"], registers: [r] });
    const answerLatency = new Histogram({ name: "agentvine_question_answer_seconds", help: "From a question to its resolution (resolved_at − created_at), by handler and status.", labelNames: ["handler", "status"], buckets: ANSWER_BUCKETS, registers: [r] });
    const requestTimes = db.sqlite.query<{ created_at: number; resolved_at: number | null }, [string]>("SELECT created_at, resolved_at FROM worker_requests WHERE id = ?");

    this.#offs.push(
      bus.on("execution:started", (e) => claims.inc({ worker_type: e.workerId === this.opts.localWorkerId ? "local" : "remote" })),
      bus.on("execution:finished", (e) => (e.status === "succeeded" ? completions.inc() : failures.inc({ reason: e.status }))),
      bus.on("task:retrying", (e) => retries.inc({ task_type: e.taskType })),
      bus.on("lease:expired", (e) => expiries.inc(e.count)),
      bus.on("task:changed", (e) => {
        if (e.status === "running") {
          if (!this.#started.has(e.taskId)) this.#started.set(e.taskId, e.at);
        } else if (TERMINAL.has(e.status)) {
          finished.inc({ task_type: e.taskType, status: e.status });
          const start = this.#started.get(e.taskId);
          if (start !== undefined) {
            this.#started.delete(e.taskId);
            duration.observe({ task_type: e.taskType, status: e.status }, Math.max(0, e.at - start) / 1000);
          }
        }
      }),
      bus.on("task:deleted", (e) => this.#started.delete(e.taskId)),
      bus.on("request:created", (e) => asked.inc({ handler: e.handler })),
      bus.on("request:resolved", (e) => {
        resolved.inc({ status: e.status, handler: e.handler });
        const row = requestTimes.get(e.requestId);
        if (row) answerLatency.observe({ handler: e.handler, status: e.status }, Math.max(0, (row.resolved_at ?? e.at) - row.created_at) / 1000);
      }),
    );
  }
}
