// Without bwrap (mode "none"): the command leads its own process group. What that reaches, and the escapes only bwrap closes.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { isDead, killLeftovers, procHost } from "./leftovers.ts";
import { sandboxPlan, type SandboxOptions } from "./plan.ts";
import { killTree, spawnSandboxed } from "./spawn.ts";
import { killAllWith, liveWith, makeTree, marker, readToEnd, readUntilLine, startParent, type Tree } from "./testing.ts";

describe("no sandbox (mode none)", () => {
  let tree: Tree;
  let mark: string;
  beforeEach(() => {
    tree = makeTree();
    mark = marker();
  });
  afterEach(() => {
    killAllWith(mark);
    tree.cleanup();
  });
  const opts = (): SandboxOptions => ({ mode: "none", workspace: tree.workspace, env: { PATH: "/usr/bin:/bin" }, hidePaths: [tree.dataDir] });
  /** Live processes in the process group `pgid`. */
  const groupMembers = (pgid: number) => procHost.all().filter((p) => p.pgrp === pgid && !isDead(p));

  test("the command leads its own process group; SIGKILL to the group takes its background children", async () => {
    const { proc, record } = spawnSandboxed(["/bin/sh", "-c", `sleep 300 ${mark} & (sleep 300 ${mark} &); echo started; exec sleep 300 ${mark}`], opts());
    const out = await readUntilLine(proc.stdout, (l) => l === "started");
    expect(record).toMatchObject({ pid: proc.pid, pgid: proc.pid });
    expect(groupMembers(proc.pid).length).toBeGreaterThanOrEqual(3);
    killTree(proc.pid);
    await proc.exited;
    expect(await out.rest()).toBe(""); // EOF: every holder of stdout, i.e. the whole group, is gone
    expect(liveWith(mark)).toEqual([]);
  });

  describe("what only bwrap closes", () => {
    test("a background child outlives the main command", async () => {
      const { proc } = spawnSandboxed(["/bin/sh", "-c", `sleep 300 ${mark} & echo started`], opts());
      expect(await proc.exited).toBe(0);
      // Forked before the echo, so it exists now (exec'd or not): the group outlives its leader.
      expect(groupMembers(proc.pid).length).toBe(1);
    });

    test("a setsid'd child escapes the group kill", async () => {
      const { proc } = spawnSandboxed(["/bin/sh", "-c", `setsid sh -c 'echo "escaped $$"; exec sleep 300 ${mark}' & echo started; exec sleep 300 ${mark}`], opts());
      // It prints after setsid(), so once its line is read it has left the group.
      const { line } = await readUntilLine(proc.stdout, (l) => l.startsWith("escaped "));
      const escaped = Number(line.split(" ")[1]);
      killTree(proc.pid);
      await proc.exited;
      expect(isDead(procHost.stat(escaped))).toBe(false);
      process.kill(escaped, "SIGKILL");
    });

    test("the server's environment is readable through /proc/$PPID/environ", async () => {
      const secret = `sk-${crypto.randomUUID()}`;
      const plan = sandboxPlan(["/bin/sh", "-c", `tr '\\0' '\\n' < /proc/$PPID/environ`], opts());
      const { parent } = await startParent(plan, { PATH: process.env.PATH ?? "/usr/bin:/bin", AGENTVINE_SECRETS_KEY: secret });
      expect(await readToEnd(parent.stdout)).toContain(`AGENTVINE_SECRETS_KEY=${secret}`);
    });

    test("kill -9 of the server leaves the tree running; killLeftovers at the next start kills the recorded group", async () => {
      const plan = sandboxPlan(["/bin/sh", "-c", `sleep 300 ${mark} & echo started; wait`], opts());
      const { parent, record } = await startParent(plan, { PATH: process.env.PATH ?? "/usr/bin:/bin" });
      const out = await readUntilLine(parent.stdout, (l) => l === "started");
      parent.kill("SIGKILL");
      await parent.exited;
      expect(isDead(procHost.stat(record.pid))).toBe(false);
      const [decision] = killLeftovers([record]);
      expect(decision?.action).toBe("kill");
      expect(await out.rest()).toBe("");
      expect(liveWith(mark)).toEqual([]);
    });
  });
});
