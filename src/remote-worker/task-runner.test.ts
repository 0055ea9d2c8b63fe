import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, tempDir } from "../../test/helpers.ts";
import type { LogTuple } from "../thread-pool/protocol.ts";
import type { ClaimItem } from "./api-client.ts";
import { TaskRunner, type TaskOutcome } from "./task-runner.ts";

afterEach(cleanup);

const item = (id: string, task_type: string, params: Record<string, unknown>, timeout_seconds = 30): ClaimItem => ({
  work_order_id: `wo-${id}`,
  task_id: `t-${id}`,
  execution_id: `ex-${id}`,
  lease_token: "lease",
  lease_until: Date.now() + 30_000,
  attempt: 1,
  task_type,
  params,
  timeout_seconds,
});

/** A runner on the real thread entry, collecting what it reports. */
function runner(size = 2) {
  const logs: Array<[string, LogTuple]> = [];
  const outcomes = new Map<string, TaskOutcome>();
  const waiters = new Map<string, (o: TaskOutcome) => void>();
  const logWaiters: Array<() => void> = [];
  const dir = tempDir();
  /** Called with each line as it is reported (before the runner goes on). */
  const onLine: Array<(executionId: string, line: LogTuple) => void> = [];
  const r = new TaskRunner({
    size,
    workspaceRoot: join(dir, "workspaces"),
    onLog: (i, lines) => {
      lines.forEach((l) => logs.push([i.execution_id, l]));
      lines.forEach((l) => onLine.forEach((f) => f(i.execution_id, l)));
      logWaiters.splice(0).forEach((w) => w());
    },
    onDone: (i, o) => {
      outcomes.set(i.execution_id, o);
      waiters.get(i.execution_id)?.(o);
    },
  });
  r.start();
  const outcome = (executionId: string) => new Promise<TaskOutcome>((resolve) => (outcomes.has(executionId) ? resolve(outcomes.get(executionId)!) : waiters.set(executionId, resolve)));
  /** Resolves once a log line of `executionId` containing `text` has been reported. */
  const logged = async (executionId: string, text: string) => {
    while (!logs.some(([id, l]) => id === executionId && l[1].includes(text))) await new Promise<void>((resolve) => logWaiters.push(resolve));
  };
  return { r, dir, logs, outcome, outcomes, logged, onLine };
}

describe("TaskRunner", () => {
  test("runs a task in a thread with the server's task types: logs and the result come back", async () => {
    const { r, logs, outcome } = runner();
    try {
      r.run(item("1", "hello", { name: "remote" }));
      expect(r.free).toBe(1);
      const o = await outcome("ex-1");
      expect(o).toMatchObject({ ok: true, result: { message: "Hello, remote!" } });
      expect(logs).toContainEqual(["ex-1", ["info", "Saying hello to remote", null, expect.any(Number)]]);
      expect(r.free).toBe(2);
    } finally {
      await r.shutdown();
    }
  });

  test("a task past its timeout is reported timed out once its process is killed, and the slot works again", async () => {
    const { r, outcome } = runner(1);
    try {
      r.run(item("slow", "shell", { command: "sleep 30 & echo $! > pid; wait", shell: true }, 1));
      const o = await outcome("ex-slow");
      expect(o).toMatchObject({ ok: false, timedOut: true, error: "timed out after 1s" });
      r.run(item("next", "hello", { name: "again" }));
      expect(await outcome("ex-next")).toMatchObject({ ok: true });
    } finally {
      await r.shutdown();
    }
  });

  test("stop() kills a task whose lease is gone and reports nothing for it", async () => {
    const { r, outcome, outcomes, logged } = runner(1);
    try {
      r.run(item("lost", "shell", { command: "echo started; sleep 30", shell: true }));
      // Its process is running once its first line comes back; then its lease is lost: stop it.
      await logged("ex-lost", "started");
      expect(r.stop("ex-lost")).toBe(true);
      expect(r.held()).toEqual([]);
      // The one slot runs the next task, and the stopped one never reports an outcome.
      r.run(item("after", "hello", { name: "x" }));
      expect(await outcome("ex-after")).toMatchObject({ ok: true });
      expect(outcomes.has("ex-lost")).toBe(false);
    } finally {
      await r.shutdown();
    }
  });

  test("a timed-out task stays held (heartbeats keep its lease) from the moment its slot frees until its outcome is reported", async () => {
    const { r, outcome, outcomes, onLine } = runner(1);
    try {
      // What the runner holds right after it logged the timeout (it frees the slot in the same turn).
      const seen = new Promise<{ held: string[]; free: number; reported: boolean }>((resolve) =>
        onLine.push((id, line) => {
          if (id === "ex-hang" && line[1].includes("timed out")) queueMicrotask(() => resolve({ held: r.held().map((i) => i.execution_id), free: r.free, reported: outcomes.has("ex-hang") }));
        }),
      );
      r.run(item("hang", "shell", { command: "sleep 30", shell: true }, 1));
      expect(await seen).toEqual({ held: ["ex-hang"], free: 1, reported: false });
      expect(await outcome("ex-hang")).toMatchObject({ ok: false, timedOut: true });
      expect(r.held()).toEqual([]);
    } finally {
      await r.shutdown();
    }
  });

  test("an execution id that leads out of the workspace root is refused: the directory it names is left alone", async () => {
    const { r, dir, outcome } = runner(1);
    try {
      mkdirSync(join(dir, "victim"));
      writeFileSync(join(dir, "victim", "precious.txt"), "keep me");
      r.run({ ...item("x", "shell", { command: "true" }), execution_id: "../victim" });
      const o = await outcome("../victim");
      expect(o).toMatchObject({ ok: false, retryable: false, error: expect.stringContaining("refused workspace") });
      expect(existsSync(join(dir, "victim", "precious.txt"))).toBe(true);
    } finally {
      await r.shutdown();
    }
  });
});
