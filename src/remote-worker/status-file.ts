// The worker's status file (<state-dir>/status.json): written by a running worker on every change,
// read by `agentvine worker status` — the one way to ask a worker process what it is doing.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface WorkerStatus {
  pid: number;
  name: string;
  id: string | null;
  server: string;
  version: string;
  /** starting (registering), running, draining (stopping after SIGTERM), stopped */
  state: "starting" | "running" | "draining" | "stopped";
  concurrency: number;
  capabilities: string[];
  started_at: number;
  running: Array<{ work_order_id: string; execution_id: string; task_id: string; task_type: string; started_at: number }>;
  done: number;
  failed: number;
  /** Outcomes and log batches waiting to reach the server. */
  outbox: number;
  last_heartbeat_at: number | null;
  /** Set while the server is unreachable: what failed, and when the next try is. */
  backing_off: { since: number; failures: number; last_error: string } | null;
  /** When this file was written: a live worker rewrites it at least every heartbeat interval. */
  updated_at: number;
}

/** A status older than this means the worker is gone (it rewrites the file at least every 5 s). */
export const STALE_AFTER_MS = 30_000;

export const statusPath = (stateDir: string) => join(stateDir, "status.json");

/** Atomic: a reader never sees half a file. */
export function writeStatus(stateDir: string, status: WorkerStatus): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = statusPath(stateDir);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(status, null, 2), { mode: 0o600 });
  renameSync(tmp, path);
}

export function readStatus(stateDir: string): WorkerStatus | null {
  try {
    return JSON.parse(readFileSync(statusPath(stateDir), "utf8")) as WorkerStatus;
  } catch {
    return null;
  }
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s ago`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m ago`;
}

/**
 * What `agentvine worker status` prints, and whether the worker is alive: `live` false when there is
 * no file, the worker stopped, or the file is stale (the process died without saying so).
 */
export function describeStatus(status: WorkerStatus | null, stateDir: string, now = Date.now()): { live: boolean; lines: string[] } {
  if (!status) return { live: false, lines: [`no worker status in ${stateDir} (no worker has run with this --state-dir)`] };
  const lines = [
    `worker ${status.name}${status.id ? ` (${status.id})` : ""} → ${status.server}`,
    `  state:      ${status.state} (pid ${status.pid}, AgentVine ${status.version}, up since ${new Date(status.started_at).toISOString()})`,
    `  slots:      ${status.running.length}/${status.concurrency} busy; capabilities: ${status.capabilities.join(", ") || "none"}`,
    `  finished:   ${status.done} succeeded, ${status.failed} failed; ${status.outbox} waiting to be delivered`,
    `  heartbeat:  ${status.last_heartbeat_at ? ago(now - status.last_heartbeat_at) : "never"}`,
  ];
  if (status.backing_off) {
    const b = status.backing_off;
    lines.push(`  server unreachable since ${ago(now - b.since)} (${b.failures} failure(s)): ${b.last_error} — retrying with backoff`);
  }
  for (const r of status.running) lines.push(`  running:    ${r.task_type} task ${r.task_id} (order ${r.work_order_id}, started ${ago(now - r.started_at)})`);
  if (status.state === "stopped") {
    lines.push(`the worker stopped ${ago(now - status.updated_at)}`);
    return { live: false, lines };
  }
  const age = now - status.updated_at;
  if (age > STALE_AFTER_MS) {
    lines.push(`stale: last written ${ago(age)} — the worker is not running (killed, or its machine is down)`);
    return { live: false, lines };
  }
  return { live: true, lines };
}
