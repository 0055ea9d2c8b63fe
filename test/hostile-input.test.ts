// Hostile input over HTTP: SQL injection, script payloads, path traversal, oversized or odd JSON and
// abused headers. Every case is answered with a 4xx in the documented error shape, or accepted and
// stored as inert text (read back verbatim, rendered escaped) — never a 500, never executed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { ASSETS } from "../src/http/assets.ts";
import { cleanup, json, startTestServer } from "./helpers.ts";
import { openSse } from "./sse.ts";
import { expectInert, IMG, JS_URL, SCRIPT, TEMPLATE, XSS } from "./hostile-corpus.ts";

type Server = Awaited<ReturnType<typeof startTestServer>>;
type ErrorBody = { error: { code: string; message: string; details: Array<{ field?: string; message: string }> } };
type Task = Record<string, any> & { id: string };

let server: Server; // no workers: nothing changes a row but the requests themselves
let runner: Server; // two workers: runs the shell tasks whose log lines are hostile

beforeAll(async () => {
  server = await startTestServer({ workers: 0 });
  runner = await startTestServer();
});
afterAll(cleanup);

const patch = (body: unknown): RequestInit => ({ method: "PATCH", body: JSON.stringify(body) });
const nested = (depth: number): unknown => (depth === 0 ? "bottom" : { d: nested(depth - 1) });

/** The documented error shape, with the expected status; returns the body. */
async function expectError(res: Response, status: number | number[], code?: string): Promise<ErrorBody> {
  const text = await res.text();
  const statuses = Array.isArray(status) ? status : [status];
  if (!statuses.includes(res.status)) throw new Error(`expected ${statuses.join("/")}, got ${res.status}: ${text.slice(0, 500)}`);
  expect(res.headers.get("content-type")).toContain("application/json");
  const body = JSON.parse(text) as ErrorBody;
  expect(Object.keys(body)).toEqual(["error"]);
  expect(typeof body.error.code).toBe("string");
  expect(typeof body.error.message).toBe("string");
  expect(Array.isArray(body.error.details)).toBe(true);
  if (code) expect(body.error.code).toBe(code);
  return body;
}

const count = (s: Server, table: string) => s.db.sqlite.query<{ n: number }, []>(`SELECT count(*) AS n FROM ${table}`).get()!.n;
const tableNames = (s: Server) =>
  s.db.sqlite
    .query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type IN ('table', 'index', 'trigger') ORDER BY name")
    .all()
    .map((r) => r.name);
const snapshot = (s: Server) => ({
  tables: tableNames(s),
  tasks: count(s, "tasks"),
  work_orders: count(s, "work_orders"),
  executions: count(s, "executions"),
  plans: count(s, "plans"),
});

async function createTask(s: Server, body: Record<string, unknown>): Promise<Task> {
  const res = await s.api("/tasks", json({ task_type: "hello", params: { name: "x" }, ...body }));
  const text = await res.text();
  if (res.status !== 201) throw new Error(`create task: ${res.status} ${text}`);
  return JSON.parse(text) as Task;
}

async function createPlan(s: Server, body: Record<string, unknown>): Promise<Task> {
  const res = await s.api("/plans", json(body));
  const text = await res.text();
  if (res.status !== 201) throw new Error(`create plan: ${res.status} ${text}`);
  return JSON.parse(text) as Task;
}

/** A page as the test server's admin sees it. */
async function page(s: Server, path: string): Promise<{ status: number; html: string }> {
  const res = await s.get(path);
  return { status: res.status, html: await res.text() };
}

/** One raw HTTP/1.1 request, bytes exactly as given (no URL normalisation by a client). */
function raw(s: Server, request: string | Uint8Array): Promise<{ status: number; head: string; body: string }> {
  const { hostname, port } = new URL(s.url);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = connect({ host: hostname, port: Number(port) }, () => sock.write(request));
    sock.on("data", (d: Buffer) => chunks.push(d));
    sock.on("error", reject);
    sock.on("end", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      const split = text.indexOf("\r\n\r\n");
      const head = split >= 0 ? text.slice(0, split) : text;
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0), head, body: split >= 0 ? text.slice(split + 4) : "" });
    });
  });
}
/** The Authorization header line of the server's admin, for raw requests. */
const authLine = (s: Server) => `Authorization: Bearer ${s.token}\r\n`;
/** A raw GET as the server's admin (signed in, so the answer is the route's own, not a sign-in redirect). */
const rawGet = (s: Server, path: string, headers = "") => raw(s, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${authLine(s)}${headers}\r\n`);

// ---------------------------------------------------------------------------------------------------
// 1. SQL injection
// ---------------------------------------------------------------------------------------------------

const SQLI = [
  "' OR 1=1 --",
  '"; DROP TABLE tasks; --',
  "%' UNION SELECT id, title FROM tasks --",
  "\\",
  "\\'; DELETE FROM plans; --",
  "%",
  "_",
  "1; ATTACH DATABASE '/tmp/x.db' AS x; --",
  "\u0001\u0002\u0007\u001b[31m\u007f\u00ff\ufffd\u202e\u200b\uffff𝕏 bin",
];

describe("SQL injection", () => {
  const created = new Map<string, Task>();

  beforeAll(async () => {
    for (const s of SQLI) {
      // Titles are trimmed; these have no outer whitespace. Control characters are fine in a title.
      created.set(s, await createTask(server, { title: `t ${s}`, description: s }));
    }
  });

  test.each(SQLI.map((s) => [JSON.stringify(s), s] as const))("every text field of a task stores %s verbatim", async (_n, s) => {
    const before = snapshot(server);
    const fields = { title: s, description: s, repository_url: s, branch_name: s, assigned_to: s, metadata: { [s]: s }, context: { s } };
    const task = await createTask(server, { ...fields, params: { name: s } });
    const back = (await (await server.api(`/tasks/${task.id}`)).json()) as Task;
    for (const [k, v] of Object.entries(fields)) expect(back[k]).toEqual(v);
    expect(back.params).toEqual({ name: s });
    expect(snapshot(server)).toEqual({ ...before, tasks: before.tasks + 1, work_orders: before.work_orders + 1 });

    // PATCH every text field with the payload reversed: stored verbatim too, nothing else touched.
    const r = [...s].reverse().join("") + "!";
    const edits = { title: r, description: r, repository_url: r, branch_name: r, assigned_to: r, metadata: { [r]: r }, context: [r] };
    const res = await server.api(`/tasks/${task.id}`, patch(edits));
    expect(res.status).toBe(200);
    const again = (await (await server.api(`/tasks/${task.id}`)).json()) as Task;
    for (const [k, v] of Object.entries(edits)) expect(again[k]).toEqual(v);
    expect(snapshot(server)).toEqual({ ...before, tasks: before.tasks + 1, work_orders: before.work_orders + 1 });
  });

  test.each(SQLI.map((s) => [JSON.stringify(s), s] as const))("a plan stores %s verbatim in its description and step params", async (_n, s) => {
    const before = snapshot(server);
    const res = await server.api(
      "/plans",
      json({ name: `p-${created.get(s)!.id}`, description: s, steps: [{ name: "a", task_type: "hello", params: { name: s } }] }),
    );
    expect(res.status).toBe(201);
    const plan = (await res.json()) as Task;
    const back = (await (await server.api(`/plans/${plan.id}`)).json()) as Task;
    expect(back.description).toBe(s);
    expect(back.steps[0].params).toEqual({ name: s });
    expect(snapshot(server)).toEqual({ ...before, plans: before.plans + 1 });
  });

  test.each(SQLI.map((s) => [JSON.stringify(s), s] as const))("a plan named %s: stored verbatim or 400 (control characters)", async (_n, s) => {
    const before = snapshot(server);
    const res = await server.api("/plans", json({ name: `n ${s}`, steps: [{ name: "a", task_type: "hello", params: { name: "x" } }] }));
    if (/[\u0000-\u001f\u007f]/.test(s)) {
      const body = await expectError(res, 400, "validation_failed");
      expect(body.error.details.map((d) => d.field)).toContain("name");
      expect(snapshot(server)).toEqual(before);
      return;
    }
    expect(res.status).toBe(201);
    const plan = (await res.json()) as Task;
    expect(((await (await server.api(`/plans/${plan.id}`)).json()) as Task).name).toBe(`n ${s}`);
    // A plan is also reachable by its name: the hostile name is only ever a bound parameter.
    const byName = await server.api(`/plans/${encodeURIComponent(`n ${s}`)}`);
    expect(byName.status).toBe(200);
    expect(((await byName.json()) as Task).id).toBe(plan.id);
  });

  const filters: Array<[string, string]> = [
    ["/tasks", "status"],
    ["/tasks", "task_type"],
    ["/tasks", "priority"],
    ["/tasks", "q"],
    ["/tasks", "parent_task_id"],
    ["/executions", "task_id"],
    ["/executions", "worker_id"],
    ["/executions", "status"],
    ["/plans", "q"],
  ];
  const filterCases = filters.flatMap(([path, param]) => SQLI.map((s) => [`${path}?${param}=${JSON.stringify(s)}`, path, param, s] as const));

  test.each(filterCases)("GET %s: 400, or 200 matching the text literally", async (_n, path, param, s) => {
    const before = snapshot(server);
    const res = await server.api(`${path}?${param}=${encodeURIComponent(s)}&per_page=100`);
    if (res.status === 400) {
      const body = await expectError(res, 400, "validation_failed");
      expect(body.error.details.map((d) => d.field ?? "").join(" ")).toContain(param);
    } else {
      expect(res.status).toBe(200);
      const body = (await res.json()) as { items: Task[]; total: number };
      if (param === "q") {
        // Every hit contains the text literally (LIKE wildcards escaped, quotes bound): `' OR 1=1 --` is no match-all.
        const lower = s.toLowerCase();
        const hay = (t: Task) => `${t.title ?? ""}\n${t.description ?? ""}\n${t.name ?? ""}`.toLowerCase();
        for (const item of body.items) expect(hay(item)).toContain(lower);
        if (path === "/tasks") expect(body.items.map((t) => t.id)).toContain(created.get(s)!.id);
        expect(body.total).toBeLessThan(count(server, path === "/tasks" ? "tasks" : "plans"));
      } else {
        // No task type, parent, task or worker has this name: an injection that widened the query would match rows.
        expect(body.items).toEqual([]);
        expect(body.total).toBe(0);
      }
    }
    expect(snapshot(server)).toEqual(before);
  });

  test.each(SQLI.map((s) => [JSON.stringify(s), s] as const))("the HTML task and plan lists searched for %s: 200, escaped, tables intact", async (_n, s) => {
    const before = snapshot(server);
    for (const path of ["/tasks", "/plans"]) {
      for (const param of ["q", "status", "task_type", "priority", "page", "per_page"]) {
        const { status, html } = await page(server, `${path}?${param}=${encodeURIComponent(s)}`);
        expect(status).toBe(200);
        expect(html).not.toContain("Internal error");
      }
    }
    const { html } = await page(server, `/tasks?q=${encodeURIComponent(s)}`);
    // The task titled with the payload is listed (the search used the text literally).
    expect(html).toContain(`/tasks/${created.get(s)!.id}`);
    expect(snapshot(server)).toEqual(before);
  });
});

// ---------------------------------------------------------------------------------------------------
// 2. Script and HTML payloads in everything the UI shows
// ---------------------------------------------------------------------------------------------------

describe("script payloads", () => {
  let task: Task;
  let child: Task;
  let plan: Task;
  let runId: string;

  beforeAll(async () => {
    task = await createTask(server, {
      title: XSS,
      description: XSS,
      params: { name: XSS },
      repository_url: JS_URL,
      branch_name: XSS,
      assigned_to: XSS,
      metadata: { [XSS]: XSS, link: JS_URL },
      context: { html: XSS },
    });
    child = await createTask(server, { title: `child ${XSS}`, parent_task_id: task.id, depends_on: [task.id] });
    plan = await createPlan(server, {
      name: `plan ${SCRIPT} ${IMG} ${TEMPLATE}`,
      description: XSS,
      steps: [
        { name: "first", task_type: "hello", params: { name: XSS } },
        { name: "second", task_type: "shell", params: { command: "echo", args: [XSS, "{{inputs.who}}"], env: { X: XSS } } },
      ],
    });
    const run = await server.api(`/plans/${plan.id}/run`, json({ inputs: { who: XSS, [XSS]: XSS } }));
    expect(run.status).toBe(201);
    runId = ((await run.json()) as Task).id;
  });

  test("the payload is stored verbatim (the API is not the place to escape)", async () => {
    const back = (await (await server.api(`/tasks/${task.id}`)).json()) as Task;
    expect(back.title).toBe(XSS);
    expect(back.params.name).toBe(XSS);
    expect(back.repository_url).toBe(JS_URL);
  });

  const pages: Array<[string, () => string, boolean]> = [
    ["dashboard", () => "/", true],
    ["task list", () => "/tasks", true],
    ["task list searched for the payload", () => `/tasks?q=${encodeURIComponent(SCRIPT)}`, true],
    ["task detail", () => `/tasks/${task.id}`, true],
    ["task detail with a hostile execution and level", () => `/tasks/${task.id}?execution=${encodeURIComponent(XSS)}&level=${encodeURIComponent(XSS)}`, false],
    ["child task detail (parent and dependency links)", () => `/tasks/${child.id}`, true],
    ["plan list", () => "/plans", true],
    ["plan list searched for the payload", () => `/plans?q=${encodeURIComponent(SCRIPT)}`, true],
    ["plan detail", () => `/plans/${plan.id}`, true],
    ["plan editor", () => `/plans/${plan.id}/edit`, true],
    ["run view", () => `/plans/${plan.id}/runs/${runId}`, true],
    ["new task form with a hostile task_type", () => `/tasks/new?task_type=${encodeURIComponent(XSS)}`, false],
    ["404 page for a hostile path", () => `/${encodeURIComponent(XSS)}`, false],
    ["task 404 for a hostile id", () => `/tasks/${encodeURIComponent(XSS)}`, false],
  ];

  test.each(pages)("%s renders user text escaped", async (_n, path, mustShow) => {
    const { status, html } = await page(server, path());
    expect(status).toBeLessThan(500);
    expectInert(html, mustShow);
    expect(html).not.toContain("Internal error");
  });

  test.each(pages.filter((p) => p[2]))("%s, as an htmx fragment, renders user text escaped", async (_n, path) => {
    for (const target of ["task-main", "task-list", "plan-list", "plan-runs", "run-main", "dash-live"]) {
      const res = await server.get(path(), { headers: { "hx-request": "true", "hx-target": target } });
      expect(res.status).toBeLessThan(500);
      expectInert(await res.text(), false);
    }
  });

  test("a repository_url of javascript: is shown as text, never as a link", async () => {
    const { html } = await page(server, `/tasks/${task.id}`);
    expect(html).toContain(JS_URL);
    expect(html).not.toMatch(/href\s*=\s*["']?\s*javascript:/i);
  });

  test("the HTML form stores the payload as text and re-renders it escaped on a validation error", async () => {
    const form = new URLSearchParams({ title: XSS, task_type: "hello", "params.name": XSS, description: XSS });
    const bad = new URLSearchParams({ title: XSS, task_type: XSS, description: XSS });
    const res = await server.get("/tasks", { method: "POST", body: bad, redirect: "manual" });
    expect(res.status).toBeLessThan(500);
    expectInert(await res.text(), false);
    const ok = await server.get("/tasks", { method: "POST", body: form, redirect: "manual" });
    expect(ok.status).toBeLessThan(500);
    expectInert(await ok.text(), false);
  });

  test("step names are restricted: a payload as a step name is a 400 naming the field", async () => {
    const before = snapshot(server);
    for (const name of [SCRIPT, IMG, TEMPLATE, "../x", "a b"]) {
      const res = await server.api("/plans", json({ name: `pn ${name}`, steps: [{ name, task_type: "hello", params: { name: "x" } }] }));
      const body = await expectError(res, 400, "validation_failed");
      expect(body.error.details.map((d) => d.field ?? "").join(" ")).toContain("steps.0.name");
    }
    expect(snapshot(server)).toEqual(before);
  });

  test("log lines of a shell task that echoes the payloads are stored verbatim and rendered escaped", async () => {
    const lines = [SCRIPT, IMG, `${JS_URL} ${TEMPLATE}`, "\u001b[31mred\u001b[0m </pre><b>x</b>"];
    const res = await runner.api(
      "/tasks",
      json({ title: "echo", task_type: "shell", params: { command: "printf", args: ["%s\\n", ...lines] } }),
    );
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as Task;
    const done = (await (await runner.api(`/tasks/${id}/wait?timeout=30`)).json()) as Task;
    expect(done.status).toBe("succeeded");
    const execs = (await (await runner.api(`/executions?task_id=${id}`)).json()) as { items: Task[] };
    const execId = execs.items[0]!.id;
    const logs = (await (await runner.api(`/executions/${execId}/logs`)).json()) as { items: Array<{ message: string }> };
    for (const l of lines) expect(logs.items.map((i) => i.message)).toContain(l);

    const { html } = await page(runner, `/tasks/${id}`);
    expectInert(html);
    expect(html).not.toContain("<b>x</b>");
    // The live stream replays the same lines as HTML: escaped there too.
    const { sse } = await openSse(`${runner.url}/events?topics=log:${execId}`, { token: runner.token });
    const [frame] = await sse.until((f) => f.event === "log");
    await sse.close();
    expectInert(frame!.data);
    expect(frame!.data).not.toContain("<b>x</b>");
  });
});

// ---------------------------------------------------------------------------------------------------
// 3. Path traversal
// ---------------------------------------------------------------------------------------------------

describe("path traversal", () => {
  const asset = ASSETS.app.url; // /assets/app.<hash>.js
  const leaks = (body: string) => /"devDependencies"|"name":\s*"agentvine|root:x:0:0|import \{ Hono \}|createApp/.test(body);

  test("the real asset is served (the prefix under test is right)", async () => {
    const res = await rawGet(server, asset);
    expect(res.status).toBe(200);
  });

  const assetPaths = [
    "/assets/..%2f..%2fpackage.json",
    "/assets/..%2F..%2Fpackage.json",
    "/assets/%2e%2e/%2e%2e/package.json",
    "/assets/%2e%2e%2f%2e%2e%2fpackage.json",
    "/assets/..%5c..%5cpackage.json",
    "/assets/..\\..\\package.json",
    "/assets/..%252f..%252fpackage.json",
    "/assets/....//....//package.json",
    "/assets/../../package.json",
    "/assets/../src/app.ts",
    "/assets/..%2f..%2fsrc%2fapp.ts",
    "/assets/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/assets/..%c0%af..%c0%afpackage.json",
    "/assets/..%00/package.json",
    `${asset}%00.json`,
    `${asset}/..%2f..%2fpackage.json`,
    `/assets/${encodeURIComponent(asset)}`,
    "/favicon.svg/..%2fpackage.json",
    "/public/app.js",
    "/public/../package.json",
  ];

  test.each(assetPaths)("GET %s: 4xx, no file outside the embedded assets", async (path) => {
    const res = await rawGet(server, path);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(leaks(res.body)).toBe(false);
  });

  const hostileIds = ["../../etc/passwd", "..%2f..%2fetc%2fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "..\\..\\etc\\passwd", "....//....//etc/passwd", "%00", "%ff%fe"];
  const idPaths = hostileIds.flatMap((id) => [
    `/api/v1/tasks/${id}`,
    `/api/v1/tasks/${id}/events`,
    `/api/v1/executions/${id}`,
    `/api/v1/executions/${id}/logs`,
    `/api/v1/plans/${id}`,
    `/api/v1/plans/${id}/runs`,
    `/tasks/${id}`,
    `/plans/${id}`,
    `/plans/${id}/edit`,
  ]);

  test.each(idPaths)("GET %s: 404 (or 400), not 500", async (path) => {
    const res = await rawGet(server, path);
    expect([400, 404]).toContain(res.status);
    expect(leaks(res.body)).toBe(false);
    if (path.startsWith("/api/") && !path.includes("\\")) {
      const body = JSON.parse(res.body) as ErrorBody;
      expect(["not_found", "validation_failed"]).toContain(body.error.code);
    }
  });

  test.each(["../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "%2e%2e"])("ids through fetch (%s): JSON 404 for every verb", async (id) => {
    const before = snapshot(server);
    for (const [method, path] of [
      ["GET", `/tasks/${id}`],
      ["PATCH", `/tasks/${id}`],
      ["DELETE", `/tasks/${id}`],
      ["POST", `/tasks/${id}/cancel`],
      ["POST", `/tasks/${id}/retry`],
      ["GET", `/plans/${id}`],
      ["DELETE", `/plans/${id}`],
      ["POST", `/plans/${id}/run`],
    ] as const) {
      const res = await server.api(path, method === "PATCH" ? patch({ title: "x" }) : { method });
      await expectError(res, 404, "not_found");
    }
    expect(snapshot(server)).toEqual(before);
  });

  const cwds = ["../x", "..", "/etc", "/", "//etc", "a/../../x", "./../x", "a/b/../../../x", "a/..\\..\\x", "..\\x", "x/../../../../etc/passwd", "~/../.."];
  test.each(cwds)("shell cwd %p: 400 at submit, for a task and for a plan step", async (cwd) => {
    const before = snapshot(server);
    const task = await server.api("/tasks", json({ title: "x", task_type: "shell", params: { command: "pwd", cwd } }));
    const body = await expectError(task, 400, "validation_failed");
    expect(body.error.details.map((d) => d.field)).toContain("params.cwd");
    const step = await server.api("/plans", json({ name: `cwd ${cwd}`, steps: [{ name: "a", task_type: "shell", params: { command: "pwd", cwd } }] }));
    const stepBody = await expectError(step, 400, "validation_failed");
    expect(JSON.stringify(stepBody.error.details)).toContain("cwd");
    expect(snapshot(server)).toEqual(before);
  });

  test("a cwd inside the workspace is accepted (the check is not a blanket refusal)", async () => {
    const res = await server.api("/tasks", json({ title: "x", task_type: "shell", params: { command: "pwd", cwd: "a/../b/./c" } }));
    expect(res.status).toBe(201);
  });
});

// ---------------------------------------------------------------------------------------------------
// 4. Oversized, deep, odd JSON
// ---------------------------------------------------------------------------------------------------

describe("oversized and odd JSON", () => {
  let taskId: string;
  let planId: string;
  beforeAll(async () => {
    taskId = (await createTask(server, { title: "target" })).id;
    planId = (await createPlan(server, { name: "odd-json-target", steps: [{ name: "a", task_type: "hello", params: { name: "x" } }] })).id;
  });

  const TWO_MB = "x".repeat(2 * 1024 * 1024);
  const bodies = () => [
    ["POST", "/tasks", { title: "big", task_type: "hello", params: { name: "x" }, description: TWO_MB }],
    ["PATCH", `/tasks/${taskId}`, { description: TWO_MB }],
    ["POST", "/plans", { name: "big", description: TWO_MB, steps: [{ name: "a", task_type: "hello", params: { name: "x" } }] }],
    ["PUT", `/plans/${planId}`, { name: "big", description: TWO_MB, steps: [{ name: "a", task_type: "hello", params: { name: "x" } }] }],
    ["POST", `/plans/${planId}/run`, { inputs: { big: TWO_MB } }],
  ] as const;

  test("a 2 MB body is a 413 on every JSON endpoint", async () => {
    const before = snapshot(server);
    for (const [method, path, body] of bodies()) {
      const res = await server.api(path, { method, body: JSON.stringify(body) });
      await expectError(res, 413, "payload_too_large");
    }
    expect(snapshot(server)).toEqual(before);
  });

  test("a 2 MB body sent chunked (no Content-Length) is a 413 too", async () => {
    const before = snapshot(server);
    const text = JSON.stringify({ title: "big", task_type: "hello", params: { name: "x" }, description: TWO_MB });
    const bytes = new TextEncoder().encode(text);
    for (const [method, path] of [
      ["POST", "/tasks"],
      ["POST", `/plans/${planId}/run`],
    ] as const) {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < bytes.length; i += 64 * 1024) controller.enqueue(bytes.subarray(i, i + 64 * 1024));
          controller.close();
        },
      });
      const res = await server.api(path, { method, body, headers: { "content-type": "application/json" }, duplex: "half" } as RequestInit);
      await expectError(res, 413, "payload_too_large");
    }
    expect(snapshot(server)).toEqual(before);
  });

  test("a 2 MB HTML form post is a 413, not a 500", async () => {
    const res = await server.get("/tasks", {
      method: "POST",
      body: new URLSearchParams({ title: "big", task_type: "hello", "params.name": TWO_MB }),
      redirect: "manual",
    });
    expect(res.status).toBe(413);
  });

  const deep = (depth: number) => [
    ["POST /tasks context", "POST", "/tasks", { title: "d", task_type: "hello", params: { name: "x" }, context: nested(depth) }],
    ["POST /tasks metadata", "POST", "/tasks", { title: "d", task_type: "hello", params: { name: "x" }, metadata: { m: nested(depth) } }],
    ["POST /tasks params", "POST", "/tasks", { title: "d", task_type: "hello", params: { name: "x", deep: nested(depth) } }],
    ["PATCH context", "PATCH", `/tasks/${taskId}`, { context: nested(depth) }],
    ["POST /plans step params", "POST", "/plans", { name: "deep", steps: [{ name: "a", task_type: "hello", params: { name: "x", d: nested(depth) } }] }],
    ["PUT /plans step params", "PUT", `/plans/${planId}`, { name: "deep", steps: [{ name: "a", task_type: "hello", params: { name: "x", d: nested(depth) } }] }],
    ["POST run inputs", "POST", `/plans/${planId}/run`, { inputs: { d: nested(depth) } }],
  ] as const;

  test("JSON nested 200 deep is a 400 naming the depth, wherever it is", async () => {
    const before = snapshot(server);
    for (const [name, method, path, body] of deep(200)) {
      const res = await server.api(path, { method, body: JSON.stringify(body) });
      const err = await expectError(res, 400, "validation_failed");
      expect(`${name}: ${err.error.message}`).toMatch(/nested deeper than 100 levels/);
    }
    expect(snapshot(server)).toEqual(before);
  });

  test("a 50,000-element array: 400 or accepted, never 500", async () => {
    const big = Array.from({ length: 50_000 }, (_, i) => i);
    const before = snapshot(server);
    const cases = [
      ["POST", "/tasks", { title: "arr", task_type: "hello", params: { name: "x", list: big } }, 400],
      ["POST", "/tasks", { title: "arr", task_type: "shell", params: { command: "true", args: big.map(String) } }, 400],
      ["POST", "/tasks", { title: "arr", task_type: "hello", params: { name: "x" }, depends_on: big.map(String) }, 400],
      ["POST", "/tasks", { title: "arr", task_type: "hello", params: { name: "x" }, requires: big.map(() => "a") }, 400],
      ["POST", "/plans", { name: "arr", steps: big.slice(0, 5000).map((i) => ({ name: `s${i}`, task_type: "hello", params: { name: "x" } })) }, 400],
      ["POST", "/tasks", { title: "arr", task_type: "hello", params: { name: "x" }, context: big }, 201],
      ["PATCH", `/tasks/${taskId}`, { metadata: { list: big } }, 200],
    ] as const;
    for (const [method, path, body, expected] of cases) {
      const res = await server.api(path, { method, body: JSON.stringify(body) });
      if (expected === 400) await expectError(res, 400, "validation_failed");
      else expect(res.status).toBe(expected);
    }
    expect(snapshot(server)).toEqual({ ...before, tasks: before.tasks + 1, work_orders: before.work_orders + 1 });
  });

  test.each([
    ["a lone 0xff byte in a string", [0xff]],
    ["an overlong encoding of '/'", [0xc0, 0xaf]],
    ["a truncated 3-byte sequence", [0xe2, 0x82]],
    ["an encoded surrogate (CESU)", [0xed, 0xa0, 0x80]],
    ["a code point beyond U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
  ])("invalid UTF-8 (%s) in a JSON body is a 400", async (_n, bad) => {
    const before = snapshot(server);
    const enc = new TextEncoder();
    const body = new Uint8Array([...enc.encode('{"title":"a'), ...bad, ...enc.encode('b","task_type":"hello","params":{"name":"x"}}')]);
    for (const [method, path] of [
      ["POST", "/tasks"],
      ["PATCH", `/tasks/${taskId}`],
      ["POST", "/plans"],
      ["POST", `/plans/${planId}/run`],
    ] as const) {
      const res = await server.api(path, { method, body, headers: { "content-type": "application/json" } });
      const err = await expectError(res, 400, "validation_failed");
      expect(err.error.message).toMatch(/utf-8/i);
    }
    expect(snapshot(server)).toEqual(before);
  });

  test.each([["null"], ["42"], ["-1.5e308"], ['"a string"'], ["true"], ["[]"], ['[{"title":"x","task_type":"hello","params":{"name":"x"}}]'], ["{}"]])(
    "a JSON body of %s is a 400",
    async (text) => {
      const before = snapshot(server);
      for (const [method, path] of [
        ["POST", "/tasks"],
        ["PATCH", `/tasks/${taskId}`],
        ["POST", "/plans"],
        ["PUT", `/plans/${planId}`],
        ["POST", `/plans/${planId}/run`],
      ] as const) {
        if (text === "{}" && path.endsWith("/run")) continue; // an empty object is a run with no inputs
        const res = await server.api(path, { method, body: text });
        await expectError(res, 400, "validation_failed");
      }
      expect(snapshot(server)).toEqual(before);
    },
  );

  test("duplicate keys: the last one wins, consistently (no validation bypass)", async () => {
    const res = await server.api("/tasks", {
      method: "POST",
      body: '{"title":"first","title":"second","task_type":"shell","task_type":"hello","params":{"name":"a","name":"b"}}',
    });
    expect(res.status).toBe(201);
    const task = (await res.json()) as Task;
    expect([task.title, task.task_type, task.params.name]).toEqual(["second", "hello", "b"]);
    // A valid value first, an invalid one last: validated is what is stored, so this is refused.
    const before = snapshot(server);
    const bad = await server.api("/tasks", {
      method: "POST",
      body: '{"title":"x","task_type":"shell","params":{"command":"pwd","cwd":"ok","cwd":"../escape"}}',
    });
    const err = await expectError(bad, 400, "validation_failed");
    expect(err.error.details.map((d) => d.field)).toContain("params.cwd");
    expect(snapshot(server)).toEqual(before);
  });

  test("__proto__ keys neither pass as fields nor pollute prototypes", async () => {
    const before = snapshot(server);
    const res = await server.api("/tasks", {
      method: "POST",
      body: '{"title":"x","task_type":"hello","params":{"name":"x"},"__proto__":{"title":"y","priority":"high"}}',
    });
    const err = await expectError(res, 400, "validation_failed");
    expect(err.error.details.map((d) => d.field)).toContain("__proto__");
    expect(snapshot(server)).toEqual(before);
    const ok = await server.api("/tasks", {
      method: "POST",
      body: '{"title":"x","task_type":"hello","params":{"name":"x"},"metadata":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}}',
    });
    expect(ok.status).toBe(201);
    const task = (await ok.json()) as Task;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const back = (await (await server.api(`/tasks/${task.id}`)).json()) as Task;
    // The "__proto__" key is not kept (zod builds the record by assignment), but nothing leaks out of it:
    // not onto Object.prototype, not into the stored JSON as an own field.
    expect(Object.keys(back.metadata)).not.toContain("polluted");
    expect(back.metadata.constructor).toEqual({ prototype: { polluted: 1 } });
    expect(back.polluted).toBeUndefined();
  });

  test("a huge number of query parameters: 400, not 500", async () => {
    // 1,000 parameters (~9 KB) reach the app; 5,000 (~50 KB) are refused by the HTTP server itself (431).
    const huge = await rawGet(server, `/api/v1/tasks?${Array.from({ length: 5000 }, (_, i) => `k${i}=${i}`).join("&")}`);
    expect(huge.status).toBeGreaterThanOrEqual(400);
    expect(huge.status).toBeLessThan(500);
    const many = Array.from({ length: 1000 }, (_, i) => `k${i}=${i}`).join("&");
    for (const path of ["/tasks", "/executions", "/plans", `/plans/${planId}/runs`, `/tasks/${taskId}/wait`]) {
      const res = await server.api(`${path}?${many}`);
      await expectError(res, 400, "validation_failed");
    }
    const repeated = Array.from({ length: 1000 }, () => "status=queued").join("&");
    const res = await server.api(`/tasks?${repeated}`);
    expect([200, 400]).toContain(res.status);
    if (res.status === 400) await expectError(res, 400);
    for (const path of ["/tasks", "/plans", "/"]) {
      const { status } = await page(server, `${path}?${many}`);
      expect(status).toBe(200);
    }
  });

  test.each([
    "/api/v1/tasks?q=%ff",
    "/api/v1/tasks?q=%",
    "/api/v1/tasks?q=%E0%A4%A",
    "/api/v1/plans?q=%c0%af",
    "/api/v1/executions?worker_id=%ff%fe",
    "/api/v1/tasks?%ff=1",
    "/api/v1/tasks/%",
    "/tasks?q=%ff",
    "/tasks?q=%",
    "/plans?q=%c0%af",
    "/tasks/%",
    "/events?topics=%ff",
  ])("malformed percent-encoding in %s: answered, not a 500", async (path) => {
    const res = await rawGet(server, path);
    expect(res.status).toBeGreaterThanOrEqual(200);
    expect(res.status).toBeLessThan(500);
    if (path.startsWith("/api/") && res.status >= 400) expect(JSON.parse(res.body).error.code).toMatch(/validation_failed|not_found/);
  });

  test.each([
    ["/tasks", "title=%ff&task_type=hello&params.name=x"],
    ["/tasks", "title=%&task_type=hello"],
    ["/tasks", "title=a&task_type=hello&params.name=%E0%A4%A"],
    ["/plans/editor", "name=%ff&steps.0.name=%&op=%ff"],
    ["/plans", "name=%ff&steps.0.name=%&steps.0.task_type=%c0"],
  ])("malformed percent-encoding in a form post to %s: answered, not a 500", async (path, body) => {
    const res = await server.get(path, { method: "POST", body, headers: { "content-type": "application/x-www-form-urlencoded" }, redirect: "manual" });
    expect(res.status).toBeLessThan(500);
    expectInert(await res.text(), false);
  });

  test("an absurdly long URL is refused with a 4xx, and the server keeps serving", async () => {
    const res = await rawGet(server, `/api/v1/tasks?q=${"a".repeat(200_000)}`);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect((await server.api("/tasks")).status).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------------------
// 5. Header abuse
// ---------------------------------------------------------------------------------------------------

describe("header abuse", () => {
  let execId: string;
  let lineCount: number;
  beforeAll(async () => {
    const res = await runner.api("/tasks", json({ title: "lines", task_type: "shell", params: { command: "printf", args: ["a\\nb\\nc\\n"] } }));
    const { id } = (await res.json()) as Task;
    expect(((await (await runner.api(`/tasks/${id}/wait?timeout=30`)).json()) as Task).status).toBe("succeeded");
    execId = ((await (await runner.api(`/executions?task_id=${id}`)).json()) as { items: Task[] }).items[0]!.id;
    lineCount = ((await (await runner.api(`/executions/${execId}/logs`)).json()) as { items: unknown[] }).items.length;
    expect(lineCount).toBeGreaterThanOrEqual(3);
  });

  test.each([
    ["8 KB of digits", "9".repeat(8000), "all"],
    ["non-numeric", "abc", "all"],
    ["negative", "-5", "all"],
    ["NaN", "NaN", "all"],
    ["Infinity", "Infinity", "all"],
    ["1e308", "1e308", "none"],
    ["hex", "0x1", "after-1"],
    ["an SSE id with a colon", "exec:1", "all"],
    ["a float", "1.5", "after-1.5"],
    ["an injection", "1; DROP TABLE log_lines", "all"],
  ])("log SSE with a %s Last-Event-ID: 200, a sane replay, an end", async (_n, value, expected) => {
    const { res, sse } = await openSse(`${runner.url}/api/v1/executions/${execId}/logs`, { token: runner.token, headers: { "last-event-id": value } });
    expect(res.status).toBe(200);
    const frames = await sse.rest();
    const logs = frames.filter((f) => f.event === "log").map((f) => Number(f.id));
    expect(frames.at(-1)!.event).toBe("end");
    if (expected === "all") expect(logs.length).toBe(lineCount);
    if (expected === "none") expect(logs).toEqual([]);
    if (expected === "after-1") expect(logs.every((s) => s > 1)).toBe(true);
    if (expected === "after-1.5") expect(logs.every((s) => s > 1.5)).toBe(true);
    // The JSON read of the same log ignores the header the same way.
    const j = await runner.api(`/executions/${execId}/logs`, { headers: { "last-event-id": value } });
    expect(j.status).toBe(200);
  });

  test("a Last-Event-ID beyond the header limit is a 4xx, not a 500", async () => {
    const res = await rawGet(runner, `/api/v1/executions/${execId}/logs`, `Accept: text/event-stream\r\nLast-Event-ID: ${"9".repeat(200_000)}\r\n`);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect((await runner.api("/tasks")).status).toBe(200);
  });

  test.each(["abc", "-1", "9".repeat(8000), "1e308", "<script>"])("the live /events stream with Last-Event-ID %p replays sanely", async (value) => {
    const { res, sse } = await openSse(`${runner.url}/events?topics=log:${execId}`, { token: runner.token, headers: { "last-event-id": value } });
    expect(res.status).toBe(200);
    if (value === "1e308") {
      await sse.close();
      return; // resumes after a seq that never comes: nothing to replay
    }
    const [frame] = await sse.until((f) => f.event === "log");
    await sse.close();
    expect(Number(frame!.id)).toBe(lineCount);
  });

  const hello = JSON.stringify({ title: "ct", task_type: "hello", params: { name: "x" } });
  test.each([
    ["text/plain", "text/plain"],
    ["text/html", "text/html"],
    ["form", "application/x-www-form-urlencoded"],
    ["multipart", "multipart/form-data; boundary=x"],
    ["jsonx", "application/jsonx"],
    ["xml", "application/xml"],
    ["empty", ""],
    ["garbage", "\u00ff\u00fe;;;=="],
  ])("a valid JSON body with Content-Type %s is a 400 naming the content type", async (_n, type) => {
    const before = snapshot(server);
    const res = await server.api("/tasks", { method: "POST", body: hello, headers: { "content-type": type } });
    const err = await expectError(res, 400, "validation_failed");
    expect(`${err.error.message}`).toMatch(/content-type/i);
    expect(snapshot(server)).toEqual(before);
  });

  test("a valid JSON body without any Content-Type header is a 400", async () => {
    const before = snapshot(server);
    const bytes = new TextEncoder().encode(hello);
    const res = await raw(
      server,
      `POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${authLine(server)}Content-Length: ${bytes.length}\r\n\r\n${hello}`,
    );
    expect(res.status).toBe(400);
    const err = JSON.parse(res.body) as ErrorBody;
    expect(err.error.code).toBe("validation_failed");
    expect(err.error.message).toMatch(/content-type/i);
    expect(snapshot(server)).toEqual(before);
  });

  test("a run body with a wrong Content-Type is a 400 (the body is optional, its type is not)", async () => {
    const plan = await createPlan(server, { name: "ct-run", steps: [{ name: "a", task_type: "hello", params: { name: "x" } }] });
    const before = snapshot(server);
    const res = await server.api(`/plans/${plan.id}/run`, { method: "POST", body: "{}", headers: { "content-type": "text/plain" } });
    await expectError(res, 400, "validation_failed");
    expect(snapshot(server)).toEqual(before);
  });

  test("hostile X-Request-Id, Accept and Accept-Encoding headers are harmless", async () => {
    const res = await server.api("/tasks", {
      headers: { "x-request-id": "<script>alert(1)</script>", accept: "*/*;q=abc, text/event-stream;;", "accept-encoding": "gzip;q=x, br, zstd, *" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id") ?? "").not.toContain("<script>");
    const html = await server.get("/tasks", { headers: { "hx-request": "true", "hx-target": '"><script>alert(1)</script>' } });
    expect(html.status).toBe(200);
    expectInert(await html.text(), false);
  });
});
