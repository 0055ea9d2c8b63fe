// Real git repositories made in a test: a small Node project with a bug its tests do not catch yet, and a
// small Python project whose test fails — what the coding agents are pointed at.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { tempDir } from "./helpers.ts";

export function git(dir: string, ...args: string[]): string {
  const r = Bun.spawnSync(["git", ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, GIT_AUTHOR_NAME: "Test", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "Test", GIT_COMMITTER_EMAIL: "t@example.com", GIT_CONFIG_NOSYSTEM: "1" },
  });
  if (r.exitCode !== 0) throw new Error(`git ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout.toString().trim();
}

/** A repository with `files` committed on `main`; returns its path. */
export function makeRepo(files: Record<string, string>): string {
  const dir = tempDir("agentvine-repo-");
  git(dir, "init", "-q", "-b", "main");
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", "initial");
  return dir;
}

/** An empty bare repository (a remote to push to). */
export function makeBareRepo(): string {
  const dir = tempDir("agentvine-remote-");
  git(dir, "init", "-q", "--bare", "-b", "main");
  return dir;
}

/** `add` subtracts; its only test checks something else, so the suite passes until someone tests `add`. */
export const NODE_PROJECT = {
  "package.json": JSON.stringify({ name: "mathlib", version: "1.0.0", type: "module", scripts: { test: "node --test" } }, null, 2),
  "math.js": "export function add(a, b) {\n  return a - b;\n}\n\nexport function double(x) {\n  return x * 2;\n}\n",
  "math.test.js": 'import { test } from "node:test";\nimport assert from "node:assert/strict";\nimport { double } from "./math.js";\n\ntest("double", () => assert.equal(double(2), 4));\n',
  "README.md": "# mathlib\n\nTiny math helpers.\n",
};

/** `mean` forgets to divide; its test fails. */
export const PYTHON_PROJECT = {
  "calc.py": "def mean(values):\n    return sum(values)\n",
  "test_calc.py": "import unittest\nfrom calc import mean\n\n\nclass MeanTest(unittest.TestCase):\n    def test_mean(self):\n        self.assertEqual(mean([2, 4]), 3)\n\n\nif __name__ == '__main__':\n    unittest.main()\n",
  "README.md": "# calc\n",
};
