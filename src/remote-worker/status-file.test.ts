import { afterEach, describe, expect, test } from "bun:test";
import { cleanup, tempDir } from "../../test/helpers.ts";
import { describeStatus, readStatus, writeStatus, type WorkerStatus } from "./status-file.ts";

afterEach(cleanup);

const status = (over: Partial<WorkerStatus> = {}): WorkerStatus => ({
  pid: 4242,
  name: "build-1",
  id: "w-1",
  server: "http://cp:8080",
  version: "0.1.0",
  state: "running",
  concurrency: 4,
  capabilities: ["git", "node"],
  started_at: 1_000,
  running: [{ work_order_id: "wo-9", execution_id: "ex-9", task_id: "t-9", task_type: "shell", started_at: 50_000 }],
  done: 12,
  failed: 1,
  outbox: 0,
  last_heartbeat_at: 58_000,
  backing_off: null,
  updated_at: 59_000,
  ...over,
});

describe("worker status file", () => {
  test("what the worker writes is what `worker status` reads and prints", () => {
    const dir = tempDir();
    writeStatus(dir, status());
    const { live, lines } = describeStatus(readStatus(dir), dir, 60_000);
    expect(live).toBe(true);
    const text = lines.join("\n");
    expect(text).toContain("worker build-1 (w-1) → http://cp:8080");
    expect(text).toContain("1/4 busy; capabilities: git, node");
    expect(text).toContain("12 succeeded, 1 failed");
    expect(text).toContain("heartbeat:  2s ago");
    expect(text).toContain("shell task t-9 (order wo-9, started 10s ago)");
  });

  test("no file: not live, and it says which directory it looked in", () => {
    const dir = tempDir();
    const { live, lines } = describeStatus(readStatus(dir), dir);
    expect(live).toBe(false);
    expect(lines[0]).toContain(`no worker status in ${dir}`);
  });

  test("a file not rewritten for over 30 s means the worker is gone", () => {
    const { live, lines } = describeStatus(status({ updated_at: 0 }), "/x", 31_000);
    expect(live).toBe(false);
    expect(lines.at(-1)).toContain("stale: last written 31s ago");
  });

  test("a stopped worker is not live; an unreachable server is shown", () => {
    expect(describeStatus(status({ state: "stopped" }), "/x", 60_000).live).toBe(false);
    const { live, lines } = describeStatus(status({ backing_off: { since: 40_000, failures: 7, last_error: "/queue/claim: connection refused" } }), "/x", 60_000);
    expect(live).toBe(true);
    expect(lines.join("\n")).toContain("server unreachable since 20s ago (7 failure(s)): /queue/claim: connection refused");
  });
});
