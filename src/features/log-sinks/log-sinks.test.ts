// The external log sinks on a real server, against local servers on loopback that speak the protocols:
// an OTLP/HTTP logs receiver and a Weights & Biases API. Lines arrive batched, masked and attributed;
// a sink that is down never holds up or fails a task, and what it could not take is counted.
import { afterEach, describe, expect, test } from "bun:test";
import { Writable } from "node:stream";
import type { TaskJson } from "../../engine/task-record.ts";
import { configureLogging } from "../../log.ts";
import { cleanup, json, startTestServer, type TestServer } from "../../../test/helpers.ts";
import { startFakeOtlp, type FakeOtlp } from "../../../test/fake-otlp.ts";
import { startFakeWandb, type FakeWandb } from "../../../test/fake-wandb.ts";

const fakes: Array<FakeOtlp | FakeWandb> = [];
afterEach(async () => {
  await cleanup();
  configureLogging({ level: "warn", format: "json" });
  while (fakes.length) fakes.pop()!.stop();
});

const FAST = { sinkFlushIntervalMs: 20, sinkRetryBaseMs: 10 };

async function submit(server: TestServer, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<TaskJson> {
  const res = await server.api("/tasks", { ...json(body), headers });
  expect(res.status).toBe(201);
  return (await res.json()) as TaskJson;
}
const waitTask = async (server: TestServer, id: string) => (await (await server.api(`/tasks/${id}/wait?timeout=20`)).json()) as TaskJson;
const logCount = (server: TestServer, taskId: string) =>
  server.db.sqlite.query<{ n: number }, [string]>("SELECT coalesce(sum(log_count), 0) AS n FROM executions WHERE task_id = ?").get(taskId)!.n;

async function sinkCounter(server: TestServer, sink: string, outcome: string): Promise<number> {
  const text = await (await server.get("/metrics")).text();
  const m = new RegExp(`^agentvine_log_sink_lines_total\\{sink="${sink}",outcome="${outcome}"\\} (\\d+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

async function sinkGauge(server: TestServer, sink: string): Promise<number> {
  const text = await (await server.get("/metrics")).text();
  return Number(new RegExp(`^agentvine_log_sink_buffered_lines\\{sink="${sink}"\\} (\\d+)$`, "m").exec(text)?.[1]);
}

describe("the OTLP sink", () => {
  test("a task's lines arrive as OTLP log records: body, severity, time, the task's ids and correlation id, masked secrets, the configured headers", async () => {
    const otlp = startFakeOtlp();
    fakes.push(otlp);
    const server = await startTestServer({ ...FAST, otlpEndpoint: otlp.url, otlpHeaders: "x-api-key=backend-key-1", otlpServiceName: "vine-test" });
    expect((await server.api("/secrets", json({ name: "TOKEN", value: "tok-9f8e7d6c5b4a" }))).status).toBe(201);
    const task = await submit(server, { title: "echo", task_type: "shell", params: { command: "sh", args: ["-c", "echo one; echo two {{secrets.TOKEN}}; echo three >&2"] } }, { "x-correlation-id": "0af7651916cd43dd8448eb211c80319c" });
    expect((await waitTask(server, task.id)).status).toBe("succeeded");
    const lines = logCount(server, task.id);
    await server.services.logSinks.flush();
    const records = otlp.records;
    expect(otlp.problems).toEqual([]);
    expect(records).toHaveLength(lines);
    const bodies = records.map((r) => r.body);
    expect(bodies).toEqual(expect.arrayContaining(["one", "two ***", "three"]));
    expect(JSON.stringify(records)).not.toContain("tok-9f8e7d6c5b4a");
    const two = records.find((r) => r.body === "two ***")!;
    expect(two).toMatchObject({ severityNumber: 9, severityText: "INFO", traceId: "0af7651916cd43dd8448eb211c80319c" });
    expect(two.attributes).toMatchObject({ "agentvine.task.id": task.id, "agentvine.task.type": "shell", "agentvine.correlation_id": "0af7651916cd43dd8448eb211c80319c", stream: "stdout" });
    expect(records.find((r) => r.body === "three")).toMatchObject({ severityNumber: 13, severityText: "WARN" });
    expect(two.resource).toMatchObject({ "service.name": "vine-test", "service.version": server.services.version });
    expect(two.scope.name).toBe("agentvine.task-log");
    expect(BigInt(two.timeUnixNano) / 1_000_000n).toBeGreaterThan(BigInt(Date.parse(task.created_at)) - 1n);
    expect(otlp.requests.every((r) => r.headers.get("x-api-key") === "backend-key-1")).toBe(true);
    expect(await sinkCounter(server, "otlp", "sent")).toBe(lines);
  });

  test("down (503): tasks run as fast as ever; past the buffer lines are dropped and counted, never blocking", async () => {
    const otlp = startFakeOtlp();
    otlp.mode = 503;
    fakes.push(otlp);
    // Retries a minute apart: the 100 buffered lines stay buffered while the test looks.
    const server = await startTestServer({ ...FAST, sinkRetryBaseMs: 60_000, otlpEndpoint: otlp.url, sinkBuffer: 100 });
    const task = await submit(server, { title: "chatty", task_type: "test_metrics", params: { steps: 300 } });
    expect((await waitTask(server, task.id)).status).toBe("succeeded");
    expect(logCount(server, task.id)).toBe(300);
    await otlp.waitForRequests(1); // it did try
    // Everything past the 100 the buffer holds was dropped on arrival; the 100 wait for the backend.
    expect(await sinkCounter(server, "otlp", "dropped")).toBe(200);
    expect(await sinkCounter(server, "otlp", "sent")).toBe(0);
    expect(await sinkGauge(server, "otlp")).toBe(100);
    // Stopping gives the waiting batch one last try, then counts it: the server does not wait out the backoff.
    const metrics = server.services.metrics;
    const stopping = performance.now();
    await server.stop(0);
    expect(performance.now() - stopping).toBeLessThan(5000);
    const dropped = (await metrics.sinkLines.get()).values.find((v) => v.labels.sink === "otlp" && v.labels.outcome === "dropped")!.value;
    expect(dropped).toBe(300);
  });

  test("unreachable (nothing listens): the task succeeds all the same; the log names the endpoint without its credentials", async () => {
    const otlp = startFakeOtlp();
    otlp.stop(); // its port is now closed
    let log = "";
    configureLogging({ level: "warn", format: "json", destination: new Writable({ write: (chunk, _e, done) => ((log += String(chunk)), done()) }) });
    const server = await startTestServer({ ...FAST, otlpEndpoint: otlp.url.replace("http://", "http://collector:pa55word@"), otlpHeaders: "x-api-key=hdr-secret-1", sinkBuffer: 100 });
    const task = await submit(server, { title: "hello", task_type: "hello", params: { name: "x" } });
    expect((await waitTask(server, task.id)).status).toBe("succeeded");
    await server.services.logSinks.flush(); // five tries, then dropped with a warning
    expect(log).toContain("otlp: dropped");
    expect(log).toContain(`cannot reach ${otlp.url}/v1/logs`);
    expect(log).not.toContain("pa55word");
    expect(log).not.toContain("hdr-secret-1");
  });
});

describe("the Weights & Biases sink", () => {
  const wandbOptions = (wandb: FakeWandb) => ({ ...FAST, wandbProject: "agents", wandbApiKey: "wk-123", wandbBaseUrl: wandb.url });

  test("a run per execution: named by the execution, grouped by task, its lines as output, metrics as history, figures in the summary, complete", async () => {
    const wandb = startFakeWandb({ apiKey: "wk-123", entity: "acme" });
    fakes.push(wandb);
    const server = await startTestServer(wandbOptions(wandb));
    const task = await submit(server, { title: "train", task_type: "test_metrics", params: { steps: 3 } }, { "x-correlation-id": "exp-7" });
    expect((await waitTask(server, task.id)).status).toBe("succeeded");
    const [run] = await wandb.waitForComplete(1);
    expect(wandb.problems).toEqual([]);
    const execution = server.db.sqlite.query<{ id: string }, [string]>("SELECT id FROM executions WHERE task_id = ?").get(task.id)!;
    expect(run).toMatchObject({ entity: "acme", project: "agents", name: execution.id, groupName: task.id, jobType: "test_metrics", displayName: "train #1", complete: true, exitcode: 0 });
    expect(run!.config).toMatchObject({ task_id: { value: task.id }, correlation_id: { value: "exp-7" }, attempt: { value: 1 } });
    expect(run!.files["output.log"]!.map((l) => l.replace(/^\S+ /, "").trim())).toEqual(["step 0", "step 1", "step 2"]);
    const history = run!.files["wandb-history.jsonl"]!.map((l) => JSON.parse(l));
    expect(history.map((h) => h._step)).toEqual([0, 1, 2, 3]);
    expect(history.slice(0, 3).map((h) => h.loss)).toEqual([1, 0.5, 1 / 3]);
    expect(history[3]).toMatchObject({ log_lines: 3 });
    expect(history[3].duration_seconds).toBeGreaterThanOrEqual(0);
    expect(JSON.parse(run!.files["wandb-summary.json"]![0]!)).toMatchObject({ status: "succeeded", log_lines: 3 });
  });

  test("a failed attempt and its retry are two runs of one group, each complete with a non-zero exit code", async () => {
    const wandb = startFakeWandb({ apiKey: "wk-123", entity: "acme" });
    fakes.push(wandb);
    const server = await startTestServer(wandbOptions(wandb));
    const task = await submit(server, { title: "diverges", task_type: "test_metrics", params: { steps: 1, fail: true }, max_retries: 1 });
    expect((await waitTask(server, task.id)).status).toBe("failed");
    const runs = await wandb.waitForComplete(2);
    expect(runs.map((r) => r.groupName)).toEqual([task.id, task.id]);
    expect(runs.map((r) => r.displayName).sort()).toEqual(["diverges #1", "diverges #2"]);
    for (const r of runs) {
      expect(r.exitcode).not.toBe(0);
      expect(JSON.parse(r.files["wandb-summary.json"]![0]!)).toMatchObject({ status: "failed", error: "diverged" });
    }
  });

  test("down: the task succeeds, and the lines it could not take are counted as dropped", async () => {
    const wandb = startFakeWandb({ apiKey: "wk-123", entity: "acme" });
    wandb.mode = 503;
    fakes.push(wandb);
    const server = await startTestServer({ ...wandbOptions(wandb), sinkBuffer: 100 });
    const task = await submit(server, { title: "chatty", task_type: "test_metrics", params: { steps: 250 } });
    expect((await waitTask(server, task.id)).status).toBe("succeeded");
    expect(await sinkCounter(server, "wandb", "dropped")).toBeGreaterThanOrEqual(150);
  });
});
