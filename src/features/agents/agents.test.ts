// Coding agents on real git repositories made in the test, driven by a scripted fake model on loopback
// that replays tool calls in the provider's real wire format, through the real server and task threads.
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { cleanup, json, startTestServer, until, type TestServer } from "../../../test/helpers.ts";
import { startFakeLlm, type FakeLlm } from "../../../test/fake-llm/server.ts";
import { FAKE_API_KEY } from "../../../test/fake-llm/settings.ts";
import { git, makeRepo, NODE_PROJECT, PYTHON_PROJECT } from "../../../test/git-repos.ts";
import type { StartOptions } from "../../server.ts";

afterEach(cleanup);
const fakes: FakeLlm[] = [];
afterEach(async () => {
  while (fakes.length) await fakes.pop()!.stop();
});

function fakeModel() {
  const fake = startFakeLlm();
  fakes.push(fake);
  return fake;
}

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
