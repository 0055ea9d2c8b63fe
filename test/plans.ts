// Factories for plan tests: create and run plans over HTTP, read a run's steps, wait for tasks.
import { expect } from "bun:test";
import type { TaskJson } from "../src/engine/task-record.ts";
import type { PlanJson } from "../src/features/plans/service.ts";
import { AWAIT_GATE } from "./gate.ts";
import { json, until, type startTestServer } from "./helpers.ts";

export type Server = Awaited<ReturnType<typeof startTestServer>>;
export type Step = Record<string, unknown>;
export type ErrorJson = { error: { code: string; message: string; details: Array<{ field?: string; message: string }> } };

export const helloStep = (name: string, extra: Step = {}): Step => ({ name, task_type: "hello", params: { name }, ...extra });

export async function createPlan(server: Server, body: Record<string, unknown>): Promise<PlanJson> {
  const res = await server.api("/plans", json(body));
  if (res.status !== 201) throw new Error(`POST /plans answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as PlanJson;
}

/** POST /plans/:id/run; expects 201. */
export async function runPlan(server: Server, idOrName: string, body?: unknown): Promise<TaskJson> {
  const res = await server.api(`/plans/${encodeURIComponent(idOrName)}/run`, body === undefined ? { method: "POST" } : json(body));
  if (res.status !== 201) throw new Error(`POST /plans/${idOrName}/run answered ${res.status}: ${await res.text()}`);
  const run = (await res.json()) as TaskJson;
  expect(res.headers.get("location")).toBe(`/api/v1/tasks/${run.id}`);
  return run;
}

export async function getTask(server: Server, id: string): Promise<TaskJson> {
  const res = await server.api(`/tasks/${id}`);
  expect(res.status).toBe(200);
  return (await res.json()) as TaskJson;
}

/** Long-polls until the task is terminal (bounded at 20 s by the server). */
export async function waitTask(server: Server, id: string): Promise<TaskJson> {
  const res = await server.api(`/tasks/${id}/wait?timeout=20`);
  expect(res.status).toBe(200);
  return (await res.json()) as TaskJson;
}

/** A run's child tasks by step name, as the API shows them. */
export async function stepsOf(server: Server, runId: string): Promise<Record<string, TaskJson>> {
  const res = await server.api(`/tasks?parent_task_id=${runId}&per_page=100`);
  expect(res.status).toBe(200);
  const page = (await res.json()) as { items: TaskJson[] };
  return Object.fromEntries(page.items.map((t) => [String(t.metadata?.plan_step), t]));
}

/** Raw times (ms) of the run's steps, read from the database. */
export function timesOf(server: Server, runId: string): Record<string, { started: number; finished: number }> {
  const rows = server.db.sqlite
    .query<{ step: string; started_at: number; finished_at: number }, [string]>(
      "SELECT json_extract(metadata, '$.plan_step') AS step, started_at, finished_at FROM tasks WHERE parent_task_id = ?",
    )
    .all(runId);
  return Object.fromEntries(rows.map((r) => [r.step, { started: r.started_at, finished: r.finished_at }]));
}

export function statusOf(server: Server, id: string): string | undefined {
  return server.db.sqlite.query<{ status: string }, [string]>("SELECT status FROM tasks WHERE id = ?").get(id)?.status;
}

/** Resolves once the run's step `name` has `status` (checked after every task change). */
export async function untilStep(server: Server, runId: string, name: string, status: string) {
  await until(server.services.deps.bus, ["task:changed"], () =>
    server.db.sqlite
      .query("SELECT 1 FROM tasks WHERE parent_task_id = ? AND json_extract(metadata, '$.plan_step') = ? AND status = ?")
      .get(runId, name, status),
  );
}

export function count(server: Server, table: string): number {
  return server.db.sqlite.query<{ n: number }, []>(`SELECT count(*) AS n FROM ${table}`).get()!.n;
}

/** Every status the task went through, from the bus, from now on. */
export function statusTrail(server: Server) {
  const trail: Array<{ taskId: string; status: string }> = [];
  server.services.deps.bus.on("task:changed", (e) => trail.push({ taskId: e.taskId, status: e.status }));
  return (id: string) => trail.filter((e) => e.taskId === id).map((e) => e.status);
}

/** A shell step that runs until the test opens its gate (deterministic "still running"). */
export const heldStep = (name: string, g: { env: { GATE: string } }, extra = {}) => ({
  name,
  task_type: "shell",
  params: { command: AWAIT_GATE, shell: true, env: g.env },
  ...extra,
});
