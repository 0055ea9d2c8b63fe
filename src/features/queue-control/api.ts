// /api/v1/queue/pause|resume|purge (admins): stop and restart claiming, cancel the work nobody began.
import { Hono } from "hono";
import { z } from "zod";
import { QUEUES } from "../../db/schema.ts";
import { optionalJsonBody, route } from "../../http/openapi.ts";
import { actingOf } from "../auth/request.ts";
import { pauseQueue, purgeQueue, queuePause, resumeQueue } from "./service.ts";

const tags = ["queue"];

const PausedOut = z.object({ paused: z.object({ paused_at: z.string(), paused_by: z.string().nullable() }).nullable(), changed: z.boolean() });
const PurgeBody = z.strictObject({
  queue: z.enum(QUEUES).optional().describe("Only this queue (default: every queue)"),
  task_type: z.string().min(1).max(100).optional(),
  include_pending: z.boolean().default(false).describe("Also cancel tasks still waiting on their dependencies"),
});

const pause = route({
  method: "post",
  path: "/queue/pause",
  access: "admin",
  summary: "Pause the queue",
  description: "Nothing new is claimed — by this server's threads or any remote worker — until it is resumed; running tasks finish. Audited.",
  tags,
  responses: { 200: PausedOut },
});
const resume = route({ method: "post", path: "/queue/resume", access: "admin", summary: "Resume the queue", description: "Claims start again at once. Audited.", tags, responses: { 200: PausedOut } });
const purge = route({
  method: "post",
  path: "/queue/purge",
  access: "admin",
  summary: "Cancel every task waiting in the queue",
  description: "Cancels the queued tasks (and with include_pending those waiting on dependencies) that match; running tasks are left alone. Body optional. Audited.",
  tags,
  body: PurgeBody,
  responses: { 200: z.object({ cancelled: z.number() }) },
});

export const queueApi = new Hono()
  .post(pause.spec.path, (c) => {
    const { changed } = pauseQueue(c.get("deps"), actingOf(c));
    return c.json({ paused: queuePause(c.get("deps")), changed });
  })
  .post(resume.spec.path, (c) => {
    const { changed } = resumeQueue(c.get("deps"), actingOf(c));
    return c.json({ paused: queuePause(c.get("deps")), changed });
  })
  .post(purge.spec.path, async (c) => c.json(purgeQueue(c.get("deps"), await optionalJsonBody(c, PurgeBody), actingOf(c))));
