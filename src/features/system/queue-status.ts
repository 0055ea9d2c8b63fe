// How deep the work-order queues are: orders per queue and status, and the local threads' load.
import { QUEUES, WORK_ORDER_STATUSES, type QueueName, type WorkOrderStatus } from "../../db/schema.ts";
import type { EngineDeps } from "../../engine/engine-deps.ts";
import type { LocalRunner } from "../../engine/local-runner.ts";
import { countWorkOrders } from "../../queue/work-orders.ts";
import { queuePause } from "../queue-control/service.ts";
import { z } from "zod";

type Counts = Record<WorkOrderStatus, number>;
const zero = (): Counts => Object.fromEntries(WORK_ORDER_STATUSES.map((s) => [s, 0])) as Counts;

export function queueStatus(s: { deps: EngineDeps; pool: LocalRunner | null; workerId: string }) {
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
    paused: queuePause(s.deps),
  };
}


const counts = z.object(Object.fromEntries(WORK_ORDER_STATUSES.map((s) => [s, z.number()])) as Record<(typeof WORK_ORDER_STATUSES)[number], z.ZodNumber>);

export const QueueStatusOut = z.object({
  queues: z.object(Object.fromEntries(QUEUES.map((q) => [q, counts])) as Record<(typeof QUEUES)[number], typeof counts>),
  totals: counts,
  local_workers: z.object({ worker_id: z.string(), threads: z.number(), busy: z.number() }),
  paused: z.object({ paused_at: z.string(), paused_by: z.string().nullable() }).nullable().describe("Set while an admin has paused the queue: nothing is claimed"),
});
