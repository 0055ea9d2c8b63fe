// The tasks pages through app.request(): list, filters, the New task form, a task's page, the actions.
import { afterEach, describe, expect, test } from "bun:test";
import type { TaskJson } from "../../engine/task-record.ts";
import { userWithRole } from "../../../test/auth.ts";
import { cleanup, json, startTestServer, until, startTestApp } from "../../../test/helpers.ts";
import { flashOf, formPost, HOSTILE, HOSTILE_ESCAPED, hxTrigger, isFullPage, uiClient } from "../../../test/html.ts";

afterEach(cleanup);

type Server = Awaited<ReturnType<typeof startTestServer>>;

async function create(server: Server, body: Record<string, unknown>): Promise<TaskJson> {
  const res = await server.api("/tasks", json(body));
  if (res.status !== 201) throw new Error(`POST /tasks answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as TaskJson;
}
const hello = (title: string, extra: Record<string, unknown> = {}) => ({ title, task_type: "hello", params: { name: "world" }, ...extra });
/** Stays queued: no local thread has the `gpu` capability. */
const parked = (title: string, extra: Record<string, unknown> = {}) => hello(title, { requires: ["gpu"], ...extra });

async function done(server: Server, id: string): Promise<TaskJson> {
  return (await (await server.api(`/tasks/${id}/wait?timeout=20`)).json()) as TaskJson;
}
const statusOf = (server: Server, id: string) =>
  server.db.sqlite.query<{ status: string }, [string]>("SELECT status FROM tasks WHERE id = ?").get(id)?.status;

describe("GET /tasks", () => {
  test("with no task: the empty state, the New task dialog and the live stream", async () => {
    const server = await startTestApp();
    const res = await uiClient(server)("/tasks");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(isFullPage(res.text)).toBe(true);
    expect(res.text).toContain("<title>Tasks · AgentVine</title>");
    expect(res.text).toContain('aria-current="page"');
    expect(res.text).toContain("No tasks yet");
    expect(res.text).toContain('data-state="empty"');
    expect(res.text).toContain('id="new-task"');
    expect(res.text).toMatch(/sse-connect="\/events\?topics=tasks&amp;v=\d+"/);
    expect(res.text).toContain('hx-trigger="sse:tasks, tasks:changed from:body"');
  });

  test("lists tasks with status and priority, user text escaped", async () => {
    const server = await startTestServer();
    const t = await create(server, hello(HOSTILE, { priority: "high" }));
    await done(server, t.id);
    const res = await uiClient(server)("/tasks");
    expect(res.status).toBe(200);
    expect(res.text).not.toContain(HOSTILE);
    expect(res.text).toContain(HOSTILE_ESCAPED);
    expect(res.text).toContain(`data-task-id="${t.id}"`);
    expect(res.text).toContain('data-status="succeeded"');
    expect(res.text).toContain("↑ high");
  });

  test("filters by status, type, priority and search; pages; ignores values that are not valid", async () => {
    const server = await startTestServer();
    const a = await create(server, parked("alpha report", { priority: "low" }));
    const b = await create(server, parked("beta build"));
    const c = await create(server, { title: "gamma shell", task_type: "shell", params: { command: "true" } });
    await done(server, c.id);
    const ui = uiClient(server);
    const rows = (html: string) => [...html.matchAll(/data-task-id="([^"]+)"/g)].map((m) => m[1]);

    expect(rows((await ui("/tasks?status=queued")).text).sort()).toEqual([a.id, b.id].sort());
    expect(rows((await ui("/tasks?task_type=shell")).text)).toEqual([c.id]);
    expect(rows((await ui("/tasks?priority=low")).text)).toEqual([a.id]);
    expect(rows((await ui("/tasks?q=beta")).text)).toEqual([b.id]);
    expect(rows((await ui("/tasks?status=bogus&priority=nope&page=-3")).text)).toHaveLength(3);

    const page2 = await ui("/tasks?per_page=2&page=2");
    expect(rows(page2.text)).toEqual([a.id]); // newest first
    expect(page2.text).toContain("3–3 of 3");
    expect(page2.text).toContain('rel="prev"');

    const none = await ui("/tasks?q=nothing-like-this");
    expect(none.text).toContain("No task matches these filters");
  });

  test("an htmx request for the list gets the list fragment alone", async () => {
    const server = await startTestApp();
    await create(server, parked("only one"));
    const res = await uiClient(server)("/tasks?status=queued", { htmx: "task-list" });
    expect(res.status).toBe(200);
    expect(res.text.startsWith('<div id="task-list"')).toBe(true);
    expect(res.text).not.toContain("<html");
    expect(res.text).toContain('hx-get="/tasks?status=queued"');
    expect(res.text).toContain("only one");
  });
});

test("permission_level: shown in the list, filterable, and set from the New task form", async () => {
  const server = await startTestApp();
  const ui = uiClient(server);
  const reader = await create(server, parked("reads only", { permission_level: "read" }));
  const pusher = await create(server, parked("may push", { permission_level: "push" }));
  const list = await ui("/tasks");
  expect(list.text).toContain('<option value="push">push</option>');
  expect(list.text).toMatch(new RegExp(`data-task-id="${pusher.id}"[\\s\\S]*?data-permission-level="push"`));
  const rows = (html: string) => [...html.matchAll(/data-task-id="([^"]+)"/g)].map((m) => m[1]);
  expect(rows((await ui("/tasks?permission_level=read")).text)).toEqual([reader.id]);
  expect((await ui("/tasks?permission_level=push", { htmx: "task-list" })).text).toContain('hx-get="/tasks?permission_level=push"');
  expect(rows((await ui("/tasks?permission_level=root")).text)).toHaveLength(2); // not a level: ignored

  const form = await ui("/tasks/new");
  expect(form.text).toContain('<select id="f-permission_level" name="permission_level"');
  expect(form.text).toContain('<option value="write" selected="">write</option>');
  const res = await ui("/tasks", formPost({ title: "pushes", task_type: "hello", "params.name": "x", permission_level: "push" }, { htmx: true }));
  const created = (await (await server.api(res.headers.get("hx-redirect")!)).json()) as TaskJson;
  expect(created.permission_level).toBe("push");
});

describe("the New task form", () => {
  test("GET /tasks/new shows the fields of the default type; the fields follow the chosen type", async () => {
    const server = await startTestApp();
    const ui = uiClient(server);
    const page = await ui("/tasks/new");
    expect(page.status).toBe(200);
    expect(page.text).toContain('name="params.name"');
    expect(page.text).not.toContain('<option value="plan"'); // runs are started from their plan

    const shell = await ui("/tasks/new/fields?task_type=shell", { htmx: "param-fields" });
    expect(shell.status).toBe(200);
    expect(shell.text).not.toContain("<html");
    expect(shell.text).toContain('name="params.command"');
    expect(shell.text).toContain('type="checkbox"');
    expect(shell.text).toContain("One per line"); // args
    expect(shell.text).toContain("NAME=value"); // env
    // Each hint reads as sentences: the field's own description, then what to type.
    expect(shell.text).toContain(">Arguments, passed as-is (no interpolation). One per line.<");
    expect(shell.text).toContain(">Extra environment variables. One per line: NAME=value.<");
    const http = await ui("/tasks/new/fields?task_type=http", { htmx: "param-fields" });
    expect(http.text).toContain(">One per line: Name: value.<"); // headers, as HTTP writes them
    expect(http.text).toContain(">A string is sent as-is; an object or array is sent as JSON. Write JSON, or plain text where text is allowed.<");
    expect(http.text).not.toContain("JSON JSON");
    expect(http.text).toMatch(/<input id="f-params-url" name="params.url" class="field" type="text"/); // a URL is one line
    // What is typed as "Name: value" arrives as a header.
    const created = await ui("/tasks", formPost({ title: "h", task_type: "http", "params.url": "https://x.example/", "params.method": "GET", "params.headers": "Accept: text/plain\nX-Trace: 1" }));
    expect(created.status).toBe(303);
    const task = (await (await server.api(created.headers.get("location")!)).json()) as TaskJson;
    expect(task.params.headers).toEqual({ Accept: "text/plain", "X-Trace": "1" });
  });

  test("a post with errors comes back with every value kept and each error by its field (422)", async () => {
    const server = await startTestApp();
    const res = await uiClient(server)(
      "/tasks",
      formPost({ title: "", task_type: "shell", "params.command": "", "params.env": "no equals sign", description: HOSTILE, priority: "high", _dialog: "1" }, { htmx: "new-task-form" }),
    );
    expect(res.status).toBe(422);
    expect(res.text.startsWith('<form id="new-task-form"')).toBe(true);
    expect(res.text).toContain("title must not be empty");
    expect(res.text).toMatch(/id="f-params-env-error"[^>]*>line 1: write NAME=value/);
    expect(res.text).toContain('id="f-params-command-error"');
    expect(res.text).toContain(`${HOSTILE_ESCAPED}</textarea>`);
    expect(res.text).not.toContain(HOSTILE);
    expect(res.text).toMatch(/<option value="high" selected/);
    expect(res.text).toContain('data-dialog-close=""'); // still the dialog's form
    expect(server.db.sqlite.query("SELECT count(*) AS n FROM tasks").get()).toEqual({ n: 0 });
  });

  test("the service's own errors (an unknown dependency) show next to the field", async () => {
    const server = await startTestApp();
    const res = await uiClient(server)("/tasks", formPost({ title: "x", task_type: "hello", "params.name": "a", depends_on: "no-such-task" }, { htmx: true }));
    expect(res.status).toBe(422);
    expect(res.text).toContain("no-such-task");
    expect(res.text).toContain('value="no-such-task"');
    expect(res.text).toMatch(/<details open/);
  });

  test("a valid post creates the task with typed params and sends the browser to it", async () => {
    const server = await startTestApp();
    const ui = uiClient(server);
    const res = await ui(
      "/tasks",
      formPost(
        {
          title: "  build it ",
          task_type: "shell",
          priority: "low",
          "params.command": "echo",
          "params.args": "one\ntwo words\n",
          "params.shell": ["false", "true"],
          "params.env": "A=1\nB = two=2",
          "params.timeout_seconds": "30",
          max_retries: "2",
        },
        { htmx: true },
      ),
    );
    expect(res.status).toBe(200);
    const location = res.headers.get("hx-redirect")!;
    expect(location).toMatch(/^\/tasks\/[0-9a-f-]{36}$/);
    expect(flashOf(res)).toEqual([{ level: "success", message: "Task “build it” created" }]);
    const task = (await (await server.api(location.replace("/tasks", "/tasks"))).json()) as TaskJson;
    expect(task.title).toBe("build it");
    expect(task.priority).toBe("low");
    expect(task.max_retries).toBe(2);
    expect(task.params).toMatchObject({ command: "echo", args: ["one", "two words"], shell: true, env: { A: "1", B: "two=2" }, timeout_seconds: 30 });

    // Without htmx: a plain 303 to the task, whose page shows the flash toast once.
    const plain = await ui("/tasks", formPost({ title: "plain", task_type: "hello", "params.name": "x" }));
    expect(plain.status).toBe(303);
    expect(plain.headers.get("location")).toMatch(/^\/tasks\/[0-9a-f-]{36}$/);
    const cookie = plain.headers.get("set-cookie")!.split(";")[0]!;
    const next = await ui(plain.headers.get("location")!, { headers: { cookie } });
    expect(next.text).toContain("Task “plain” created");
    expect(next.headers.get("set-cookie")).toContain("flash=;");
  });
});

describe("a coding agent from the New task form", () => {
  test("takes the repository and branch fields; without a repository it is refused by the field, and the API says the same (400)", async () => {
    const server = await startTestApp();
    const ui = uiClient(server);
    const form = await ui("/tasks/new?task_type=bugfix");
    expect(form.text).toContain('id="f-repository_url"');
    expect(form.text).toContain('id="f-branch_name"');

    const missing = await ui("/tasks", formPost({ title: "fix add", task_type: "bugfix", "params.instruction": "add(2, 3) is -1", repository_url: "  " }, { htmx: "new-task-form" }));
    expect(missing.status).toBe(422);
    expect(missing.text).toMatch(/id="f-repository_url-error"[^>]*>required for bugfix tasks/);
    expect(server.db.sqlite.query("SELECT count(*) AS n FROM tasks").get()).toEqual({ n: 0 });

    const made = await ui("/tasks", formPost({ title: "fix add", task_type: "bugfix", "params.instruction": "add(2, 3) is -1", repository_url: " /srv/repos/mathlib ", branch_name: "fix/add", permission_level: "read" }, { htmx: true }));
    expect(made.status).toBe(200);
    const task = (await (await server.api(made.headers.get("hx-redirect")!)).json()) as TaskJson & { repository_url: string; branch_name: string; permission_level: string };
    expect(task).toMatchObject({ task_type: "bugfix", repository_url: "/srv/repos/mathlib", branch_name: "fix/add", permission_level: "read", params: { instruction: "add(2, 3) is -1" } });
    // Clone… keeps them.
    const clone = await ui(`/tasks/new?from=${task.id}`);
    expect(clone.text).toMatch(/id="f-repository_url"[^>]*value="\/srv\/repos\/mathlib"/);

    const api = await server.api("/tasks", json({ title: "no repo", task_type: "feature", params: { instruction: "x" } }));
    expect(api.status).toBe(400);
    expect(await api.json()).toMatchObject({ error: { code: "validation_failed", message: "a feature task needs repository_url", details: [{ field: "repository_url", code: "required" }] } });
    const publish = await server.api("/tasks", json({ title: "ship", task_type: "publish", repository_url: "/srv/repos/mathlib", permission_level: "push", params: {} }));
    expect(publish.status).toBe(400);
    expect((await publish.json()).error.message).toBe("a publish task needs branch_name");
  });
});

describe("GET /tasks/:id", () => {
  test("shows params, result, the execution with duration and exit code, and the log", async () => {
    const server = await startTestServer();
    const t = await create(server, { title: HOSTILE, task_type: "shell", params: { command: `echo '${HOSTILE}'; echo done`, shell: true } });
    await done(server, t.id);
    const res = await uiClient(server)(`/tasks/${t.id}`);
    expect(res.status).toBe(200);
    expect(res.text).toContain(`<title>${HOSTILE_ESCAPED} · AgentVine</title>`);
    expect(res.text).not.toContain(HOSTILE);
    expect(res.text).toContain('data-status="succeeded"');
    expect(res.text).toContain("&quot;exit_code&quot;: 0");
    expect(res.text).toMatch(/data-execution-id="[^"]+"/);
    expect(res.text).toMatch(/<td class="td whitespace-nowrap tabular-nums">\d+ ms<\/td>/);
    expect(res.text).toMatch(/sm:table-cell">0<\/td>/); // exit code
    expect(res.text).toContain(`<span class="min-w-0 whitespace-pre-wrap break-words">${HOSTILE_ESCAPED}</span>`);
    expect(res.text).toMatch(new RegExp(`sse-connect="/events\\?topics=task:${t.id},exec:${t.id},questions:${t.id}&amp;v=\\d+&amp;after=2"`));
    expect(res.text).toContain('data-action="retry"'.replace("retry", "delete"));
    expect(res.text).not.toContain('data-action="cancel"');
  });

  test("shows dependencies and dependants; a running task streams its log", async () => {
    const server = await startTestServer();
    const a = await create(server, parked("upstream"));
    const b = await create(server, hello("downstream", { depends_on: [a.id] }));
    const ui = uiClient(server);
    const pb = await ui(`/tasks/${b.id}`);
    expect(pb.text).toContain(`href="/tasks/${a.id}"`);
    expect(pb.text).toContain("Waiting for its dependencies.");
    const pa = await ui(`/tasks/${a.id}`);
    expect(pa.text).toContain(`href="/tasks/${b.id}"`);
    expect(pa.text).toContain('data-action="cancel"');
    expect(pa.text).toContain("hx-confirm=");

    const slow = await create(server, { title: "slow", task_type: "test_sleep", params: { ms: 60_000 } });
    await until(server.services.deps.bus, ["execution:started"], () => statusOf(server, slow.id) === "running");
    const running = await ui(`/tasks/${slow.id}`);
    expect(running.text).toMatch(/topics=task:[^,]+,exec:[^,]+,log:[0-9a-f-]{36},questions:[^,&]+&amp;v=/);
    expect(running.text).toContain('sse-swap="log"');
  });

  test("htmx gets the main part or the live region alone; the live region without htmx redirects", async () => {
    const server = await startTestApp();
    const t = await create(server, parked("fragments"));
    const ui = uiClient(server);
    const main = await ui(`/tasks/${t.id}`, { htmx: "task-main" });
    expect(main.text.startsWith('<div id="task-main"')).toBe(true);
    const live = await ui(`/tasks/${t.id}/live`, { htmx: "task-live" });
    expect(live.text.startsWith('<div id="task-live"')).toBe(true);
    const plain = await ui(`/tasks/${t.id}/live`);
    expect(plain.status).toBe(303);
    expect(plain.headers.get("location")).toBe(`/tasks/${t.id}`);
  });

  test("a cancelled attempt shows how long it ran; a finished task without a result says so; Retry starts a new run (Started cleared)", async () => {
    const server = await startTestServer();
    const slow = await create(server, { title: "slow", task_type: "test_sleep", params: { ms: 60_000 } });
    await until(server.services.deps.bus, ["execution:started"], () => statusOf(server, slow.id) === "running");
    const running = await uiClient(server)(`/tasks/${slow.id}`);
    // A running attempt's duration counts up in the browser (public/app.js ticks data-since).
    expect(running.text).toMatch(/<time datetime="[^"]+" data-since="">[^<]*…<\/time>/);
    expect(running.text).toContain("No result yet.");
    expect((await server.api(`/tasks/${slow.id}/cancel`, { method: "POST" })).status).toBe(200);
    const page = await uiClient(server)(`/tasks/${slow.id}`);
    const row = page.text.slice(page.text.indexOf("data-execution-id="));
    expect(row).toContain('data-status="cancelled"');
    expect(row).toMatch(/<td class="td whitespace-nowrap tabular-nums">\d+ ms<\/td>/); // not "—"
    expect(page.text).toContain("No result.");
    expect(page.text).not.toContain("No result yet.");
    expect(page.text).toMatch(/Attempts<\/dt><dd[^>]*>1<\/dd>/);
    expect(page.text).toMatch(/Retries<\/dt><dd[^>]*>none<\/dd>/);

    const retried = (await (await server.api(`/tasks/${slow.id}/retry`, { method: "POST" })).json()) as TaskJson;
    expect(retried.status).toBe("queued");
    expect(retried.started_at).toBeNull();
    expect(retried.finished_at).toBeNull();
    await server.api(`/tasks/${slow.id}/cancel`, { method: "POST" });
  });

  test("the log downloads as text, whole, named after the task and attempt; a stranger's execution is a 404", async () => {
    const server = await startTestServer();
    const t = await create(server, { title: "talks", task_type: "shell", params: { command: "for i in 1 2 3; do echo line $i; done; echo oops >&2", shell: true } });
    await done(server, t.id);
    const other = await create(server, hello("other"));
    await done(server, other.id);
    const res = await server.get(`/tasks/${t.id}/log.txt`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="task-${t.id.slice(-8)}-attempt-1.log"`);
    const lines = (await res.text()).trimEnd().split("\n");
    expect(lines.map((l) => l.replace(/^\S+ /, ""))).toEqual(["INFO  line 1", "INFO  line 2", "INFO  line 3", "WARN  oops"]);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT/);
    const page = await uiClient(server)(`/tasks/${t.id}`);
    expect(page.text).toMatch(new RegExp(`href="/tasks/${t.id}/log.txt\\?execution=[0-9a-f-]+" download=""`));
    const otherExec = server.db.sqlite.query<{ id: string }, [string]>("SELECT id FROM executions WHERE task_id = ?").get(other.id)!.id;
    expect((await server.get(`/tasks/${t.id}/log.txt?execution=${otherExec}`)).status).toBe(404);
    const parkedTask = await create(server, parked("never ran"));
    expect((await server.get(`/tasks/${parkedTask.id}/log.txt`)).status).toBe(404);
  });

  test("an unknown task is the 404 page, or a fragment with an error toast for htmx", async () => {
    const server = await startTestApp();
    const ui = uiClient(server);
    const page = await ui("/tasks/nope");
    expect(page.status).toBe(404);
    expect(isFullPage(page.text)).toBe(true);
    expect(page.text).toContain('data-page="not-found"');
    expect(page.text).toContain("task &#39;nope&#39; not found");
    const frag = await ui("/tasks/nope", { htmx: "task-main" });
    expect(frag.status).toBe(404);
    expect(frag.text).not.toContain("<html");
    expect(frag.text).toContain('data-state="error"');
    expect(frag.headers.get("x-fragment")).toBe("error");
    expect(hxTrigger(frag).toast).toEqual({ level: "error", message: "task 'nope' not found" });
  });
});

describe("Clone…", () => {
  test("opens the New task form filled in from the task — params as fields to edit — and creates a new task", async () => {
    const server = await startTestApp();
    const source = await create(server, {
      title: "Ping staging",
      task_type: "http",
      params: { url: "https://staging.example/health", headers: { Accept: "text/plain" }, expected_status: [200, 204] },
      priority: "high",
      requires: ["gpu"],
    });
    const ui = uiClient(server);
    const detail = await ui(`/tasks/${source.id}`);
    expect(detail.text).toContain(`href="/tasks/new?from=${source.id}" data-action="clone"`);
    const form = await ui(`/tasks/new?from=${source.id}`);
    expect(form.status).toBe(200);
    expect(form.text).toContain(`data-clone-of="${source.id}"`);
    expect(form.text).toContain('id="f-title" name="title" class="field" value="Ping staging"');
    expect(form.text).toContain('<option value="http" selected="">');
    expect(form.text).toContain('<option value="high" selected="">');
    expect(form.text).toContain('value="https://staging.example/health"');
    expect(form.text).toContain(">Accept: text/plain</textarea>");
    expect(form.text).toMatch(/name="params.expected_status"[^>]*>\[\s*200,\s*204\s*\]<\/textarea>/);
    const created = await ui("/tasks", formPost({ title: "Ping production", task_type: "http", priority: "high", "params.url": "https://prod.example/health", "params.headers": "Accept: text/plain", "params.method": "GET" }));
    expect(created.status).toBe(303);
    const copy = (await (await server.api(created.headers.get("location")!.replace("/tasks/", "/tasks/"))).json()) as TaskJson;
    expect(copy).toMatchObject({ title: "Ping production", params: { url: "https://prod.example/health", headers: { Accept: "text/plain" } } });
    // A plan run is run again from its plan, not cloned.
    expect((await ui("/tasks/new?from=nope")).status).toBe(404);
  });
});

describe("many tasks at once, and the queue", () => {
  test("cancel the selected tasks (a toast says how many); none selected is an error toast; viewers get no boxes", async () => {
    const server = await startTestApp();
    const a = await create(server, parked("a"));
    const b = await create(server, parked("b"));
    const c = await create(server, parked("c"));
    const ui = uiClient(server);
    const page = await ui("/tasks");
    expect(page.text).toContain(`name="ids" value="${a.id}" form="bulk-form"`);
    expect(page.text).toContain('data-select-all="task"');
    const res = await ui("/tasks/bulk", formPost({ scope: "selected", action: "cancel", ids: [a.id, b.id] }, { htmx: true }));
    expect(res.status).toBe(200);
    expect(hxTrigger(res).toast).toEqual({ level: "success", message: "2 tasks cancelled" });
    expect(hxTrigger(res)["tasks:changed"]).toBe(true);
    expect([statusOf(server, a.id), statusOf(server, b.id), statusOf(server, c.id)]).toEqual(["cancelled", "cancelled", "queued"]);
    const again = await ui("/tasks/bulk", formPost({ scope: "selected", action: "cancel", ids: [a.id] }, { htmx: true }));
    expect(hxTrigger(again).toast.level).toBe("error");
    expect(hxTrigger(again).toast.message).toMatch(/^0 tasks cancelled; 1 skipped \(task '[^']+' already cancelled/);
    const none = await ui("/tasks/bulk", formPost({ scope: "selected", action: "cancel" }, { htmx: true }));
    expect(none.status).toBe(400);
    expect(hxTrigger(none).toast).toEqual({ level: "error", message: "Select at least one task first" });
    // Without JS: back to the list with the toast as a flash.
    const plain = await ui("/tasks/bulk", formPost({ scope: "selected", action: "delete", ids: [a.id] }));
    expect(plain.status).toBe(303);
    expect(flashOf(plain)).toEqual([{ level: "success", message: "1 task deleted" }]);

    const viewer = await userWithRole(server, server.token, "vic", "viewer");
    const asViewer = await ui("/tasks", { headers: { authorization: `Bearer ${viewer.access_token}` } });
    expect(asViewer.text).not.toContain('name="ids"');
    expect(asViewer.text).not.toContain("data-bulk-bar");
  });

  test("'Retry all failed' counts the failed tasks the filters match and retries exactly those", async () => {
    const server = await startTestServer();
    const failed = await Promise.all(["x", "y"].map((t) => create(server, { title: t, task_type: "shell", params: { command: "exit 1", shell: true } })));
    const other = await create(server, { title: "z", task_type: "shell", params: { command: "exit 1", shell: true }, priority: "low" });
    for (const t of [...failed, other]) expect((await done(server, t.id)).status).toBe("failed");
    const ui = uiClient(server);
    expect((await ui("/tasks")).text).toContain("Retry all 3 failed");
    const page = await ui("/tasks?priority=default");
    expect(page.text).toContain("Retry all 2 failed");
    expect(page.text).toContain('name="filter.priority" value="default"');
    const res = await ui("/tasks/bulk", formPost({ scope: "filter", action: "retry", "filter.priority": "default", "filter.status": "failed" }, { htmx: true }));
    expect(hxTrigger(res).toast).toEqual({ level: "success", message: "2 tasks queued again" });
    for (const t of failed) expect(((await (await server.api(`/tasks/${t.id}`)).json()) as TaskJson).attempts).toBeGreaterThanOrEqual(1);
    expect(statusOf(server, other.id)).toBe("failed");
    const audit = server.db.sqlite.query<{ resource_id: string }, []>("SELECT resource_id FROM audit_events WHERE action = 'task.retried'").all().map((r) => r.resource_id);
    expect(audit.sort()).toEqual(failed.map((t) => t.id).sort());
  });

  test("sort, date range and a duration column on the list; bad values are ignored", async () => {
    const server = await startTestServer();
    const quick = await create(server, hello("quick"));
    const slow = await create(server, { title: "slow", task_type: "shell", params: { command: "sleep 0.2", shell: true } });
    await done(server, quick.id);
    await done(server, slow.id);
    const ui = uiClient(server);
    const rows = (html: string) => [...html.matchAll(/data-task-id="([^"]+)"/g)].map((m) => m[1]);
    expect(rows((await ui("/tasks?sort=-duration", { htmx: "task-list" })).text)).toEqual([slow.id, quick.id]);
    expect(rows((await ui("/tasks?sort=title", { htmx: "task-list" })).text)).toEqual([quick.id, slow.id]);
    const today = new Date().toISOString().slice(0, 10);
    expect(rows((await ui(`/tasks?from=${today}&to=${today}`, { htmx: "task-list" })).text).sort()).toEqual([quick.id, slow.id].sort());
    expect(rows((await ui("/tasks?to=2001-01-01", { htmx: "task-list" })).text)).toEqual([]);
    expect(rows((await ui("/tasks?from=yesterday&sort=sideways", { htmx: "task-list" })).text).length).toBe(2);
    const page = await ui("/tasks?sort=-duration");
    expect(page.text).toContain('<option value="-duration" selected="">Longest first</option>');
    expect(page.text).toMatch(/tabular-nums text-muted sm:table-cell">\d+(\.\d+)? (ms|s)<\/td>/);
  });

  test("admins pause, resume and purge the queue from the Tasks page; everyone sees that it is paused", async () => {
    const server = await startTestApp();
    const t = await create(server, parked("waits"));
    const ui = uiClient(server);
    const paused = await ui("/queue/pause", { method: "POST", htmx: "queue-controls" });
    expect(paused.status).toBe(200);
    expect(hxTrigger(paused).toast.message).toBe("Queue paused: nothing new starts until you resume it");
    expect(paused.text).toContain('data-queue-paused="true"');
    expect(paused.text).toContain("by admin");
    const op = await userWithRole(server, server.token, "olga", "operator");
    const asOperator = await ui("/tasks", { headers: { authorization: `Bearer ${op.access_token}` } });
    expect(asOperator.text).toContain("The queue is paused");
    expect(asOperator.text).not.toContain('data-action="queue-resume"');
    expect((await ui("/queue/resume", { method: "POST", htmx: true, headers: { authorization: `Bearer ${op.access_token}` } })).status).toBe(403);
    const resumed = await ui("/queue/resume", { method: "POST", htmx: "queue-controls" });
    expect(resumed.text).toContain('data-queue-paused="false"');
    const purged = await ui("/queue/purge", { method: "POST", htmx: "queue-controls" });
    expect(hxTrigger(purged).toast.message).toBe("Purged: 1 queued task cancelled");
    expect(statusOf(server, t.id)).toBe("cancelled");
  });
});

describe("task actions", () => {
  test("cancel, cancel again (409 as a toast), retry, delete — each with a toast", async () => {
    const server = await startTestApp();
    const t = await create(server, parked(`${HOSTILE} ✓`));
    const ui = uiClient(server);

    const cancel = await ui(`/tasks/${t.id}/cancel`, { method: "POST", htmx: "task-main" });
    expect(cancel.status).toBe(200);
    // Non-ASCII user text travels as JSON escapes: a header value must be ASCII.
    expect(cancel.headers.get("hx-trigger")).toMatch(/^[\x20-\x7e]+$/);
    expect(hxTrigger(cancel).toast).toEqual({ level: "success", message: `Task “${HOSTILE} ✓” cancelled` });
    expect(cancel.text.startsWith('<div id="task-main"')).toBe(true);
    expect(cancel.text).toContain('data-status="cancelled"');
    expect(statusOf(server, t.id)).toBe("cancelled");

    const again = await ui(`/tasks/${t.id}/cancel`, { method: "POST", htmx: "task-main" });
    expect(again.status).toBe(409);
    expect(hxTrigger(again).toast.level).toBe("error");
    expect(hxTrigger(again).toast.message).toContain("already cancelled");

    const retry = await ui(`/tasks/${t.id}/retry`, { method: "POST", htmx: "task-main" });
    expect(retry.status).toBe(200);
    expect(hxTrigger(retry).toast.message).toContain("queued again");
    expect(statusOf(server, t.id)).toBe("queued");

    const del = await ui(`/tasks/${t.id}/delete`, { method: "POST", htmx: true });
    expect(del.status).toBe(200);
    expect(del.headers.get("hx-redirect")).toBe("/tasks");
    expect(flashOf(del)[0]!.message).toContain("deleted");
    expect(statusOf(server, t.id)).toBeUndefined();
  });

  test("without htmx the actions answer 303 back with a flash", async () => {
    const server = await startTestApp();
    const t = await create(server, parked("plain"));
    const ui = uiClient(server);
    const cancel = await ui(`/tasks/${t.id}/cancel`, { method: "POST" });
    expect(cancel.status).toBe(303);
    expect(cancel.headers.get("location")).toBe(`/tasks/${t.id}`);
    const del = await ui(`/tasks/${t.id}/delete`, { method: "POST" });
    expect(del.status).toBe(303);
    expect(del.headers.get("location")).toBe("/tasks");
    expect(flashOf(del)).toEqual([{ level: "success", message: "Task “plain” deleted" }]);
  });
});
