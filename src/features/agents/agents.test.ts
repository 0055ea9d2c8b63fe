// Coding agents on real git repositories made in the test, driven by a scripted fake model on loopback
// that replays tool calls in the provider's real wire format, through the real server and task threads.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { cleanup, json, startTestServer, tempDir, until, type TestServer } from "../../../test/helpers.ts";
import { createAdminKey, spawnServer, waitHealthy, type ServerProcess } from "../../../test/process.ts";
import { type FakeLlm } from "../../../test/fake-llm/server.ts";
import { fakeModelPerTest } from "../../../test/fake-llm/per-test.ts";
import { FAKE_API_KEY } from "../../../test/fake-llm/settings.ts";
import { git, makeBareRepo, makeRepo, NODE_PROJECT, PYTHON_PROJECT } from "../../../test/git-repos.ts";
import { RemoteWorker } from "../../remote-worker/remote-worker.ts";
import { probeSandbox } from "../../sandbox/index.ts";
import type { StartOptions } from "../../server.ts";
import { SYSTEM_ACTOR } from "../audit/service.ts";
import { createApiKey } from "../auth/api-keys.ts";
import { findUserByLogin } from "../auth/users.ts";

afterEach(cleanup);
const fakeModel = fakeModelPerTest();

const llm = (fake: FakeLlm, extra: Partial<StartOptions> = {}): Partial<StartOptions> => ({
  llmProvider: "anthropic",
  llmBaseUrl: fake.anthropicBaseUrl,
  llmModel: "fake-coder",
  llmApiKey: FAKE_API_KEY,
  llmPriceInput: 3,
  llmPriceOutput: 15,
  controllerRetryBaseMs: 1,
  ...extra,
});

const call = (name: string, input: unknown) => ({ name, input });

async function submit(server: TestServer, body: Record<string, unknown>) {
  const res = await server.api("/tasks", json(body));
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string };
}

const finished = async (server: TestServer, id: string) => (await (await server.api(`/tasks/${id}/wait?timeout=60`)).json()) as Record<string, any>;

/** The task's worktree (under the data dir's workspaces). */
const worktreeOf = (server: TestServer, taskId: string) => join(server.services.config.dataDir, "workspaces", "agents", "tasks", taskId);

describe("the bugfix agent", () => {
  test("on a Node project: reproduces with a failing test, fixes, the tests go red to green, a commit on its own branch", async () => {
    const repo = makeRepo(NODE_PROJECT);
    const fake = fakeModel();
    fake.script(
      {
        text: "I'll write a test that shows add is wrong.",
        toolCalls: [
          call("read_file", { path: "math.js" }),
          call("write_file", { path: "add.test.js", content: 'import { test } from "node:test";\nimport assert from "node:assert/strict";\nimport { add } from "./math.js";\n\ntest("add", () => assert.equal(add(2, 3), 5));\n' }),
          call("run_command", { command: "npm test" }),
        ],
      },
      { toolCalls: [call("edit_file", { path: "math.js", old: "return a - b;", new: "return a + b;" }), call("run_command", { command: "npm test" })] },
      { toolCalls: [call("finish", { summary: "add subtracted; it adds now, with a test." })] },
    );
    const server = await startTestServer(llm(fake));
    const task = await submit(server, { title: "add is broken", task_type: "bugfix", repository_url: repo, params: { instruction: "add(2, 3) returns -1; it should return 5." } });
    const done = await finished(server, task.id);
    expect(done.status).toBe("succeeded");
    const r = done.result;
    expect(r.branch).toBe(`agentvine/${task.id}`);
    expect(r.tests).toMatchObject({ command: "npm test", before: { passed: false }, after: { passed: true, exit_code: 0 } });
    expect(r.diff_stat).toMatchObject({ files_changed: 2 });
    expect(r.usage.input_tokens).toBeGreaterThan(0);
    expect(r.steps).toBe(3);

    // The commit is on the task's branch in the worktree; the repository itself is untouched (write, not push).
    const wt = worktreeOf(server, task.id);
    expect(git(wt, "rev-parse", "HEAD")).toBe(r.commit);
    expect(git(wt, "show", "--stat", "--format=%s", "HEAD")).toContain("math.js");
    expect(git(wt, "show", "HEAD:math.js")).toContain("return a + b;");
    expect(git(repo, "branch", "--list")).not.toContain("agentvine");
    expect(git(repo, "show", "HEAD:math.js")).toContain("return a - b;");

    // Every step is in the transcript: notes, three model calls, each tool call with its result.
    const steps = await (await server.api(`/tasks/${task.id}/steps`)).json();
    const kinds = steps.items.map((s: { kind: string; name: string }) => `${s.kind}:${s.name}`);
    expect(kinds.filter((k: string) => k.startsWith("model:"))).toHaveLength(3);
    expect(kinds).toContain("tool:edit_file");
    const failingRun = steps.items.find((s: { kind: string; name: string; output: string }) => s.name === "run_command" && String(s.output).startsWith("exit code 1"));
    expect(failingRun).toBeDefined();
    expect(steps.usage.model_calls).toBe(3);
    // The second model call saw the failing test's output (the tool results travel back to the model).
    expect(fake.requests[1]!.promptText).toContain("exit code 1");
  }, 60_000);

  test("on a Python project with a failing test: finishing before a green run is refused; the model fixes it", async () => {
    const repo = makeRepo(PYTHON_PROJECT);
    const fake = fakeModel();
    fake.script(
      { toolCalls: [call("finish", { summary: "done already?" })] },
      { toolCalls: [call("edit_file", { path: "calc.py", old: "return sum(values)", new: "return sum(values) / len(values)" })] },
      { toolCalls: [call("finish", { summary: "mean divides by the count." })] },
    );
    const server = await startTestServer(llm(fake));
    const task = await submit(server, { title: "mean", task_type: "bugfix", repository_url: repo, params: { instruction: "Fix mean.", test_command: "python3 -m unittest -q" } });
    const done = await finished(server, task.id);
    expect(done.status).toBe("succeeded");
    expect(done.result.tests).toMatchObject({ command: "python3 -m unittest -q", before: { passed: false }, after: { passed: true } });
    // The first finish was answered with the failing tests, which the model then saw.
    expect(fake.requests[1]!.promptText).toContain("The tests fail");
    expect(git(worktreeOf(server, done.id), "show", "HEAD:calc.py")).toContain("/ len(values)");
  }, 60_000);
});

describe("agents and what they may do", () => {
  test("a read task cannot write: the model's write is refused, commands' changes are undone, nothing is committed", async () => {
    const repo = makeRepo(NODE_PROJECT);
    const fake = fakeModel();
    fake.script(
      { toolCalls: [call("write_file", { path: "x.txt", content: "nope" }), call("run_command", { command: "echo sneaky > y.txt" })] },
      { toolCalls: [call("finish", { summary: "add subtracts (math.js line 2)." })] },
    );
    const server = await startTestServer(llm(fake));
    const task = await submit(server, { title: "look", task_type: "feature", permission_level: "read", repository_url: repo, params: { instruction: "Find why add is wrong." } });
    const done = await finished(server, task.id);
    expect(done.status).toBe("succeeded");
    expect(done.result).toMatchObject({ commit: null, summary: "add subtracts (math.js line 2)." });
    const steps = (await (await server.api(`/tasks/${task.id}/steps`)).json()).items;
    const write = steps.find((s: { name: string }) => s.name === "write_file");
    expect(write).toMatchObject({ is_error: true });
    expect(String(write.output)).toContain("may only read");
    expect(String(steps.find((s: { name: string }) => s.name === "run_command").output)).toContain("were undone");
    const wt = worktreeOf(server, task.id);
    expect(git(wt, "status", "--porcelain")).toBe("");
    expect(git(wt, "rev-list", "--count", "HEAD")).toBe("1");
  }, 60_000);

  test("the feature agent adds a function and its test; two agents on one repository at once do not see each other's changes", async () => {
    const repo = makeRepo(NODE_PROJECT);
    const fake = fakeModel();
    // Each agent's first prompt names its task: answer each by what it was asked.
    fake.respond((req) => {
      const which = req.promptText.includes("triple") ? "triple" : "square";
      const fn = which === "triple" ? "x * 3" : "x * x";
      const calls = req.body.messages.filter((m: { role: string }) => m.role === "assistant").length;
      if (calls === 0)
        return {
          toolCalls: [
            call("run_command", { command: "ls" }),
            call("edit_file", { path: "math.js", old: "export function double", new: `export function ${which}(x) {\n  return ${fn};\n}\n\nexport function double` }),
            call("write_file", { path: `${which}.test.js`, content: `import { test } from "node:test";\nimport assert from "node:assert/strict";\nimport { ${which} } from "./math.js";\n\ntest("${which}", () => assert.equal(${which}(3), ${which === "triple" ? 9 : 9}));\n` }),
          ],
        };
      return { toolCalls: [call("finish", { summary: `added ${which}` })] };
    });
    const server = await startTestServer(llm(fake));
    const [a, b] = await Promise.all([
      submit(server, { title: "triple", task_type: "feature", repository_url: repo, params: { instruction: "Add triple(x)." } }),
      submit(server, { title: "square", task_type: "feature", repository_url: repo, params: { instruction: "Add square(x)." } }),
    ]);
    const [da, db] = await Promise.all([finished(server, a.id), finished(server, b.id)]);
    expect(da.status).toBe("succeeded");
    expect(db.status).toBe("succeeded");
    const mathA = git(worktreeOf(server, a.id), "show", "HEAD:math.js");
    const mathB = git(worktreeOf(server, b.id), "show", "HEAD:math.js");
    expect(mathA).toContain("export function triple");
    expect(mathA).not.toContain("square");
    expect(mathB).toContain("export function square");
    expect(mathB).not.toContain("triple");
    expect(da.result.branch).not.toBe(db.result.branch);
  }, 60_000);

  test("a budget smaller than the next step pauses the agent with a question; no request reaches the model; 'stop' ends it", async () => {
    const repo = makeRepo(NODE_PROJECT);
    const fake = fakeModel();
    const server = await startTestServer(llm(fake));
    const task = await submit(server, { title: "thrifty", task_type: "feature", repository_url: repo, params: { instruction: "Add triple.", budget_usd: 0.00001 } });
    const q = await until(server.services.deps.bus, ["request:created"], () =>
      server.db.sqlite.query<{ id: string; question: string }, [string]>("SELECT id, question FROM worker_requests WHERE task_id = ? AND status = 'open'").get(task.id),
    );
    expect(q.question).toContain("task budget");
    expect(q.question).toContain("Extend the budget");
    expect(fake.requests).toHaveLength(0);
    await server.api(`/requests/${q.id}/respond`, json({ answer: "stop" }));
    const done = await finished(server, task.id);
    expect(done.status).toBe("failed");
    expect(done.error).toContain("stopped: the task budget");
    expect(fake.requests).toHaveLength(0);
  }, 60_000);

  test("a person's message reaches the model at its next step", async () => {
    const repo = makeRepo(NODE_PROJECT);
    const fake = fakeModel();
    const server = await startTestServer(llm(fake));
    let taskId = "";
    let sent = false;
    fake.respond((req) => {
      if (req.promptText.includes("Message from admin: use tabs")) return { toolCalls: [call("finish", { summary: "heard you" })] };
      // The first step: while it is being answered, a person writes to the task.
      if (!sent) {
        sent = true;
        server.services.deps.bus.emit("task:message", { taskId, messageId: "m1", senderType: "human", senderId: null, sender: "admin", text: "use tabs", at: Date.now() });
      }
      return { toolCalls: [call("list_files", {})] };
    });
    const task = await submit(server, { title: "steer me", task_type: "docs", permission_level: "read", repository_url: repo, params: { instruction: "Look around." } });
    taskId = task.id;
    const done = await finished(server, task.id);
    expect(done.status).toBe("succeeded");
    expect(done.result.summary).toBe("heard you");
    const steps = (await (await server.api(`/tasks/${task.id}/steps`)).json()).items;
    expect(steps.some((s: { kind: string; name: string; input: string }) => s.kind === "note" && s.name === "steering" && s.input.includes("use tabs"))).toBe(true);
  }, 60_000);
});

/** A run_command step's output, by the command's start. */
async function commandOutputs(server: TestServer, taskId: string): Promise<string[]> {
  const steps = (await (await server.api(`/tasks/${taskId}/steps`)).json()).items as Array<{ name: string; output: string }>;
  return steps.filter((s) => s.name === "run_command").map((s) => String(s.output));
}

const bwrap = probeSandbox();
describe("the sandbox of the model's commands", () => {
  if (!bwrap.available) console.warn(`SKIPPED: the agent sandbox test needs bubblewrap, which does not work here: ${bwrap.reason} (apt install bubblewrap)`);
  test.skipIf(!bwrap.available)("a command trying the network or writing outside the worktree fails inside the sandbox; its worktree and /tmp are its own", async () => {
    const repo = makeRepo(NODE_PROJECT);
    const fake = fakeModel();
    const server = await startTestServer(llm(fake));
    const dataDir = server.services.config.dataDir;
    const port = new URL(fake.anthropicBaseUrl).port;
    // Writable on this host (outside the sandbox), read-only in it like the rest of the root.
    const outside = `/var/tmp/agentvine-escaped-${Bun.randomUUIDv7()}`;
    fake.script(
      {
        toolCalls: [
          // The model server is on this host's loopback: the sandbox has a loopback of its own.
          call("run_command", { command: `python3 -c "import socket; socket.create_connection(('127.0.0.1', ${port}), timeout=5); print('REACHED')"` }),
          call("run_command", { command: `echo x > ${join(dataDir, "escaped.txt")}` }),
          call("run_command", { command: `echo x > ${outside}` }),
          call("run_command", { command: `ls -A ${dataDir}; test -e ${join(dataDir, "agentvine.db")} && echo DB-VISIBLE; true` }),
          call("run_command", { command: "git commit --allow-empty -q -m sneaky" }),
          call("run_command", { command: "echo scratch > /tmp/s && cat /tmp/s && echo kept > inside.txt && env | grep -c AGENTVINE_LLM || true" }),
        ],
      },
      { toolCalls: [call("finish", { summary: "tried the walls" })] },
    );
    const task = await submit(server, { title: "walls", task_type: "feature", repository_url: repo, params: { instruction: "Try the walls." } });
    const done = await finished(server, task.id);
    expect(done.status).toBe("succeeded");
    const [network, dataWrite, outsideWrite, dataList, gitWrite, inside] = await commandOutputs(server, task.id);
    expect(network).not.toContain("REACHED");
    expect(network).toMatch(/^exit code [1-9]/);
    expect(network).toContain("Connection refused");
    expect(dataWrite).toMatch(/^exit code [1-9]/);
    expect(existsSync(join(dataDir, "escaped.txt"))).toBe(false);
    expect(outsideWrite).toMatch(/^exit code [1-9][^]*Read-only file system/);
    const escaped = existsSync(outside);
    rmSync(outside, { force: true });
    expect(escaped).toBe(false);
    // The data dir is hidden (no database, no keys): only the path down to the worktree is in there.
    expect(dataList).toMatch(/^exit code 0\nstdout:\nworkspaces\n$/);
    // The clone's .git is read-only to the model: only the runner commits.
    expect(gitWrite).toMatch(/^exit code [1-9]/);
    expect(inside).toMatch(/^exit code 0\nstdout:\nscratch\n0\n/);
    // What it wrote in its worktree is committed by the runner, on the task's branch.
    expect(git(worktreeOf(server, task.id), "show", "HEAD:inside.txt")).toBe("kept");
    expect(git(worktreeOf(server, task.id), "log", "--format=%s")).not.toContain("sneaky");
  }, 60_000);

  test("without bubblewrap the model's commands are refused — unless an admin chose --sandbox none", async () => {
    const repo = makeRepo(NODE_PROJECT);
    const script = (fake: FakeLlm) =>
      fake.script({ toolCalls: [call("run_command", { command: "echo ran" })] }, { toolCalls: [call("finish", { summary: "done" })] });
    const missing = { available: false, reason: "bubblewrap is not installed (no bwrap on PATH)" };
    const refusing = fakeModel();
    script(refusing);
    const auto = await startTestServer(llm(refusing, { sandbox: "auto", sandboxProbe: missing }));
    const refused = await finished(auto, (await submit(auto, { title: "no sandbox", task_type: "feature", repository_url: repo, params: { instruction: "Run it." } })).id);
    expect(refused.status).toBe("failed");
    expect(refused.error).toContain("refused to run a command without a sandbox: bubblewrap is not installed");
    expect(refused.error).toContain("--sandbox none");

    const chosen = fakeModel();
    script(chosen);
    const none = await startTestServer(llm(chosen, { sandbox: "none" }));
    const ran = await finished(none, (await submit(none, { title: "unconfined", task_type: "feature", repository_url: repo, params: { instruction: "Run it." } })).id);
    expect(ran.status).toBe("succeeded");
    expect((await commandOutputs(none, ran.id as string))[0]).toContain("stdout:\nran");
  }, 60_000);
});

describe("pausing, remote workers and pull requests", () => {
  test("pause stops the agent before its next step and asks to be resumed; resume lets it go on", async () => {
    const repo = makeRepo(NODE_PROJECT);
    const fake = fakeModel();
    const server = await startTestServer(llm(fake));
    let taskId = "";
    fake.respond(async (req) => {
      const calls = req.body.messages.filter((m: { role: string }) => m.role === "assistant").length;
      if (calls === 0) {
        // While its first step is being answered, someone pauses it.
        const res = await server.api(`/tasks/${taskId}/pause`, { method: "POST" });
        expect(res.status).toBe(200);
        return { toolCalls: [call("list_files", {})] };
      }
      return { toolCalls: [call("finish", { summary: "resumed and done" })] };
    });
    const task = await submit(server, { title: "pausable", task_type: "docs", permission_level: "read", repository_url: repo, params: { instruction: "Look." } });
    taskId = task.id;
    const q = await until(server.services.deps.bus, ["request:created"], () =>
      server.db.sqlite.query<{ id: string; question: string }, [string]>("SELECT id, question FROM worker_requests WHERE task_id = ? AND status = 'open'").get(task.id),
    );
    expect(q.question).toContain("paused by admin");
    expect(fake.requests).toHaveLength(1);
    const steps = await (await server.api(`/tasks/${task.id}/steps`)).json();
    expect(steps.paused).toBe(true);
    expect((await server.api(`/tasks/${task.id}/resume`, { method: "POST" })).status).toBe(200);
    const done = await finished(server, task.id);
    expect(done).toMatchObject({ status: "succeeded", result: { summary: "resumed and done" } });
    expect(fake.requests).toHaveLength(2);
  }, 60_000);

  test("with push permission: the branch is pushed and a pull request opened on a GitHub API (here on loopback), its number linked on the task", async () => {
    const repo = makeRepo(NODE_PROJECT);
    const bare = makeBareRepo();
    git(repo, "push", "-q", bare, "main");
    const prs: Array<{ auth: string | null; body: any; path: string }> = [];
    const github = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(req) {
        const path = new URL(req.url).pathname;
        if (req.method === "GET" && path === "/repos/acme/mathlib") return Response.json({ default_branch: "main" });
        if (req.method === "POST" && path === "/repos/acme/mathlib/pulls") {
          prs.push({ auth: req.headers.get("authorization"), body: await req.json(), path });
          return Response.json({ number: 42, html_url: "https://github.example/acme/mathlib/pull/42" }, { status: 201 });
        }
        return new Response("not found", { status: 404 });
      },
    });
    try {
      const fake = fakeModel();
      fake.script(
        { toolCalls: [call("edit_file", { path: "README.md", old: "Tiny math helpers.", new: "Tiny math helpers: add and double." })] },
        { toolCalls: [call("finish", { summary: "documented the helpers" })] },
      );
      const server = await startTestServer(llm(fake));
      await server.api("/secrets", json({ name: "GH_TOKEN", value: "ghp_fake_token_123" }));
      const task = await submit(server, {
        title: "document it",
        task_type: "docs",
        permission_level: "push",
        repository_url: bare,
        params: { instruction: "Say what the helpers are.", pull_request: { provider: "github", repository: "acme/mathlib", token: "{{secrets.GH_TOKEN}}", api_url: `http://127.0.0.1:${github.port}` } },
      });
      const done = await finished(server, task.id);
      expect(done.status).toBe("succeeded");
      expect(done.result.pull_request).toEqual({ number: 42, url: "https://github.example/acme/mathlib/pull/42" });
      expect(done.pr_number ?? (await (await server.api(`/tasks/${task.id}`)).json()).pr_number).toBe(42);
      expect(prs[0]).toMatchObject({ auth: "Bearer ghp_fake_token_123", body: { head: `agentvine/${task.id}`, base: "main", title: "document it" } });
      // The branch is in the repository it was pushed to.
      expect(git(bare, "show", `agentvine/${task.id}:README.md`)).toContain("add and double");
    } finally {
      github.stop(true);
    }
  }, 60_000);
});

describe("an agent survives a kill -9", () => {
  test("restarted, the task resumes from its last persisted step: earlier steps are not made again", async () => {
    const repo = makeRepo(NODE_PROJECT);
    const fake = fakeModel();
    fake.script(
      { toolCalls: [call("write_file", { path: "notes.md", content: "step one was here\n" })] },
      { hang: "before-response" },
      { toolCalls: [call("finish", { summary: "picked up where it stopped" })] },
    );
    const root = join(import.meta.dir, "..", "..", "..");
    const dataDir = tempDir("agentvine-agent-crash-");
    const program = [process.execPath, join(root, "src/main.ts")];
    const key = createAdminKey(program, { cwd: dataDir, dataDir });
    const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
    const flags = ["--llm-provider", "anthropic", "--llm-base-url", fake.anthropicBaseUrl, "--llm-model", "fake-coder", "--llm-price-input", "3", "--llm-price-output", "15"];
    const env = { AGENTVINE_LLM_API_KEY: FAKE_API_KEY };
    const servers: ServerProcess[] = [];
    try {
      const start = async () => {
        const s = await spawnServer([...program, "serve", "--port", "0", "--workers", "1", "--data-dir", dataDir, ...flags], { cwd: dataDir, env });
        servers.push(s);
        await waitHealthy(s.url);
        return s;
      };
      const first = await start();
      const res = await fetch(`${first.url}/api/v1/tasks`, { method: "POST", headers, body: JSON.stringify({ title: "resumable", task_type: "docs", repository_url: repo, params: { instruction: "Take notes." } }) });
      const task = (await res.json()) as { id: string };
      // The second model call hangs: the agent is mid-loop, its first step done and recorded.
      await fake.waitForRequests(2);
      first.proc.kill("SIGKILL");
      await first.proc.exited;

      const second = await start();
      const done = (await (await fetch(`${second.url}/api/v1/tasks/${task.id}/wait?timeout=60`, { headers })).json()) as Record<string, any>;
      expect(done.status).toBe("succeeded");
      expect(done.result).toMatchObject({ summary: "picked up where it stopped", steps: 2 });
      // Three requests in all: step 1, the one the kill cut off, and step 2 again — step 1 was not made twice.
      expect(fake.requests).toHaveLength(3);
      expect(fake.requests[2]!.promptText).toContain("wrote notes.md");
      const steps = (await (await fetch(`${second.url}/api/v1/tasks/${task.id}/steps`, { headers })).json()) as { items: Array<{ kind: string; name: string }> };
      expect(steps.items.filter((s) => s.kind === "model")).toHaveLength(2);
      expect(steps.items.filter((s) => s.name === "write_file")).toHaveLength(1);
      expect(git(join(dataDir, "workspaces", "agents", "tasks", task.id), "show", "HEAD:notes.md")).toBe("step one was here");
    } finally {
      for (const s of servers) s.proc.kill("SIGKILL");
    }
  }, 90_000);
});

describe("an agent on a remote worker", () => {
  test("runs its loop on the worker, each model step through the server (POST /queue/call): the key and the budget stay on the server", async () => {
    const repo = makeRepo(NODE_PROJECT);
    const fake = fakeModel();
    fake.script(
      { toolCalls: [call("edit_file", { path: "math.js", old: "return a - b;", new: "return a + b;" })] },
      { toolCalls: [call("finish", { summary: "fixed add remotely" })] },
    );
    const server = await startTestServer(llm(fake, { workers: 0 }));
    const admin = findUserByLogin(server.services.auth, "admin")!;
    const { key } = createApiKey(server.services.auth, { name: "remote", scope: "worker" }, { userId: admin.id, actor: SYSTEM_ACTOR });
    const stateDir = tempDir();
    const worker = new RemoteWorker({ server: server.url, token: key, name: "coder", concurrency: 1, stateDir, shutdownGraceMs: 5000, claimWaitSeconds: 5 });
    await worker.start();
    try {
      const task = await submit(server, { title: "remote fix", task_type: "feature", repository_url: repo, params: { instruction: "Make add add." } });
      const done = await finished(server, task.id);
      expect(done.status).toBe("succeeded");
      expect(done.result).toMatchObject({ summary: "fixed add remotely", tests: { after: { passed: true } } });
      // The worktree is on the worker's machine (its state dir), not the server's data dir.
      expect(git(join(stateDir, "workspaces", "agents", "tasks", task.id), "show", "HEAD:math.js")).toContain("a + b");
      expect(server.db.sqlite.query<{ n: number }, [string]>("SELECT count(*) AS n FROM agent_steps WHERE task_id = ? AND kind = 'model'").get(task.id)!.n).toBe(2);
      // The worker never saw the model's key: it never talked to the model.
      expect(fake.requests.every((r) => r.headers["x-api-key"] === FAKE_API_KEY)).toBe(true);
    } finally {
      await worker.drain();
    }
  }, 60_000);
});

describe("the ready-made plans", () => {
  test("fix-issue, end to end: the bugfix agent fixes on agentvine/issue-7, the test agent checks, a person approves, the branch is pushed", async () => {
    const upstream = makeBareRepo();
    git(makeRepo(NODE_PROJECT), "push", "-q", upstream, "main");
    const fake = fakeModel();
    fake.respond((req) => {
      const calls = req.body.messages.filter((m: { role: string }) => m.role === "assistant").length;
      if (req.promptText.includes("Fix the bug below")) {
        if (calls === 0)
          return {
            toolCalls: [
              call("write_file", { path: "add.test.js", content: 'import { test } from "node:test";\nimport assert from "node:assert/strict";\nimport { add } from "./math.js";\n\ntest("add", () => assert.equal(add(2, 3), 5));\n' }),
              call("run_command", { command: "npm test" }),
              call("edit_file", { path: "math.js", old: "return a - b;", new: "return a + b;" }),
            ],
          };
        return { toolCalls: [call("finish", { summary: "add adds, with a test" })] };
      }
      // The test agent: the suite on the branch already has the fix and its test.
      if (calls === 0) return { toolCalls: [call("run_command", { command: "npm test" })] };
      return { toolCalls: [call("finish", { summary: "the suite passes on the branch" })] };
    });
    const server = await startTestServer(llm(fake, { builtinPlans: true }));
    const plans = (await (await server.api("/plans")).json()).items.map((p: { name: string }) => p.name);
    expect(plans).toEqual(expect.arrayContaining(["fix-issue", "feature-with-review"]));

    const res = await server.api("/plans/fix-issue/run", json({ inputs: { repository_url: upstream, issue_number: 7, instruction: "add(2, 3) is -1." } }));
    expect(res.status).toBe(201);
    const run = (await res.json()) as { id: string };
    const approval = await until(server.services.deps.bus, ["request:created"], () =>
      server.db.sqlite
        .query<{ id: string; question: string }, []>("SELECT id, question FROM worker_requests WHERE status = 'open' AND question LIKE 'Push the fix%'")
        .get(),
    );
    expect(approval.question).toBe("Push the fix for issue #7 and open a pull request?");
    await server.api(`/requests/${approval.id}/respond`, json({ answer: "approve" }));
    const done = await finished(server, run.id);
    expect(done.status).toBe("succeeded");
    expect(done.result.steps.fix).toMatchObject({ branch: "agentvine/issue-7", tests: { before: { passed: false }, after: { passed: true } } });
    expect(done.result.steps.publish).toMatchObject({ branch: "agentvine/issue-7" });
    expect(git(upstream, "show", "agentvine/issue-7:math.js")).toContain("return a + b;");
    expect(git(upstream, "show", "agentvine/issue-7:add.test.js")).toContain("add(2, 3)");
  }, 90_000);

  test("a deleted ready-made plan stays deleted after a restart", async () => {
    const dataDir = tempDir();
    const first = await startTestServer({ dataDir, builtinPlans: true });
    expect((await first.api("/plans/feature-with-review", { method: "DELETE" })).status).toBe(204);
    await first.stop(0);
    const second = await startTestServer({ dataDir, builtinPlans: true });
    const names = (await (await second.api("/plans")).json()).items.map((p: { name: string }) => p.name);
    expect(names).toContain("fix-issue");
    expect(names).not.toContain("feature-with-review");
  });
});

describe("context documents", () => {
  test("the team's design document about the repository is in the agent's instruction", async () => {
    const repo = makeRepo(NODE_PROJECT);
    const fake = fakeModel();
    fake.script({ toolCalls: [call("finish", { summary: "read the docs" })] });
    const server = await startTestServer(llm(fake));
    const doc = await server.api("/context/documents", json({ title: "Arithmetic conventions", document_type: "decision", repository_url: repo, content: "All math helpers must reject NaN inputs with a TypeError.", tags: ["math"] }));
    expect(doc.status).toBe(201);
    const task = await submit(server, { title: "math helpers", task_type: "docs", permission_level: "read", repository_url: repo, params: { instruction: "Document the math helpers." } });
    expect((await finished(server, task.id)).status).toBe("succeeded");
    expect(fake.requests[0]!.promptText).toContain("reject NaN inputs with a TypeError");
  }, 60_000);
});

describe("the task page", () => {
  test("shows the agent's transcript, spend, branch, tests and diff — escaped — and lets an operator pause it", async () => {
    const repo = makeRepo(NODE_PROJECT);
    const fake = fakeModel();
    fake.script(
      { text: "Looking for <script>alert(1)</script> first.", toolCalls: [call("edit_file", { path: "math.js", old: "return a - b;", new: "return a + b; // <b>fixed</b>" })] },
      { toolCalls: [call("finish", { summary: "add adds" })] },
    );
    const server = await startTestServer(llm(fake));
    const task = await submit(server, { title: "page", task_type: "feature", repository_url: repo, params: { instruction: "Fix add." } });
    expect((await finished(server, task.id)).status).toBe("succeeded");
    const html = await (await server.get(`/tasks/${task.id}`)).text();
    expect(html).toContain('id="agent-work"');
    expect(html).toContain(`agentvine/${task.id}`);
    expect(html).toContain("The diff");
    expect(html).toContain("return a + b; // &lt;b&gt;fixed&lt;/b&gt;");
    expect(html).toContain("Looking for &lt;script&gt;alert(1)&lt;/script&gt; first.");
    expect(html).not.toContain("<script>alert(1)");
    expect(html).toContain(`steps:${task.id}`);
    expect(html.match(/data-kind="model"/g)).toHaveLength(2);

    // A finished task has nothing to pause: the page's button is not offered, and a post is a 409.
    expect(html).not.toContain(`/tasks/${task.id}/agent/pause`);
    const form = (path: string) => server.get(path, { method: "POST", headers: { origin: server.url, "sec-fetch-site": "same-origin", "hx-request": "true" } });
    const refused = await form(`/tasks/${task.id}/agent/pause`);
    expect(refused.status).toBe(409);
  }, 60_000);
});
