// Health, about, the queue's depth, the task-type catalogue and the OpenAPI document.
import { Hono } from "hono";
import { z } from "zod";
import { openApiDocument, route } from "../../http/openapi.ts";
import { TASK_TYPES } from "../../task-types/index.ts";
import { effectiveLlm } from "../controller/controller-settings.ts";
import { checkHealth, HealthOut } from "./health.ts";
import { QueueStatusOut, queueStatus } from "./queue-status.ts";

const tags = ["system"];

const health = route({
  method: "get",
  path: "/health",
  access: "public",
  summary: "Health of each part, for load balancers (no auth)",
  description:
    "Checks the database, the data dir's free disk space, the queue, the local threads, the controller and the workers online. `status` is `ok` or `warning` with 200, `degraded` with 503 (a failing check: the database does not answer, the disk is full, no task thread can start).",
  tags,
  responses: { 200: HealthOut, 503: HealthOut },
});
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
    const { health, httpStatus } = checkHealth({
      deps: s.deps,
      disk: s.disk,
      pool: s.pool,
      version: s.version,
      startedAt: s.startedAt,
      controllerModel: () => effectiveLlm({ db: s.deps.db, config: s.controllerConfig, secrets: s.secrets }),
    });
    return c.json(health, httpStatus);
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
