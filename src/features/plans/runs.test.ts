// Plan runs over real HTTP with real worker threads: order, fan-out/fan-in, inputs and step results,
// the run endpoint and the run list. A run is a parent task whose children are the steps; failures,
// retry and cancel are in run-control.test.ts.
import { afterEach, describe, expect, test } from "bun:test";
import { gate } from "../../../test/gate.ts";
import { cleanup, json, startTestServer } from "../../../test/helpers.ts";
import {
  count,
  createPlan,
  helloStep,
  runPlan,
  statusOf,
  statusTrail,
  stepsOf,
  timesOf,
  untilStep,
  waitTask,
  heldStep as held,
  type ErrorJson,
} from "../../../test/plans.ts";
import type { TaskJson } from "../../engine/task-record.ts";

afterEach(cleanup);

describe("a sequential plan", () => {
  test("runs its steps in order; the parent goes running → succeeded with every step's result", async () => {
    const server = await startTestServer();
    const trail = statusTrail(server);
    const plan = await createPlan(server, { name: "seq", steps: [helloStep("one"), helloStep("two"), helloStep("three")] });
    const run = await runPlan(server, plan.id);
    expect(run).toMatchObject({ task_type: "plan", status: "running", title: "seq (v1)", parent_task_id: null });
    expect(run.params).toEqual({ plan_id: plan.id, plan_name: "seq", version: 1, inputs: {} });

    const done = await waitTask(server, run.id);
    expect(done.status).toBe("succeeded");
    expect(done.error).toBeNull();
    expect(done.result).toEqual({
      steps: { one: { message: "Hello, one!" }, two: { message: "Hello, two!" }, three: { message: "Hello, three!" } },
    });
    expect(trail(run.id)).toEqual(["running", "succeeded"]);

    const steps = await stepsOf(server, run.id);
    expect(steps.one!.depends_on).toEqual([]);
    expect(steps.two!.depends_on).toEqual([steps.one!.id]);
    expect(steps.three!.depends_on).toEqual([steps.two!.id]);
    for (const s of Object.values(steps)) expect(s).toMatchObject({ status: "succeeded", parent_task_id: run.id, attempts: 1 });
    // Only the root was queued at once; the others waited as pending.
    expect(trail(steps.one!.id)[0]).toBe("queued");
    expect(trail(steps.two!.id)[0]).toBe("pending");
    expect(trail(steps.three!.id)[0]).toBe("pending");

    const t = timesOf(server, run.id);
    expect(t.two!.started).toBeGreaterThanOrEqual(t.one!.finished);
    expect(t.three!.started).toBeGreaterThanOrEqual(t.two!.finished);
    // The parent finished with its last step.
    expect(Date.parse(done.finished_at!)).toBe(t.three!.finished);

    // The plan shows its last run.
    const shown = (await (await server.api(`/plans/${plan.id}`)).json()) as { last_run: unknown };
    expect(shown.last_run).toEqual({ id: run.id, status: "succeeded", created_at: run.created_at });
  });
});

describe("a DAG", () => {
  test("fan-out / fan-in: b and c run after a, d after both", async () => {
    const server = await startTestServer();
    const plan = await createPlan(server, {
      name: "diamond",
      steps: [
        helloStep("d", { depends_on: ["b", "c"] }),
        helloStep("a"),
        helloStep("b", { depends_on: ["a"] }),
        helloStep("c", { depends_on: ["a"] }),
      ],
    });
    const run = await runPlan(server, plan.name);
    expect((await waitTask(server, run.id)).status).toBe("succeeded");
    const steps = await stepsOf(server, run.id);
    expect(steps.a!.depends_on).toEqual([]);
    expect(steps.b!.depends_on).toEqual([steps.a!.id]);
    expect(steps.c!.depends_on).toEqual([steps.a!.id]);
    expect([...steps.d!.depends_on].sort()).toEqual([steps.b!.id, steps.c!.id].sort());
    const t = timesOf(server, run.id);
    expect(t.b!.started).toBeGreaterThanOrEqual(t.a!.finished);
    expect(t.c!.started).toBeGreaterThanOrEqual(t.a!.finished);
    expect(t.d!.started).toBeGreaterThanOrEqual(Math.max(t.b!.finished, t.c!.finished));
  });

  test("d stays pending while one of its two dependencies still runs", async () => {
    const server = await startTestServer();
    const g = gate();
    const plan = await createPlan(server, {
      name: "join",
      steps: [helloStep("a"), held("slow", g, { depends_on: ["a"] }), helloStep("fast", { depends_on: ["a"] }), helloStep("d", { depends_on: ["slow", "fast"] })],
    });
    const run = await runPlan(server, plan.id);
    await untilStep(server, run.id, "fast", "succeeded");
    await untilStep(server, run.id, "slow", "running");
    const steps = await stepsOf(server, run.id);
    expect(steps.d!.status).toBe("pending");
    expect(statusOf(server, run.id)).toBe("running");
    g.open();
    expect((await waitTask(server, run.id)).status).toBe("succeeded");
  });
});

describe("inputs and step results", () => {
  test("a missing input is a 400 naming inputs.NAME, and no task is created", async () => {
    const server = await startTestServer();
    const plan = await createPlan(server, {
      name: "needs",
      steps: [
        { name: "greet", task_type: "hello", params: { name: "{{inputs.who}}" } },
        { name: "again", task_type: "hello", params: { name: "{{inputs.who}} and {{inputs.other}}" } },
      ],
    });
    const res = await server.api(`/plans/${plan.id}/run`, json({ inputs: { other: "x" } }));
    expect(res.status).toBe(400);
    const err = (await res.json()) as ErrorJson;
    expect(err.error.code).toBe("validation_failed");
    expect(err.error.message).toBe("missing run inputs: inputs.who");
    expect(err.error.details).toEqual([
      { field: "inputs.who", message: "required by step 'greet'" },
      { field: "inputs.who", message: "required by step 'again'" },
    ]);
    // No body at all: both are missing.
    const none = await server.api(`/plans/${plan.id}/run`, { method: "POST" });
    expect(((await none.json()) as ErrorJson).error.message).toBe("missing run inputs: inputs.who, inputs.other");
    // An inherited property name is not a given input.
    const plan2 = await createPlan(server, { name: "proto", steps: [{ name: "g", task_type: "hello", params: { name: "{{inputs.constructor}}" } }] });
    const proto = await server.api(`/plans/${plan2.id}/run`, json({ inputs: {} }));
    expect(proto.status).toBe(400);
    expect(((await proto.json()) as ErrorJson).error.details[0]!.field).toBe("inputs.constructor");
    expect(count(server, "tasks")).toBe(0);
    expect(count(server, "plan_runs")).toBe(0);
  });

  test("{{inputs.x}} is substituted; a whole-string template keeps the JSON type (a number into http timeout_seconds)", async () => {
    const server = await startTestServer();
    const plan = await createPlan(server, {
      name: "inputs",
      steps: [
        { name: "greet", task_type: "hello", params: { name: "{{inputs.who}} from {{inputs.team}}" } },
        { name: "ping", task_type: "http", params: { url: "{{inputs.url}}", timeout_seconds: "{{inputs.t}}" } },
      ],
    });
    const inputs = { who: "Ada", team: 7, url: `${server.url}/api/v1/health`, t: 9 };
    const run = await runPlan(server, plan.id, { inputs });
    expect(run.params).toMatchObject({ inputs });
    const done = await waitTask(server, run.id);
    expect(done.status).toBe("succeeded");
    const steps = await stepsOf(server, run.id);
    expect(steps.greet!.params).toEqual({ name: "Ada from 7" });
    expect(steps.greet!.result).toEqual({ message: "Hello, Ada from 7!" });
    expect(steps.ping!.params).toEqual({ url: inputs.url, timeout_seconds: 9 });
    expect((steps.ping!.result as { status: number }).status).toBe(200);

    // A string where the type wants a number: refused at run time, nothing created.
    const before = count(server, "tasks");
    const bad = await server.api(`/plans/${plan.id}/run`, json({ inputs: { ...inputs, t: "9" } }));
    expect(bad.status).toBe(400);
    const err = (await bad.json()) as ErrorJson;
    expect(err.error.message).toStartWith("with these inputs step 'ping' has invalid params: steps[1].params.timeout_seconds:");
    expect(count(server, "tasks")).toBe(before);
  });

  test("{{steps.greet.result.message}} reaches a later shell step's args: the shell echoes it", async () => {
    const server = await startTestServer();
    const plan = await createPlan(server, {
      name: "pipe",
      steps: [
        { name: "greet", task_type: "hello", params: { name: "{{inputs.who}}" } },
        { name: "echo", task_type: "shell", params: { command: "echo", args: ["{{steps.greet.result.message}}", "len={{steps.greet.result}}"] } },
      ],
    });
    const run = await runPlan(server, plan.id, { inputs: { who: "pipes" } });
    expect((await waitTask(server, run.id)).status).toBe("succeeded");
    const echo = (await stepsOf(server, run.id)).echo!;
    expect(echo.params.args).toEqual(["Hello, pipes!", 'len={"message":"Hello, pipes!"}']);
    expect((echo.result as { stdout: string }).stdout).toBe('Hello, pipes! len={"message":"Hello, pipes!"}\n');
  });

  test("a template whose path is not in the upstream result fails that step with the reason, and the run fails", async () => {
    const server = await startTestServer();
    const plan = await createPlan(server, {
      name: "bad path",
      steps: [
        helloStep("greet"),
        { name: "use", task_type: "hello", params: { name: "{{steps.greet.result.nope}}" } },
        helloStep("after"),
      ],
    });
    const run = await runPlan(server, plan.id);
    const done = await waitTask(server, run.id);
    expect(done.status).toBe("failed");
    const steps = await stepsOf(server, run.id);
    expect(steps.greet!.status).toBe("succeeded");
    expect(steps.use!.status).toBe("failed");
    expect(steps.use!.error).toBe("cannot resolve params: {{steps.greet.result.nope}}: the value has no 'nope'");
    expect(steps.use!.attempts).toBe(0);
    expect(steps.after!.status).toBe("failed");
    expect(steps.after!.error).toStartWith(`dependency ${steps.use!.id} failed`);
    expect(done.error).toContain("use failed (cannot resolve params: {{steps.greet.result.nope}}");
  });
});

describe("POST /plans/:id/run", () => {
  test("works with no body when the plan needs no inputs; a non-JSON body is a 400; an unknown plan is a 404", async () => {
    const server = await startTestServer();
    const plan = await createPlan(server, { name: "plain run", steps: [helloStep("a")] });
    const bare = await server.api(`/plans/${plan.id}/run`, { method: "POST" }); // no body, no Content-Type
    expect(bare.status).toBe(201);
    const run = (await bare.json()) as TaskJson;
    expect(run.params.inputs).toEqual({});
    expect((await waitTask(server, run.id)).status).toBe("succeeded");

    const before = count(server, "tasks");
    const malformed = await server.api(`/plans/${plan.id}/run`, { method: "POST", body: "{not json" });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as ErrorJson).error.code).toBe("validation_failed");
    const text = await server.api(`/plans/${plan.id}/run`, { method: "POST", body: "inputs=1", headers: { "content-type": "text/plain" } });
    expect(text.status).toBe(400);
    expect(((await text.json()) as ErrorJson).error.message).toBe("Content-Type must be application/json");
    const unknownField = await server.api(`/plans/${plan.id}/run`, json({ input: { a: 1 } }));
    expect(unknownField.status).toBe(400);
    expect(((await unknownField.json()) as ErrorJson).error.details.map((d) => d.field)).toEqual(["input"]);
    expect(count(server, "tasks")).toBe(before);

    const missing = await server.api("/plans/no%20such%20plan/run", { method: "POST" });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as ErrorJson).error.message).toBe("plan 'no such plan' not found");
  });

  test("a step's priority, timeout and retries reach its task; the run's priority and the server's defaults fill the rest", async () => {
    const server = await startTestServer();
    const plan = await createPlan(server, { name: "prio", steps: [helloStep("a", { priority: "low", timeout_seconds: 5, max_retries: 2 }), helloStep("b")] });
    const run = await runPlan(server, plan.id, { priority: "high" });
    expect(run.priority).toBe("high");
    await waitTask(server, run.id);
    const steps = await stepsOf(server, run.id);
    expect(steps.a!).toMatchObject({ priority: "low", timeout_seconds: 5, max_retries: 2 });
    expect(steps.b!).toMatchObject({ priority: "high", timeout_seconds: 3600, max_retries: 0 });
    expect(steps.a!.metadata).toEqual({ plan_id: plan.id, plan_run_id: run.id, plan_step: "a" });
  });

  test("POST /tasks with task_type plan is refused", async () => {
    const server = await startTestServer();
    const res = await server.api("/tasks", json({ title: "sneaky", task_type: "plan", params: { plan_id: "x", plan_name: "x", version: 1 } }));
    expect(res.status).toBe(400);
    const err = (await res.json()) as ErrorJson;
    expect(err.error.details).toEqual([{ field: "task_type", message: "'plan' tasks are created by running a plan: POST /api/v1/plans/:id/run" }]);
    expect(count(server, "tasks")).toBe(0);
  });
});

describe("GET /plans/:id/runs", () => {
  test("lists the plan's runs newest first, paginated; other plans' runs are not included", async () => {
    const server = await startTestServer();
    const plan = await createPlan(server, { name: "often", steps: [helloStep("a")] });
    const other = await createPlan(server, { name: "other", steps: [helloStep("a")] });
    const runs: TaskJson[] = [];
    for (let i = 0; i < 3; i++) runs.push(await runPlan(server, plan.id));
    await runPlan(server, other.id);
    for (const r of runs) await waitTask(server, r.id);

    const res = await server.api(`/plans/${encodeURIComponent("often")}/runs`);
    expect(res.status).toBe(200);
    const page = (await res.json()) as { items: TaskJson[]; total: number; page: number; per_page: number };
    expect(page).toMatchObject({ total: 3, page: 1, per_page: 20 });
    expect(page.items.map((r) => r.id)).toEqual(runs.map((r) => r.id).reverse());
    expect(page.items.every((r) => r.task_type === "plan" && r.status === "succeeded")).toBe(true);

    const second = (await (await server.api(`/plans/${plan.id}/runs?per_page=2&page=2`)).json()) as { items: TaskJson[]; total: number };
    expect(second.total).toBe(3);
    expect(second.items.map((r) => r.id)).toEqual([runs[0]!.id]);
    expect((await server.api("/plans/ghost/runs")).status).toBe(404);
  });
});
