// With bwrap, a command's process tree lives exactly as long as the command: no background child, setsid'd or double-forked, outlives it.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { killLeftovers, recordProcess } from "./leftovers.ts";
import { sandboxPlan, type SandboxOptions } from "./plan.ts";
import { probeSandbox } from "./probe.ts";
import { killTree, spawnSandboxed } from "./spawn.ts";
import { bwrapAvailable, GUARD_MS, killAllWith, liveWith, makeTree, marker, readToEnd, readUntilLine, startParent, withGuard, type Tree } from "./testing.ts";

const available = bwrapAvailable(import.meta.file);

describe.skipIf(!available)("bwrap: the process tree dies with the command", () => {
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
  const opts = (): SandboxOptions => ({ mode: "bwrap", workspace: tree.workspace, env: { PATH: "/usr/bin:/bin" }, hidePaths: [tree.dataDir], tools: probeSandbox().tools });
  /** A setsid'd child and a double-forked one (its parent exits at once), both holding stdout. */
  const escapers = () => `setsid sleep 300 ${mark} & (sleep 300 ${mark} &) ;`;

  test("a setsid'd and a double-forked background child are gone once the main command exits", async () => {
    const { proc } = spawnSandboxed(["/bin/sh", "-c", `${escapers()} echo started; exit 3`], opts());
    expect(await proc.exited).toBe(3);
    // EOF: every process that inherited stdout (both sleeps were forked before the echo) has exited.
    expect(await readToEnd(proc.stdout)).toBe("started\n");
    expect(liveWith(mark)).toEqual([]);
  });

  test("SIGKILL to bwrap's process group (cancel, timeout) takes the whole tree, setsid'd children included", async () => {
    const { proc } = spawnSandboxed(["/bin/sh", "-c", `${escapers()} echo started; exec sleep 300 ${mark}`], opts());
    const out = await readUntilLine(proc.stdout, (l) => l === "started");
    expect(proc.exitCode).toBeNull();
    killTree(proc.pid);
    await proc.exited;
    expect(proc.signalCode).toBe("SIGKILL");
    expect(await out.rest()).toBe("");
    expect(liveWith(mark)).toEqual([]);
  });

  test("the server dying (kill -9 of bwrap's parent) takes the sandboxed tree with it", async () => {
    const plan = sandboxPlan(["/bin/sh", "-c", `${escapers()} echo started; exec sleep 300 ${mark}`], opts());
    const { parent } = await startParent(plan, { PATH: process.env.PATH ?? "/usr/bin:/bin" });
    const out = await readUntilLine(parent.stdout, (l) => l === "started");
    parent.kill("SIGKILL");
    await parent.exited;
    // The pipe is shared by the parent, bwrap and everything in the sandbox: its EOF means all of them are gone.
    expect(await out.rest()).toBe("");
    expect(liveWith(mark)).toEqual([]);
  });

  test("the thread that spawned it being terminated takes the sandboxed tree with it (bwrap's parent is that thread)", async () => {
    const fifo = join(tree.workspace, "out.fifo");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    const plan = sandboxPlan(["/bin/sh", "-c", `exec > ${fifo}; ${escapers()} echo started; exec sleep 300 ${mark}`], opts());
    const thread = new Worker(new URL("./fixtures/thread.ts", import.meta.url).href);
    thread.postMessage(plan);
    const text = fifoText(fifo);
    await withGuard(text.started, GUARD_MS, "no 'started' from the sandboxed command");
    thread.terminate();
    expect(await withGuard(text.ended, GUARD_MS, "the fifo stayed open: a sandboxed process survived the thread")).toBe("started\n");
    expect(liveWith(mark)).toEqual([]);
  });

  test("killLeftovers kills a recorded live tree", async () => {
    const { proc, record } = spawnSandboxed(["/bin/sh", "-c", `${escapers()} echo started; exec sleep 300 ${mark}`], opts());
    const out = await readUntilLine(proc.stdout, (l) => l === "started");
    expect(record).toMatchObject({ pid: proc.pid, pgid: proc.pid });
    const [decision] = killLeftovers([record!]);
    expect(decision).toMatchObject({ action: "kill", why: "leader still running" });
    await proc.exited;
    expect(proc.signalCode).toBe("SIGKILL");
    expect(await out.rest()).toBe("");
    expect(liveWith(mark)).toEqual([]);
  });
});

test("killLeftovers ignores a record whose pid now belongs to another process", async () => {
  const victim = Bun.spawn(["sleep", "300", marker()], { detached: true, stdout: "ignore" });
  const real = recordProcess(victim.pid)!;
  const [decision] = killLeftovers([{ ...real, startTime: real.startTime - 1 }]);
  expect(decision).toMatchObject({ action: "skip", why: `pid ${victim.pid} was reused by another process` });
  // Had killLeftovers sent SIGKILL, that signal would be the one the process died of.
  victim.kill("SIGTERM");
  await victim.exited;
  expect(victim.signalCode).toBe("SIGTERM");
});

/** Reads a fifo: `started` resolves at the first line, `ended` with all the text once every writer closed it. */
function fifoText(path: string) {
  let text = "";
  let onLine: () => void = () => {};
  const started = new Promise<void>((resolve) => (onLine = resolve));
  const ended = new Promise<string>((resolve, reject) => {
    const stream = createReadStream(path, { encoding: "utf8" });
    stream.on("data", (chunk) => {
      text += chunk;
      if (text.includes("\n")) onLine();
    });
    stream.on("end", () => resolve(text));
    stream.on("error", reject);
  });
  return { started, ended };
}
