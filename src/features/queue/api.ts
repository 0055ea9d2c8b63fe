// /api/v1/queue: the state of the work-order queues.
import { Hono } from "hono";
import { z } from "zod";
import { QUEUES, WORK_ORDER_STATUSES } from "../../db/schema.ts";
import type { AppEnv } from "../../http/context.ts";
import { route } from "../../http/openapi.ts";
import { queueStatus } from "./service.ts";

const counts = z.object(Object.fromEntries(WORK_ORDER_STATUSES.map((s) => [s, z.number()])) as Record<(typeof WORK_ORDER_STATUSES)[number], z.ZodNumber>);

export const QueueStatusOut = z.object({
  queues: z.object(Object.fromEntries(QUEUES.map((q) => [q, counts])) as Record<(typeof QUEUES)[number], typeof counts>),
  totals: counts,
  local_workers: z.object({ worker_id: z.string(), threads: z.number(), busy: z.number() }),
});

const status = route({ method: "get", path: "/queue/status", access: "viewer", summary: "Queue depth per queue and status", tags: ["queue"], responses: { 200: QueueStatusOut } });

export const queueApi = new Hono<AppEnv>().get(status.spec.path, (c) => c.json(queueStatus(c.var)));
