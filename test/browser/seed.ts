// A small, realistic data set made through the JSON API, so pages have something to show: tasks in
// several states with logs, a plan shaped like a diamond and a finished run of it, and questions — one
// answered, two waiting for a person (they hold both of a two-thread server's threads, so they come last).
type Api = (path: string, init?: RequestInit) => Promise<Response>;

export interface Seeded {
  succeededTaskId: string;
  failedTaskId: string;
  planId: string;
  runId: string;
  /** An `ask` task waiting for its answer (options). */
  waitingTaskId: string;
}

async function post<T = { id: string }>(api: Api, path: string, body: unknown): Promise<T> {
  const res = await api(path, { method: "POST", body: JSON.stringify(body) });
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Long-polls until the task is finished (the API's own wait, bounded). */
async function finished(api: Api, id: string): Promise<string> {
  const res = await api(`/tasks/${id}/wait?timeout=30`);
  const task = (await res.json()) as { status: string };
  if (!["succeeded", "failed", "cancelled", "timed_out"].includes(task.status)) throw new Error(`task ${id} still ${task.status} after 30 s`);
  return task.status;
}

const shell = (script: string) => ({ command: script, shell: true });

export async function seed(api: Api): Promise<Seeded> {
  const tasks = await Promise.all([
    post(api, "/tasks", { title: "Greet the new team", task_type: "hello", params: { name: "team" } }),
    post(api, "/tasks", { title: "Nightly backup check", task_type: "hello", params: { name: "backups" }, priority: "low" }),
    post(api, "/tasks", {
      title: "Build the documentation site",
      description: "Renders docs/ to static HTML.",
      task_type: "shell",
      params: shell('echo "collecting 42 pages"; echo "rendering markdown"; echo "warning: 2 broken links" >&2; echo "wrote site/ (1.8 MB)"'),
      priority: "high",
    }),
    post(api, "/tasks", {
      title: "Deploy to staging",
      task_type: "shell",
      params: shell('echo "connecting to staging-1"; echo "uploading release 0.4.2"; echo "health check failed: HTTP 503" >&2; exit 2'),
    }),
  ]);
  for (const t of tasks) await finished(api, t.id);

  const plan = await post(api, "/plans", {
    name: "Release",
    description: "Check out, test and lint in parallel, then package.",
    steps: [
      { name: "checkout", task_type: "shell", params: shell('echo "checked out main at 3f9c2e1"') },
      { name: "test", task_type: "shell", params: shell('echo "312 tests passed"'), depends_on: ["checkout"] },
      { name: "lint", task_type: "shell", params: shell('echo "no lint errors"'), depends_on: ["checkout"] },
      { name: "package", task_type: "hello", params: { name: "release" }, depends_on: ["test", "lint"] },
    ],
  });
  const run = await post(api, `/plans/${plan.id}/run`, {});
  const runStatus = await finished(api, run.id);
  if (runStatus !== "succeeded") throw new Error(`the seeded plan run ended ${runStatus}`);

  // Questions: one answered by a person, then two left waiting (an approval, and a clarification that a
  // policy sends to the model — with no model configured, a person gets it, with the reason shown).
  const answered = await post(api, "/tasks", {
    title: "Approve the schema migration",
    task_type: "ask",
    params: { question: "Migration 0042 adds a nullable column to users. Run it on staging?", options: ["run it", "hold"] },
    repository_url: "https://github.com/acme/api",
  });
  const first = await openQuestion(api, answered.id);
  const res = await api(`/requests/${first}/respond`, { method: "POST", body: JSON.stringify({ answer: "run it" }) });
  if (res.status !== 200) throw new Error(`answering the seeded question: ${res.status} ${await res.text()}`);
  await finished(api, answered.id);
  const deploy = await post(api, "/tasks", {
    title: "Deploy release 0.4.2",
    task_type: "ask",
    params: { question: "Release 0.4.2 passed every check on staging. Deploy it to production now?", options: ["approve", "reject"] },
    repository_url: "https://github.com/acme/api",
    permission_level: "push",
  });
  const clarify = await post(api, "/tasks", {
    title: "Clarify the upload limit",
    task_type: "ask",
    params: { question: "The spec says uploads are limited but gives no size. Which limit should the API enforce?", category: "clarification" },
    repository_url: "https://github.com/acme/web",
  });
  await openQuestion(api, deploy.id);
  await openQuestion(api, clarify.id);

  return { succeededTaskId: tasks[2]!.id, failedTaskId: tasks[3]!.id, planId: plan.id, runId: run.id, waitingTaskId: deploy.id };
}

/** Waits (bounded) until the task's question is open; its id. */
export async function openQuestion(api: Api, taskId: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const res = await api(`/requests?task_id=${taskId}&status=open`);
    const { items } = (await res.json()) as { items: Array<{ id: string }> };
    if (items[0]) return items[0].id;
    await Bun.sleep(50);
  }
  throw new Error(`task ${taskId} asked no question within 10 s`);
}

/** The main pages, named for screenshots and failure messages. */
export function mainPages(s: Seeded): Array<{ name: string; path: string }> {
  return [
    { name: "dashboard", path: "/" },
    { name: "tasks", path: "/tasks" },
    { name: "task-detail", path: `/tasks/${s.failedTaskId}` },
    { name: "plans", path: "/plans" },
    { name: "plan-editor", path: `/plans/${s.planId}/edit` },
    { name: "plan", path: `/plans/${s.planId}` },
    { name: "plan-run", path: `/plans/${s.planId}/runs/${s.runId}` },
    { name: "workers", path: "/workers" },
    { name: "settings", path: "/settings" },
    { name: "inbox", path: "/inbox" },
    { name: "task-waiting", path: `/tasks/${s.waitingTaskId}` },
    { name: "policies", path: "/policies" },
    { name: "models", path: "/settings/models" },
  ];
}
