// What each coding-agent task type is told: one system prompt, and per type the instruction template,
// its default verification and what it must show before it may finish.
import type { PermissionLevel } from "../../db/schema.ts";

export type AgentKind = "feature" | "bugfix" | "test" | "docs";

export const SYSTEM_PROMPT = `You are a coding agent working for AgentVine in a git worktree of a repository, on a branch of your own.
Work in small steps with the tools: look around (list_files, search, read_file), change files (edit_file for small exact changes, write_file for new files), run commands (run_command; it is sandboxed), and ask (ask) when you are unsure rather than guessing.
When you are done, call finish with a short summary: the runner then runs the project's tests and commits your work. Do not commit or push yourself.
Messages from people may arrive while you work: follow them.`;

export interface TaskFacts {
  title: string;
  description: string | null;
  repository_url: string | null;
  branch_name: string | null;
  permission_level: PermissionLevel;
  issue_number: number | null;
  pr_number: number | null;
}

const GOAL: Record<AgentKind, string> = {
  feature: "Implement the feature below. Add or update tests that cover it, and make sure the test suite passes.",
  bugfix:
    "Fix the bug below. First reproduce it: write a test that fails because of the bug and run the tests to see it fail. Then fix the code, and run the tests again to see them pass. Keep the new test.",
  test: "Write tests for what is described below, run them, and make them pass without changing the code under test unless it is clearly broken. Report coverage if the project offers a way to measure it.",
  docs: "Write or improve the documentation described below (README, guides, comments). Change code only where the documentation shows it is wrong. You have no network.",
};

export function instructionFor(kind: AgentKind, instruction: string, task: TaskFacts, extras: { readme: string | null; testCommand: string | null; documents: string | null }): string {
  const lines = [
    GOAL[kind],
    "",
    `Task: ${task.title}`,
    task.description ? `Description: ${task.description}` : null,
    task.issue_number ? `Issue: #${task.issue_number}` : null,
    task.pr_number ? `Pull request: #${task.pr_number}` : null,
    `Permission: ${task.permission_level}${task.permission_level === "read" ? " — you may read and run commands, but not change files; report what you found with finish." : ""}`,
    extras.testCommand ? `The tests run with: ${extras.testCommand}` : "No test command was found; say in your summary how the change was checked.",
    "",
    "Instruction:",
    instruction,
  ];
  if (extras.readme) lines.push("", "The repository's README (start):", extras.readme);
  if (extras.documents) lines.push("", "Design documents that may matter:", extras.documents);
  return lines.filter((l) => l !== null).join("\n");
}
