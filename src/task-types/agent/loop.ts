// The agent loop, in the task's thread: prepare the worktree, start (or resume) the transcript on the
// server, then step — each model call through the server (ctx.call: keys and budgets stay there), each
// tool run here and recorded — until the model finishes and the work verifies, the steps run out, or a
// budget is spent and nobody extends it. Messages people send reach the model at its next step.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { TaskFailure, type TaskContext, type TaskMessageIn } from "../types.ts";
import { commitAll, diffStat, diffText, git, prepareWorkspace, push, status } from "./git.ts";
import { instructionFor, SYSTEM_PROMPT, type AgentKind, type TaskFacts } from "./prompts.ts";
import { openPullRequest, type PullRequestParams } from "./pull-request.ts";
import { runTool, TOOL_DEFS, truncate, type ToolEnv } from "./tools.ts";
import { detectTestCommand, runTests, type TestRun } from "./verify.ts";
import { noteOutcome } from "./janitor.ts";

export interface AgentParams {
  instruction: string;
  test_command?: string;
  max_steps: number;
  budget_usd?: number;
  budget_tokens?: number;
  allow_network: boolean;
  /** A token for https repositories and for opening the pull request (`{{secrets.NAME}}`). */
  repository_token?: string;
  pull_request?: PullRequestParams;
}

type StepAnswer =
  | { kind: "step"; seq: number; text: string; toolCalls: Array<{ id: string; name: string; input: unknown; invalid?: string }>; usage: unknown }
  | { kind: "budget"; scope: string; message: string }
  | { kind: "paused"; by: string | null };

interface StartAnswer {
  resumed: boolean;
  model_steps: number;
  pending_tool_calls: Array<{ id: string; name: string; input: unknown; invalid?: string }>;
  task: TaskFacts;
  documents: string | null;
}

export async function runAgent(kind: AgentKind, ctx: TaskContext<AgentParams>) {
  // How it ended, beside the worktree: the janitor keeps a failed one longer, for inspection.
  try {
    const result = await loop(kind, ctx);
    noteOutcome(workspaceRoot(ctx), ctx.taskId, "succeeded");
    return result;
  } catch (err) {
    noteOutcome(workspaceRoot(ctx), ctx.taskId, "failed");
    throw err;
  }
}

async function loop(kind: AgentKind, ctx: TaskContext<AgentParams>) {
  const p = ctx.params;
  const facts = await ctx.call<TaskFacts>("agent.task", {});
  if (!facts.repository_url) throw new TaskFailure("a coding agent needs the task's repository_url (a local path, file://, https or ssh URL)", { retryable: false });
  const branch = facts.branch_name ?? `agentvine/${ctx.taskId}`;
  const ws = await prepareWorkspace(ctx as TaskContext<unknown>, workspaceRoot(ctx), facts.repository_url, branch, p.repository_token);
  ctx.log.info(`${ws.resumed ? "resuming in" : "working in"} a worktree of ${facts.repository_url} on branch ${branch} (base ${ws.base.slice(0, 12)})`);

  // People's messages wait here until the next step.
  const inbox: TaskMessageIn[] = [];
  ctx.onMessage((m) => inbox.push(m));

  const testCommand = p.test_command ?? detectTestCommand(ws.dir);
  const env: ToolEnv = { ctx: ctx as TaskContext<unknown>, root: ws.dir, gitDir: ws.gitDir, permission: facts.permission_level, network: p.allow_network, commands: [], step: 0 };
  const runs: TestRun[] = [];
  if (testCommand && !ws.resumed) {
    const before = await runTests(env, testCommand);
    runs.push(before);
    ctx.log.info(`tests before: ${testCommand} → exit ${before.exit_code}`);
  }
  const readme = ["README.md", "README", "readme.md"].map((f) => join(ws.dir, f)).find((f) => existsSync(f));
  const docs = ws.resumed ? null : await ctx.call<{ text: string | null; used: Array<{ title: string }> }>("agent.documents", { query: `${facts.title} ${p.instruction}` });
  if (docs?.used.length) ctx.log.info(`given ${docs.used.length} context document(s): ${docs.used.map((d) => d.title).join(", ")}`);
  const start = await ctx.call<StartAnswer>("agent.start", {
    system: SYSTEM_PROMPT,
    instruction: instructionFor(kind, p.instruction, facts, {
      readme: readme ? truncate(readFileSync(readme, "utf8"), 4000) : null,
      testCommand,
      documents: docs?.text ?? null,
    }),
    budget: { usd: p.budget_usd, tokens: p.budget_tokens },
    question: p.instruction,
  });
  let steps = start.model_steps;
  let summary: string | null = null;
  let pending = start.pending_tool_calls;
  let budgetAsks = 0;

  for (;;) {
    // Tool calls of the last step not run yet (a retried attempt continues exactly there).
    for (const call of pending) {
      if (call.name === "finish") {
        const verdict = await finish(kind, ctx, env, testCommand, runs, String((call.input as { summary?: unknown })?.summary ?? ""));
        await ctx.call("agent.tool", { toolCallId: call.id, name: call.name, input: call.input, output: verdict.message, isError: !verdict.ok });
        if (verdict.ok) summary = String((call.input as { summary?: unknown })?.summary ?? "");
        continue;
      }
      const started = performance.now();
      const result =
        call.invalid !== undefined
          ? { output: `this call cannot run: ${call.invalid}`, isError: true }
          : call.name === "ask"
            ? await askTool(ctx, call.id, call.input as { question?: string; options?: string[] })
            : await runTool(env, call.name, call.input as Record<string, unknown>);
      if (facts.permission_level === "read" && call.name === "run_command") await revertChanges(ctx, ws.dir, (note) => (result.output += `\n${note}`));
      ctx.log.info(`${call.name} ${summarize(call.input)} → ${result.isError ? "error" : "ok"}`, { tool: call.name, step: steps });
      await ctx.call("agent.tool", { toolCallId: call.id, name: call.name, input: call.input, output: result.output, isError: result.isError, durationMs: Math.round(performance.now() - started) });
    }
    pending = [];
    if (summary !== null) break;
    if (steps >= p.max_steps) throw new TaskFailure(`stopped after ${p.max_steps} steps without finishing (raise max_steps to let it go on)`, { result: await partial(ctx, ws, steps), retryable: false });

    for (const m of inbox.splice(0)) {
      await ctx.call("agent.note", { name: "steering", text: `Message from ${m.sender ?? m.senderType}: ${m.text}` });
      ctx.log.info(`steering message from ${m.sender ?? m.senderType} passed to the model`);
    }
    env.step = steps + 1;
    const answer = await ctx.call<StepAnswer>("agent.step", { tools: TOOL_DEFS, callKey: `${ctx.executionId}:${steps + 1}` });
    if (answer.kind === "paused") {
      const a = await ctx.ask({ question: `The agent was paused${answer.by ? ` by ${answer.by}` : ""}. Resume it?`, options: ["resume", "stop"], category: "pause", key: `pause-${steps}-${Date.now()}` });
      if (a.answer !== "resume") throw new TaskFailure(`stopped while paused (${a.answer ?? a.status})`, { result: await partial(ctx, ws, steps), retryable: false });
      continue;
    }
    if (answer.kind === "budget") {
      ctx.log.warn(answer.message);
      const a = await ctx.ask({ question: `${answer.message}. Extend the budget and let the agent go on?`, options: ["extend", "stop"], category: "budget", key: `budget-${++budgetAsks}-${steps}` });
      if (a.answer !== "extend") throw new TaskFailure(`stopped: ${answer.message} (${a.answer ? `answered ${a.answer}` : a.status})`, { result: await partial(ctx, ws, steps), retryable: false });
      await ctx.call("agent.extend", { by: a.answered_by?.id ?? null });
      continue;
    }
    steps++;
    if (answer.text) ctx.log.info(`model: ${truncate(answer.text, 2000)}`, { step: steps });
    if (answer.toolCalls.length === 0) {
      await ctx.call("agent.note", { name: "feedback", text: "Use the tools to work, and call finish with a summary when you are done." });
      continue;
    }
    pending = answer.toolCalls;
  }

  // Verified: commit (write or push), push and open the pull request (push).
  const usage = await ctx.call<{ input_tokens: number; output_tokens: number; cost_usd: number }>("agent.usage", {});
  // Before: the first failing run of the tests (the reproduction, for a bugfix) — the runner's own, or one
  // the model made with run_command — else the runner's first run; after: the verification at finish.
  const modelRuns: TestRun[] = testCommand
    ? env.commands.filter((c) => c.command.includes(testCommand)).map((c) => ({ command: c.command, exit_code: c.code, passed: c.code === 0, step: c.step, output: "" }))
    : [];
  const failing = [...runs, ...modelRuns].filter((r) => !r.passed).sort((x, y) => x.step - y.step)[0];
  const tests = { command: testCommand, before: failing ?? runs[0] ?? null, after: runs.at(-1) ?? null };
  if (facts.permission_level === "read") {
    return { branch, commit: null, diff_stat: null, summary, tests: testsJson(tests), steps, usage };
  }
  const commit = (await commitAll(ctx as TaskContext<unknown>, ws, `${facts.title}\n\n${summary}\n\nAgentVine task ${ctx.taskId}`)) ?? (await git(ctx as TaskContext<unknown>, ["rev-parse", "HEAD"], { cwd: ws.dir })).stdout.trim();
  const stat = await diffStat(ctx as TaskContext<unknown>, ws);
  ctx.log.info(`committed ${commit.slice(0, 12)} on ${branch}: ${stat.files_changed} file(s), +${stat.insertions} -${stat.deletions}`);
  let pullRequest: { number: number; url: string } | null = null;
  if (facts.permission_level === "push") {
    await push(ctx as TaskContext<unknown>, ws, facts.repository_url, p.repository_token);
    ctx.log.info(`pushed ${branch}`);
    if (p.pull_request) {
      pullRequest = await openPullRequest(p.pull_request, { head: branch, title: facts.title, body: `${summary}\n\nOpened by AgentVine task ${ctx.taskId}.` });
      await ctx.call("agent.link_pr", { pr_number: pullRequest.number });
      ctx.log.info(`opened pull request #${pullRequest.number}: ${pullRequest.url}`);
    }
  }
  return { branch, commit, diff_stat: stat, diff: await diffText(ctx as TaskContext<unknown>, ws), summary, tests: testsJson(tests), steps, usage, pull_request: pullRequest };
}

function testsJson(t: { command: string | null; before: TestRun | null; after: TestRun | null }) {
  const run = (r: TestRun | null) => (r ? { exit_code: r.exit_code, passed: r.passed, step: r.step } : null);
  return { command: t.command, before: run(t.before), after: run(t.after) };
}

/** Where the agents' clones and worktrees live: beside the executions' workspaces (the data dir, or a worker's state dir). */
function workspaceRoot(ctx: TaskContext<AgentParams>): string {
  return join(ctx.workspace, "..");
}

/** Whether the model may finish now: the tests pass (and for a bugfix, a failing test was seen first). */
async function finish(kind: AgentKind, ctx: TaskContext<AgentParams>, env: ToolEnv, testCommand: string | null, runs: TestRun[], summary: string): Promise<{ ok: boolean; message: string }> {
  if (!summary.trim()) return { ok: false, message: "finish needs a summary of what you changed" };
  if (!testCommand) return { ok: true, message: "no test command: finished without running tests" };
  const sawFailure = runs.some((r) => !r.passed) || env.commands.some((c) => c.command.includes(testCommand) && c.code !== 0);
  if (kind === "bugfix" && !sawFailure) {
    return { ok: false, message: `Not yet: reproduce the bug first — add a test that fails because of it and run \`${testCommand}\` to see it fail, then fix it.` };
  }
  const after = await runTests(env, testCommand);
  runs.push(after);
  ctx.log.info(`tests after: ${testCommand} → exit ${after.exit_code}`);
  if (!after.passed) return { ok: false, message: `The tests fail (\`${testCommand}\` exited ${after.exit_code}); fix them before finishing:\n${after.output}` };
  return { ok: true, message: `verified: \`${testCommand}\` passes` };
}

async function askTool(ctx: TaskContext<AgentParams>, id: string, input: { question?: string; options?: string[] }) {
  if (!input.question) return { output: "ask needs a question", isError: true };
  const a = await ctx.ask({ question: input.question, options: input.options?.length ? input.options : undefined, category: "agent", key: `tool-${id}` });
  if (a.status === "cancelled") return { output: "the question was cancelled", isError: true };
  if (a.denied) return { output: "denied: do not do that", isError: false };
  return { output: `answer (${a.answered_by?.type ?? "?"}): ${a.answer}`, isError: false };
}

/** A read-only task's command changed files: put them back, and say so. */
async function revertChanges(ctx: TaskContext<AgentParams>, dir: string, note: (text: string) => void) {
  const changed = await status(ctx as TaskContext<unknown>, { dir } as never);
  if (changed.length === 0) return;
  await git(ctx as TaskContext<unknown>, ["checkout", "--", "."], { cwd: dir });
  await git(ctx as TaskContext<unknown>, ["clean", "-fdq"], { cwd: dir });
  note(`(this task may only read the repository: the ${changed.length} change(s) the command made were undone)`);
}

async function partial(ctx: TaskContext<AgentParams>, ws: { dir: string }, steps: number) {
  const changed = await status(ctx as TaskContext<unknown>, ws as never);
  return { steps, uncommitted_changes: changed.slice(0, 100), usage: await ctx.call("agent.usage", {}) };
}

function summarize(input: unknown): string {
  const o = (input ?? {}) as Record<string, unknown>;
  const v = o.path ?? o.command ?? o.pattern ?? o.question ?? o.summary ?? "";
  return truncate(String(v), 200);
}
