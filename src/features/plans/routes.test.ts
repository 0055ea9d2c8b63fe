// The plans pages through app.request(): cards, the editor and its operations, saving with inline
// errors, the plan page and its run form, the live run view, delete — user text escaped everywhere.
import { afterEach, describe, expect, test } from "bun:test";
import type { TaskJson } from "../../engine/task-record.ts";
import { AWAIT_GATE, gate } from "../../../test/gate.ts";
import { cleanup, json, startTestServer, until, startTestApp } from "../../../test/helpers.ts";
import { flashOf, formPost, HOSTILE, HOSTILE_ESCAPED, hxTrigger, isFullPage, uiClient } from "../../../test/html.ts";
import type { PlanJson } from "./service.ts";

afterEach(cleanup);

type Server = Awaited<ReturnType<typeof startTestServer>>;

async function createPlan(server: Server, body: Record<string, unknown>): Promise<PlanJson> {
  const res = await server.api("/plans", json(body));
  if (res.status !== 201) throw new Error(`POST /plans answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as PlanJson;
}
const hello = (name: string, extra: Record<string, unknown> = {}) => ({ name, task_type: "hello", params: { name }, ...extra });

/** The editor's fields for steps, as the browser would post them. */
function editorForm(name: string, steps: Array<{ key: string; name: string; params?: Record<string, string>; task_type?: string; depends_on?: string[] }>, extra: Record<string, string> = {}) {
  const fields: Record<string, string | string[]> = { name, description: "", ...extra };
  steps.forEach((s, i) => {
    fields[`steps[${i}].key`] = s.key;
    fields[`steps[${i}].name`] = s.name;
    fields[`steps[${i}].task_type`] = s.task_type ?? "hello";
    for (const [param, text] of Object.entries(s.params ?? { name: s.name })) fields[`steps[${i}].params.${param}`] = text;
    if (s.depends_on) fields[`steps[${i}].depends_on`] = s.depends_on;
  });
  return fields;
}
const stepNames = (html: string) => [...html.matchAll(/name="steps\[\d+\]\.name" value="([^"]*)"/g)].map((m) => m[1]);

describe("GET /plans", () => {
  test("the empty state, then a card per plan with steps and last run, names escaped", async () => {
    const server = await startTestServer();
    const ui = uiClient(server);
    const empty = await ui("/plans");
    expect(empty.status).toBe(200);
    expect(empty.text).toContain("No plans yet");
    expect(empty.text).toContain('href="/plans/new"');

    const plan = await createPlan(server, { name: HOSTILE, description: `about ${HOSTILE}`, steps: [hello("a"), hello("b")] });
    const list = await ui("/plans");
    expect(list.text).not.toContain(HOSTILE);
    expect(list.text).toContain(`>${HOSTILE_ESCAPED}</a>`);
    expect(list.text).toContain(`about ${HOSTILE_ESCAPED}`);
    expect(list.text).toContain("2 steps");
    expect(list.text).toContain("never");

    const run = (await (await server.api(`/plans/${plan.id}/run`, { method: "POST" })).json()) as TaskJson;
    await server.api(`/tasks/${run.id}/wait?timeout=20`);
    const after = await ui("/plans");
    expect(after.text).toContain(`href="/plans/${plan.id}/runs/${run.id}"`);
    expect(after.text).toContain('data-status="succeeded"');
  });

  test("search, and the card grid alone for htmx", async () => {
    const server = await startTestApp();
    await createPlan(server, { name: "deploy", steps: [hello("a")] });
    await createPlan(server, { name: "nightly", steps: [hello("a")] });
    const ui = uiClient(server);
    const found = await ui("/plans?q=nigh", { htmx: "plan-list" });
    expect(found.text.startsWith('<div id="plan-list"')).toBe(true);
    expect(found.text).toContain('data-plan="nightly"');
    expect(found.text).not.toContain('data-plan="deploy"');
    expect((await ui("/plans?q=zzz")).text).toContain("No plan matches this search");
  });
});

describe("the plan editor", () => {
  test("add, move and remove steps on the server, keeping what was typed and the dependencies", async () => {
    const server = await startTestApp();
    const ui = uiClient(server);
    const fresh = await ui("/plans/new");
    expect(fresh.status).toBe(200);
    expect(stepNames(fresh.text)).toEqual(["step-1"]);

    const base = editorForm(HOSTILE, [
      { key: "k1", name: "build" },
      { key: "k2", name: "test", depends_on: ["k1"] },
    ]);
    const added = await ui("/plans/editor", formPost({ ...base, op: "add" }, { htmx: "plan-editor" }));
    expect(added.status).toBe(200);
    expect(added.text.startsWith('<form id="plan-editor"')).toBe(true);
    expect(added.text).toContain(`value="${HOSTILE_ESCAPED}"`);
    expect(stepNames(added.text)).toEqual(["build", "test", "step-3"]);
    // The new step runs after the last one; "test" still runs after "build".
    expect(added.text).toMatch(/name="steps\[2\]\.depends_on" value="k2" checked/);
    expect(added.text).toMatch(/name="steps\[1\]\.depends_on" value="k1" checked/);

    const moved = await ui("/plans/editor", formPost({ ...base, op: "up:1" }, { htmx: "plan-editor" }));
    expect(stepNames(moved.text)).toEqual(["test", "build"]);
    expect(moved.text).toMatch(/name="steps\[0\]\.depends_on" value="k1" checked/);

    const removed = await ui("/plans/editor", formPost({ ...base, op: "remove:0" }, { htmx: "plan-editor" }));
    expect(stepNames(removed.text)).toEqual(["test"]);
    expect(removed.text).not.toContain('value="k1"');

    // Without JS the same buttons answer the whole page.
    const plain = await ui("/plans/editor", formPost({ ...base, op: "down:0" }));
    expect(isFullPage(plain.text)).toBe(true);
    expect(stepNames(plain.text)).toEqual(["test", "build"]);
  });

  test("saving shows each problem next to its field and keeps the input (422)", async () => {
    const server = await startTestApp();
    await createPlan(server, { name: "taken", steps: [hello("a")] });
    const ui = uiClient(server);
    const save = (fields: Record<string, string | string[]>) => ui("/plans", formPost(fields, { htmx: "plan-editor" }));

    const badNumber = await save(editorForm("p", [{ key: "k1", name: "a", task_type: "http", params: { url: `https://example.com/${HOSTILE}`, timeout_seconds: "soon" } }]));
    expect(badNumber.status).toBe(422);
    expect(badNumber.text).toContain("The plan was not saved");
    expect(hxTrigger(badNumber).toast).toEqual({ level: "error", message: "The plan was not saved: steps[0].params.timeout_seconds: must be a number" });
    // The error sits at its own field, which keeps what was typed (user text escaped).
    expect(badNumber.text).toMatch(/id="step-k1-p-timeout_seconds"[^>]*value="soon"[^>]*aria-invalid="true"/);
    expect(badNumber.text).toContain(`value="https://example.com/${HOSTILE_ESCAPED}"`);

    const dup = await save(editorForm("p", [{ key: "k1", name: "a" }, { key: "k2", name: "a" }]));
    expect(dup.status).toBe(422);
    expect(dup.text).toContain("duplicate step name");

    const cycle = await save(editorForm("p", [{ key: "k1", name: "a", depends_on: ["k2"] }, { key: "k2", name: "b", depends_on: ["k1"] }]));
    expect(cycle.status).toBe(422);
    expect(cycle.text).toContain("cycle: ");

    const params = await save(editorForm("p", [{ key: "k1", name: "a", task_type: "shell", params: {} }]));
    expect(params.status).toBe(422);
    // The missing param is named at its own field.
    expect(params.text).toMatch(/id="step-k1-p-command-error" role="alert">required \(expected string\)</);

    const taken = await save(editorForm("taken", [{ key: "k1", name: "a" }]));
    expect(taken.status).toBe(422);
    expect(taken.text).toContain("already taken");

    const none = await save({ name: "", description: "" });
    expect(none.status).toBe(422);
    expect(none.text).toContain("name must not be empty");
    expect(none.text).toContain("a plan needs at least one step");
    expect((await server.api("/plans")).ok).toBe(true);
    expect(((await (await server.api("/plans")).json()) as { total: number }).total).toBe(1);
  });

  test("saving a valid plan creates it; saving a change makes a new version", async () => {
    const server = await startTestApp();
    const ui = uiClient(server);
    const created = await ui("/plans", formPost(editorForm("release", [{ key: "k1", name: "build" }, { key: "k2", name: "ship", depends_on: ["k1"] }]), { htmx: true }));
    expect(created.status).toBe(200);
    const location = created.headers.get("hx-redirect")!;
    expect(location).toMatch(/^\/plans\/[0-9a-f-]{36}$/);
    expect(flashOf(created)).toEqual([{ level: "success", message: "Plan “release” saved (version 1)" }]);
    const plan = (await (await server.api(`${location}`)).json()) as PlanJson;
    expect(plan.steps.map((s) => [s.name, s.depends_on])).toEqual([
      ["build", []],
      ["ship", ["build"]],
    ]);

    const edit = await ui(`/plans/${plan.id}/edit`);
    expect(stepNames(edit.text)).toEqual(["build", "ship"]);
    const updated = await ui(`/plans/${plan.id}`, formPost(editorForm("release", [{ key: "x", name: "build", params: { name: "v2" } }])));
    expect(updated.status).toBe(303);
    expect(flashOf(updated)[0]!.message).toBe("Plan “release” saved (version 2)");
  });
});

describe("comparing versions", () => {
  test("two versions side by side: steps added, removed, changed (saying what) or the same; a version that does not exist is a 400 page", async () => {
    const server = await startTestApp();
    const plan = await createPlan(server, { name: "evolving", description: "first", steps: [hello("a"), hello("b"), hello("gone")] });
    const put = await server.api(`/plans/${plan.id}`, {
      method: "PUT",
      body: JSON.stringify({ name: "evolving", description: "second", steps: [hello("a"), hello("b", { params: { name: HOSTILE }, timeout_seconds: 60 }), hello("new")] }),
    });
    expect(put.status).toBe(200);
    const ui = uiClient(server);
    expect((await ui(`/plans/${plan.id}`)).text).toContain(`href="/plans/${plan.id}/compare" class="btn-ghost btn-sm" data-compare-versions=""`);
    const res = await ui(`/plans/${plan.id}/compare`);
    expect(res.status).toBe(200);
    const state = (name: string) => new RegExp(`data-compare-step="${name}" data-state="([a-z]+)"`).exec(res.text)?.[1];
    expect([state("a"), state("b"), state("new"), state("gone")]).toEqual(["same", "changed", "added", "removed"]);
    expect(res.text).toContain("params, timeout seconds");
    expect(res.text).toContain("data-description-changed");
    expect(res.text).toContain(HOSTILE_ESCAPED);
    expect(res.text).not.toContain(HOSTILE);
    expect(res.text).toContain("3 of 4 steps differ.");
    const bad = await ui(`/plans/${plan.id}/compare?a=1&b=7`);
    expect(bad.status).toBe(400);
    expect(bad.text).toContain("version 7 of &#39;evolving&#39; does not exist");
  });
});

describe("a plan's page and its runs", () => {
  test("the steps graph, a field per run input, the runs; a run needs its inputs", async () => {
    const server = await startTestServer();
    const plan = await createPlan(server, {
      name: HOSTILE,
      steps: [hello("first", { params: { name: "{{inputs.who}}" } }), hello("second"), hello("third", { depends_on: ["first"] })],
    });
    const ui = uiClient(server);
    const page = await ui(`/plans/${plan.id}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain(`<title>${HOSTILE_ESCAPED} · AgentVine</title>`);
    expect(page.text).not.toContain(HOSTILE);
    expect(page.text).toContain('data-step="first"');
    expect(page.text).toMatch(/<svg [^>]*data-dag=""/);
    expect(page.text).toContain('data-dag-stages=""');
    expect(page.text).toContain('name="inputs.who"');
    expect(page.text).toContain("No runs yet");
    expect(page.text).toContain(`hx-confirm="Delete the plan “${HOSTILE_ESCAPED}”`);

    const missing = await ui(`/plans/${plan.id}/run`, formPost({ "inputs.who": "" }, { htmx: "run-form" }));
    expect(missing.status).toBe(422);
    expect(missing.text.startsWith('<form id="run-form"')).toBe(true);
    expect(missing.text).toContain("required by step &#39;first&#39;");

    const started = await ui(`/plans/${plan.id}/run`, formPost({ "inputs.who": "Ada", priority: "high" }, { htmx: "run-form" }));
    expect(started.status).toBe(200);
    const runUrl = started.headers.get("hx-redirect")!;
    expect(runUrl).toMatch(new RegExp(`^/plans/${plan.id}/runs/[0-9a-f-]{36}$`));
    const runId = runUrl.split("/").at(-1)!;
    await server.api(`/tasks/${runId}/wait?timeout=20`);
    const runPage = await ui(runUrl);
    expect(runPage.status).toBe(200);
    expect(runPage.text).not.toContain(HOSTILE);
    expect(runPage.text).toContain(`<title>${HOSTILE_ESCAPED} run · AgentVine</title>`);
    expect(runPage.text).toContain('data-step="third" data-status="succeeded"');
    const runs = await ui(`/plans/${plan.id}`, { htmx: "plan-runs" });
    expect(runs.text.startsWith('<div id="plan-runs"')).toBe(true);
    expect(runs.text).toContain(`data-run="${runId}"`);
  });

  test("the run view: every step a node with its state, the shown step's log, live regions", async () => {
    const server = await startTestServer();
    const g = gate();
    const plan = await createPlan(server, {
      name: "gated",
      steps: [
        { name: "wait", task_type: "shell", params: { command: `echo waiting; ${AWAIT_GATE}`, shell: true, env: g.env } },
        hello("after", { depends_on: ["wait"] }),
      ],
    });
    const run = (await (await server.api(`/plans/${plan.id}/run`, { method: "POST" })).json()) as TaskJson;
    const bus = server.services.deps.bus;
    await until(bus, ["log:appended"], () => (server.services.logger.flush(), server.db.sqlite.query("SELECT 1 FROM execution_logs LIMIT 1").get()));
    const ui = uiClient(server);
    const base = `/plans/${plan.id}/runs/${run.id}`;

    const page = await ui(base);
    expect(page.status).toBe(200);
    expect(page.text).toContain('data-step="wait" data-status="running"');
    expect(page.text).toContain('data-step="after" data-status="pending"');
    expect(page.text).toContain('data-selected-step="wait"'); // the running step is shown
    expect(page.text).toContain("waiting</span>");
    expect(page.text).toMatch(new RegExp(`sse-connect="/events\\?topics=task:${run.id},exec:[0-9a-f-]+,log:[0-9a-f-]+&amp;v=\\d+&amp;after=1"`));
    expect(page.text).toContain('hx-trigger="sse:execution, reselect from:body"');

    const picked = await ui(`${base}?step=after`);
    expect(picked.text).toContain('data-selected-step="after"');
    expect(picked.text).toContain("No attempt yet");

    // While "wait" runs, a page showing another step is told to show the running one.
    const moving = await ui(`${base}?shown=after`, { htmx: "run-main" });
    expect(hxTrigger(moving).reselect).toBe(true);
    expect(moving.text).toContain('data-selected-step="wait"');

    g.open();
    await server.api(`/tasks/${run.id}/wait?timeout=20`);
    // The run ended: the step the page shows stays shown (no jump), and the run says how long it took.
    const main = await ui(`${base}?shown=wait`, { htmx: "run-main" });
    expect(main.text.startsWith('<div id="run-main"')).toBe(true);
    expect(main.text).toContain('data-step="after" data-status="succeeded"');
    expect(hxTrigger(main).reselect).toBeUndefined();
    expect(main.text).toContain('data-selected-step="wait"');
    expect(main.text).toMatch(/data-run-duration="">·\s*took \d/);
    const kept = await ui(`${base}/live?shown=wait`, { htmx: "run-live" });
    expect(kept.text).toContain('data-selected-step="wait"');
    expect(kept.text).toContain(`hx-get="${base}/live?shown=wait"`);
    // A page that showed nothing yet shows the last step that ran.
    const live = await ui(`${base}/live`, { htmx: "run-live" });
    expect(live.text.startsWith('<div id="run-live"')).toBe(true);
    expect(live.text).toContain('data-selected-step="after"');
  });

  test("run again: the same version with the same inputs, saying which version; the latest is offered apart", async () => {
    const server = await startTestServer();
    const plan = await createPlan(server, { name: "greeter", steps: [hello("greet", { params: { name: "{{inputs.who}}" } })] });
    const first = (await (await server.api(`/plans/${plan.id}/run`, json({ inputs: { who: "Ada" }, priority: "high" }))).json()) as TaskJson;
    await server.api(`/tasks/${first.id}/wait?timeout=20`);
    // A newer version meanwhile.
    const put = await server.api(`/plans/${plan.id}`, { method: "PUT", body: JSON.stringify({ name: "greeter", steps: [hello("greet", { params: { name: "Dr {{inputs.who}}" } })] }) });
    expect(put.status).toBe(200);
    const ui = uiClient(server);
    const base = `/plans/${plan.id}/runs/${first.id}`;
    const page = await ui(base);
    expect(page.text).toContain("Run again (v1, same inputs)");
    expect(page.text).toContain("Run the latest (v2)…");
    expect(page.text).toMatch(/data-run-inputs=""[^]*<dt class="text-muted">who<\/dt><dd[^>]*>Ada<\/dd>/);

    const again = await ui(`/plans/${plan.id}/run`, formPost({ rerun: first.id }, { htmx: true }));
    expect(again.status).toBe(200);
    expect(flashOf(again)[0]!.message).toBe("Plan “greeter” v1 started again with the same inputs");
    const secondId = again.headers.get("hx-redirect")!.split("/").at(-1)!;
    const second = (await (await server.api(`/tasks/${secondId}/wait?timeout=20`)).json()) as TaskJson;
    expect(second.params).toMatchObject({ version: 1, inputs: { who: "Ada" } });
    expect(second.priority).toBe("high");
    const steps = (await (await server.api(`/tasks?parent_task_id=${secondId}`)).json()) as { items: TaskJson[] };
    expect(steps.items[0]!.result).toEqual({ message: "Hello, Ada!" }); // v1's params, not v2's "Dr Ada"

    // The API runs a given version too; one that does not exist is a 400 naming it.
    const v2 = (await (await server.api(`/plans/${plan.id}/run`, json({ inputs: { who: "Bo" }, version: 2 }))).json()) as TaskJson;
    expect(v2.title).toBe("greeter (v2)");
    const none = await server.api(`/plans/${plan.id}/run`, json({ version: 9 }));
    expect(none.status).toBe(400);
    expect(((await none.json()) as { error: { details: Array<{ field: string }> } }).error.details[0]!.field).toBe("version");
    // Another plan's run cannot be "run again" here.
    const other = await createPlan(server, { name: "other", steps: [hello("x")] });
    expect((await ui(`/plans/${other.id}/run`, formPost({ rerun: first.id }, { htmx: true }))).status).toBe(404);
  });

  test("cancel a run, delete a plan (its runs stay), unknown ones are 404 pages", async () => {
    const server = await startTestApp();
    const g = gate(); // never opened: the run stays running until cancelled
    const plan = await createPlan(server, { name: "parked", steps: [{ name: "a", task_type: "shell", params: { command: AWAIT_GATE, shell: true, env: g.env } }] });
    const run = (await (await server.api(`/plans/${plan.id}/run`, { method: "POST" })).json()) as TaskJson;
    const ui = uiClient(server);
    const cancel = await ui(`/plans/${plan.id}/runs/${run.id}/cancel`, { method: "POST", htmx: "run-main" });
    expect(cancel.status).toBe(200);
    expect(hxTrigger(cancel).toast).toEqual({ level: "success", message: "Run of “parked” cancelled" });
    expect(cancel.text.startsWith('<div id="run-main"')).toBe(true);
    expect(cancel.text).toContain('data-step="a" data-status="cancelled"');
    const again = await ui(`/plans/${plan.id}/runs/${run.id}/cancel`, { method: "POST", htmx: "run-main" });
    expect(again.status).toBe(409);
    expect(hxTrigger(again).toast.level).toBe("error");

    const del = await ui(`/plans/${plan.id}/delete`, { method: "POST", htmx: true });
    expect(del.headers.get("hx-redirect")).toBe("/plans");
    expect(flashOf(del)[0]!.message).toBe("Plan “parked” deleted");
    expect((await ui(`/plans/${plan.id}`)).status).toBe(404);
    // The run is still there, and its page still works without its plan.
    expect((await ui(`/plans/${plan.id}/runs/${run.id}`)).status).toBe(200);
    expect((await ui(`/plans/${plan.id}/runs/not-a-run`)).status).toBe(404);
  });
});
