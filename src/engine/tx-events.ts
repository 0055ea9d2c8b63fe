// What a transaction collects on the way: the events to publish once it committed, the plan runs
// whose steps changed (settled before the commit), and how many work orders became claimable.
import type { TaskStatus } from "../db/schema.ts";
import type { EventBus, EventMap } from "../events/bus.ts";

/** Events collected inside a transaction and published once it committed. */
export class TxEvents {
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
  events: TxEvents;
  at: number;
}

/** An execution closed outside a normal finish, as `executionsClosed` takes it (RETURNING CLOSED_COLUMNS). */
export interface ClosedExecution {
  id: string;
  task_id: string;
  worker_id: string;
  attempt: number;
}
export const CLOSED_COLUMNS = "id, task_id, worker_id, attempt";
