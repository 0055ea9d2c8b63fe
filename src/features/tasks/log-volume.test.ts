// Issue 10, items 4 and 5: a chatty task is bounded — its log is capped per execution (beyond the cap lines
// are counted and dropped, and a last line says how many), long lines are split in linear time — and
// deleting a task with millions of log lines neither blocks the server nor leaves its log files on disk.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { expectOk } from "../../../test/auth.ts";
import { cleanup, json, startTestServer, type TestServer } from "../../../test/helpers.ts";
import { uiClient } from "../../../test/html.ts";
import type { TaskJson } from "../../engine/task-record.ts";

afterEach(cleanup);

async function run(server: TestServer, params: Record<string, unknown>, timeout = 60): Promise<TaskJson> {
  const task = await expectOk(await server.api("/tasks", json({ title: "chatty", task_type: "shell", params })), 201);
  return expectOk(await server.api(`/tasks/${task.id}/wait?timeout=${timeout}`));
}

const executionOf = async (server: TestServer, taskId: string) => (await expectOk(await server.api(`/executions?task_id=${taskId}`))).items[0];

describe("the log cap", () => {
  test("beyond the execution's cap lines are counted and dropped; a line says so at the cap and how many at the end; the count is shown", async () => {
    const server = await startTestServer({ logMaxLines: 1000 });
    const done = await run(server, { command: "seq", args: ["1", "5000"] });
    expect(done.status).toBe("succeeded");
    // The result's tail still has the end of the output: the cap is about the log, not the command.
    expect((done.result as { stdout: string }).stdout.endsWith("4999\n5000\n")).toBe(true);
    const execution = await executionOf(server, done.id);
    expect(execution).toMatchObject({ log_dropped: 4000 });
    const logs = (await expectOk(await server.api(`/executions/${execution.id}/logs?limit=5000`))).items as Array<{ message: string; metadata: unknown }>;
    const messages = logs.map((l) => l.message);
    expect(messages.slice(0, 3)).toEqual(["1", "2", "3"]);
    expect(messages).toContain("1000");
    expect(messages).not.toContain("1001");
    expect(messages.some((m) => m.startsWith("log cap reached (1000 lines"))).toBe(true);
    expect(messages.at(-1)).toBe("4000 log line(s) (16000 bytes) dropped: the execution's log cap was reached");
    expect(logs.length).toBeLessThanOrEqual(1002);
    const page = await uiClient(server)(`/tasks/${done.id}`);
    expect(page.text).toContain('data-log-dropped="4000"');
  });

  test("a line without a newline is split into pieces in linear time: 64 MB of output finishes in seconds", async () => {
    const server = await startTestServer({ logMaxBytes: 256 * 1024 * 1024 });
    const started = performance.now();
    // Before: the unfinished line was kept whole and rescanned per chunk (1.55 GB and a busy core for 200 MB).
    const done = await run(server, { command: "head -c 67108864 /dev/zero | tr '\\0' a", shell: true }, 120);
    const seconds = (performance.now() - started) / 1000;
    expect(done.status).toBe("succeeded");
    const execution = await executionOf(server, done.id);
    expect(execution.log_count).toBe(Math.ceil(67108864 / (60 * 1024)));
    expect(seconds).toBeLessThan(60);
  }, 120_000);
});

describe("DELETE /tasks/:id", () => {
  test("a task with 300,000 log lines is deleted in batches: the server answers meanwhile, and its JSONL file is gone", async () => {
    const server = await startTestServer();
    const done = await run(server, { command: "echo", args: ["hi"] });
    const execution = await executionOf(server, done.id);
    // As a chatty task leaves them: many rows, and the file beside them.
    const insert = server.db.sqlite.query("INSERT INTO execution_logs (execution_id, seq, level, message, metadata, ts) VALUES (?, ?, 'info', ?, NULL, ?)");
    server.db.sqlite.transaction(() => {
      for (let seq = 10; seq < 300_010; seq++) insert.run(execution.id, seq, `line ${seq} ${"x".repeat(40)}`, Date.now());
    })();
    await server.services.logger.drain();
    const file = server.services.logger.filePath(execution.id);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, "{}\n".repeat(1000), { flag: "a" });
    expect(existsSync(file)).toBe(true);

    // Health checks keep answering while the rows go: each waits at most for one batch.
    const latencies: number[] = [];
    let deleting = true;
    const pinger = (async () => {
      while (deleting) {
        const t = performance.now();
        await (await fetch(`${server.url}/api/v1/health`)).arrayBuffer();
        latencies.push(performance.now() - t);
      }
    })();
    const t0 = performance.now();
    const res = await server.api(`/tasks/${done.id}`, { method: "DELETE" });
    const total = performance.now() - t0;
    deleting = false;
    await pinger;
    expect(res.status).toBe(204);
    expect(server.db.sqlite.query<{ n: number }, [string]>("SELECT count(*) AS n FROM execution_logs WHERE execution_id = ?").get(execution.id)!.n).toBe(0);
    expect((await server.api(`/tasks/${done.id}`)).status).toBe(404);
    expect(existsSync(file)).toBe(false);
    // Many answers while it ran, none held for the whole deletion.
    expect(latencies.length).toBeGreaterThan(3);
    expect(Math.max(...latencies)).toBeLessThan(Math.max(250, total / 3));
  }, 60_000);
});
