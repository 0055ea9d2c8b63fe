// What the server *is* at scrape time, read from the database (each an index scan or seek, so a scrape
// stays cheap with 100,000 tasks: bench/metrics.ts) and from the parts that keep it in memory.
import { Counter, Gauge, type Registry } from "prom-client";
import { QUEUES } from "../../db/schema.ts";
import type { EngineDeps } from "../../engine/engine-deps.ts";
import type { LocalRunner } from "../../engine/local-runner.ts";
import { openSseStreams } from "../../http/sse.ts";
import { countWorkOrders, oldestClaimable } from "../../queue/work-orders.ts";
import type { DataDirFigures } from "../retention/data-dir-usage.ts";
import { countWorkers } from "../workers/service.ts";

export interface ScrapeSources {
  /** The server's task threads (built after the metrics, hence a getter). */
  pool: () => LocalRunner | null;
  startedAt: number;
  version: string;
  /** The data dir's size and free space, as last measured (retention measures it on its passes). */
  dataDir?: () => DataDirFigures | null;
  /** Open WebSockets (the chat's). */
  websockets?: () => number;
}

/** A gauge whose every label set is recomputed at each scrape (so a label set that vanished goes too). */
function scraped<L extends string>(r: Registry, name: string, help: string, labelNames: L[], fill: (set: (labels: Record<L, string>, v: number) => void) => void) {
  return new Gauge<L>({
    name,
    help,
    labelNames,
    registers: [r],
    collect() {
      this.reset();
      fill((labels, v) => this.set(labels, v));
    },
  });
}

export function registerScrapeGauges(r: Registry, deps: EngineDeps, s: ScrapeSources): void {
  const { sqlite } = deps.db;
  const now = () => (deps.clock ?? Date.now)();
  const tasksByStatusType = sqlite.query<{ status: string; task_type: string; n: number }, []>(
    "SELECT status, task_type, count(*) AS n FROM tasks INDEXED BY tasks_status_type_idx GROUP BY status, task_type",
  );
  const queuedByQueue = sqlite.query<{ queue: string; n: number }, []>(
    "SELECT queue, count(*) AS n FROM work_orders INDEXED BY work_orders_status_idx WHERE status = 'queued' GROUP BY queue",
  );
  const questions = sqlite.query<{ status: string; handler: string; n: number }, []>("SELECT status, handler, count(*) AS n FROM worker_requests GROUP BY status, handler");
  const llm = sqlite.query<{ model: string; input: number | null; output: number | null; cost: number | null; calls: number }, []>(
    `SELECT model, sum(input_tokens) AS input, sum(output_tokens) AS output, sum(cost_usd) AS cost, count(*) AS calls
       FROM llm_ledger WHERE status = 'settled' GROUP BY model`,
  );

  scraped(r, "agentvine_tasks", "Tasks by status and type.", ["status", "task_type"], (set) => {
    for (const row of tasksByStatusType.all()) set({ status: row.status, task_type: row.task_type }, row.n);
  });
  scraped(r, "agentvine_work_orders", "Work orders by queue and status.", ["queue", "status"], (set) => {
    for (const row of countWorkOrders(deps.db)) set({ queue: row.queue, status: row.status }, row.count);
  });
  scraped(r, "agentvine_queue_depth", "Work orders waiting in each queue (queued, including those backing off).", ["queue"], (set) => {
    const depth = new Map(queuedByQueue.all().map((row) => [row.queue, row.n]));
    for (const q of QUEUES) set({ queue: q }, depth.get(q) ?? 0);
  });
  scraped(r, "agentvine_queue_oldest_age_seconds", "How long the oldest claimable work order of each queue has been waiting (0 when none).", ["queue"], (set) => {
    const at = now();
    for (const [queue, runAt] of Object.entries(oldestClaimable(deps.db, at))) set({ queue }, runAt === null ? 0 : Math.max(0, at - runAt) / 1000);
  });
  scraped(r, "agentvine_workers", "Registered workers by type (local, remote) and status (idle, busy, offline, error).", ["worker_type", "status"], (set) => {
    for (const row of countWorkers(deps)) set({ worker_type: row.worker_type, status: row.status }, row.count);
  });
  scraped(r, "agentvine_local_threads", "The server's task threads: total, ready (loaded) and busy.", ["state"], (set) => {
    const pool = s.pool();
    set({ state: "total" }, pool?.size ?? 0);
    set({ state: "ready" }, pool?.readyCount ?? 0);
    set({ state: "busy" }, pool?.busyCount ?? 0);
  });
  scraped(r, "agentvine_sse_connections", "Open Server-Sent Events streams (pages, task and log tails).", [], (set) => set({}, openSseStreams()));
  scraped(r, "agentvine_websocket_connections", "Open WebSockets (chat conversations).", [], (set) => set({}, s.websockets?.() ?? 0));
  scraped(r, "agentvine_questions", "Questions from tasks by status (open, answered, timed_out, cancelled) and handler (automated, human, none).", ["status", "handler"], (set) => {
    for (const row of questions.all()) set({ status: row.status, handler: row.handler }, row.n);
  });

  // Totals over the ledger's settled calls: counters (they only grow; the ledger is never purged).
  const llmRows = () => llm.all();
  let llmCache: ReturnType<typeof llmRows> = [];
  new Counter({
    name: "agentvine_llm_tokens_total",
    help: "Tokens the controller's LLM calls used, by model and direction (input, output).",
    labelNames: ["model", "direction"],
    registers: [r],
    collect() {
      this.reset();
      llmCache = llmRows();
      for (const row of llmCache) {
        this.inc({ model: row.model, direction: "input" }, row.input ?? 0);
        this.inc({ model: row.model, direction: "output" }, row.output ?? 0);
      }
    },
  });
  new Counter({
    name: "agentvine_llm_cost_usd_total",
    help: "What the controller's LLM calls cost (USD, at the configured prices), by model.",
    labelNames: ["model"],
    registers: [r],
    collect() {
      this.reset();
      for (const row of llmCache) this.inc({ model: row.model }, row.cost ?? 0);
    },
  });
  new Counter({
    name: "agentvine_llm_calls_total",
    help: "LLM calls settled in the ledger, by model.",
    labelNames: ["model"],
    registers: [r],
    collect() {
      this.reset();
      for (const row of llmCache) this.inc({ model: row.model }, row.calls);
    },
  });

  scraped(r, "agentvine_data_dir_bytes", "Bytes used under the data dir, by part (as last measured).", ["part"], (set) => {
    const figures = s.dataDir?.();
    for (const [part, bytes] of Object.entries(figures?.bytes ?? {})) set({ part }, bytes);
  });
  scraped(r, "agentvine_data_dir_free_bytes", "Free bytes on the data dir's file system (as last measured).", [], (set) => {
    const free = s.dataDir?.()?.freeBytes;
    if (free != null) set({}, free);
  });
  scraped(r, "agentvine_uptime_seconds", "Seconds since the server started.", [], (set) => set({}, Math.round((Date.now() - s.startedAt) / 1000)));
  scraped(r, "agentvine_build_info", "Always 1; the version is the label.", ["version"], (set) => set({ version: s.version }, 1));
}
