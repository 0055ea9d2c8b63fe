// The coding-agent task types — feature, bugfix, test, docs: one agent loop (loop.ts) and four
// instruction templates (prompts.ts) with their verification. Each takes the task's repository_url,
// branch_name and permission_level, and the params below.
import { z } from "zod";
import { defineTaskType } from "../types.ts";
import { runAgent, type AgentParams } from "./loop.ts";
import type { AgentKind } from "./prompts.ts";
import { PullRequestSchema } from "./pull-request.ts";

const AgentParamsSchema = z.strictObject({
  instruction: z.string().trim().min(1).max(100_000).describe("What to do, in plain words"),
  test_command: z.string().trim().min(1).max(2000).optional().describe("How the project's tests run; default: detected (npm test, pytest, go test ./..., cargo test)"),
  max_steps: z.number().int().min(1).max(500).default(40).describe("Model calls at most"),
  budget_usd: z.number().min(0).max(10_000).optional().describe("This task's LLM budget in USD (default: the server's per-task budget)"),
  budget_tokens: z.number().int().min(0).max(1_000_000_000).optional().describe("This task's LLM budget in tokens"),
  allow_network: z.boolean().optional().describe("Let the model's commands reach the network (default: no)"),
  repository_token: z.string().min(1).max(10_000).optional().describe("A token for https repositories and pull requests, as {{secrets.NAME}}"),
  pull_request: PullRequestSchema.optional()
    .describe("With permission_level push: open a pull (merge) request for the branch"),
});

const DESCRIPTIONS: Record<AgentKind, string> = {
  feature: "A coding agent implements a feature on its own branch, with tests, verified before it commits",
  bugfix: "A coding agent reproduces a bug with a failing test, fixes it, and shows the test pass before it commits",
  test: "A coding agent writes tests for existing code and runs them",
  docs: "A coding agent writes documentation (no network by default)",
};

function agentType(kind: AgentKind) {
  return defineTaskType({
    name: kind,
    description: DESCRIPTIONS[kind],
    params: AgentParamsSchema,
    needs: { repository_url: true },
    // Not a host command: the model's commands run in the sandbox (and are refused without one, unless an
    // admin runs the server with --sandbox none), the runner's own are git.
    run: (ctx) => runAgent(kind, ctx as never as Parameters<typeof runAgent>[1] & { params: AgentParams }),
  });
}

export const featureAgent = agentType("feature");
export const bugfixAgent = agentType("bugfix");
export const testAgent = agentType("test");
export const docsAgent = agentType("docs");
