// One transaction per transition: `transact` runs the change, lets plan parents follow their children
// inside the same transaction, commits, and only then publishes the collected events.
import type { TaskStatus } from "../db/schema.ts";
import type { EventBus, EventMap } from "../events/bus.ts";
import type { EngineDeps } from "./deps.ts";
import { settleParents } from "./parent-status.ts";

/** Events collected inside a transaction and published once it committed. */
export class Outbox {
  #events: Array<[keyof EventMap, unknown]> = [];
  #ready = 0;
  /** Parents whose children changed in this transaction. */
  readonly touchedParents = new Set<string>();

  add<K extends keyof EventMap>(event: K, payload: EventMap[K]) {
    this.#events.push([event, payload]);
  }

  taskChanged(t: { id: string; status: TaskStatus; task_type: string; parent_task_id: string | null }, at: number, error?: string | null) {
    this.add("task:changed", { taskId: t.id, status: t.status, taskType: t.task_type, parentTaskId: t.parent_task_id, at, error });
    if (t.parent_task_id) this.touchedParents.add(t.parent_task_id);
  }

  /** An execution closed outside a normal finish (cancel, release, refused): its log tail must end too. */
  executionsClosed(rows: Array<{ id: string; task_id: string; worker_id: string; attempt: number }>, status: string, at: number) {
    for (const r of rows) this.add("execution:finished", { executionId: r.id, taskId: r.task_id, workerId: r.worker_id, status, attempt: r.attempt, at });
  }

  /** `count` work orders became claimable: one queue:ready goes out after the commit. */
  ready(count: number) {
    this.#ready += count;
  }

  publish(bus: EventBus) {
    for (const [event, payload] of this.#events) bus.emit(event, payload as never);
    if (this.#ready > 0) bus.emit("queue:ready", { count: this.#ready });
  }
}

export interface Tx {
  outbox: Outbox;
  at: number;
}

/** Runs `fn` in one IMMEDIATE transaction. `fn` must be synchronous: bun:sqlite commits at the first await. */
export function transact<T>(deps: EngineDeps, fn: (tx: Tx) => T): T {
  const tx: Tx = { outbox: new Outbox(), at: (deps.clock ?? Date.now)() };
  const result = deps.db.sqlite
    .transaction(() => {
      const value = fn(tx);
      settleParents(deps, tx);
      return value;
    })
    .immediate();
  tx.outbox.publish(deps.bus);
  return result;
}
