// /api/v1/executions over real HTTP: listing attempts, reading their logs, and tailing them live (SSE).
import { afterEach, describe, expect, test } from "bun:test";
import type { TaskJson } from "../../engine/task-record.ts";
import { AWAIT_GATE, gate } from "../../../test/gate.ts";
import { cleanup, json, startTestServer, until } from "../../../test/helpers.ts";
import { dataOf, openSse, type SseFrame } from "../../../test/sse.ts";

afterEach(cleanup);

type Server = Awaited<ReturnType<typeof startTestServer>>;
interface Execution {
  id: string;
  task_id: string;
  status: string;
  attempt: number;
  exit_code: number | null;
  error: string | null;
  stdout: string | null;
  stderr: string | null;
  duration_ms: number | null;
  log_count: number;
  started_at: string;
  finished_at: string | null;
}
interface LogLine {
  execution_id: string;
  seq: number;
  level: string;
  message: string;
  metadata: Record<string, unknown> | null;
  ts: string;
}
type LogPage = { items: LogLine[]; next_after: number; finished: boolean };

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

async function get<T>(server: Server, path: string): Promise<T> {
  const res = await server.api(path);
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

async function runToEnd(server: Server, body: Record<string, unknown>): Promise<TaskJson> {
  const res = await server.api("/tasks", json(body));
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as TaskJson;
  return get<TaskJson>(server, `/tasks/${id}/wait?timeout=20`);
}

const shell = (command: string, env: Record<string, string> = {}) => ({ title: command.slice(0, 40), task_type: "shell", params: { command, shell: true, env } });

async function submit(server: Server, body: Record<string, unknown>): Promise<TaskJson> {
  const res = await server.api("/tasks", json(body));
  expect(res.status).toBe(201);
  return (await res.json()) as TaskJson;
}

/** The id of the task's (first) execution, once a thread has started it. */
function executionStarted(server: Server, taskId: string): Promise<string> {
  const query = server.db.sqlite.query<{ id: string }, [string]>("SELECT id FROM executions WHERE task_id = ? ORDER BY started_at LIMIT 1");
  return until(server.services.deps.bus, ["execution:started"], () => query.get(taskId)?.id);
}

const logsOf = (frames: SseFrame[]) => frames.filter((f) => f.event === "log").map((f) => dataOf<LogLine>(f));

describe("GET /executions", () => {
  test("lists executions by task_id and by status; GET /executions/:id shows the attempt", async () => {
    const server = await startTestServer();
    const ok = await runToEnd(server, { title: "hi", task_type: "hello", params: { name: "x" } });
    const bad = await runToEnd(server, shell("echo oops >&2; exit 3"));
    expect(ok.status).toBe("succeeded");
    expect(bad.status).toBe("failed");

    const ofOk = await get<{ items: Execution[]; total: number }>(server, `/executions?task_id=${ok.id}`);
    expect(ofOk.total).toBe(1);
    expect(ofOk.items[0]).toMatchObject({ task_id: ok.id, status: "succeeded", attempt: 1 });

    const failed = await get<{ items: Execution[]; total: number }>(server, "/executions?status=failed");
    expect(failed.items.map((e) => e.task_id)).toEqual([bad.id]);
    const succeeded = await get<{ items: Execution[]; total: number }>(server, "/executions?status=succeeded");
    expect(succeeded.items.map((e) => e.task_id)).toEqual([ok.id]);
    expect((await get<{ total: number }>(server, `/executions?task_id=${ok.id}&status=failed`)).total).toBe(0);
    expect((await get<{ total: number }>(server, "/executions")).total).toBe(2);

    const execution = await get<Execution>(server, `/executions/${failed.items[0]!.id}`);
    expect(execution).toMatchObject({ id: failed.items[0]!.id, task_id: bad.id, status: "failed", exit_code: 3, error: "command exited with code 3", stderr: "oops\n" });
    expect(execution.started_at).toMatch(ISO);
    expect(execution.finished_at).toMatch(ISO);
    expect(execution.duration_ms).toBeGreaterThanOrEqual(0);
    expect(execution.log_count).toBe(1);
  });
});

describe("what an execution measures", () => {
  test("a shell command that succeeded has its CPU time; peak memory is not claimed (null); a hello task has neither", async () => {
    const server = await startTestServer();
    const cmd = await runToEnd(server, shell("i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo done"));
    const hi = await runToEnd(server, { title: "hi", task_type: "hello", params: { name: "x" } });
    const [ofCmd] = (await get<{ items: Array<Execution & { cpu_ms: number | null; max_rss_bytes: number | null }> }>(server, `/executions?task_id=${cmd.id}`)).items;
    const [ofHi] = (await get<{ items: Array<Execution & { cpu_ms: number | null; max_rss_bytes: number | null }> }>(server, `/executions?task_id=${hi.id}`)).items;
    expect(ofCmd!.cpu_ms).toBeGreaterThanOrEqual(0);
    expect(ofCmd!.cpu_ms).toBeLessThanOrEqual(ofCmd!.duration_ms! + 50);
    expect(ofCmd!.max_rss_bytes).toBeNull();
    expect(ofHi!.cpu_ms).toBeNull();
    expect(ofHi!.max_rss_bytes).toBeNull();
  });
});

describe("GET /executions/:id/logs (JSON)", () => {
  test("stdout lines are info, stderr lines warn; after= and level= filter them", async () => {
    const server = await startTestServer();
    const task = await runToEnd(server, shell("echo out1; echo err1 >&2; echo out2; echo err2 >&2; echo out3"));
    expect(task.status).toBe("succeeded");
    const [execution] = (await get<{ items: Execution[] }>(server, `/executions?task_id=${task.id}`)).items;

    const all = await get<LogPage>(server, `/executions/${execution!.id}/logs`);
    expect(all.finished).toBe(true);
    expect(all.items).toHaveLength(5);
    expect(all.items.map((l) => l.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(all.next_after).toBe(5);
    for (const line of all.items) {
      expect(line.execution_id).toBe(execution!.id);
      expect(line.ts).toMatch(ISO);
    }
    // Two pipes: the order between stdout and stderr lines is the OS's, the order within each is not.
    const stdout = all.items.filter((l) => l.message.startsWith("out"));
    const stderr = all.items.filter((l) => l.message.startsWith("err"));
    expect(stdout.map((l) => [l.message, l.level, l.metadata?.stream])).toEqual([
      ["out1", "info", "stdout"],
      ["out2", "info", "stdout"],
      ["out3", "info", "stdout"],
    ]);
    expect(stderr.map((l) => [l.message, l.level, l.metadata?.stream])).toEqual([
      ["err1", "warn", "stderr"],
      ["err2", "warn", "stderr"],
    ]);

    const warnings = await get<LogPage>(server, `/executions/${execution!.id}/logs?level=warn`);
    expect(warnings.items.map((l) => l.message)).toEqual(["err1", "err2"]);
    expect((await get<LogPage>(server, `/executions/${execution!.id}/logs?level=error`)).items).toEqual([]);

    const afterTwo = await get<LogPage>(server, `/executions/${execution!.id}/logs?after=2`);
    expect(afterTwo.items).toEqual(all.items.slice(2));
    expect(afterTwo.next_after).toBe(5);
    const afterAll = await get<LogPage>(server, `/executions/${execution!.id}/logs?after=${all.next_after}`);
    expect(afterAll).toEqual({ items: [], next_after: 5, finished: true });
  });
});

describe("GET /executions/:id/logs (SSE tail)", () => {
  test("delivers every line of a running execution once, in order, then `end`", async () => {
    const server = await startTestServer();
    const g = gate();
    const task = await submit(server, shell(`echo line 1; ${AWAIT_GATE}; for i in 2 3 4; do echo line $i; sleep 0.05; done`, g.env));
    const executionId = await executionStarted(server, task.id);

    const { res, sse } = await openSse(`${server.url}/api/v1/executions/${executionId}/logs`, { token: server.token });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    try {
      // line 1 comes from the history or live, depending on timing; the rest can only come live.
      const head = await sse.until((f) => f.event === "log" && dataOf<LogLine>(f).message === "line 1");
      g.open();
      const tail = await sse.rest();
      const frames = [...head, ...tail];
      expect(frames.at(-1)?.event).toBe("end");
      expect(dataOf(frames.at(-1)!)).toEqual({ status: "succeeded" });
      expect(frames.filter((f) => f.event === "end")).toHaveLength(1);

      const lines = logsOf(frames);
      expect(lines.map((l) => l.message)).toEqual(["line 1", "line 2", "line 3", "line 4"]);
      expect(lines.map((l) => l.seq)).toEqual([1, 2, 3, 4]);
      expect(frames.filter((f) => f.event === "log").map((f) => f.id)).toEqual(["1", "2", "3", "4"]);
    } finally {
      await sse.close();
    }
  });

  test("a reconnect with Last-Event-ID resumes after that line", async () => {
    const server = await startTestServer();
    const g = gate();
    const task = await submit(server, shell(`echo line 1; echo line 2; ${AWAIT_GATE}; echo line 3; echo line 4`, g.env));
    const executionId = await executionStarted(server, task.id);
    const url = `${server.url}/api/v1/executions/${executionId}/logs`;

    const first = await openSse(url, { token: server.token });
    const seen = await first.sse.until((f) => f.event === "log" && dataOf<LogLine>(f).message === "line 2");
    await first.sse.close();
    const lastId = seen.filter((f) => f.event === "log")[0]!.id!; // the client got line 1's id, then dropped
    expect(lastId).toBe("1");

    const second = await openSse(url, { token: server.token, headers: { "Last-Event-ID": lastId } });
    try {
      const replayed = await second.sse.until((f) => f.event === "log" && dataOf<LogLine>(f).message === "line 2");
      expect(logsOf(replayed).map((l) => l.message)).toEqual(["line 2"]);
      g.open();
      const rest = await second.sse.rest();
      expect(logsOf(rest).map((l) => l.message)).toEqual(["line 3", "line 4"]);
      expect(rest.at(-1)?.event).toBe("end");
    } finally {
      await second.sse.close();
    }

    // After the end: the history from Last-Event-ID, then `end` at once.
    const third = await openSse(url, { token: server.token, headers: { "Last-Event-ID": "3" } });
    const afterEnd = await third.sse.rest();
    expect(afterEnd.map((f) => f.event)).toEqual(["log", "end"]);
    expect(dataOf<LogLine>(afterEnd[0]!).message).toBe("line 4");
  });

  test("level= applies to the live tail too", async () => {
    const server = await startTestServer();
    const g = gate();
    const task = await submit(server, shell(`echo quiet; ${AWAIT_GATE}; echo loud >&2; echo quiet again`, g.env));
    const executionId = await executionStarted(server, task.id);
    const { sse } = await openSse(`${server.url}/api/v1/executions/${executionId}/logs?level=warn`, { token: server.token });
    try {
      g.open();
      const frames = await sse.rest();
      expect(logsOf(frames).map((l) => [l.message, l.level])).toEqual([["loud", "warn"]]);
      expect(frames.at(-1)?.event).toBe("end");
    } finally {
      await sse.close();
    }
  });
});
