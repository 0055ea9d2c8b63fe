// Queue status: counts of work orders per queue and status, and what the local threads are doing.
import { QUEUES, WORK_ORDER_STATUSES, type QueueName, type WorkOrderStatus } from "../../db/schema.ts";
import type { AppServices } from "../../http/context.ts";
import { countWorkOrders } from "../../queue/work-orders.ts";

type Counts = Record<WorkOrderStatus, number>;
const zero = (): Counts => Object.fromEntries(WORK_ORDER_STATUSES.map((s) => [s, 0])) as Counts;

export function queueStatus(s: Pick<AppServices, "deps" | "pool" | "workerId">) {
  const queues = Object.fromEntries(QUEUES.map((q) => [q, zero()])) as Record<QueueName, Counts>;
  const totals = zero();
  for (const row of countWorkOrders(s.deps.db)) {
    queues[row.queue][row.status] += row.count;
    totals[row.status] += row.count;
  }
  return {
    queues,
    totals,
    local_workers: { worker_id: s.workerId, threads: s.pool?.size ?? 0, busy: s.pool?.busyCount ?? 0 },
  };
}
