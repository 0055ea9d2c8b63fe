// Bad input over HTTP: every case answers the documented 4xx error shape naming the problem, never a 500,
// and writes nothing (the tasks and work_orders row counts are unchanged).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cleanup, json, startTestApp } from "./helpers.ts";

type Server = Awaited<ReturnType<typeof startTestApp>>;

interface Case {
  name: string;
  method?: string;
  /** Path under /api/v1; `$TASK` is replaced by the id of an existing task. */
  path: string;
  init?: RequestInit;
  status: number;
  code: string;
  /** Must appear in the message or in one of the details (the problem, named). */
  names: RegExp;
  /** A field the details must name. */
  field?: string;
}

const TEN_MB = "x".repeat(10 * 1024 * 1024);
const hello = { title: "hi", task_type: "hello", params: { name: "world" } };
const post = (body: unknown): RequestInit => json(body);
const patch = (body: unknown): RequestInit => ({ method: "PATCH", body: JSON.stringify(body) });
const nested = (depth: number): unknown => (depth === 0 ? "bottom" : [nested(depth - 1)]);

const cases: Case[] = [
  // Body: syntax and transport.
  { name: "malformed JSON", path: "/tasks", init: { method: "POST", body: '{"title": "hi",' }, status: 400, code: "validation_failed", names: /malformed json/i },
  { name: "empty body", path: "/tasks", init: { method: "POST", body: "" }, status: 400, code: "validation_failed", names: /malformed json/i },
  {
    name: "wrong content-type (text/plain)",
    path: "/tasks",
    init: { method: "POST", body: JSON.stringify(hello), headers: { "content-type": "text/plain" } },
    status: 400,
    code: "validation_failed",
    names: /content-type/i,
    field: "content-type",
  },
  {
    name: "wrong content-type (form)",
    path: "/tasks",
    init: { method: "POST", body: "title=hi&task_type=hello", headers: { "content-type": "application/x-www-form-urlencoded" } },
    status: 400,
    code: "validation_failed",
    names: /application\/json/,
  },
  { name: "10 MB body", path: "/tasks", init: post({ ...hello, title: TEN_MB }), status: 413, code: "payload_too_large", names: /exceeds the limit/ },
  { name: "a JSON array", path: "/tasks", init: post([hello]), status: 400, code: "validation_failed", names: /expected object/ },
  // Body: the task's own fields.
  { name: "title is a number", path: "/tasks", init: post({ ...hello, title: 5 }), status: 400, code: "validation_failed", names: /expected string/, field: "title" },
  { name: "missing title", path: "/tasks", init: post({ task_type: "hello", params: { name: "x" } }), status: 400, code: "validation_failed", names: /title/, field: "title" },
  { name: "blank title", path: "/tasks", init: post({ ...hello, title: "   " }), status: 400, code: "validation_failed", names: /must not be empty/, field: "title" },
  { name: "unknown field", path: "/tasks", init: post({ ...hello, colour: "red" }), status: 400, code: "validation_failed", names: /unknown field/, field: "colour" },
  { name: "unknown priority", path: "/tasks", init: post({ ...hello, priority: "urgent" }), status: 400, code: "validation_failed", names: /high/, field: "priority" },
  { name: "timeout_seconds 0", path: "/tasks", init: post({ ...hello, timeout_seconds: 0 }), status: 400, code: "validation_failed", names: />=1/, field: "timeout_seconds" },
  { name: "bad capability label", path: "/tasks", init: post({ ...hello, requires: ["GPU"] }), status: 400, code: "validation_failed", names: /capability/, field: "requires.0" },
  { name: "params is an array", path: "/tasks", init: post({ ...hello, params: ["world"] }), status: 400, code: "validation_failed", names: /expected record/, field: "params" },
  {
    name: "unknown dependency",
    path: "/tasks",
    init: post({ ...hello, depends_on: ["$TASK", "no-such-task"] }),
    status: 400,
    code: "validation_failed",
    names: /no-such-task/,
    field: "depends_on",
  },
  { name: "unknown parent", path: "/tasks", init: post({ ...hello, parent_task_id: "no-such-task" }), status: 400, code: "validation_failed", names: /no-such-task/, field: "parent_task_id" },
  {
    // ~200 KB, well under the size limit, but storing it would overflow the stack (it used to answer 500).
    name: "JSON nested 100,000 levels deep",
    path: "/tasks",
    init: { method: "POST", body: `{"title":"x","task_type":"hello","params":{"name":"x"},"context":${"[".repeat(100_000)}${"]".repeat(100_000)}}` },
    status: 400,
    code: "validation_failed",
    names: /nested deeper than 100 levels/,
  },
  // Body: the task type and its params schema.
  { name: "unknown task type", path: "/tasks", init: post({ ...hello, task_type: "teleport" }), status: 400, code: "validation_failed", names: /unknown task type 'teleport'/, field: "task_type" },
  { name: "hello without name", path: "/tasks", init: post({ ...hello, params: {} }), status: 400, code: "validation_failed", names: /hello/, field: "params.name" },
  {
    name: "shell cwd escaping the workspace",
    path: "/tasks",
    init: post({ title: "x", task_type: "shell", params: { command: "ls", cwd: "../x" } }),
    status: 400,
    code: "validation_failed",
    names: /relative path inside the workspace/,
    field: "params.cwd",
  },
  {
    name: "http url with ftp://",
    path: "/tasks",
    init: post({ title: "x", task_type: "http", params: { url: "ftp://x" } }),
    status: 400,
    code: "validation_failed",
    names: /http:\/\/ or https:\/\//,
    field: "params.url",
  },
  { name: "unknown param", path: "/tasks", init: post({ ...hello, params: { name: "x", shout: true } }), status: 400, code: "validation_failed", names: /unknown field/, field: "params.shout" },
  // PATCH bodies.
  { name: "PATCH unknown field", path: "/tasks/$TASK", init: patch({ status: "succeeded" }), status: 400, code: "validation_failed", names: /unknown field/, field: "status" },
  { name: "PATCH empty body", path: "/tasks/$TASK", init: patch({}), status: 400, code: "validation_failed", names: /nothing to update/ },
  { name: "PATCH wrong type", path: "/tasks/$TASK", init: patch({ priority: 1 }), status: 400, code: "validation_failed", names: /priority/, field: "priority" },
  { name: "PATCH metadata nested too deep", path: "/tasks/$TASK", init: patch({ metadata: { deep: nested(150) } }), status: 400, code: "validation_failed", names: /nested deeper/ },
  { name: "PATCH malformed JSON", path: "/tasks/$TASK", init: { method: "PATCH", body: "{" }, status: 400, code: "validation_failed", names: /malformed json/i },
  // Unknown ids.
  ...(
    [
      ["GET", "/tasks/no-such-task"],
      ["PATCH", "/tasks/no-such-task"],
      ["DELETE", "/tasks/no-such-task"],
      ["POST", "/tasks/no-such-task/cancel"],
      ["POST", "/tasks/no-such-task/retry"],
      ["GET", "/tasks/no-such-task/wait?timeout=0"],
      ["GET", "/tasks/no-such-task/events"],
      ["GET", "/executions/no-such-task"],
      ["GET", "/executions/no-such-task/logs"],
    ] as const
  ).map(
    ([method, path]): Case => ({
      name: `unknown id: ${method} ${path}`,
      path,
      init: method === "PATCH" ? patch({ title: "x" }) : { method },
      status: 404,
      code: "not_found",
      names: /'no-such-task' not found/,
    }),
  ),
  { name: "unknown route", path: "/teleport", status: 404, code: "not_found", names: /GET \/api\/v1\/teleport/ },
  { name: "unrouted method", path: "/tasks", init: { method: "PUT", body: "{}" }, status: 404, code: "not_found", names: /PUT \/api\/v1\/tasks/ },
  // Query parameters.
  { name: "status=bogus", path: "/tasks?status=bogus", status: 400, code: "validation_failed", names: /queued/, field: "status.0" },
  { name: "status list with one bogus", path: "/tasks?status=queued,bogus", status: 400, code: "validation_failed", names: /queued/, field: "status.1" },
  { name: "page=0", path: "/tasks?page=0", status: 400, code: "validation_failed", names: />=1/, field: "page" },
  { name: "per_page=101", path: "/tasks?per_page=101", status: 400, code: "validation_failed", names: /<=100/, field: "per_page" },
  { name: "per_page=abc", path: "/tasks?per_page=abc", status: 400, code: "validation_failed", names: /expected number/, field: "per_page" },
  { name: "unknown query parameter", path: "/tasks?colour=red", status: 400, code: "validation_failed", names: /unknown field/, field: "colour" },
  { name: "wait timeout=-1", path: "/tasks/$TASK/wait?timeout=-1", status: 400, code: "validation_failed", names: />=0/, field: "timeout" },
  { name: "wait timeout=301", path: "/tasks/$TASK/wait?timeout=301", status: 400, code: "validation_failed", names: /<=300/, field: "timeout" },
  { name: "executions status=bogus", path: "/executions?status=bogus", status: 400, code: "validation_failed", names: /running/, field: "status" },
  { name: "executions page=0", path: "/executions?page=0", status: 400, code: "validation_failed", names: />=1/, field: "page" },
  { name: "logs level=bogus", path: "/executions/no-such-task/logs?level=bogus", status: 400, code: "validation_failed", names: /warn/, field: "level" },
  { name: "logs after=-1", path: "/executions/no-such-task/logs?after=-1", status: 400, code: "validation_failed", names: />=0/, field: "after" },
];

let server: Server;
let taskId: string;

const count = (table: "tasks" | "work_orders" | "task_dependencies" | "executions") =>
  server.db.sqlite.query<{ n: number }, []>(`SELECT count(*) AS n FROM ${table}`).get()!.n;
const counts = () => ({ tasks: count("tasks"), work_orders: count("work_orders"), task_dependencies: count("task_dependencies"), executions: count("executions") });

beforeAll(async () => {
  // No local threads: the one existing task stays queued, so nothing but a bad request could change a count.
  server = await startTestApp({ workers: 0 });
  const res = await server.api("/tasks", json({ title: "existing", task_type: "hello", params: { name: "x" } }));
  expect(res.status).toBe(201);
  taskId = ((await res.json()) as { id: string }).id;
});
afterAll(cleanup);

describe("bad input", () => {
  test.each(cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const before = counts();
    const task = await (await server.api(`/tasks/${taskId}`)).text();
    const withId = (s: string) => s.replaceAll("$TASK", taskId);
    const init = { ...c.init, ...(typeof c.init?.body === "string" ? { body: withId(c.init.body) } : {}) };

    const res = await server.api(withId(c.path), init);
    const text = await res.text();
    expect(res.status).toBe(c.status);
    expect(res.headers.get("content-type")).toContain("application/json");
    const body = JSON.parse(text) as { error: { code: string; message: string; details: Array<{ field?: string; message: string }> } };
    expect(Object.keys(body)).toEqual(["error"]);
    expect(body.error.code).toBe(c.code);
    expect(typeof body.error.message).toBe("string");
    expect(Array.isArray(body.error.details)).toBe(true);
    expect(`${body.error.message} ${JSON.stringify(body.error.details)}`).toMatch(c.names);
    if (c.field) expect(body.error.details.map((d) => d.field)).toContain(c.field);

    // Nothing written, nothing changed.
    expect(counts()).toEqual(before);
    expect(await (await server.api(`/tasks/${taskId}`)).text()).toBe(task);
  });
});
