// The workers pages over a real server: the grid with stats and filters, a worker's page with its
// configuration and load sparklines, the drain action (admins only), and the `workers` live event.
import { afterEach, describe, expect, test } from "bun:test";
import { SYSTEM_ACTOR } from "../audit/service.ts";
import { createApiKey } from "../auth/api-keys.ts";
import { findUserByLogin } from "../auth/users.ts";
import type { TaskJson } from "../../engine/task-record.ts";
import { bearer, userWithRole } from "../../../test/auth.ts";
import { cleanup, json, startTestServer, until, startTestApp } from "../../../test/helpers.ts";
import { HOSTILE, HOSTILE_ESCAPED } from "../../../test/html.ts";
import { openSse } from "../../../test/sse.ts";
import type { WorkerJson } from "./service.ts";

afterEach(cleanup);

type Server = Awaited<ReturnType<typeof startTestServer>>;

function workerKey(server: Server): string {
  const admin = findUserByLogin(server.services.auth, "admin")!;
  return createApiKey(server.services.auth, { name: "worker", scope: "worker", capabilities: ["git", "gpu", "node", "shell", "Has Space"], max_concurrent_tasks: 64 }, { userId: admin.id, actor: SYSTEM_ACTOR }).key;
}

async function register(server: Server, key: string, body: Record<string, unknown>): Promise<WorkerJson> {
  const res = await server.api("/workers", bearer(key, json({ max_concurrent_tasks: 2, ...body })));
  if (res.status !== 201) throw new Error(`POST /workers answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as WorkerJson;
}

async function heartbeat(server: Server, key: string, id: string, body: Record<string, unknown>) {
  const res = await server.api(`/workers/${id}/heartbeat`, bearer(key, json(body)));
  if (res.status !== 200) throw new Error(`heartbeat answered ${res.status}: ${await res.text()}`);
}

async function html(server: Server, path: string, init: RequestInit = {}) {
  const res = await server.get(path, { redirect: "manual", ...init });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

const cards = (text: string) => [...text.matchAll(/data-worker-id="([^"]+)"/g)].map((m) => m[1]);
const localId = (server: Server) =>
  server.db.sqlite.query<{ id: string }, []>("SELECT id FROM workers WHERE worker_type = 'local'").get()!.id;

/** A drain form post as a browser sends it, signed in with `token`. */
const drainPost = (token: string, htmx = false) =>
  bearer(token, { method: "POST", body: "", headers: { "content-type": "application/x-www-form-urlencoded", ...(htmx ? { "hx-request": "true" } : {}) } });

describe("GET /workers", () => {
  test("the local worker and a registered remote one, with capabilities, stats and the live stream; names escaped", async () => {
    const server = await startTestApp();
    const remote = await register(server, workerKey(server), { name: HOSTILE, hostname: "gpu-box", capabilities: ["gpu", "node"] });
    const page = await html(server, "/workers");
    expect(page.status).toBe(200);
    expect(page.text).toContain("<title>Workers · AgentVine</title>");
    expect(page.text).toMatch(/<a href="\/workers" [^>]*aria-current="page"/);
    expect(cards(page.text).sort()).toEqual([localId(server), remote.id].sort());
    expect(page.text).not.toContain(HOSTILE);
    expect(page.text).toContain(HOSTILE_ESCAPED);
    expect(page.text).toContain('data-capability="gpu"');
    expect(page.text).toContain('data-capability="node"');
    expect(page.text).toContain('data-worker-type="remote"');
    expect(page.text).toContain('data-worker-type="local"');
    expect(page.text).toContain('data-worker-status="idle"');
    expect(page.text).toMatch(/data-stat="total"[\s\S]*?<dd[^>]*>2<\/dd>/);
    expect(page.text).toMatch(/data-stat="remote"[\s\S]*?<dd[^>]*>1<\/dd>/);
    expect(page.text).toMatch(/sse-connect="\/events\?topics=workers&amp;v=\d+"/);
    expect(page.text).toContain('hx-trigger="sse:workers"');
    expect(page.text).toMatch(/<time datetime="[^"]+"[^>]*data-rel/);
    expect(page.text).toContain("0 / 2"); // concurrency of the remote worker
  });

  test("filters by capability, type and status; ignores values that are not valid; htmx gets the list alone", async () => {
    const server = await startTestApp();
    const key = workerKey(server);
    const gpu = await register(server, key, { name: "gpu one", capabilities: ["gpu"] });
    const plain = await register(server, key, { name: "plain one", capabilities: ["node"] });
    const local = localId(server);

    expect(cards((await html(server, "/workers?capability=gpu")).text)).toEqual([gpu.id]);
    expect(cards((await html(server, "/workers?worker_type=remote")).text).sort()).toEqual([gpu.id, plain.id].sort());
    expect(cards((await html(server, "/workers?worker_type=local")).text)).toEqual([local]);
    expect(cards((await html(server, "/workers?status=offline")).text)).toEqual([]);
    expect((await html(server, "/workers?status=offline")).text).toContain("No worker matches these filters");
    const bogus = await html(server, "/workers?status=bogus&worker_type=nope&capability=%3Cx%3E&page=-1");
    expect(bogus.status).toBe(200);
    expect(cards(bogus.text)).toHaveLength(3);

    const fragment = await html(server, "/workers?capability=node", { headers: { "hx-request": "true", "hx-target": "worker-list" } });
    expect(fragment.status).toBe(200);
    expect(fragment.text.startsWith('<div id="worker-list"')).toBe(true);
    expect(fragment.text).not.toContain("<html");
    expect(fragment.text).toContain('hx-get="/workers?capability=node"');
    expect(cards(fragment.text)).toEqual([plain.id]);
  });

  test("with no worker at all: the empty state tells how to run a remote worker", async () => {
    const server = await startTestApp();
    server.db.sqlite.run("DELETE FROM workers");
    const page = await html(server, "/workers");
    expect(page.status).toBe(200);
    expect(page.text).toContain("No workers yet");
    expect(page.text).toContain("agentvine worker --server URL --token KEY");
  });

  test("a card shows the task its worker runs, linked", async () => {
    const server = await startTestServer();
    const res = await server.api("/tasks", json({ title: "long sleeper", task_type: "test_sleep", params: { ms: 60_000 } }));
    const task = (await res.json()) as TaskJson;
    const local = localId(server);
    await until(server.services.deps.bus, ["execution:started"], () =>
      server.db.sqlite.query("SELECT 1 FROM work_orders WHERE task_id = ? AND status = 'claimed'").get(task.id),
    );
    const page = await html(server, "/workers?worker_type=local");
    expect(page.text).toContain(`href="/tasks/${task.id}" data-running-task="${task.id}"`);
    expect(page.text).toContain("long sleeper");
    expect(page.text).toContain('data-worker-status="busy"');
    const detail = await html(server, `/workers/${local}`);
    expect(detail.text).toContain(`data-running-task="${task.id}"`);
  });
});

describe("GET /workers/:id", () => {
  test("configuration, capabilities, CPU and memory sparklines after heartbeats, recent executions", async () => {
    const server = await startTestServer();
    const key = workerKey(server);
    const w = await register(server, key, {
      name: "builder",
      version: "9.9.9",
      capabilities: ["git", "node"],
      max_concurrent_tasks: 4,
      timeout_seconds: 900,
      context_window_size: 200_000,
      config: { model: HOSTILE },
    });
    const before = await html(server, `/workers/${w.id}`);
    expect(before.status).toBe(200);
    expect(before.text).toContain("<title>builder · AgentVine</title>");
    expect(before.text).toContain("9.9.9");
    expect(before.text).toContain('<span data-max-concurrent="">4</span>');
    expect(before.text).toContain("15 min 0 s");
    expect(before.text).toContain("200,000");
    expect(before.text).toContain('data-capability="git"');
    expect(before.text).toContain("&quot;model&quot;"); // the config JSON, escaped
    expect(before.text).not.toContain(HOSTILE);
    expect(before.text).not.toContain('<svg viewBox="0 0 240 48"');

    for (const cpu of [10, 40, 25]) await heartbeat(server, key, w.id, { cpu_percent: cpu, memory_bytes: 512 * 1024 * 1024, load: 0.5 });
    const after = await html(server, `/workers/${w.id}`);
    expect(after.text).toMatch(/data-chart="cpu"[\s\S]*?<svg[^>]*aria-label="CPU over the last 3 heartbeats, latest 25 %"/);
    expect(after.text).toMatch(/data-chart="memory"[\s\S]*?<svg[^>]*aria-label="Memory over the last 3 heartbeats, latest 512 MB"/);

    // The local worker's executions: a task the server's threads ran.
    const t = (await (await server.api("/tasks", json({ title: "ran here", task_type: "hello", params: { name: "x" } }))).json()) as TaskJson;
    await server.api(`/tasks/${t.id}/wait?timeout=20`);
    const local = await html(server, `/workers/${localId(server)}`);
    expect(local.text).toContain(`href="/tasks/${t.id}?execution=`);
    expect(local.text).toContain("ran here");
    expect(local.text).toContain('data-status="succeeded"');
  });

  test("an unknown id is the 404 page", async () => {
    const server = await startTestApp();
    const res = await html(server, "/workers/no-such-worker");
    expect(res.status).toBe(404);
    expect(res.text).toContain("<!doctype html>");
    expect(res.text).toContain("no-such-worker");
  });
});

describe("POST /workers/:id/drain", () => {
  test("an admin drains a remote worker (confirmed); an operator is refused and sees no button", async () => {
    const server = await startTestApp();
    const w = await register(server, workerKey(server), { name: "drain me" });
    const operator = await userWithRole(server, server.token, "operator1", "operator");

    const asOperator = await html(server, `/workers/${w.id}`, bearer(operator.access_token));
    expect(asOperator.status).toBe(200);
    expect(asOperator.text).not.toContain('data-action="drain"');
    const refused = await server.get(`/workers/${w.id}/drain`, { ...drainPost(operator.access_token), redirect: "manual" });
    expect(refused.status).toBe(403);
    await refused.body?.cancel();
    expect(server.db.sqlite.query<{ draining: number }, [string]>("SELECT draining FROM workers WHERE id = ?").get(w.id)!.draining).toBe(0);

    const asAdmin = await html(server, `/workers/${w.id}`);
    expect(asAdmin.text).toContain('data-action="drain"');
    expect(asAdmin.text).toContain("running work returns to the queue");
    expect(asAdmin.text).toContain(`hx-post="/workers/${w.id}/drain"`);
    // The local threads are not drained from here.
    expect((await html(server, `/workers/${localId(server)}`)).text).not.toContain('data-action="drain"');

    const changed = new Promise((resolve) => server.services.deps.bus.on("worker:changed", (e) => e.workerId === w.id && e.draining && resolve(e)));
    const done = await server.get(`/workers/${w.id}/drain`, { ...drainPost(server.token), redirect: "manual" });
    expect(done.status).toBe(303);
    expect(done.headers.get("location")).toBe(`/workers/${w.id}`);
    await changed;
    expect(server.db.sqlite.query<{ draining: number }, [string]>("SELECT draining FROM workers WHERE id = ?").get(w.id)!.draining).toBe(1);
    const audit = server.db.sqlite.query("SELECT 1 FROM audit_events WHERE action = 'worker.drained'").get();
    expect(audit).toBeTruthy();

    const htmx = await html(server, `/workers/${w.id}/drain`, drainPost(server.token, true));
    expect(htmx.status).toBe(200);
    expect(htmx.text.startsWith('<div id="worker-main"')).toBe(true);
    expect(htmx.text).toContain('data-draining=""');
    expect(htmx.text).not.toContain('data-action="drain"');
  });
});

describe("live updates", () => {
  test("`workers` is sent when a worker registers", async () => {
    const server = await startTestServer();
    const { sse } = await openSse(`${server.url}/events?topics=workers`, { token: server.token });
    await register(server, workerKey(server), { name: "newcomer" });
    const frames = await sse.until((f) => f.event === "workers");
    expect(frames.at(-1)!.data).toBe("workers");
    await sse.close();
  });
});

describe("a queued task says why it is waiting", () => {
  test("no worker online, then none with the capability it requires; nothing once one could take it", async () => {
    const server = await startTestApp({ workers: 0 }); // the local worker has no slots
    const submit = async (requires: string[]) => {
      const res = await server.api("/tasks", json({ title: "waits", task_type: "hello", params: { name: "w" }, requires }));
      return ((await res.json()) as TaskJson).id;
    };
    const waiting = async (id: string) => /data-waiting-for="">\s*<strong>Waiting:<\/strong>\s*([^<]*)</.exec((await html(server, `/tasks/${id}`)).text)?.[1]?.trim() ?? null;

    const plain = await submit([]);
    expect(await waiting(plain)).toStartWith("No worker is online to run it");

    const key = workerKey(server);
    const worker = await register(server, key, { name: "builder", capabilities: ["git"] });
    await heartbeat(server, key, worker.id, {});
    const gpu = await submit(["gpu"]);
    const both = await submit(["git", "gpu"]);
    const git = await submit(["git"]);
    expect(await waiting(gpu)).toBe("No online worker has the capability gpu: it waits for one that does (agentvine worker --capabilities gpu).");
    expect(await waiting(both)).toStartWith("No online worker has all of the capabilities git, gpu");
    expect(await waiting(git)).toBeNull();
    expect(await waiting(plain)).toBeNull();

    // Drained, the worker no longer counts.
    expect((await server.api(`/workers/${worker.id}`, { method: "DELETE" })).status).toBe(200);
    expect(await waiting(git)).toStartWith("No online worker has the capability git");
  });
});

describe("removing a worker", () => {
  test("only once drained (or offline) and holding nothing; then it is gone from the registry, its executions stay", async () => {
    const server = await startTestApp({ workers: 0 });
    const key = workerKey(server);
    const worker = await register(server, key, { name: "retired", capabilities: ["git"] });
    const post = (path: string) =>
      server.get(path, { method: "POST", body: "", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded", "hx-request": "true" } });

    // A live idle worker: no Remove button, and the action is refused (it would register again).
    expect((await html(server, `/workers/${worker.id}`)).text).not.toContain('data-action="remove"');
    const refused = await post(`/workers/${worker.id}/remove`);
    expect(refused.status).toBe(409);
    expect(decodeURIComponent(refused.headers.get("hx-trigger") ?? "")).toContain("drain it");

    expect((await post(`/workers/${worker.id}/drain`)).status).toBe(200);
    expect((await html(server, `/workers/${worker.id}`)).text).toContain('data-action="remove"');
    const removed = await post(`/workers/${worker.id}/remove`);
    expect(removed.status).toBe(200);
    expect(removed.headers.get("hx-redirect") ?? removed.headers.get("hx-location") ?? "").toContain("/workers");
    expect((await html(server, `/workers/${worker.id}`)).status).toBe(404);
    expect(server.db.sqlite.query("SELECT count(*) AS n FROM worker_capabilities WHERE worker_id = ?").get(worker.id)).toEqual({ n: 0 });
    const audit = (await (await server.api(`/audit?resource=worker:${worker.id}`)).json()) as { items: Array<{ action: string }> };
    expect(audit.items.map((e) => e.action)).toEqual(["worker.removed", "worker.drained"]);
  });
});
