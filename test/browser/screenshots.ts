// Saves the README's screenshots of the web UI to docs/screenshots/ — a real server with a seeded data
// set, the real task types, a real browser. Run by hand after a visible UI change:
//
//   bun test/browser/screenshots.ts [--only chat,chat-phone,chat-dark,context,context-document]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SYSTEM_ACTOR } from "../../src/features/audit/service.ts";
import { createApiKey } from "../../src/features/auth/api-keys.ts";
import { createUser } from "../../src/features/auth/users.ts";
import { saveModelSettings } from "../../src/features/controller/controller-settings.ts";
import { startFakeLlm } from "../fake-llm/server.ts";
import { FAKE_API_KEY } from "../fake-llm/settings.ts";
import { makeRepo, NODE_PROJECT } from "../git-repos.ts";
import { embeddedServerOptions, startServer } from "../../src/server.ts";
import { ADMIN, launchBrowser, openPage, screenshot, waitForSettled, type PageOptions } from "./browser.ts";
import { mainPages, openQuestion, seed } from "./seed.ts";
import { parseArgs } from "node:util";

const only = parseArgs({ options: { only: { type: "string" } } }).values.only?.split(",");

const dataDir = mkdtempSync(join(tmpdir(), "agentvine-screenshots-"));
const server = await startServer(
  embeddedServerOptions(dataDir, {
    workers: 4, // three seeded tasks wait for answers, each holding its thread: the agent needs one more
    shutdownGraceSeconds: 1,
  }),
);
// The account the pages are seen as (signed in through the /login form), and an API key of it for the seed.
const admin = await createUser(server.services.auth, { ...ADMIN, role: "admin" }, SYSTEM_ACTOR);
const { key } = createApiKey(server.services.auth, { name: "screenshots", scope: "api" }, { userId: admin.id, actor: SYSTEM_ACTOR });
const api = (path: string, init: RequestInit = {}) =>
  fetch(`${server.url}/api/v1${path}`, {
    ...init,
    headers: { "content-type": "application/json", authorization: `Bearer ${key}`, ...(init.headers as Record<string, string>) },
  });
const { browser, info } = await launchBrowser();
console.log(`${info.version} (${info.source})`);

try {
  const seeded = await seed(api);
  const pages = mainPages(seeded);
  // A team to show on the admin pages: two more accounts, a worker key, a secret.
  const ok = async (res: Response) => {
    if (!res.ok) throw new Error(`${res.url} answered ${res.status}: ${await res.text()}`);
  };
  const password = "violet tractor umbrella 42";
  await ok(await api("/users", { method: "POST", body: JSON.stringify({ username: "olga", full_name: "Olga Operator", email: "olga@example.com", password, role: "operator" }) }));
  await ok(await api("/users", { method: "POST", body: JSON.stringify({ username: "vic", full_name: "Vic Viewer", password, role: "viewer" }) }));
  await ok(await api("/api-keys", { method: "POST", body: JSON.stringify({ name: "build-runner-1", scope: "worker" }) }));
  await ok(await api("/secrets", { method: "POST", body: JSON.stringify({ name: "GITHUB_TOKEN", value: "ghp_example_not_a_real_token" }) }));
  // Two remote workers with a few heartbeats (for the sparklines), one of them running a task.
  const workerKey = createApiKey(server.services.auth, { name: "fleet", scope: "worker", capabilities: ["git", "gpu", "node", "python"], max_concurrent_tasks: 8 }, { userId: admin.id, actor: SYSTEM_ACTOR }).key;
  const asWorker = (path: string, body: unknown) =>
    fetch(`${server.url}/api/v1${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${workerKey}` }, body: JSON.stringify(body) });
  const fleet: string[] = [];
  for (const [name, capabilities] of [["build-1", ["git", "node"]], ["gpu-1", ["git", "gpu", "python"]]] as const) {
    const res = await asWorker("/workers", { name, hostname: `${name}.internal`, version: "0.1.0", capabilities, max_concurrent_tasks: 4 });
    await ok(res);
    fleet.push(((await res.json()) as { id: string }).id);
  }
  for (let i = 0; i < 24; i++) {
    for (const [k, id] of fleet.entries()) {
      await ok(await asWorker(`/workers/${id}/heartbeat`, { load: 1 + k + Math.sin(i / 3), cpu_percent: 20 + 15 * k + 12 * Math.sin(i / 2 + k), memory_bytes: Math.round((180 + 40 * k + 25 * Math.cos(i / 4)) * 1024 * 1024) }));
    }
  }
  // The chat and the context documents: a task that asks for approval in its conversation, people talking
  // in it (markdown, a code block, a reply), and documents about its repository.
  const json = async (res: Response) => {
    await ok(res.clone());
    return (await res.json()) as { id: string; conversation_id?: string };
  };
  const repo = "https://github.com/acme/checkout";
  const docs = [
    { title: "Checkout service design", document_type: "design", tags: ["checkout", "payments"], content: "# Checkout service\n\nThe checkout service owns the **cart → order** transition.\n\n- Payments go through the `payments` client with an idempotency key per order\n- Inventory is reserved for 15 minutes\n\n| Step | Owner |\n|---|---|\n| reserve | inventory |\n| charge | payments |" },
    { title: "Deploying checkout", document_type: "runbook", tags: ["deploy", "checkout"], content: "## Deploy\n\n1. Merge to `main`\n2. Watch the canary for 10 minutes\n3. Roll back with `make rollback` if the error rate doubles" },
    { title: "Use Postgres advisory locks for order numbers", document_type: "decision", tags: ["database"], content: "We use advisory locks rather than a sequence table: fewer round trips." },
  ];
  let docId = "";
  for (const d of docs) {
    const created = await json(await api("/context/documents", { method: "POST", body: JSON.stringify({ ...d, repository_url: repo }) }));
    docId ||= created.id;
  }
  const asking = await json(await api("/tasks", { method: "POST", body: JSON.stringify({ title: "Ship checkout v2.4", task_type: "ask", repository_url: repo, branch_name: "release/2.4", params: { question: "Canary looks healthy (error rate 0.2%). Promote checkout v2.4 to production?", options: ["approve", "reject"], category: "approval" } }) }));
  await openQuestion(api, asking.id); // its question is asked: the conversation shows it
  const conv = (await json(await api(`/tasks/${asking.id}`))).conversation_id!;
  const say = (message: string, parent?: string) => api(`/chat/conversations/${conv}/messages`, { method: "POST", body: JSON.stringify({ message, parent_message_id: parent }) });
  await ok(await say("Before we promote: did the **payments** smoke test pass on the canary?"));
  const olgaKey = createApiKey(server.services.auth, { name: "olga", scope: "api" }, { userId: (server.db.sqlite.query("SELECT id FROM users WHERE username = 'olga'").get() as { id: string }).id, actor: SYSTEM_ACTOR }).key;
  await ok(await fetch(`${server.url}/api/v1/chat/conversations/${conv}/messages`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${olgaKey}` }, body: JSON.stringify({ message: "Yes — all green:\n\n```\n$ make smoke ENV=canary\n✓ checkout: 41 passed\n✓ payments: 18 passed\n```" }) }));
  await ok(await api("/chat/conversations", { method: "POST", body: JSON.stringify({ title: "Release 2.4 coordination" }) }));
  pages.push(
    { name: "chat", path: `/chat/${conv}` },
    { name: "context", path: "/context" },
    { name: "context-document", path: `/context/${docId}` },
  );
  // A coding agent at work: a scripted model (the fake provider on loopback, put in on the Models page's
  // settings) fixes a bug in a real git repository — its transcript, spend, tests and diff on the task page,
  // and its cost on the Models page.
  const fake = startFakeLlm();
  await ok(await api("/secrets", { method: "POST", body: JSON.stringify({ name: "AGENTVINE_LLM_API_KEY", value: FAKE_API_KEY }) }));
  saveModelSettings({ db: server.db, config: { llmMaxTokens: 1024, llmPriceInput: 0, llmPriceOutput: 0, llmTimeoutSeconds: 60, budgetTaskUsd: 0, budgetTaskTokens: 0, budgetRunUsd: 0, budgetRunTokens: 0, budgetDailyUsd: 0, budgetDailyTokens: 0 } }, {
    provider: "anthropic",
    baseUrl: fake.anthropicBaseUrl,
    model: "claude-sonnet-4-5",
    priceInputPerMTok: 3,
    priceOutputPerMTok: 15,
  });
  const call = (name: string, input: unknown) => ({ name, input });
  fake.script(
    {
      text: "I'll reproduce it first: a test that calls add(2, 3).",
      toolCalls: [
        call("read_file", { path: "math.js" }),
        call("write_file", { path: "add.test.js", content: 'import { test } from "node:test";\nimport assert from "node:assert/strict";\nimport { add } from "./math.js";\n\ntest("add", () => assert.equal(add(2, 3), 5));\n' }),
        call("run_command", { command: "npm test" }),
      ],
    },
    { text: "The test fails as reported: add subtracts. Fixing the operator.", toolCalls: [call("edit_file", { path: "math.js", old: "return a - b;", new: "return a + b;" }), call("run_command", { command: "npm test" })] },
    { toolCalls: [call("finish", { summary: "add() subtracted its arguments; it adds them now, and add.test.js covers it." })] },
  );
  const mathlib = makeRepo(NODE_PROJECT);
  const agent = await json(await api("/tasks", { method: "POST", body: JSON.stringify({ title: "add(2, 3) returns -1", task_type: "bugfix", repository_url: mathlib, params: { instruction: "add(2, 3) returns -1; it should return 5.", budget_usd: 0.5 } }) }));
  const agentDone = (await (await api(`/tasks/${agent.id}/wait?timeout=120`)).json()) as { status: string; error?: string };
  if (agentDone.status !== "succeeded") throw new Error(`the agent task ${agentDone.status}: ${agentDone.error}`);
  await fake.stop();
  pages.push({ name: "agent-task", path: `/tasks/${agent.id}` });
  pages.push(
    { name: "login", path: "/login" },
    { name: "users", path: "/users" },
    { name: "api-keys", path: "/api-keys" },
    { name: "audit", path: "/audit" },
    { name: "workers", path: "/workers" },
    { name: "worker", path: `/workers/${fleet[1]}` },
  );
  const allShots: Array<{ file: string; name: string; options: PageOptions }> = [
    { file: "login-phone", name: "login", options: { width: 375, height: 740, signIn: false } },
    ...pages.filter((p) => p.name !== "login").map((p) => ({ file: p.name, name: p.name, options: { width: 1280, height: 800 } })),
    ...["dashboard", "task-detail", "plan-run", "inbox"].map((name) => ({ file: `${name}-dark`, name, options: { width: 1280, height: 800, dark: true } })),
    ...["dashboard", "tasks", "plan-run", "inbox"].map((name) => ({ file: `${name}-phone`, name, options: { width: 375, height: 740 } })),
    { file: "task-detail-phone-dark", name: "task-detail", options: { width: 375, height: 740, dark: true } },
    { file: "chat-dark", name: "chat", options: { width: 1280, height: 800, dark: true } },
    { file: "chat-phone", name: "chat", options: { width: 375, height: 740 } },
    { file: "agent-task-phone-dark", name: "agent-task", options: { width: 375, height: 740, dark: true } },
  ];
  const shots = allShots.filter((shot) => !only || only.includes(shot.file));
  for (const shot of shots) {
    const path = pages.find((p) => p.name === shot.name)!.path;
    const opened = await openPage(browser, server.url, path, shot.options);
    try {
      await waitForSettled(opened.page, "main");
      await opened.page.evaluate(() => document.fonts.ready);
      const file = await screenshot(opened.page, shot.file);
      console.log(`${file}${opened.problems.length ? `  PROBLEMS: ${opened.problems.join("; ")}` : ""}`);
    } finally {
      await opened.close();
    }
  }
} finally {
  await browser.close();
  await server.stop(1);
  rmSync(dataDir, { recursive: true, force: true });
}
