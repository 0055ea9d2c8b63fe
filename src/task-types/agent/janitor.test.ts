// The worktree janitor: succeeded tasks' worktrees go after their time, failed and crashed ones later.
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, tempDir } from "../../../test/helpers.ts";
import { sweepWorktrees } from "./janitor.ts";

afterEach(cleanup);

test("succeeded worktrees go after successTtl, failed and crashed (no note) ones after failureTtl", () => {
  const root = tempDir();
  const tasks = join(root, "agents", "tasks");
  const HOUR = 3_600_000;
  const now = Date.now();
  const make = (id: string, outcome: { status: string; at: number } | null, mtime = now) => {
    mkdirSync(join(tasks, id), { recursive: true });
    writeFileSync(join(tasks, id, "file.txt"), "x");
    utimesSync(join(tasks, id), mtime / 1000, mtime / 1000);
    if (outcome) writeFileSync(join(tasks, `${id}.outcome.json`), JSON.stringify(outcome));
  };
  make("ok-old", { status: "succeeded", at: now - 25 * HOUR });
  make("ok-new", { status: "succeeded", at: now - 1 * HOUR });
  make("failed-2d", { status: "failed", at: now - 48 * HOUR });
  make("failed-8d", { status: "failed", at: now - 8 * 24 * HOUR });
  make("crashed-8d", null, now - 8 * 24 * HOUR);
  const removed = sweepWorktrees(root, { successTtlMs: 24 * HOUR, failureTtlMs: 7 * 24 * HOUR, now });
  expect(removed.sort()).toEqual(["crashed-8d", "failed-8d", "ok-old"]);
  expect(existsSync(join(tasks, "ok-new"))).toBe(true);
  expect(existsSync(join(tasks, "failed-2d"))).toBe(true);
  expect(existsSync(join(tasks, "ok-old.outcome.json"))).toBe(false);
});
