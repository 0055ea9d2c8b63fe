// The server log's lines about each task's life — claimed, retrying, finished, its questions asked and
// resolved — each carrying the task's correlation id, so `grep <correlation id>` over the log follows it
// from the request that made it to its end. Finishing and questions are `info`; the rest `debug`.
import type { Db } from "../db/client.ts";
import type { EventBus } from "../events/bus.ts";
import { enabled, logger } from "../log.ts";

const log = logger("tasks");
const CACHE_LIMIT = 10_000;

export class TaskTrail {
  #offs: Array<() => void>;
  #correlation = new Map<string, string | null>();

  constructor(
    private readonly db: Db,
    bus: EventBus,
    /** The local worker's id: its claims are `local`, others `remote`. */
    localWorkerId: string,
  ) {
    this.#offs = [
      bus.on("execution:started", (e) => {
        if (!enabled("debug")) return;
        const where = e.workerId === localWorkerId ? "a local thread" : `worker ${e.workerId}`;
        log.debug(`task ${e.taskId} started on ${where} (attempt ${e.attempt})`, this.#fields(e.taskId, { execution_id: e.executionId, worker_id: e.workerId }));
      }),
      bus.on("task:retrying", (e) => {
        log.info(`task ${e.taskId} attempt ${e.attempt} failed: retrying at ${new Date(e.runAt).toISOString()}`, this.#fields(e.taskId, { task_type: e.taskType, attempt: e.attempt }));
      }),
      bus.on("task:changed", (e) => {
        if (e.status === "succeeded") log.info(`task ${e.taskId} succeeded`, this.#fields(e.taskId, { task_type: e.taskType, status: e.status }));
        else if (e.status === "failed" || e.status === "timed_out") {
          log.info(`task ${e.taskId} ${e.status === "failed" ? "failed" : "timed out"}${e.error ? `: ${e.error}` : ""}`, this.#fields(e.taskId, { task_type: e.taskType, status: e.status }));
        } else if (e.status === "cancelled") log.info(`task ${e.taskId} cancelled`, this.#fields(e.taskId, { task_type: e.taskType, status: e.status }));
        else if (enabled("debug")) log.debug(`task ${e.taskId} ${e.status}`, this.#fields(e.taskId, { task_type: e.taskType, status: e.status }));
        if (e.status === "succeeded" || e.status === "failed" || e.status === "timed_out" || e.status === "cancelled") this.#correlation.delete(e.taskId);
      }),
      bus.on("task:deleted", (e) => this.#correlation.delete(e.taskId)),
      bus.on("request:created", (e) => {
        log.info(`task ${e.taskId} asked question ${e.requestId} (${e.handler === "human" ? "waiting for a human" : e.handler === "automated" ? "the LLM answers" : "resolved at once"})`, this.#fields(e.taskId, { request_id: e.requestId, handler: e.handler }));
      }),
      bus.on("request:resolved", (e) => {
        log.info(`task ${e.taskId}'s question ${e.requestId} ${e.status}`, this.#fields(e.taskId, { request_id: e.requestId, status: e.status, handler: e.handler }));
      }),
      bus.on("lease:expired", (e) => log.warn(`${e.count} work order(s) went back to the queue: their worker's lease expired`)),
    ];
  }

  close(): void {
    for (const off of this.#offs) off();
  }

  #fields(taskId: string, more: Record<string, unknown>): Record<string, unknown> {
    const correlation = this.#correlationOf(taskId);
    return correlation ? { task_id: taskId, correlation_id: correlation, ...more } : { task_id: taskId, ...more };
  }

  #correlationOf(taskId: string): string | null {
    if (this.#correlation.has(taskId)) return this.#correlation.get(taskId)!;
    let value: string | null = null;
    try {
      value = this.db.sqlite.query<{ correlation_id: string | null }, [string]>("SELECT correlation_id FROM tasks WHERE id = ?").get(taskId)?.correlation_id ?? null;
    } catch {
      value = null; // the database is closing
    }
    if (this.#correlation.size >= CACHE_LIMIT) this.#correlation.delete(this.#correlation.keys().next().value!);
    this.#correlation.set(taskId, value);
    return value;
  }
}
