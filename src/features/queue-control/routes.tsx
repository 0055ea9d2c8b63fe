/** @jsxImportSource hono/jsx */
// /queue/pause|resume|purge (admins), from the Tasks page: each answers the queue's bar again with a toast,
// or sends a browser without JS back to /tasks with the toast as a flash.
import { Hono, type Context } from "hono";
import { QUEUES, type QueueName } from "../../db/schema.ts";
import { actionDone } from "../../pages/render.tsx";
import { QueueControls } from "../../../views/queue-control/controls.tsx";
import { actingOf } from "../auth/request.ts";
import { getUserRecord } from "../auth/users.ts";
import { pauseQueue, purgeQueue, queuePause, resumeQueue } from "./service.ts";

function bar(c: Context) {
  const paused = queuePause(c.get("deps"));
  const pausedBy = paused?.paused_by ? (getUserRecord(c.get("auth"), paused.paused_by)?.username ?? null) : null;
  return <QueueControls paused={paused} pausedBy={pausedBy} isAdmin />;
}

export const queueRoutes = new Hono()
  .post("/pause", (c) => {
    const { changed } = pauseQueue(c.get("deps"), actingOf(c));
    return actionDone(c, { message: changed ? "Queue paused: nothing new starts until you resume it" : "The queue was already paused", level: changed ? "success" : "info", redirect: "/tasks", body: bar(c) });
  })
  .post("/resume", (c) => {
    const { changed } = resumeQueue(c.get("deps"), actingOf(c));
    return actionDone(c, { message: changed ? "Queue resumed" : "The queue was not paused", level: changed ? "success" : "info", redirect: "/tasks", body: bar(c) });
  })
  .post("/purge", async (c) => {
    const form = await c.req.parseBody();
    const queue = (QUEUES as readonly string[]).includes(String(form.queue)) ? (form.queue as QueueName) : undefined;
    const { cancelled } = purgeQueue(c.get("deps"), { queue }, actingOf(c));
    return actionDone(c, { message: `Purged: ${cancelled} queued task${cancelled === 1 ? "" : "s"} cancelled`, redirect: "/tasks", body: bar(c) });
  });
