// Prometheus text exposition of the engine's state: task and work-order counts, local threads.
import type { EngineDeps } from "../../engine/engine-deps.ts";
import type { LocalRunner } from "../../engine/local-runner.ts";

export function metricsText(s: { deps: EngineDeps; pool: LocalRunner | null; startedAt: number }): string {
  const { sqlite } = s.deps.db;
  const lines: string[] = [];
  lines.push("# HELP agentvine_tasks Tasks by status.", "# TYPE agentvine_tasks gauge");
  for (const r of sqlite.query<{ status: string; n: number }, []>("SELECT status, count(*) AS n FROM tasks GROUP BY status").all()) {
    lines.push(`agentvine_tasks{status="${r.status}"} ${r.n}`);
  }
  lines.push("# HELP agentvine_work_orders Work orders by queue and status.", "# TYPE agentvine_work_orders gauge");
  for (const r of sqlite
    .query<{ queue: string; status: string; n: number }, []>("SELECT queue, status, count(*) AS n FROM work_orders GROUP BY status, queue")
    .all()) {
    lines.push(`agentvine_work_orders{queue="${r.queue}",status="${r.status}"} ${r.n}`);
  }
  lines.push("# HELP agentvine_executions_total Executions by status.", "# TYPE agentvine_executions_total counter");
  for (const r of sqlite.query<{ status: string; n: number }, []>("SELECT status, count(*) AS n FROM executions GROUP BY status").all()) {
    lines.push(`agentvine_executions_total{status="${r.status}"} ${r.n}`);
  }
  lines.push(
    "# HELP agentvine_local_threads Local worker threads.",
    "# TYPE agentvine_local_threads gauge",
    `agentvine_local_threads{state="total"} ${s.pool?.size ?? 0}`,
    `agentvine_local_threads{state="busy"} ${s.pool?.busyCount ?? 0}`,
    "# HELP agentvine_uptime_seconds Seconds since the server started.",
    "# TYPE agentvine_uptime_seconds gauge",
    `agentvine_uptime_seconds ${Math.round((Date.now() - s.startedAt) / 1000)}`,
  );
  return `${lines.join("\n")}\n`;
}
