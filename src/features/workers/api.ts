// /api/v1/workers: the registry's JSON API — register (or resume), list, read, heartbeat, drain.
import type { Context } from "hono";
import { Hono } from "hono";
import { route } from "../../http/openapi.ts";
import { audited } from "../audit/service.ts";
import { hasRole } from "../auth/middleware.ts";
import { actingOf } from "../auth/request.ts";
import { listOf } from "../../http/pagination.ts";
import { DrainOut, HeartbeatBody, HeartbeatOut, ListWorkersQuery, RegisterWorkerBody, SignOffBody, WorkerOut } from "./schemas.ts";
import { drainWorker, getWorker, heartbeatWorker, listWorkers, registerWorker, signOffWorker, type WorkerCaller, type WorkerDeps } from "./service.ts";

const tags = ["workers"];

const register = route({
  method: "post",
  path: "/workers",
  access: "worker",
  summary: "Register a worker (or resume one by name)",
  description: "201 with a new worker; 200 with the same id when a worker of that name registered before (it stops draining). Counts as a heartbeat.",
  tags,
  body: RegisterWorkerBody,
  responses: { 200: WorkerOut, 201: WorkerOut },
});
const list = route({ method: "get", path: "/workers", access: "viewer", summary: "List workers", tags, query: ListWorkersQuery, responses: { 200: listOf(WorkerOut) } });
const get = route({ method: "get", path: "/workers/:id", access: "viewer", summary: "Get a worker", tags, responses: { 200: WorkerOut } });
const heartbeat = route({
  method: "post",
  path: "/workers/:id/heartbeat",
  access: "worker",
  summary: "Heartbeat: load, CPU, memory and the work orders it runs",
  description: "Expected every 5 s; a worker silent for 15 s is offline. Extends the leases of the listed work orders by 30 s and names those it no longer holds (`lost`). The answer's `draining` tells the worker to stop claiming.",
  tags,
  body: HeartbeatBody,
  responses: { 200: HeartbeatOut },
});
const signOff = route({
  method: "post",
  path: "/workers/:id/offline",
  access: "worker",
  summary: "Sign off: the worker is stopping",
  description: "A worker that stops cleanly says so: it is offline at once (not after 15 s of silence) and its name is free to start again. Anything it still holds goes back to the queue.",
  tags,
  body: SignOffBody,
  responses: { 200: WorkerOut },
});
const drain = route({
  method: "delete",
  path: "/workers/:id",
  access: "admin",
  summary: "Drain a worker",
  description: "It gets no new work and the work orders it holds go back to the queue at once; its late results are refused.",
  tags,
  responses: { 200: DrainOut },
});

/** The registry's dependencies: the engine's, with the server's clock (tests move it instead of sleeping). */
const registryOf = (c: Context): WorkerDeps => ({ ...c.get("deps"), clock: c.get("auth").clock });

function callerOf(c: Context): WorkerCaller {
  const principal = c.get("principal");
  return { keyId: principal?.keyId ?? null, admin: hasRole(principal, "admin") };
}

export const workersApi = new Hono()
  .post(register.spec.path, ...register.json, (c) => {
    const { worker, created } = registerWorker(registryOf(c), c.req.valid("json"), callerOf(c));
    return created ? c.json(worker, 201, { Location: `/api/v1/workers/${worker.id}` }) : c.json(worker, 200);
  })
  .get(list.spec.path, list.query, (c) => c.json(listWorkers(registryOf(c), c.req.valid("query"))))
  .get(get.spec.path, (c) => c.json(getWorker(registryOf(c), c.req.param("id"))))
  .post(heartbeat.spec.path, ...heartbeat.json, (c) => c.json(heartbeatWorker(registryOf(c), c.req.param("id"), c.req.valid("json"), callerOf(c))))
  .post(signOff.spec.path, ...signOff.json, (c) => c.json(signOffWorker(registryOf(c), c.req.param("id"), c.req.valid("json"), callerOf(c))))
  .delete(drain.spec.path, (c) => {
    const id = c.req.param("id");
    const result = drainWorker(registryOf(c), id);
    audited(c.get("deps"), actingOf(c), "worker.drained", { type: "worker", id }, { released: result.released });
    return c.json(result);
  });
