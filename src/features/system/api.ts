// Health, about, the queue's depth, the task-type catalogue and the OpenAPI document.
import { Hono } from "hono";
import { z } from "zod";
import { openApiDocument, route } from "../../http/openapi.ts";
import { TASK_TYPES } from "../../task-types/index.ts";
import { QueueStatusOut, queueStatus } from "./queue-status.ts";

const tags = ["system"];

const HealthOut = z.object({
  status: z.enum(["ok", "degraded"]),
  version: z.string(),
  uptime_seconds: z.number(),
  checks: z.object({
    db: z.object({ ok: z.boolean(), latency_ms: z.number(), error: z.string().optional() }),
    queue: z.object({ ok: z.boolean(), queued: z.number(), claimed: z.number() }),
    workers: z.object({ ok: z.boolean(), local_threads: z.number(), busy: z.number() }),
    disk: z
      .object({
        ok: z.boolean(),
        status: z.enum(["ok", "low", "full"]).describe("low: under the free-space floor; full: a write just failed for want of space"),
        free_bytes: z.number().nullable(),
        total_bytes: z.number().nullable(),
        last_failure: z.object({ at: z.string(), what: z.string(), error: z.string() }).optional(),
      })
      .describe("The data dir's disk"),
  }),
});

const health = route({ method: "get", path: "/health", access: "public", summary: "Liveness and readiness (no auth)", tags, responses: { 200: HealthOut, 503: HealthOut } });
const about = route({ method: "get", path: "/about", access: "viewer", summary: "Version and build facts", tags, responses: { 200: z.record(z.string(), z.unknown()) } });
const types = route({
  method: "get",
  path: "/task-types",
  access: "viewer",
  summary: "Registered task types with the JSON Schema of their params",
  tags,
  responses: { 200: z.object({ items: z.array(z.object({ name: z.string(), description: z.string(), params_schema: z.unknown() })) }) },
});
const queue = route({ method: "get", path: "/queue/status", access: "viewer", summary: "Queue depth per queue and status", tags: ["queue"], responses: { 200: QueueStatusOut } });
const spec = route({ method: "get", path: "/openapi.json", access: "public", summary: "This document", tags, responses: { 200: "OpenAPI 3.1 document" } });

export const systemApi = new Hono()
  .get(health.spec.path, (c) => {
    const s = c.var;
    const started = performance.now();
    let db: { ok: boolean; latency_ms: number; error?: string };
    try {
      s.deps.db.sqlite.query("SELECT 1").get();
      db = { ok: true, latency_ms: +(performance.now() - started).toFixed(3) };
    } catch (err) {
      db = { ok: false, latency_ms: +(performance.now() - started).toFixed(3), error: (err as Error).message };
    }
    let queue = { ok: false, queued: 0, claimed: 0 };
    if (db.ok) {
      const q = queueStatus(s);
      queue = { ok: true, queued: q.totals.queued, claimed: q.totals.claimed };
    }
    // Threads that cannot start (a broken build) make the server unable to run anything: not healthy.
    const workers = { ok: !s.pool || s.pool.readyCount > 0, local_threads: s.pool?.readyCount ?? 0, busy: s.pool?.busyCount ?? 0 };
    // A full disk makes every write fail (507): not healthy, and said so (the data dir's check is DiskWatch.check()).
    const disk = s.disk.check();
    const ok = db.ok && queue.ok && workers.ok && disk.status !== "full";
    return c.json(
      {
        status: ok ? ("ok" as const) : ("degraded" as const),
        version: s.version,
        uptime_seconds: Math.round((Date.now() - s.startedAt) / 1000),
        checks: { db, queue, workers, disk },
      },
      ok ? 200 : 503,
    );
  })
  .get(about.spec.path, (c) =>
    c.json({
      name: "AgentVine",
      version: c.get("version"),
      bun: Bun.version,
      compiled: Bun.isStandaloneExecutable,
      started_at: new Date(c.get("startedAt")).toISOString(),
      worker_id: c.get("workerId"),
      task_types: [...TASK_TYPES.keys()],
      docs: "/api/v1/openapi.json",
    }),
  )
  .get(types.spec.path, (c) =>
    c.json({
      items: [...TASK_TYPES.values()].map((t) => ({
        name: t.name,
        description: t.description,
        params_schema: z.toJSONSchema(t.params, { io: "input", unrepresentable: "any" }),
      })),
    }),
  )
  .get(queue.spec.path, (c) => c.json(queueStatus(c.var)))
  .get(spec.spec.path, (c) => c.json(openApiDocument({ version: c.get("version"), serverUrl: new URL(c.req.url).origin })));
