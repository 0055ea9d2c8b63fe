// Verification: the project's test command (the task's, or detected from what the repository holds) run
// in the sandbox; its exit code decides whether the agent's work may be committed.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runCommand, type ToolEnv } from "./tools.ts";

/** The test command a repository's files suggest: npm test, pytest, go test, cargo test; null when none. */
export function detectTestCommand(dir: string): string | null {
  const pkg = join(dir, "package.json");
  if (existsSync(pkg)) {
    try {
      const scripts = (JSON.parse(readFileSync(pkg, "utf8")) as { scripts?: Record<string, string> }).scripts ?? {};
      if (scripts.test && !/no test specified/.test(scripts.test)) return "npm test";
    } catch {
      // a package.json that does not parse has no test script we could run
    }
  }
  if (existsSync(join(dir, "go.mod"))) return "go test ./...";
  if (existsSync(join(dir, "Cargo.toml"))) return "cargo test";
  const py = ["pytest.ini", "pyproject.toml", "setup.cfg", "tox.ini"].some((f) => existsSync(join(dir, f)));
  const hasTests = (d: string): boolean =>
    existsSync(d) && readdirSync(d).some((f) => /^test_.*\.py$|_test\.py$/.test(f) || (f === "tests" && hasTests(join(d, f))));
  if (py || hasTests(dir)) return "python3 -m pytest -q";
  return null;
}

export interface TestRun {
  command: string;
  exit_code: number;
  passed: boolean;
  /** The step it ran after (0: before the first step). */
  step: number;
  output: string;
}

export async function runTests(env: ToolEnv, command: string, timeoutSeconds = 900): Promise<TestRun> {
  const output = await runCommand(env, command, timeoutSeconds);
  const code = env.commands.at(-1)?.code ?? 1;
  return { command, exit_code: code, passed: code === 0, step: env.step, output };
}
