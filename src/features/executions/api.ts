// /api/v1/executions: every attempt of every task, and its logs — read back or tailed live (SSE).
import { Hono } from "hono";
import { z } from "zod";
import { EXECUTION_STATUSES, LOG_LEVELS } from "../../db/schema.ts";
import { levelAtLeast } from "../../engine/task-logger.ts";
import { route } from "../../http/openapi.ts";
import { sseResponse } from "../../http/sse.ts";
import { accessGuard } from "../auth/principals.ts";
import { streamSlot } from "../auth/request.ts";
import { listOf, Pagination } from "../../http/pagination.ts";
import { ExecutionOut, getExecution, listExecutions, LogLineOut } from "./service.ts";

const tags = ["executions"];

const ListQuery = z.strictObject({
  ...Pagination,
  task_id: z.string().max(100).optional(),
  worker_id: z.string().max(200).optional(),
  status: z.enum(EXECUTION_STATUSES).optional(),
});

const LogsQuery = z.strictObject({
  after: z.coerce.number().int().min(0).default(0).describe("Only lines with seq greater than this"),
  level: z.enum(LOG_LEVELS).optional().describe("Minimum level"),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

const list = route({ method: "get", path: "/executions", access: "viewer", summary: "List executions", tags, query: ListQuery, responses: { 200: listOf(ExecutionOut) } });
const get = route({ method: "get", path: "/executions/:id", access: "viewer", summary: "Get an execution", tags, responses: { 200: ExecutionOut } });
const logs = route({
  method: "get",
  path: "/executions/:id/logs",
  access: "viewer",
  summary: "Read or tail an execution's log",
  description:
    "JSON: lines after `after`. With `Accept: text/event-stream`: the history, then every new line live (`log` events, id = seq; " +
    "resumes from Last-Event-ID), then an `end` event when the execution finishes.",
  tags,
  query: LogsQuery,
  responses: { 200: z.object({ items: z.array(LogLineOut), next_after: z.number(), finished: z.boolean() }) },
});

export const executionsApi = new Hono()
  .get(list.spec.path, list.query, (c) => c.json(listExecutions(c.get("deps").db, c.req.valid("query"))))
  .get(get.spec.path, (c) => c.json(getExecution(c.get("deps").db, c.get("logger"), c.req.param("id"))))
  .get(logs.spec.path, logs.query, (c) => {
    const { logger, deps } = c.var;
    const id = c.req.param("id");
    const execution = getExecution(deps.db, logger, id); // 404 first
    const q = c.req.valid("query");
    const lastEventId = Number(c.req.header("last-event-id"));
    const after = Number.isFinite(lastEventId) && lastEventId > q.after ? lastEventId : q.after;
    const wantsStream = (c.req.header("accept") ?? "").includes("text/event-stream");
    if (!wantsStream) {
      const items = logger.history(id, { after, level: q.level, limit: q.limit }).map(toJsonLine);
      return c.json({ items, next_after: items.at(-1)?.seq ?? after, finished: execution.status !== "running" });
    }
    const release = streamSlot(c); // 429 past --max-streams
    c.get("holdOpen")();
    const auth = c.get("auth");
    const guard = accessGuard(auth.principals, c.get("principal"), auth.clock);
    return sseResponse(c.req.raw.signal, (sse) => {
      let last = after;
      const live: Array<{ seq: number; send: () => void }> = [];
      let replaying = true;
      // Subscribe before reading history so no line falls between the two; dedupe by seq.
      const offLog = deps.bus.on("log:appended", (e) => {
        if (e.executionId !== id) return;
        const send = () => {
          if (e.seq <= last) return;
          last = e.seq;
          if (!q.level || levelAtLeast(e.level, q.level)) sse.send("log", toJsonLine({ ...e, execution_id: id }), e.seq);
        };
        if (replaying) live.push({ seq: e.seq, send });
        else send();
      });
      const offEnd = deps.bus.on("execution:finished", (e) => {
        if (e.executionId !== id) return;
        queueMicrotask(() => {
          sse.send("end", { status: e.status });
          sse.close();
        });
      });
      // The replay is bounded (the newest lines, MAX_REPLAY_LINES and MAX_REPLAY_BYTES at most): older ones
      // are announced as `skipped`, to be read page by page with the JSON form of this endpoint.
      const replay = boundedReplay(logger.newest(id, { after, limit: MAX_REPLAY_LINES }));
      const first = replay[0]?.seq;
      if (first !== undefined && first > after + 1) {
        sse.send("skipped", { after, before: first, message: `older lines: GET /api/v1/executions/${id}/logs?after=${after} (JSON, paged)` });
      }
      for (const line of replay) {
        if (line.seq > last) {
          last = line.seq;
          if (!q.level || levelAtLeast(line.level, q.level)) sse.send("log", toJsonLine(line), line.seq);
        }
      }
      replaying = false;
      for (const l of live) l.send();
      if (getExecution(deps.db, logger, id).status !== "running") {
        sse.send("end", { status: getExecution(deps.db, logger, id).status });
        sse.close();
      }
      return () => {
        offLog();
        offEnd();
      };
    }, { guard, release }); // ends once the caller's key is revoked, user deactivated or session ended
  });

/** What a log stream replays at most when it opens: every open stream holds it once more. */
const MAX_REPLAY_LINES = 5000;
const MAX_REPLAY_BYTES = 256 * 1024;

/** The newest of `lines` that fit in MAX_REPLAY_BYTES. */
function boundedReplay<L extends { message: string }>(lines: L[]): L[] {
  let bytes = 0;
  let from = lines.length;
  while (from > 0 && bytes + lines[from - 1]!.message.length <= MAX_REPLAY_BYTES) bytes += lines[--from]!.message.length;
  return lines.slice(from);
}

function toJsonLine(l: { execution_id?: string; executionId?: string; seq: number; level: string; message: string; metadata: unknown; ts: number }) {
  return {
    execution_id: l.execution_id ?? l.executionId!,
    seq: l.seq,
    level: l.level,
    message: l.message,
    metadata: l.metadata ?? null,
    ts: new Date(l.ts).toISOString(),
  };
}
