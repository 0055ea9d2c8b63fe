// GET /events — the pages' live-update stream (SSE), fed by the event bus through the LiveHub.
//
//   GET /events?topics=dashboard,tasks,plans,workers,chat,context,requests,answers,task:<id>,exec:<id>,log:<execution id>,questions:<task id>,steps:<task id>&v=<version>&after=<seq>
//
// Events (see hub.ts): `dashboard`, `tasks`, `plans`, `workers`, `requests`, `answers`, `task`, `execution`,
// `questions` carry only the topic name: the page refreshes a container (`hx-trigger="sse:tasks"`), which is
// race-free. Bursts are folded: the first change goes out at once, later ones at most once per topic window
// (dashboard 1 s, tasks and plans 500 ms, workers 1 s, requests 50 ms, questions 100 ms, task and answers 150 ms).
// public/app.js adds `requests` to every page's stream: the nav's Inbox badge follows it.
// `log` carries the new lines of one execution as HTML (`sse-swap="log"`, appended);
// its SSE id is the last seq, and the stream first replays the lines after `after` (or Last-Event-ID).
// `v` is the hub version the page was rendered at: topics that changed since are sent at once, so
// nothing falls between rendering a page and opening its stream, nor during a reconnect.
// The stream ends once its user is deactivated or signed out (or its API key revoked): the EventSource
// then reconnects and is sent to sign in.
import { Hono } from "hono";
import { invalid } from "../../errors.ts";
import { encodeSseFrame, sseResponse } from "../../http/sse.ts";
import { accessGuard } from "../auth/principals.ts";
import { renderLogLines } from "../../../views/tasks/logs.tsx";
import type { LogLine } from "../../engine/task-logger.ts";
import { TOPIC_PATTERN, type LiveHub, type Topic } from "./hub.ts";

declare module "hono" {
  interface ContextVariableMap {
    /** The live-update hub behind GET /events, one instance per app (set by createApp). */
    live: LiveHub;
  }
}

const MAX_TOPICS = 10;
/** A reconnect after a long gap replays at most this many lines (the newest). */
const MAX_REPLAY = 5000;

export const liveRoutes = new Hono().get("/events", (c) => {
  const hub = c.get("live");
  const topics = (c.req.query("topics") ?? "").split(",").filter(Boolean);
  if (topics.length === 0 || topics.length > MAX_TOPICS || !topics.every((t) => TOPIC_PATTERN.test(t))) {
    throw invalid("topics: a comma-separated list of dashboard, tasks, plans, workers, chat, context, requests, answers, task:<id>, exec:<id>, log:<execution id>, questions:<task id>, steps:<task id>", [
      { field: "topics", message: "unknown or missing topic" },
    ]);
  }
  const logTopics = topics.filter((t) => t.startsWith("log:"));
  if (logTopics.length > 1) throw invalid("at most one log topic per stream", [{ field: "topics", message: "more than one log:<id>" }]);
  const v = Number(c.req.query("v"));
  const since = Number.isSafeInteger(v) && v > 0 ? v : null;
  const lastEventId = Number(c.req.header("last-event-id"));
  const afterParam = Number(c.req.query("after") ?? 0);
  let after = Number.isSafeInteger(afterParam) && afterParam > 0 ? afterParam : 0;
  if (Number.isSafeInteger(lastEventId) && lastEventId > after) after = lastEventId;

  c.get("holdOpen")();
  const { logger } = c.var;
  const auth = c.get("auth");
  const guard = accessGuard(auth.principals, c.get("principal"), auth.clock);
  return sseResponse(c.req.raw.signal, (sse) => {
    const sub = { write: (frame: Uint8Array) => sse.sendRaw(frame), after };
    // Subscribe before reading the history so no line falls between the two; the hub skips seq <= after.
    const off = hub.subscribe(topics as Topic[], sub, since);
    const logTopic = logTopics[0];
    if (logTopic) {
      const executionId = logTopic.slice(4);
      let lines: LogLine[] = [];
      for (let cursor = after; ; ) {
        const chunk = logger.history(executionId, { after: cursor, limit: 1000 });
        lines.push(...chunk);
        if (lines.length > MAX_REPLAY) lines = lines.slice(-MAX_REPLAY);
        if (chunk.length < 1000) break;
        cursor = chunk.at(-1)!.seq;
      }
      if (lines.length > 0) {
        const last = lines.at(-1)!.seq;
        sse.sendRaw(encodeSseFrame("log", renderLogLines(lines.map((l) => ({ ...l, executionId: l.execution_id }))), last));
        sub.after = Math.max(sub.after, last);
      }
    }
    return off;
  }, { guard });
});
