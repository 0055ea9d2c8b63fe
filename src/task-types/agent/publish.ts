// `publish`: pushes a branch a coding agent committed on (the task's branch_name, in the cached clone) and
// opens a pull request for it — the last step of a plan, after a person approved. No model involved.
import { z } from "zod";
import { defineTaskType, TaskFailure, type TaskContext } from "../types.ts";
import { git, prepareWorkspace, push } from "./git.ts";
import { openPullRequest, PullRequestSchema, type PullRequestParams } from "./pull-request.ts";
import type { TaskFacts } from "./prompts.ts";

const PublishParams = z.strictObject({
  repository_token: z.string().min(1).max(10_000).optional().describe("A token for https repositories, as {{secrets.NAME}}"),
  pull_request: PullRequestSchema.extend({ title: z.string().min(1).max(500).optional() })
    .optional()
    .describe("Open a pull (merge) request for the branch"),
});

export default defineTaskType({
  name: "publish",
  description: "Pushes a branch an agent committed on and opens a pull request for it (needs permission_level push)",
  params: PublishParams,
  needs: { repository_url: true, branch_name: true },
  async run(ctx) {
    const facts = await ctx.call<TaskFacts>("agent.task", {});
    if (facts.permission_level !== "push") throw new TaskFailure(`publish needs permission_level push (this task has ${facts.permission_level})`, { retryable: false });
    if (!facts.repository_url || !facts.branch_name) throw new TaskFailure("publish needs the task's repository_url and branch_name (the branch to push)", { retryable: false });
    const c = ctx as TaskContext<unknown>;
    const ws = await prepareWorkspace(c, `${ctx.workspace}/..`, facts.repository_url, facts.branch_name, ctx.params.repository_token);
    const commit = (await git(c, ["rev-parse", "HEAD"], { cwd: ws.dir })).stdout.trim();
    await push(c, ws, facts.repository_url, ctx.params.repository_token);
    ctx.log.info(`pushed ${facts.branch_name} at ${commit.slice(0, 12)}`);
    let pullRequest: { number: number; url: string } | null = null;
    if (ctx.params.pull_request) {
      const pr = ctx.params.pull_request as PullRequestParams & { title?: string };
      pullRequest = await openPullRequest(pr, { head: facts.branch_name, title: pr.title ?? facts.title, body: `Published by AgentVine task ${ctx.taskId}.` });
      await ctx.call("agent.link_pr", { pr_number: pullRequest.number });
      ctx.log.info(`opened pull request #${pullRequest.number}: ${pullRequest.url}`);
    }
    return { branch: facts.branch_name, commit, pull_request: pullRequest };
  },
});
