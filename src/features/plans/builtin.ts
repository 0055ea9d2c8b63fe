// Ready-made plans for the coding agents, created once on a fresh server (deleting one keeps it deleted):
// "fix-issue" — the bugfix agent reproduces and fixes on a branch of its own, the test agent checks the
// suite, a person approves, the branch is pushed with a pull request; "feature-with-review" — implement,
// test, document, approve, publish. Copy and edit them on the Plans page.
import type { EngineDeps } from "../../engine/engine-deps.ts";
import { readSetting, writeSetting } from "../settings/store.ts";
import type { PlanBody } from "./schemas.ts";
import { createPlan } from "./service.ts";

const repo = "{{inputs.repository_url}}";

export const BUILTIN_PLANS: PlanBody[] = [
  {
    name: "fix-issue",
    description:
      "Fix an issue with coding agents: reproduce it with a failing test and fix it on branch agentvine/issue-N, check the whole suite, ask a person, then push and open a pull request. Inputs: repository_url, issue_number, instruction. Add a pull_request to the publish step's params to open one.",
    steps: [
      { name: "fix", task_type: "bugfix", repository_url: repo, branch_name: "agentvine/issue-{{inputs.issue_number}}", permission_level: "write", timeout_seconds: 3600, params: { instruction: "{{inputs.instruction}}" }, depends_on: [] },
      {
        name: "verify",
        task_type: "test",
        repository_url: repo,
        branch_name: "agentvine/issue-{{inputs.issue_number}}",
        permission_level: "write",
        timeout_seconds: 3600,
        params: { instruction: "Run the whole test suite on this branch. If the fix has no test of its own, add one. Do not change the fix itself." },
        depends_on: [],
      },
      { name: "approve", task_type: "ask", params: { question: "Push the fix for issue #{{inputs.issue_number}} and open a pull request?", options: ["approve", "reject"], fail_on: ["reject"] }, depends_on: [] },
      { name: "publish", task_type: "publish", repository_url: repo, branch_name: "agentvine/issue-{{inputs.issue_number}}", permission_level: "push", params: {}, depends_on: [] },
    ],
  },
  {
    name: "feature-with-review",
    description:
      "Build a feature with coding agents on branch agentvine/{{inputs.slug}}: implement it, write its tests, document it, ask a person, then push and open a pull request. Inputs: repository_url, slug, instruction.",
    steps: [
      { name: "implement", task_type: "feature", repository_url: repo, branch_name: "agentvine/{{inputs.slug}}", timeout_seconds: 3600, params: { instruction: "{{inputs.instruction}}" }, depends_on: [] },
      { name: "test", task_type: "test", repository_url: repo, branch_name: "agentvine/{{inputs.slug}}", timeout_seconds: 3600, params: { instruction: "Write tests for the feature just implemented on this branch ({{inputs.instruction}}) and make them pass." }, depends_on: [] },
      { name: "docs", task_type: "docs", repository_url: repo, branch_name: "agentvine/{{inputs.slug}}", timeout_seconds: 1800, params: { instruction: "Document the feature just implemented on this branch ({{inputs.instruction}}) in the README." }, depends_on: [] },
      { name: "approve", task_type: "ask", params: { question: "Publish the feature '{{inputs.slug}}' and open a pull request?", options: ["approve", "reject"], fail_on: ["reject"] }, depends_on: [] },
      { name: "publish", task_type: "publish", repository_url: repo, branch_name: "agentvine/{{inputs.slug}}", permission_level: "push", params: {}, depends_on: [] },
    ],
  },
];

/** Creates each built-in plan the first time this server starts with it (never again once deleted). */
export function seedBuiltinPlans(deps: EngineDeps): void {
  const seeded = new Set(readSetting<string[]>(deps, "builtin_plans") ?? []);
  const fresh = BUILTIN_PLANS.filter((p) => !seeded.has(p.name));
  if (fresh.length === 0) return;
  for (const plan of fresh) {
    const exists = deps.db.sqlite.query("SELECT 1 FROM plans WHERE name = ?").get(plan.name);
    if (!exists) createPlan(deps, plan);
    seeded.add(plan.name);
  }
  writeSetting(deps, "builtin_plans", [...seeded]);
}
