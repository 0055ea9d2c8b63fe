// /api/v1/plans over real HTTP: create, read (by id or name), list, versioned save, delete, and the
// validation of a plan's rules. Runs are in runs.test.ts.
import { afterEach, describe, expect, test } from "bun:test";
import type { TaskJson } from "../../engine/task-record.ts";
import { AWAIT_GATE, gate } from "../../../test/gate.ts";
import { cleanup, json, startTestServer, startTestApp } from "../../../test/helpers.ts";
import { count, createPlan, helloStep, runPlan, stepsOf, untilStep, waitTask, type ErrorJson, type Server, type Step } from "../../../test/plans.ts";
import type { PlanJson } from "./service.ts";

afterEach(cleanup);

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

async function getPlan(server: Server, idOrName: string, query = ""): Promise<Response> {
  return server.api(`/plans/${encodeURIComponent(idOrName)}${query}`);
}

async function put(server: Server, idOrName: string, body: Record<string, unknown>): Promise<Response> {
  return server.api(`/plans/${encodeURIComponent(idOrName)}`, { method: "PUT", body: JSON.stringify(body) });
}

describe("POST /plans", () => {
  test("answers 201 with a Location and the plan, its steps stored as written", async () => {
    const server = await startTestApp();
    const steps = [
      { name: "build", task_type: "shell", params: { command: "make", args: ["all"] }, timeout_seconds: 600, max_retries: 2, priority: "high" },
      { name: "greet", task_type: "hello", params: { name: "{{inputs.who}}" }, depends_on: ["build"] },
      { name: "report", task_type: "hello", params: { name: "{{steps.greet.result.message}}" }, depends_on: ["greet", "build"] },
    ];
    const res = await server.api("/plans", json({ name: "release", description: "Build, greet, report", steps }));
    expect(res.status).toBe(201);
    const plan = (await res.json()) as PlanJson;
    expect(res.headers.get("location")).toBe(`/api/v1/plans/${plan.id}`);
    expect(plan).toMatchObject({ name: "release", description: "Build, greet, report", version: 1, steps_count: 3, last_run: null });
    // As written: no defaults of the task types added (they apply when the step runs), depends_on made explicit.
    expect(plan.steps).toEqual([{ ...steps[0]!, depends_on: [] }, steps[1]!, steps[2]!] as never);
    expect(plan.created_at).toMatch(ISO);
    expect(plan.updated_at).toBe(plan.created_at);

    const again = await server.get(res.headers.get("location")!);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(plan);
    expect(count(server, "plans")).toBe(1);
    expect(count(server, "plan_versions")).toBe(1);
  });

  test("a description may be left out or null; steps without params get {}", async () => {
    const server = await startTestApp();
    const plan = await createPlan(server, { name: "bare", steps: [{ name: "only", task_type: "test_sleep", params: { ms: 1 } }] });
    expect(plan.description).toBeNull();
    expect(plan.steps).toEqual([{ name: "only", task_type: "test_sleep", params: { ms: 1 }, depends_on: [] }]);
    const noParams = await createPlan(server, { name: "no params", description: null, steps: [{ name: "s", task_type: "test_spin" }] });
    expect(noParams.steps[0]!.params).toEqual({});
  });

  test("a second plan with the same name is a 409 and nothing is written", async () => {
    const server = await startTestApp();
    await createPlan(server, { name: "dup", steps: [helloStep("a")] });
    const res = await server.api("/plans", json({ name: "dup", steps: [helloStep("b")] }));
    expect(res.status).toBe(409);
    const body = (await res.json()) as ErrorJson;
    expect(body.error.code).toBe("conflict");
    expect(body.error.message).toBe("a plan named 'dup' already exists");
    expect(count(server, "plans")).toBe(1);
    expect(count(server, "plan_versions")).toBe(1);
    // Names are compared after trimming: " dup " is the same plan name.
    expect((await server.api("/plans", json({ name: " dup ", steps: [helloStep("b")] }))).status).toBe(409);
  });
});

describe("plan validation: a 400 whose details name the step, and nothing written", () => {
  const cases: Array<[string, Step[] | Record<string, unknown>, string, RegExp]> = [
    ["duplicate step names", [helloStep("a"), helloStep("a")], "steps[1].name", /duplicate step name 'a'/],
    ["an unknown task type", [helloStep("a"), { name: "b", task_type: "teleport", params: {} }], "steps[1].task_type", /unknown task type 'teleport'/],
    ["hello without a name", [helloStep("a"), { name: "b", task_type: "hello", params: {} }], "steps[1].params.name", /./],
    ["shell with cwd '../x'", [{ name: "sh", task_type: "shell", params: { command: "ls", cwd: "../x" } }], "steps[0].params.cwd", /inside the workspace/],
    ["depends_on an unknown step", [helloStep("a"), helloStep("b", { depends_on: ["nope"] })], "steps[1].depends_on", /step 'b' depends on unknown step 'nope'/],
    ["a step depending on itself", [helloStep("a"), helloStep("b", { depends_on: ["b"] })], "steps[1].depends_on", /step 'b' cannot depend on itself/],
    [
      "a cycle a → b → c → a",
      [helloStep("a", { depends_on: ["c"] }), helloStep("b", { depends_on: ["a"] }), helloStep("c", { depends_on: ["b"] })],
      "steps[0].depends_on",
      /^cycle: a → c → b → a$/,
    ],
    [
      "{{steps.x.result}} of a step that is not upstream",
      [helloStep("a"), helloStep("b", { depends_on: ["a"] }), { name: "c", task_type: "hello", params: { name: "{{steps.b.result.message}}" }, depends_on: ["a"] }],
      "steps[2].params",
      /refers to step 'b', which 'c' does not depend on/,
    ],
    ["a step of type plan", [{ name: "inner", task_type: "plan", params: { plan_id: "x", plan_name: "x", version: 1 } }], "steps[0].task_type", /cannot be a 'plan' task/],
    ["no steps", [], "steps", /at least one step/],
    ["an unknown field on a step", [helloStep("a", { retries: 3 })], "steps.0.retries", /unknown field/],
    ["an unknown field on the plan", { steps: [helloStep("a")], owner: "me" }, "owner", /unknown field/],
  ];

  test.each(cases)("%s", async (_what, stepsOrBody, field, message) => {
    const server = await startTestApp();
    const body = Array.isArray(stepsOrBody) ? { name: "bad", steps: stepsOrBody } : { name: "bad", ...stepsOrBody };
    const res = await server.api("/plans", json(body));
    expect(res.status).toBe(400);
    const err = (await res.json()) as ErrorJson;
    expect(err.error.code).toBe("validation_failed");
    const detail = err.error.details.find((d) => d.field === field);
    expect(detail).toBeDefined();
    expect(detail!.message).toMatch(message);
    expect(count(server, "plans")).toBe(0);
    expect(count(server, "plan_versions")).toBe(0);

    // PUT applies the same rules to an existing plan, which stays as it was.
    const plan = await createPlan(server, { name: "good", steps: [helloStep("ok")] });
    const refused = await put(server, plan.id, { ...body, name: "good" });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as ErrorJson).error.details.some((d) => d.field === field)).toBe(true);
    expect(await (await getPlan(server, plan.id)).json()).toEqual(plan);
    expect(count(server, "plan_versions")).toBe(1);
  });

  test("the cycle is listed in the message", async () => {
    const server = await startTestApp();
    const res = await server.api(
      "/plans",
      json({ name: "loop", steps: [helloStep("a", { depends_on: ["c"] }), helloStep("b", { depends_on: ["a"] }), helloStep("c", { depends_on: ["b"] })] }),
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorJson).error.message).toBe("plan is not valid: steps depend on each other in a cycle: a → c → b → a");
  });

  test("{{steps.x.result}} of an upstream step is accepted, as are templates where the schema wants another type", async () => {
    const server = await startTestApp();
    const plan = await createPlan(server, {
      name: "templated",
      steps: [
        helloStep("a"),
        { name: "b", task_type: "hello", params: { name: "{{steps.a.result.message}}" }, depends_on: ["a"] },
        { name: "call", task_type: "http", params: { url: "{{inputs.url}}", timeout_seconds: "{{inputs.t}}" }, depends_on: ["b"] },
      ],
    });
    expect(plan.steps[2]!.params).toEqual({ url: "{{inputs.url}}", timeout_seconds: "{{inputs.t}}" });
  });
});

describe("GET /plans/:id", () => {
  test("by id and by URL-encoded name (spaces, markup, / % ? #); JSON is returned as data", async () => {
    const server = await startTestApp();
    const spaced = await createPlan(server, { name: "nightly build and test", steps: [helloStep("a")] });
    const markup = await createPlan(server, { name: "<script>alert(1)</script>", description: "<b>bold</b> & \"quoted\"", steps: [helloStep("a")] });

    const reserved = await createPlan(server, { name: "ci/cd 100%? #1", steps: [helloStep("a")] });

    for (const plan of [spaced, markup, reserved]) {
      for (const key of [plan.id, plan.name]) {
        const res = await getPlan(server, key);
        expect(res.status).toBe(200);
        expect(res.headers.get("content-type")).toStartWith("application/json");
        expect(await res.json()).toEqual(plan);
      }
    }
    // The raw text carries the markup as JSON string data, unescaped as HTML.
    const raw = await (await getPlan(server, markup.name)).text();
    expect(JSON.parse(raw).name).toBe("<script>alert(1)</script>");
    expect(JSON.parse(raw).description).toBe('<b>bold</b> & "quoted"');
    expect(raw).not.toContain("&lt;");

    const missing = await getPlan(server, "no such plan");
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as ErrorJson).error).toMatchObject({ code: "not_found", message: "plan 'no such plan' not found" });
  });
});

describe("GET /plans", () => {
  test("lists plans, most recently saved first, with q searching name and description, paginated", async () => {
    const server = await startTestApp();
    const names = ["alpha deploy", "beta build", "gamma deploy", "delta 100%_done", "epsilon"];
    const created: PlanJson[] = [];
    for (const [i, name] of names.entries()) {
      created.push(await createPlan(server, { name, description: i === 4 ? "runs the deploy checks" : null, steps: [helloStep("a")] }));
    }
    const list = async (query: string) => {
      const res = await server.api(`/plans?${query}`);
      expect(res.status).toBe(200);
      return (await res.json()) as { items: PlanJson[]; total: number; page: number; per_page: number };
    };
    const all = await list("");
    expect(all.total).toBe(5);
    expect(all.items.map((p) => p.name)).toEqual([...names].reverse());
    expect(all.items[0]).toEqual(created[4]!);

    const deploy = await list("q=deploy");
    expect(deploy.items.map((p) => p.name)).toEqual(["epsilon", "gamma deploy", "alpha deploy"]);
    expect(deploy.total).toBe(3);
    // LIKE wildcards in q are literal.
    expect((await list(`q=${encodeURIComponent("%_")}`)).items.map((p) => p.name)).toEqual(["delta 100%_done"]);
    expect((await list("q=zzz")).total).toBe(0);

    const page2 = await list("per_page=2&page=2");
    expect(page2).toMatchObject({ total: 5, page: 2, per_page: 2 });
    expect(page2.items.map((p) => p.name)).toEqual(["gamma deploy", "beta build"]);
    expect((await list("per_page=2&page=4")).items).toEqual([]);
    expect((await server.api("/plans?per_page=0")).status).toBe(400);
    expect((await server.api("/plans?per_page=101")).status).toBe(400);
  });
});

describe("PUT /plans/:id", () => {
  test("saving unchanged steps keeps the version; changed steps make version+1 and the old one stays readable", async () => {
    const server = await startTestApp();
    const v1Steps = [helloStep("a"), helloStep("b")];
    const plan = await createPlan(server, { name: "versioned", description: "d", steps: v1Steps });

    const same = await put(server, plan.id, { name: "versioned", description: "d", steps: v1Steps });
    expect(same.status).toBe(200);
    expect(((await same.json()) as PlanJson).version).toBe(1);
    expect(count(server, "plan_versions")).toBe(1);

    const v2Steps = [helloStep("a"), helloStep("c"), helloStep("d")];
    const changed = await put(server, "versioned", { name: "versioned", description: "d", steps: v2Steps });
    expect(changed.status).toBe(200);
    const v2 = (await changed.json()) as PlanJson;
    expect(v2).toMatchObject({ id: plan.id, version: 2, steps_count: 3 });
    expect(v2.steps.map((s) => s.name)).toEqual(["a", "c", "d"]);

    const old = await getPlan(server, plan.id, "?version=1");
    expect(old.status).toBe(200);
    const v1 = (await old.json()) as PlanJson;
    expect(v1.version).toBe(1);
    expect(v1.steps.map((s) => s.name)).toEqual(["a", "b"]);
    expect(((await (await getPlan(server, plan.id)).json()) as PlanJson).version).toBe(2);
    expect((await getPlan(server, plan.id, "?version=3")).status).toBe(404);
    expect((await getPlan(server, plan.id, "?version=0")).status).toBe(400);

    // A changed description alone is a new version too; a rename alone is not.
    expect(((await (await put(server, plan.id, { name: "versioned", description: "new", steps: v2Steps })).json()) as PlanJson).version).toBe(3);
    const renamed = (await (await put(server, plan.id, { name: "renamed", description: "new", steps: v2Steps })).json()) as PlanJson;
    expect(renamed).toMatchObject({ name: "renamed", version: 3 });
    expect((await getPlan(server, "renamed")).status).toBe(200);
    expect((await getPlan(server, "versioned")).status).toBe(404);
  });

  test("a run started before a change keeps running the old version's steps", async () => {
    const server = await startTestServer();
    const g = gate();
    const hold = { name: "hold", task_type: "shell", params: { command: AWAIT_GATE, shell: true, env: g.env } };
    const plan = await createPlan(server, { name: "evolving", steps: [hold, { name: "old", task_type: "hello", params: { name: "old" } }] });
    const first = await runPlan(server, plan.name);
    expect(first.params).toMatchObject({ plan_id: plan.id, plan_name: "evolving", version: 1 });
    expect(first.title).toBe("evolving (v1)");
    await untilStep(server, first.id, "hold", "running");

    const saved = await put(server, plan.id, { name: "evolving", steps: [hold, { name: "new", task_type: "hello", params: { name: "new" } }] });
    expect(((await saved.json()) as PlanJson).version).toBe(2);
    g.open();

    const done = await waitTask(server, first.id);
    expect(done.status).toBe("succeeded");
    const firstSteps = await stepsOf(server, first.id);
    expect(Object.keys(firstSteps).sort()).toEqual(["hold", "old"]);
    expect(firstSteps.old!.title).toBe("old");
    expect(firstSteps.old!.params).toEqual({ name: "old" });
    expect(done.result).toMatchObject({ steps: { old: { message: "Hello, old!" } } });

    const second = await runPlan(server, plan.id);
    expect(second.params).toMatchObject({ version: 2 });
    expect(second.title).toBe("evolving (v2)");
    expect((await waitTask(server, second.id)).result).toMatchObject({ steps: { new: { message: "Hello, new!" } } });
    expect(Object.keys(await stepsOf(server, second.id)).sort()).toEqual(["hold", "new"]);

    const runs = server.db.sqlite.query<{ task_id: string; version: number }, []>("SELECT task_id, version FROM plan_runs ORDER BY created_at, task_id").all();
    expect(runs).toEqual([
      { task_id: first.id, version: 1 },
      { task_id: second.id, version: 2 },
    ]);
  });

  test("renaming onto another plan's name is a 409; an unknown plan is a 404", async () => {
    const server = await startTestApp();
    await createPlan(server, { name: "one", steps: [helloStep("a")] });
    const two = await createPlan(server, { name: "two", steps: [helloStep("a")] });
    const res = await put(server, two.id, { name: "one", steps: [helloStep("b")] });
    expect(res.status).toBe(409);
    expect(((await res.json()) as ErrorJson).error.message).toBe("a plan named 'one' already exists");
    expect(await (await getPlan(server, two.id)).json()).toEqual(two);
    expect(count(server, "plan_versions")).toBe(2);
    expect((await put(server, "ghost", { name: "ghost", steps: [helloStep("a")] })).status).toBe(404);
  });
});

describe("DELETE /plans/:id", () => {
  test("answers 204; the plan and its versions are gone, its runs (tasks) stay", async () => {
    const server = await startTestServer();
    const plan = await createPlan(server, { name: "doomed", steps: [helloStep("a"), helloStep("b")] });
    await put(server, plan.id, { name: "doomed", steps: [helloStep("a")] });
    const run = await runPlan(server, "doomed");
    expect((await waitTask(server, run.id)).status).toBe("succeeded");

    const res = await server.api(`/plans/${encodeURIComponent("doomed")}`, { method: "DELETE" });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect((await getPlan(server, plan.id)).status).toBe(404);
    expect(count(server, "plans")).toBe(0);
    expect(count(server, "plan_versions")).toBe(0);

    const kept = (await (await server.api(`/tasks/${run.id}`)).json()) as TaskJson;
    expect(kept).toMatchObject({ id: run.id, status: "succeeded", task_type: "plan" });
    expect(Object.keys(await stepsOf(server, run.id))).toEqual(["a"]);
    expect((await server.api(`/plans/${plan.id}`, { method: "DELETE" })).status).toBe(404);
    // The name is free again.
    expect((await createPlan(server, { name: "doomed", steps: [helloStep("x")] })).version).toBe(1);
  });
});
