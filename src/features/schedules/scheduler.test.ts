// Schedules against the real app and database, driven by an injected clock: runOnce(now) is called with
// the instants the test wants, so nothing sleeps. Slots start once, overlap policies, missed slots and
// catch-up after a restart, validation naming each field, and the shell role on save and enable.
import { afterEach, describe, expect, test } from "bun:test";
import { SYSTEM_ACTOR } from "../audit/service.ts";
import { createApiKey } from "../auth/api-keys.ts";
import { createUser } from "../auth/users.ts";
import { cleanup, json, startTestApp, tempDir, TEST_PASSWORD, until, type TestServer } from "../../../test/helpers.ts";
import type { ScheduleJson, ScheduleRunJson } from "./schemas.ts";

afterEach(cleanup);

const YEARLY = { cron: "0 0 1 1 *", timezone: "UTC" };
const hello = { title: "greet", task_type: "hello", params: { name: "cron" } };

async function create(server: TestServer, body: Record<string, unknown>, token?: string): Promise<Response> {
  return server.api("/schedules", { ...json(body), headers: token ? { authorization: `Bearer ${token}` } : {} });
}

async function runs(server: TestServer, id: string): Promise<ScheduleRunJson[]> {
  return ((await (await server.api(`/schedules/${id}/runs?per_page=100`)).json()) as { items: ScheduleRunJson[] }).items.reverse();
}

const slot = (year: number) => Date.UTC(year, 0, 1);
const yearOf = (iso: string) => new Date(iso).getUTCFullYear();

async function operatorKey(server: TestServer): Promise<string> {
  const user = await createUser(server.services.auth, { username: "ops-operator", password: TEST_PASSWORD, role: "operator" }, SYSTEM_ACTOR);
  return createApiKey(server.services.auth, { name: "op", scope: "api" }, { userId: user.id, actor: SYSTEM_ACTOR }).key;
}

describe("the scheduler, with an injected clock", () => {
  test("a slot starts its task once; an unfinished previous run makes the next slot skipped", async () => {
    const server = await startTestApp({ opsIntervalMs: 0 });
    const res = await create(server, { name: "yearly-hello", ...YEARLY, task: hello });
    expect(res.status).toBe(201);
    const s = (await res.json()) as ScheduleJson;
    expect(s.next_runs).toHaveLength(5);
    const first = Date.parse(s.next_run_at!);
    const scheduler = server.services.scheduler;

    expect(scheduler.runOnce(first - 1).started).toBe(0);
    expect(scheduler.runOnce(first + 500).started).toBe(1);
    expect(scheduler.runOnce(first + 900).started).toBe(0); // the same slot, again: nothing

    const [run] = await runs(server, s.id);
    expect(run).toMatchObject({ outcome: "started", trigger: "cron", scheduled_for: new Date(first).toISOString() });
    const task = (await (await server.api(`/tasks/${run!.task_id}`)).json()) as { title: string; metadata: Record<string, unknown>; created_by: string };
    expect(task.title).toBe("greet");
    expect(task.metadata).toMatchObject({ schedule: "yearly-hello", scheduled_for: new Date(first).toISOString() });

    // No threads run in this app: the first task is still queued when the next year's slot comes.
    const second = slot(yearOf(s.next_run_at!) + 1);
    expect(scheduler.runOnce(second + 10).skipped).toBe(1);
    const all = await runs(server, s.id);
    expect(all.map((r) => r.outcome)).toEqual(["started", "skipped"]);
    expect(all[1]!.reason).toContain(run!.task_id!);
    const page = await (await server.get(`/schedules/${s.id}`)).text();
    expect(page).toContain('data-run="skipped"');
  });

  test("overlap: queue waits for the previous run to finish; cancel stops it and starts the new one", async () => {
    const server = await startTestApp({ opsIntervalMs: 0 });
    const queued = (await (await create(server, { name: "queued", ...YEARLY, overlap: "queue", task: hello })).json()) as ScheduleJson;
    const cancelling = (await (await create(server, { name: "cancelling", ...YEARLY, overlap: "cancel", task: hello })).json()) as ScheduleJson;
    const first = Date.parse(queued.next_run_at!);
    const second = slot(yearOf(queued.next_run_at!) + 1);
    const scheduler = server.services.scheduler;
    expect(scheduler.runOnce(first + 1).started).toBe(2);
    const pass = scheduler.runOnce(second + 1);
    expect(pass).toMatchObject({ waiting: 1, started: 1 });

    const [q1, q2] = await runs(server, queued.id);
    expect(q2).toMatchObject({ outcome: "waiting", task_id: null });
    // The previous run finishes (cancelled here): the queued one starts at once, without another pass.
    expect((await server.api(`/tasks/${q1!.task_id}/cancel`, { method: "POST" })).status).toBe(200);
    const started = await until(server.services.deps.bus, ["task:changed"], () => {
      const row = server.db.sqlite.query<{ outcome: string; task_id: string | null }, [string]>("SELECT outcome, task_id FROM schedule_runs WHERE id = ?").get(q2!.id)!;
      return row.outcome === "started" ? row : null;
    });
    expect(started.task_id).not.toBe(q1!.task_id);

    const [c1, c2] = await runs(server, cancelling.id);
    expect(c2).toMatchObject({ outcome: "started" });
    const previous = (await (await server.api(`/tasks/${c1!.task_id}`)).json()) as { status: string; error: string };
    expect(previous.status).toBe("cancelled");
    expect(previous.error).toContain("cancelling");
  });

  test("slots missed while the server was down: recorded, and caught up once (or not) after a restart", async () => {
    const dataDir = tempDir();
    let server = await startTestApp({ dataDir, opsIntervalMs: 0 });
    const once = (await (await create(server, { name: "catch-up-once", ...YEARLY, task: hello })).json()) as ScheduleJson;
    const none = (await (await create(server, { name: "catch-up-none", ...YEARLY, catch_up: "none", task: hello })).json()) as ScheduleJson;
    await server.stop(0);

    // Back four years later (plus a day): four slots passed while nothing ran.
    server = await startTestApp({ dataDir, opsIntervalMs: 0 });
    const y = yearOf(once.next_run_at!);
    const pass = server.services.scheduler.runOnce(slot(y + 3) + 86_400_000);
    expect(pass).toMatchObject({ started: 1, missed: 7 });
    const a = await runs(server, once.id);
    expect(a.map((r) => [yearOf(r.scheduled_for), r.outcome, r.trigger])).toEqual([
      [y, "missed", "cron"],
      [y + 1, "missed", "cron"],
      [y + 2, "missed", "cron"],
      [y + 3, "started", "catch_up"],
    ]);
    const b = await runs(server, none.id);
    expect(b.map((r) => r.outcome)).toEqual(["missed", "missed", "missed", "missed"]);
    expect(b[3]!.reason).toContain("catch-up is off");
    // Both look ahead again from "now".
    const after = (await (await server.api(`/schedules/${none.id}`)).json()) as ScheduleJson;
    expect(yearOf(after.next_run_at!)).toBeGreaterThanOrEqual(yearOf(new Date().toISOString()));
  });

  test("run now, and a plan schedule whose plan went away fails visibly", async () => {
    const server = await startTestApp({ opsIntervalMs: 0 });
    const plan = { name: "greet-plan", steps: [{ name: "greet", task_type: "hello", params: { name: "{{inputs.who}}" } }] };
    expect((await server.api("/plans", json(plan))).status).toBe(201);
    const s = (await (await create(server, { name: "plan-run", ...YEARLY, plan: { name: "greet-plan", inputs: { who: "Ada" } } })).json()) as ScheduleJson;
    const now = await server.api(`/schedules/${s.id}/run`, { method: "POST" });
    expect(now.status).toBe(201);
    const run = (await now.json()) as ScheduleRunJson;
    expect(run).toMatchObject({ outcome: "started", trigger: "manual" });
    const task = (await (await server.api(`/tasks/${run.task_id}`)).json()) as { task_type: string; params: { inputs: unknown } };
    expect(task).toMatchObject({ task_type: "plan", params: { inputs: { who: "Ada" } } });

    await server.api(`/tasks/${run.task_id}/cancel`, { method: "POST" });
    expect((await server.api("/plans/greet-plan", { method: "DELETE" })).status).toBe(204);
    const failed = (await (await server.api(`/schedules/${s.id}/run`, { method: "POST" })).json()) as ScheduleRunJson;
    expect(failed.outcome).toBe("failed");
    expect(failed.reason).toContain("greet-plan");
  });
});

describe("the schedules API", () => {
  test("bad input is a 400 naming each field, and nothing is written", async () => {
    const server = await startTestApp({ opsIntervalMs: 0 });
    const cases: Array<[Record<string, unknown>, string[]]> = [
      [{ name: "x", cron: "61 * * * *", task: hello }, ["cron"]],
      [{ name: "x", cron: "* * * * *", timezone: "Mars/Olympus", task: hello }, ["timezone"]],
      [{ name: "x", cron: "* * * * *" }, ["task"]],
      [{ name: "x", cron: "* * * * *", task: hello, plan: { name: "p" } }, ["plan"]],
      [{ name: "x", cron: "* * * * *", task: { ...hello, task_type: "nope" } }, ["task.task_type"]],
      [{ name: "x", cron: "* * * * *", task: { ...hello, params: { name: 5 } } }, ["task.params.name"]],
      [{ name: "x", cron: "* * * * *", task: { ...hello, params: { name: "{{secrets.NOPE}}" } } }, ["task.params.name"]],
      [{ name: "x", cron: "* * * * *", plan: { name: "no-such-plan" } }, ["plan.name"]],
      [{ name: "x", cron: "* * * * *", overlap: "sometimes", task: hello }, ["overlap"]],
      [{ name: "", cron: "bad", task: hello, colour: "red" }, ["colour"]],
    ];
    for (const [body, fields] of cases) {
      const res = await create(server, body);
      expect(res.status).toBe(400);
      const err = (await res.json()) as { error: { code: string; details: Array<{ field: string }> } };
      expect(err.error.code).toBe("validation_failed");
      for (const f of fields) expect(err.error.details.map((d) => d.field)).toContain(f);
    }
    expect(((await (await server.api("/schedules")).json()) as { total: number }).total).toBe(0);
    expect((await create(server, { name: "dup", cron: "@daily", task: hello })).status).toBe(201);
    expect((await create(server, { name: "dup", cron: "@daily", task: hello })).status).toBe(409);
    expect((await server.api("/schedules/nope")).status).toBe(404);
    expect((await server.api("/schedules/dup", { ...json({ cron: "nope" }), method: "PATCH" })).status).toBe(400);
  });

  test("a schedule of shell tasks needs the shell role to be saved enabled, enabled, or changed while enabled", async () => {
    const server = await startTestApp({ opsIntervalMs: 0 });
    const operator = await operatorKey(server);
    const shell = { title: "ls", task_type: "shell", params: { command: "ls" } };
    const refused = await create(server, { name: "sh", cron: "@daily", task: shell }, operator);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain("--shell-role");
    // Saved disabled by the operator: nothing runs; enabling it is the admin's call.
    const off = await create(server, { name: "sh", cron: "@daily", enabled: false, task: shell }, operator);
    expect(off.status).toBe(201);
    expect(((await off.json()) as ScheduleJson).runs_on_host).toBe(true);
    const enable = (token?: string) => server.api("/schedules/sh", { ...json({ enabled: true }), method: "PATCH", headers: token ? { authorization: `Bearer ${token}` } : {} });
    expect((await enable(operator)).status).toBe(403);
    expect((await enable()).status).toBe(200);
    const change = await server.api("/schedules/sh", { ...json({ cron: "@hourly" }), method: "PATCH", headers: { authorization: `Bearer ${operator}` } });
    expect(change.status).toBe(403);
    // A plan with a shell step counts the same; a hello task does not.
    await server.api("/plans", json({ name: "with-shell", steps: [{ name: "a", task_type: "shell", params: { command: "true" } }] }));
    expect((await create(server, { name: "p", cron: "@daily", plan: { name: "with-shell" } }, operator)).status).toBe(403);
    expect((await create(server, { name: "h", cron: "@daily", task: hello }, operator)).status).toBe(201);
    // Run now acts like a retry: an operator may run what an admin enabled.
    expect((await server.api("/schedules/sh/run", { method: "POST", headers: { authorization: `Bearer ${operator}` } })).status).toBe(201);
  });
});
