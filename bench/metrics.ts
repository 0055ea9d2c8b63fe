// The cost of a Prometheus scrape with 100,000 tasks in the database (target < 50 ms): GET /metrics over
// loopback HTTP, and the registry alone, with tasks spread over statuses and types, 20,000 of them queued
// over three queues, questions, a ledger of LLM calls and a few workers.
//   bun bench/metrics.ts [--tasks 100000] [--scrapes 50]
import { parseArgs } from "node:util";
import { submitTasks, type NewTask } from "../src/engine/submit.ts";
import { embeddedServerOptions, startServer } from "../src/server.ts";
import { adminKey, bearer } from "./accounts.ts";
import { hardLimit, machineNote, median, percentile, table, tempDir } from "./lib.ts";

const { values: args } = parseArgs({ options: { tasks: { type: "string", default: "100000" }, scrapes: { type: "string", default: "50" } } });
const TASKS = Number(args.tasks);
const SCRAPES = Number(args.scrapes);
hardLimit(5 * 60_000, "metrics");
await machineNote("metrics");

const dataDir = tempDir();
const server = await startServer(embeddedServerOptions(dataDir, { workers: 0, rateLimit: 0, retainLogsDays: 0, retainTasksDays: 0, retainAuditDays: 0 }));
const deps = server.services.deps;
const { sqlite } = server.db;

// ---- fill ----
let t0 = performance.now();
const TYPES = ["hello", "shell", "http", "ask"];
const PRIORITIES = ["high", "default", "low"] as const;
for (let done = 0; done < TASKS; done += 1000) {
  const batch: NewTask[] = [];
  for (let i = done; i < Math.min(TASKS, done + 1000); i++) {
    const task_type = TYPES[i % TYPES.length]!;
    batch.push({
      title: `task ${i}`,
      task_type,
      params: task_type === "shell" ? { command: "true" } : task_type === "http" ? { url: "http://127.0.0.1:9/" } : task_type === "ask" ? { question: "ok?" } : { name: `n${i}` },
      priority: PRIORITIES[i % 3],
      timeout_seconds: 60,
      max_retries: 0,
    });
  }
  submitTasks(deps, batch);
}
// 80 % finished (their work orders completed or failed), 20 % left queued over the three queues.
sqlite.transaction(() => {
  sqlite.run("UPDATE tasks SET status = CASE WHEN rowid % 10 = 3 THEN 'failed' ELSE 'succeeded' END, finished_at = updated_at WHERE rowid % 5 <> 0");
  sqlite.run("UPDATE work_orders SET status = CASE WHEN rowid % 10 = 3 THEN 'failed' ELSE 'completed' END, finished_at = updated_at WHERE rowid % 5 <> 0");
  const ids = sqlite.query<{ id: string }, []>("SELECT id FROM tasks LIMIT 500").all();
  const request = sqlite.query(
    "INSERT INTO worker_requests (id, task_id, question, status, handler, route_action, on_timeout, created_at, updated_at, resolved_at) VALUES (?, ?, 'ok?', ?, ?, 'human', 'fail_task', 1, 1, ?)",
  );
  ids.forEach(({ id }, i) => request.run(`q${i}`, id, i % 4 === 0 ? "open" : "answered", i % 2 ? "human" : "automated", i % 4 === 0 ? null : 2));
  const ledger = sqlite.query(
    "INSERT INTO llm_ledger (id, purpose, model, status, day, reserved_usd, reserved_tokens, input_tokens, output_tokens, cost_usd, created_at, settled_at) VALUES (?, 'answer', ?, 'settled', '2026-01-01', 0.01, 2000, 1200, 300, 0.008, 1, 2)",
  );
  for (let i = 0; i < 20_000; i++) ledger.run(`l${i}`, i % 3 ? "claude-x" : "gpt-y");
  const worker = sqlite.query("INSERT INTO workers (id, name, worker_type, max_concurrent_tasks, last_heartbeat_at, created_at, updated_at) VALUES (?, ?, 'remote', 4, ?, 1, 1)");
  for (let i = 0; i < 20; i++) worker.run(`w${i}`, `worker-${i}`, i % 2 ? Date.now() : 1);
})();
sqlite.run("ANALYZE");
const fillSeconds = (performance.now() - t0) / 1000;
const counts = sqlite.query<{ status: string; n: number }, []>("SELECT status, count(*) AS n FROM tasks GROUP BY status").all();
console.log(`\nfilled in ${fillSeconds.toFixed(1)} s: ${counts.map((c) => `${c.n} ${c.status}`).join(", ")}; 500 questions, 20,000 ledger rows, 20 workers\n`);

// ---- scrape ----
const key = await adminKey(server.services.auth);
const http: number[] = [];
let bytes = 0;
let series = 0;
for (let i = 0; i < SCRAPES + 3; i++) {
  t0 = performance.now();
  const res = await fetch(`${server.url}/metrics`, { headers: bearer(key) });
  const text = await res.text();
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  if (i >= 3) http.push(ms); // the first scrapes warm the statement cache
  bytes = text.length;
  series = text.split("\n").filter((l) => l && !l.startsWith("#")).length;
}
const registry: number[] = [];
for (let i = 0; i < SCRAPES; i++) {
  t0 = performance.now();
  await server.services.metrics.scrape();
  registry.push(performance.now() - t0);
}
table(
  ["scrape (100k tasks)", "p50 ms", "p90 ms", "max ms", "series", "KB"],
  [
    ["GET /metrics over loopback HTTP", median(http), percentile(http, 90), Math.max(...http), series, Math.round(bytes / 1024)],
    ["registry.metrics() alone", median(registry), percentile(registry, 90), Math.max(...registry), series, Math.round(bytes / 1024)],
  ],
);
const ok = percentile(http, 90) < 50;
console.log(`\ntarget: a scrape under 50 ms → ${ok ? "met" : "NOT met"} (p90 ${percentile(http, 90).toFixed(1)} ms)`);
await server.stop(0);
process.exit(0);
