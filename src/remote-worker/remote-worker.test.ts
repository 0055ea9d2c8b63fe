// The worker loop against the real server (its queue and worker endpoints).
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, startTestServer, tempDir } from "../../test/helpers.ts";
import { SYSTEM_ACTOR } from "../features/audit/service.ts";
import { createApiKey } from "../features/auth/api-keys.ts";
import { findUserByLogin } from "../features/auth/users.ts";
import type { ClaimItem, ReportedOutcome } from "./api-client.ts";
import { RemoteWorker } from "./remote-worker.ts";
import { describeStatus, readStatus } from "./status-file.ts";

afterEach(cleanup);

describe("agentvine worker against the server", () => {
  test("registers, claims, runs 20 hello tasks and a failing shell task, reports each outcome once, drains to exit 0", async () => {
    const server = await startTestServer({ workers: 0 });
    const admin = findUserByLogin(server.services.auth, "admin")!;
    const { key } = createApiKey(server.services.auth, { name: "remote", scope: "worker" }, { userId: admin.id, actor: SYSTEM_ACTOR });
    const stateDir = tempDir();
    const worker = new RemoteWorker({ server: server.url, token: key, name: "remote-1", concurrency: 4, stateDir, shutdownGraceMs: 5000, claimWaitSeconds: 5 });
    await worker.start();
    try {
      const submit = async (body: unknown) => {
        const res = await server.api("/tasks", { method: "POST", body: JSON.stringify(body) });
        expect(res.status).toBe(201);
        return ((await res.json()) as { id: string }).id;
      };
      const hellos = await Promise.all(Array.from({ length: 20 }, (_, i) => submit({ title: `hi ${i}`, task_type: "hello", params: { name: `n${i}` } })));
      const failing = await submit({ title: "fails", task_type: "shell", params: { command: "echo about to fail; exit 3", shell: true } });

      const finished = async (id: string) => (await (await server.api(`/tasks/${id}/wait?timeout=30`)).json()) as { status: string; result: any; error: string | null };
      const results = await Promise.all(hellos.map(finished));
      results.forEach((t, i) => expect(t).toMatchObject({ status: "succeeded", result: { message: `Hello, n${i}!` } }));
      const failed = await finished(failing);
      expect(failed.status).toBe("failed");
      expect(failed.error).toContain("3");

      // The server knows the worker by its name.
      const listed = (await (await server.api("/workers")).json()) as { items: Array<{ id: string; name: string; worker_type: string }> };
      expect(listed.items).toContainEqual(expect.objectContaining({ id: worker.id, name: "remote-1", worker_type: "remote" }));

      // The failing task's output line was streamed into its execution's log (the log endpoint stores it).
      const messages = server.db.sqlite
        .query<{ message: string }, [string]>("SELECT l.message FROM execution_logs l JOIN executions e ON e.id = l.execution_id WHERE e.task_id = ?")
        .all(failing)
        .map((r) => r.message);
      expect(messages).toContain("about to fail");

      expect(await worker.drain()).toBe(0);
      expect(await worker.done).toBe(0);
      expect(worker.undelivered).toBe(0);
      const status = readStatus(stateDir)!;
      expect(status).toMatchObject({ name: "remote-1", id: worker.id, state: "stopped", done: 20, failed: 1, running: [] });
      expect(describeStatus(status, stateDir).live).toBe(false);
    } finally {
      await worker.drain();
    }
  });

  test("a key the server refuses ends the worker with exit code 1", async () => {
    const server = await startTestServer({ workers: 0 });
    const worker = new RemoteWorker({ server: server.url, token: "avk_not-a-real-key", name: "bad", concurrency: 1, stateDir: tempDir() });
    await worker.start();
    expect(await worker.done).toBe(1);
  });
});

interface Seen {
  path: string;
  body: any;
}

/**
 * A stand-in for the server, for what the real one never does (hostile ids, a claim answered at an exact
 * moment, a name taken by a live instance). `answer` may return a Response; otherwise: registration and
 * heartbeats succeed, reports are accepted, a long-poll waits until the worker gives up on it.
 */
function fakeServer(answer: (req: Seen, request: Request) => Response | undefined | Promise<Response | undefined> = () => undefined) {
  const seen: Seen[] = [];
  const waiters: Array<() => void> = [];
  const accept = (report: { logs: unknown[]; outcomes: ReportedOutcome[] }) => ({
    outcomes: report.outcomes.map((o) => ({ execution_id: o.execution_id, accepted: true })),
    logs: { accepted: report.logs.length, refused: [] },
  });
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      const req: Seen = { path: new URL(request.url).pathname.replace(/^\/api\/v1/, ""), body: await request.json().catch(() => null) };
      seen.push(req);
      waiters.splice(0).forEach((w) => w());
      const custom = await answer(req, request);
      if (custom) return custom;
      if (req.path === "/workers") return Response.json({ id: "w1", name: req.body.name, status: "online" }, { status: 201 });
      if (req.path === "/workers/w1/heartbeat") return Response.json({ id: "w1", name: "x", status: "online", extended: req.body.running_work_order_ids, lost: [] });
      if (req.path === "/queue/report") return Response.json(accept(req.body));
      if (req.path === "/queue/claim") {
        if (req.body.report) return Response.json({ items: [], report: accept(req.body.report) });
        await new Promise((resolve) => request.signal.addEventListener("abort", resolve, { once: true }));
        return new Response(null, { status: 204 });
      }
      return Response.json({ error: { code: "not_found", message: req.path } }, { status: 404 });
    },
  });
  /** Every outcome reported so far, alone or carried by a claim. */
  const outcomes = () => seen.flatMap((r) => (r.path === "/queue/report" ? r.body.outcomes : r.path === "/queue/claim" ? (r.body.report?.outcomes ?? []) : [])) as ReportedOutcome[];
  const until = async (pred: (r: Seen) => boolean): Promise<Seen> => {
    for (;;) {
      const found = seen.find(pred);
      if (found) return found;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return { url: `http://127.0.0.1:${server.port}`, seen, outcomes, until, stop: () => server.stop(true), accept };
}

const claimItem = (id: string, over: Partial<ClaimItem> = {}): ClaimItem => ({
  work_order_id: `wo-${id}`,
  task_id: `t-${id}`,
  execution_id: `ex-${id}`,
  lease_token: "lease",
  lease_until: Date.now() + 30_000,
  attempt: 1,
  task_type: "hello",
  params: { name: id },
  timeout_seconds: 30,
  ...over,
});

describe("agentvine worker against a misbehaving or busy server", () => {
  test("a claimed item whose ids are not plain ids is refused and never run; the others in the claim run", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "victim"));
    writeFileSync(join(dir, "victim", "precious.txt"), "keep me");
    let claims = 0;
    const fake = fakeServer((req) => {
      if (req.path === "/queue/claim" && claims++ === 0) {
        // stateDir/workspaces/../../victim is dir/victim: a successful task's workspace is removed recursively.
        return Response.json({ items: [claimItem("bad", { execution_id: "../../victim", task_type: "shell", params: { command: "true" } }), claimItem("good")] });
      }
    });
    const worker = new RemoteWorker({ server: fake.url, token: "avk_x", name: "w", concurrency: 2, stateDir: join(dir, "state"), heartbeatMs: 3_600_000, shutdownGraceMs: 10_000 });
    try {
      await worker.start();
      await fake.until((r) => (r.path === "/queue/report" ? r.body.outcomes : (r.body?.report?.outcomes ?? [])).some((o: ReportedOutcome) => o.execution_id === "ex-good"));
      expect(await worker.drain()).toBe(0);
      expect(fake.outcomes().map((o) => [o.execution_id, o.status])).toEqual([["ex-good", "succeeded"]]);
      expect(existsSync(join(dir, "victim", "precious.txt"))).toBe(true);
    } finally {
      await worker.drain();
      fake.stop();
    }
  });

  test("a drain lets a claim carrying a report finish and runs what it brought back, rather than strand it", async () => {
    let claims = 0;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const fake = fakeServer(async (req) => {
      if (req.path !== "/queue/claim") return;
      claims++;
      if (claims === 1) return Response.json({ items: [claimItem("a")] });
      if (req.body.report && claims === 2) {
        // The server claimed "b" for this worker while delivering the report; the answer is on its way as the drain starts.
        await released;
        return Response.json({ items: [claimItem("b")], report: fake.accept(req.body.report) });
      }
    });
    const worker = new RemoteWorker({ server: fake.url, token: "avk_x", name: "w", concurrency: 1, stateDir: tempDir(), heartbeatMs: 3_600_000, shutdownGraceMs: 10_000 });
    try {
      await worker.start();
      const carrying = await fake.until((r) => r.path === "/queue/claim" && r.body.report);
      expect(carrying.body.report.outcomes.map((o: ReportedOutcome) => o.execution_id)).toEqual(["ex-a"]);
      const drained = worker.drain();
      release();
      expect(await drained).toBe(0);
      expect(fake.outcomes().map((o) => [o.execution_id, o.status])).toEqual([
        ["ex-a", "succeeded"],
        ["ex-b", "succeeded"],
      ]);
    } finally {
      await worker.drain();
      fake.stop();
    }
  });

  test("a name a live instance elsewhere holds: the worker waits for it (same instance id each time) instead of exiting", async () => {
    let registrations = 0;
    const fake = fakeServer((req) => {
      if (req.path === "/workers" && ++registrations <= 2) {
        return Response.json(
          { error: { code: "conflict", message: "a worker named 'dup' is running already (another instance heartbeated 2 s ago): pick another --name for this one" } },
          { status: 409 },
        );
      }
    });
    const worker = new RemoteWorker({ server: fake.url, token: "avk_x", name: "dup", concurrency: 1, stateDir: tempDir(), heartbeatMs: 3_600_000, backoff: { baseMs: 1, capMs: 5 } });
    try {
      await worker.start();
      expect(worker.id).toBe("w1");
      expect(worker.status().state).toBe("running");
      const sent = fake.seen.filter((r) => r.path === "/workers").map((r) => r.body.instance_id);
      expect(sent).toEqual([worker.instanceId, worker.instanceId, worker.instanceId]);
      expect(worker.instanceId).toMatch(/^[0-9a-f-]{36}$/);
      expect(new RemoteWorker({ server: fake.url, token: "avk_x", stateDir: tempDir() }).instanceId).not.toBe(worker.instanceId);
      // Heartbeats say which instance they come from.
      const heartbeat = await fake.until((r) => r.path === "/workers/w1/heartbeat");
      expect(heartbeat.body.instance_id).toBe(worker.instanceId);
    } finally {
      await worker.drain();
      fake.stop();
    }
  });

  test("any other refusal of the registration (a name of another key) still ends the worker with exit code 1", async () => {
    const fake = fakeServer((req) => {
      if (req.path === "/workers") return Response.json({ error: { code: "conflict", message: "a worker named 'dup' was registered with another key; choose another name" } }, { status: 409 });
    });
    const worker = new RemoteWorker({ server: fake.url, token: "avk_x", name: "dup", concurrency: 1, stateDir: tempDir(), backoff: { baseMs: 1, capMs: 5 } });
    try {
      await worker.start();
      expect(await worker.done).toBe(1);
      expect(fake.seen.filter((r) => r.path === "/workers")).toHaveLength(1);
    } finally {
      fake.stop();
    }
  });
});
