// The workers registry over HTTP: register/resume, list and filter, heartbeat, derived status and its
// events, drain, and who may do which — on a real server whose clock the tests move.
import { afterEach, describe, expect, test } from "bun:test";
import { claimTasks } from "../../engine/attempts.ts";
import { SYSTEM_ACTOR } from "../audit/service.ts";
import { createApiKey, revokeApiKey } from "../auth/api-keys.ts";
import { createUser } from "../auth/users.ts";
import { localWorkerId } from "../../server.ts";
import { bearer, errorOf, expectOk, send } from "../../../test/auth.ts";
import { cleanup, json, startTestApp, TEST_PASSWORD, waitFor, type TestServer } from "../../../test/helpers.ts";
import { releaseExpiredLeases } from "../../queue/work-orders.ts";
import { getWorkOrder } from "../../../test/work-order-rows.ts";
import { announce, CLAIM_IN_FLIGHT_MS, OFFLINE_AFTER_MS, REMOTE_LEASE_MS } from "./service.ts";

afterEach(cleanup);

const T0 = Date.parse("2026-03-01T12:00:00Z");

async function setup(overrides: { capabilities?: string[] } = {}) {
  let now = T0;
  const server = await startTestApp({ workers: 0, clock: () => now, ...overrides });
  const auth = server.services.auth;
  const admin = auth.db.sqlite.query<{ id: string }, []>("SELECT id FROM users WHERE username = 'admin'").get()!;
  const workerKey = createApiKey(auth, { name: "runner", scope: "worker", capabilities: ["git", "gpu", "node", "shell", "Has Space"], max_concurrent_tasks: 64 }, { userId: admin.id, actor: SYSTEM_ACTOR });
  const asWorker = (path: string, init: RequestInit = {}) => server.api(path, bearer(workerKey.key, init));
  return {
    server,
    workerKey,
    asWorker,
    advance: (ms: number) => (now += ms),
    registry: { ...server.services.deps, clock: () => now },
  };
}

const registration = (overrides: Record<string, unknown> = {}) => ({
  name: "ci-runner-1",
  hostname: "box-1",
  version: "0.9.0",
  capabilities: ["node", "git"],
  max_concurrent_tasks: 4,
  timeout_seconds: 600,
  context_window_size: 200000,
  config: { region: "eu" },
  ...overrides,
});

async function submitHello(server: TestServer): Promise<string> {
  const task = await expectOk(await server.api("/tasks", json({ title: "greet", task_type: "hello", params: { name: "w" } })), 201);
  return task.id;
}

describe("workers registry", () => {
  test("a worker key registers; list and get show it with capabilities as rows; registering again resumes the id", async () => {
    const { server, asWorker, workerKey } = await setup();
    const announced = waitFor(server.services.deps.bus, "worker:changed", (e) => e.status === "idle" && e.previous === null && e.workerId !== localWorkerId());
    const res = await asWorker("/workers", json(registration()));
    const worker = await expectOk(res, 201);
    expect(res.headers.get("location")).toBe(`/api/v1/workers/${worker.id}`);
    expect(worker).toMatchObject({
      name: "ci-runner-1",
      worker_type: "remote",
      status: "idle",
      draining: false,
      capabilities: ["git", "node"],
      max_concurrent_tasks: 4,
      timeout_seconds: 600,
      context_window_size: 200000,
      config: { region: "eu" },
      registered_by: workerKey.id,
      last_heartbeat_at: new Date(T0).toISOString(),
    });
    expect((await announced).workerId).toBe(worker.id);
    const rows = server.db.sqlite.query("SELECT capability FROM worker_capabilities WHERE worker_id = ? ORDER BY capability").all(worker.id);
    expect(rows).toEqual([{ capability: "git" }, { capability: "node" }]);

    expect(await expectOk(await server.api(`/workers/${worker.id}`))).toMatchObject({ id: worker.id, capabilities: ["git", "node"] });
    await expectOk(await asWorker("/workers", json(registration({ name: "gpu-box", capabilities: ["gpu", "git"] }))), 201);
    const withNode = await expectOk(await server.api("/workers?capability=node"));
    expect(withNode.items.map((w: any) => w.name)).toEqual(["ci-runner-1"]);
    const withGit = await expectOk(await server.api("/workers?capability=git&worker_type=remote"));
    expect(withGit.items.map((w: any) => w.name).sort()).toEqual(["ci-runner-1", "gpu-box"]);
    expect((await expectOk(await server.api("/workers?capability=gpu,node"))).total).toBe(0);

    // Same name again (a restarted worker): same id, 200, new capabilities replace the old.
    const again = await asWorker("/workers", json(registration({ capabilities: ["node"], max_concurrent_tasks: 2 })));
    expect(await expectOk(again, 200)).toMatchObject({ id: worker.id, capabilities: ["node"], max_concurrent_tasks: 2 });
    expect((await expectOk(await server.api("/workers?capability=git"))).items.map((w: any) => w.name)).toEqual(["gpu-box"]);
  });

  test("another worker key cannot take over a name or heartbeat someone else's worker", async () => {
    const { server, asWorker } = await setup();
    const worker = await expectOk(await asWorker("/workers", json(registration())), 201);
    const admin = server.services.auth.db.sqlite.query<{ id: string }, []>("SELECT id FROM users WHERE username = 'admin'").get()!;
    const other = createApiKey(server.services.auth, { name: "other", scope: "worker", capabilities: ["git", "gpu", "node", "shell", "Has Space"], max_concurrent_tasks: 64 }, { userId: admin.id, actor: SYSTEM_ACTOR }).key;
    const taken = await server.api("/workers", bearer(other, json(registration())));
    expect(await errorOf(taken)).toMatchObject({ status: 409, code: "conflict" });
    const beat = await server.api(`/workers/${worker.id}/heartbeat`, bearer(other, json({})));
    expect(beat.status).toBe(403);
  });

  test("a name whose key was revoked can be taken over by another worker key (key rotation)", async () => {
    const { server, asWorker, workerKey } = await setup();
    const worker = await expectOk(await asWorker("/workers", json(registration())), 201);
    const admin = server.services.auth.db.sqlite.query<{ id: string }, []>("SELECT id FROM users WHERE username = 'admin'").get()!;
    const rotated = createApiKey(server.services.auth, { name: "runner, rotated", scope: "worker", capabilities: ["git", "gpu", "node", "shell", "Has Space"], max_concurrent_tasks: 64 }, { userId: admin.id, actor: SYSTEM_ACTOR });
    expect((await server.api("/workers", bearer(rotated.key, json(registration())))).status).toBe(409);
    revokeApiKey(server.services.auth, workerKey.id, SYSTEM_ACTOR);
    const taken = await expectOk(await server.api("/workers", bearer(rotated.key, json(registration()))), 200);
    expect(taken).toMatchObject({ id: worker.id, registered_by: rotated.id });
    await expectOk(await server.api(`/workers/${worker.id}/heartbeat`, bearer(rotated.key, json({}))));
  });

  test("two running processes cannot share a name: another instance is refused while the first is online, and cannot release its work", async () => {
    const { server, asWorker, advance } = await setup();
    const first = await expectOk(await asWorker("/workers", json(registration({ instance_id: "proc-1" }))), 201);
    expect(first.instance_id).toBe("proc-1");
    expect(first.config).toEqual({ region: "eu" });
    await submitHello(server);
    const [item] = await expectOk(await asWorker("/queue/claim", json({ worker_id: first.id }))).then((b: any) => b.items);

    const second = await asWorker("/workers", json(registration({ instance_id: "proc-2", max_concurrent_tasks: 1 })));
    const refused = await errorOf(second);
    expect(refused).toMatchObject({ status: 409, code: "conflict" });
    expect(refused.message).toContain("'ci-runner-1'");
    expect(refused.message).toContain("another --name");
    // Nothing of the second registration was kept, and a heartbeat naming it is refused too.
    expect(await expectOk(await server.api(`/workers/${first.id}`))).toMatchObject({ max_concurrent_tasks: 4, instance_id: "proc-1" });
    // The claim is old enough that a heartbeat of this worker not listing it would requeue it.
    server.db.sqlite.query("UPDATE work_orders SET claimed_at = ? WHERE id = ?").run(T0, item.work_order_id);
    advance(CLAIM_IN_FLIGHT_MS + 1);
    const beat = await asWorker(`/workers/${first.id}/heartbeat`, json({ instance_id: "proc-2", running_work_order_ids: [] }));
    expect(beat.status).toBe(409);
    expect(getWorkOrder(server.db, item.work_order_id)).toMatchObject({ status: "claimed", claimed_by: first.id });
    await expectOk(await asWorker(`/workers/${first.id}/heartbeat`, json({ instance_id: "proc-1", running_work_order_ids: [item.work_order_id] })));

    // The same instance registering again (after a 404, say) resumes; once it went offline, another may take the name.
    await expectOk(await asWorker("/workers", json(registration({ instance_id: "proc-1" }))), 200);
    advance(OFFLINE_AFTER_MS + 1);
    expect(await expectOk(await asWorker("/workers", json(registration({ instance_id: "proc-2" }))), 200)).toMatchObject({ id: first.id, instance_id: "proc-2" });
  });

  test("heartbeat stores load, CPU, memory and running work; status idle → busy → offline, each change an event", async () => {
    const { server, asWorker, advance, registry } = await setup();
    const bus = server.services.deps.bus;
    const worker = await expectOk(await asWorker("/workers", json(registration())), 201);

    advance(4_000);
    const beat = await expectOk(
      await asWorker(`/workers/${worker.id}/heartbeat`, json({ load: 1.5, cpu_percent: 37.5, memory_bytes: 123456789, running_work_order_ids: [] })),
    );
    expect(beat.last_heartbeat_at).toBe(new Date(T0 + 4_000).toISOString());
    expect(beat.last_load).toEqual({ load: 1.5, cpu_percent: 37.5, memory_bytes: 123456789, running_work_order_ids: [] });
    expect(beat.status).toBe("idle");

    // Holding a claimed work order makes it busy, announced when the claim starts the execution.
    const taskId = await submitHello(server);
    const busy = waitFor(bus, "worker:changed", (e) => e.workerId === worker.id && e.status === "busy");
    const [claim] = claimTasks(server.services.deps, { workerId: worker.id, limit: 1 });
    expect(claim!.taskId).toBe(taskId);
    expect(await busy).toMatchObject({ previous: "idle", draining: false });
    const got = await expectOk(await server.api(`/workers/${worker.id}`));
    expect(got).toMatchObject({ status: "busy", claimed_work_orders: 1 });
    expect((await expectOk(await server.api("/workers?status=busy"))).items.map((w: any) => w.id)).toEqual([worker.id]);

    // Three missed heartbeats (15 s) later it is offline, whatever it holds.
    advance(OFFLINE_AFTER_MS - 1);
    expect((await expectOk(await server.api(`/workers/${worker.id}`))).status).toBe("busy");
    advance(2);
    expect((await expectOk(await server.api(`/workers/${worker.id}`))).status).toBe("offline");
    const offline = waitFor(bus, "worker:changed", (e) => e.workerId === worker.id && e.status === "offline");
    announce(registry); // the server's periodic pass, run once
    expect(await offline).toMatchObject({ previous: "busy" });
    expect((await expectOk(await server.api("/workers?status=offline&worker_type=remote"))).items.map((w: any) => w.id)).toEqual([worker.id]);

    // A heartbeat brings it back.
    const back = waitFor(bus, "worker:changed", (e) => e.workerId === worker.id && e.status === "busy");
    await expectOk(await asWorker(`/workers/${worker.id}/heartbeat`, json({ running_work_order_ids: [claim!.workOrderId] })));
    expect(await back).toMatchObject({ previous: "offline" });
  });

  test("heartbeats keep a long task's lease; once they stop, the lease runs out, the order is requeued and a late heartbeat hears it is lost", async () => {
    const { server, asWorker, advance, registry } = await setup();
    const worker = await expectOk(await asWorker("/workers", json(registration())), 201);
    const taskId = await submitHello(server);
    // The task was queued by the real clock: move the test clock past it first.
    const base = advance(Date.now() - T0 + 1_000);
    const [claim] = claimTasks(registry, { workerId: worker.id, limit: 1, leaseMs: REMOTE_LEASE_MS });
    expect(claim!.taskId).toBe(taskId);
    const leaseUntil = () => getWorkOrder(server.services.deps.db, claim!.workOrderId)!.lease_until;

    // A task running for 3 minutes: a heartbeat every 5 s keeps its lease 30 s ahead, and the reaper leaves it alone.
    for (let t = 5_000; t <= 180_000; t += 5_000) {
      advance(5_000);
      const beat = await expectOk(await asWorker(`/workers/${worker.id}/heartbeat`, json({ running_work_order_ids: [claim!.workOrderId] })));
      expect({ t, extended: beat.extended, lost: beat.lost }).toEqual({ t, extended: [claim!.workOrderId], lost: [] });
      expect(releaseExpiredLeases(server.services.deps.db, base + t)).toEqual([]);
    }
    expect(leaseUntil()).toBe(base + 180_000 + REMOTE_LEASE_MS);

    // The worker goes silent (kill -9): when the lease runs out the order goes back to the queue…
    advance(REMOTE_LEASE_MS);
    expect(releaseExpiredLeases(server.services.deps.db, base + 180_000 + REMOTE_LEASE_MS).map((r) => r.id)).toEqual([claim!.workOrderId]);
    expect(getWorkOrder(server.services.deps.db, claim!.workOrderId)!.status).toBe("queued");
    // …and if it was only a network cut, its next heartbeat says the order is lost: stop it.
    const late = await expectOk(await asWorker(`/workers/${worker.id}/heartbeat`, json({ running_work_order_ids: [claim!.workOrderId] })));
    expect(late).toMatchObject({ extended: [], lost: [claim!.workOrderId] });
  });

  test("a claim whose answer never reached the worker goes back to the queue at the first heartbeat that does not list it", async () => {
    const { server, asWorker, advance, registry } = await setup();
    const worker = await expectOk(await asWorker("/workers", json(registration())), 201);
    await submitHello(server);
    advance(Date.now() - T0 + 1_000); // past the real clock that queued the task
    const [claim] = claimTasks(registry, { workerId: worker.id, limit: 1, leaseMs: REMOTE_LEASE_MS });
    const order = () => getWorkOrder(server.services.deps.db, claim!.workOrderId)!;

    // Claimed a moment ago: the answer may still be on its way, so an empty list proves nothing yet.
    advance(CLAIM_IN_FLIGHT_MS - 1);
    await expectOk(await asWorker(`/workers/${worker.id}/heartbeat`, json({ running_work_order_ids: [] })));
    expect(order().status).toBe("claimed");
    // Later, a heartbeat that still does not list it: the worker never got it — requeued now, not in 30 s.
    advance(1);
    await expectOk(await asWorker(`/workers/${worker.id}/heartbeat`, json({ running_work_order_ids: [] })));
    expect(order()).toMatchObject({ status: "queued", lease_token: null });
    const execution = server.services.deps.db.sqlite.query<{ status: string; error: string }, [string]>("SELECT status, error FROM executions WHERE id = ?").get(claim!.executionId)!;
    expect(execution.status).not.toBe("running");
    expect(execution.error).toContain("never received this claim");
  });

  test("the server's own threads are listed as the local worker, with the configured capabilities", async () => {
    const { server } = await setup({ capabilities: ["git", "shell"] });
    const list = await expectOk(await server.api("/workers?worker_type=local"));
    expect(list.total).toBe(1);
    expect(list.items[0]).toMatchObject({ id: localWorkerId(), worker_type: "local", status: "idle", capabilities: ["git", "shell"], max_concurrent_tasks: 0 });
    expect(list.items[0].last_heartbeat_at).toBe(new Date(T0).toISOString());
  });

  test("DELETE drains: the worker is marked draining and the work it holds goes back to the queue", async () => {
    const { server, asWorker } = await setup();
    const worker = await expectOk(await asWorker("/workers", json(registration())), 201);
    const taskId = await submitHello(server);
    claimTasks(server.services.deps, { workerId: worker.id, limit: 1 });
    expect((await expectOk(await server.api(`/tasks/${taskId}`))).status).toBe("running");

    const drained = waitFor(server.services.deps.bus, "worker:changed", (e) => e.workerId === worker.id && e.draining);
    const res = await expectOk(await server.api(`/workers/${worker.id}`, send("DELETE")));
    expect(res).toMatchObject({ released: 1, worker: { id: worker.id, draining: true, status: "idle", claimed_work_orders: 0 } });
    expect(await drained).toMatchObject({ status: "idle" });
    expect((await expectOk(await server.api(`/tasks/${taskId}`))).status).toBe("queued");
    const order = server.db.sqlite.query("SELECT status, lease_token FROM work_orders WHERE task_id = ?").get(taskId);
    expect(order).toEqual({ status: "queued", lease_token: null });
    const audit = server.db.sqlite.query("SELECT action, resource_id FROM audit_events WHERE action = 'worker.drained'").all();
    expect(audit).toEqual([{ action: "worker.drained", resource_id: worker.id }]);

    // The worker key may not drain; the local worker cannot be drained; an unknown id is a 404.
    expect((await asWorker(`/workers/${worker.id}`, send("DELETE"))).status).toBe(403);
    expect(await errorOf(await server.api(`/workers/${localWorkerId()}`, send("DELETE")))).toMatchObject({ status: 409 });
    expect((await server.api("/workers/nope", send("DELETE"))).status).toBe(404);

    // Registering again resumes it: no longer draining.
    expect(await expectOk(await asWorker("/workers", json(registration())), 200)).toMatchObject({ id: worker.id, draining: false });
  });

  test("a viewer can list but not register; a worker key cannot list workers or tasks", async () => {
    const { server, asWorker } = await setup();
    const viewer = await createUser(server.services.auth, { username: "vera", password: TEST_PASSWORD, role: "viewer" }, SYSTEM_ACTOR);
    const viewerKey = createApiKey(server.services.auth, { name: "v", scope: "api" }, { userId: viewer.id, actor: SYSTEM_ACTOR }).key;
    expect((await server.api("/workers", bearer(viewerKey))).status).toBe(200);
    expect((await server.api("/workers", bearer(viewerKey, json(registration())))).status).toBe(403);
    expect((await asWorker("/tasks")).status).toBe(403);
    expect((await asWorker("/workers")).status).toBe(403);
    expect((await server.request(`/api/v1/workers`)).status).toBe(401);
  });

  test("bad input is a 400 naming the field", async () => {
    const { server, asWorker } = await setup();
    const cases: Array<[string, RequestInit, string]> = [
      ["/workers", json(registration({ name: "" })), "name"],
      ["/workers", json(registration({ capabilities: ["Has Space"] })), "capabilities"],
      ["/workers", json(registration({ max_concurrent_tasks: 0 })), "max_concurrent_tasks"],
      ["/workers", json(registration({ worker_type: "local" })), "worker_type"],
      ["/workers", json(registration({ config: "x" })), "config"],
    ];
    for (const [path, init, field] of cases) {
      const res = await asWorker(path, init);
      const body = (await res.json()) as { error: { code: string; details: Array<{ field: string }> } };
      expect({ path, field, status: res.status, code: body.error.code }).toEqual({ path, field, status: 400, code: "validation_failed" });
      expect(body.error.details.map((d) => d.field).join(" ")).toContain(field);
    }
    const worker = await expectOk(await asWorker("/workers", json(registration())), 201);
    const beat = await asWorker(`/workers/${worker.id}/heartbeat`, json({ cpu_percent: -1 }));
    expect(beat.status).toBe(400);
    expect(JSON.stringify(await beat.json())).toContain("cpu_percent");
    const query = await server.api("/workers?status=sleeping");
    expect(query.status).toBe(400);
    expect(JSON.stringify(await query.json())).toContain("status");
    expect((await asWorker("/workers/nope/heartbeat", json({}))).status).toBe(404);
  });
});
