// Steering the queue over HTTP (admins): pause stops every claim — a remote worker's long-poll stays
// parked until resume wakes it, the server's own threads start nothing — purge cancels the work nobody
// began, bulk actions cancel / retry / delete many tasks; each is audited and bad input is a 400.
import { afterEach, describe, expect, test } from "bun:test";
import { bearer, expectOk, userWithRole } from "../../../test/auth.ts";
import { cleanup, json, startTestApp, startTestServer, type TestServer } from "../../../test/helpers.ts";
import type { TaskJson } from "../../engine/task-record.ts";
import { SYSTEM_ACTOR } from "../audit/service.ts";
import { createApiKey } from "../auth/api-keys.ts";
import { findUserByLogin } from "../auth/users.ts";

afterEach(cleanup);

async function submit(server: TestServer, body: Record<string, unknown> = {}): Promise<TaskJson> {
  return expectOk(await server.api("/tasks", json({ title: "t", task_type: "hello", params: { name: "q" }, ...body })), 201);
}
const statusOf = (server: TestServer, id: string) => server.db.sqlite.query<{ status: string }, [string]>("SELECT status FROM tasks WHERE id = ?").get(id)?.status;
const audit = (server: TestServer) =>
  server.db.sqlite.query<{ action: string; details: string | null }, []>("SELECT action, details FROM audit_events WHERE action LIKE 'queue.%' ORDER BY id").all();

async function remoteWorker(server: TestServer, name: string) {
  const admin = findUserByLogin(server.services.auth, "admin")!;
  const key = createApiKey(server.services.auth, { name, scope: "worker" }, { userId: admin.id, actor: SYSTEM_ACTOR }).key;
  const worker = await expectOk(await server.api("/workers", bearer(key, json({ name }))), 201);
  return { claim: (wait = 0) => server.api("/queue/claim", bearer(key, json({ worker_id: worker.id, wait_seconds: wait }))) };
}

describe("pause and resume", () => {
  test("paused, nothing is claimed; a parked long-poll is answered with the work once resumed; both audited, the status says so", async () => {
    const server = await startTestApp({ workers: 0 });
    const w = await remoteWorker(server, "remote-1");
    const paused = await expectOk(await server.api("/queue/pause", { method: "POST" }));
    expect(paused.changed).toBe(true);
    expect(paused.paused.paused_by).toBe(findUserByLogin(server.services.auth, "admin")!.id);
    expect((await expectOk(await server.api("/queue/pause", { method: "POST" }))).changed).toBe(false);

    const task = await submit(server);
    expect((await w.claim()).status).toBe(204);
    const status = await expectOk(await server.api("/queue/status"));
    expect(status.paused).toMatchObject({ paused_at: expect.any(String) });
    expect(status.totals.queued).toBe(1);

    // A long-poll parked while paused gets the task the moment the queue resumes.
    const parked = w.claim(20);
    const resumed = await expectOk(await server.api("/queue/resume", { method: "POST" }));
    expect(resumed).toEqual({ paused: null, changed: true });
    const res = await parked;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { items: Array<{ task_id: string }> }).items.map((i) => i.task_id)).toEqual([task.id]);
    expect(audit(server).map((a) => a.action)).toEqual(["queue.paused", "queue.resumed"]);
  });

  test("the server's own threads start nothing while paused, and run the queue on resume", async () => {
    const server = await startTestServer({ workers: 1 });
    await expectOk(await server.api("/queue/pause", { method: "POST" }));
    const task = await submit(server);
    // The thread was told about the task (queue:ready) and tried: the claim found nothing to take.
    expect(statusOf(server, task.id)).toBe("queued");
    await expectOk(await server.api("/queue/resume", { method: "POST" }));
    const done = (await (await server.api(`/tasks/${task.id}/wait?timeout=20`)).json()) as TaskJson;
    expect(done.status).toBe("succeeded");
  });

  test("only admins: an operator gets 403 and the queue keeps running", async () => {
    const server = await startTestApp({ workers: 0 });
    const { access_token } = await userWithRole(server, server.token, "olga", "operator");
    for (const op of ["pause", "resume", "purge"]) expect((await server.api(`/queue/${op}`, bearer(access_token, { method: "POST" }))).status).toBe(403);
    expect((await expectOk(await server.api("/queue/status"))).paused).toBeNull();
  });
});

describe("purge", () => {
  test("cancels what waits to start — by queue or type, pending ones only when asked — and leaves the rest; audited with the count", async () => {
    const server = await startTestApp({ workers: 0 });
    const high = await submit(server, { priority: "high" });
    const normal = await submit(server);
    const dependency = await submit(server, { requires: ["gpu"] });
    const pending = await submit(server, { depends_on: [dependency.id] });

    expect(await expectOk(await server.api("/queue/purge", json({ queue: "high_priority" })))).toEqual({ cancelled: 1 });
    expect(statusOf(server, high.id)).toBe("cancelled");
    expect(statusOf(server, normal.id)).toBe("queued");

    expect(await expectOk(await server.api("/queue/purge", { method: "POST" }))).toEqual({ cancelled: 2 });
    expect(statusOf(server, normal.id)).toBe("cancelled");
    expect(statusOf(server, dependency.id)).toBe("cancelled");
    // Its dependency was cancelled: the pending task failed with it (not purged, not left waiting).
    expect(statusOf(server, pending.id)).toBe("failed");

    const parked = await submit(server, { requires: ["gpu"] });
    const blocked = await submit(server, { depends_on: [parked.id], task_type: "hello" });
    expect(await expectOk(await server.api("/queue/purge", json({ include_pending: true, task_type: "hello" })))).toEqual({ cancelled: 2 });
    expect(statusOf(server, blocked.id)).toBe("cancelled");
    expect(audit(server).map((a) => [a.action, JSON.parse(a.details!).cancelled])).toEqual([
      ["queue.purged", 1],
      ["queue.purged", 2],
      ["queue.purged", 2],
    ]);
    const bad = await server.api("/queue/purge", json({ queue: "urgent" }));
    expect(bad.status).toBe(400);
  });
});

describe("POST /tasks/bulk", () => {
  test("cancel the tasks named; those their state does not allow are skipped with the reason", async () => {
    const server = await startTestApp({ workers: 0 });
    const a = await submit(server, { requires: ["gpu"] });
    const b = await submit(server, { requires: ["gpu"] });
    await server.api(`/tasks/${b.id}/cancel`, { method: "POST" });
    const result = await expectOk(await server.api("/tasks/bulk", json({ action: "cancel", ids: [a.id, b.id, "nope"] })));
    expect(result).toMatchObject({ action: "cancel", matched: 3, done: 1, skipped_total: 2 });
    expect(result.skipped.map((s: { id: string }) => s.id)).toEqual([b.id, "nope"]);
    expect(result.skipped[0].reason).toContain("already cancelled");
    expect(statusOf(server, a.id)).toBe("cancelled");
    const audited = server.db.sqlite.query<{ n: number }, []>("SELECT count(*) AS n FROM audit_events WHERE action = 'task.cancelled'").get()!.n;
    expect(audited).toBe(2); // b's own cancel, and a's in the bulk action
  });

  test("retry all failed (a filter), then delete them; the filter is read once, so nothing is retried twice", async () => {
    const server = await startTestServer({ workers: 1 });
    const failing = await Promise.all([1, 2, 3].map((i) => submit(server, { title: `fails ${i}`, task_type: "shell", params: { command: "exit 3", shell: true } })));
    const failedIds = failing.map((t) => t.id);
    const fine = await submit(server);
    const wait = async (id: string) => ((await (await server.api(`/tasks/${id}/wait?timeout=20`)).json()) as TaskJson).status;
    for (const id of failedIds) expect(await wait(id)).toBe("failed");
    expect(await wait(fine.id)).toBe("succeeded");

    const retried = await expectOk(await server.api("/tasks/bulk", json({ action: "retry", filter: { status: ["failed"] } })));
    expect(retried).toMatchObject({ matched: failedIds.length, done: failedIds.length, skipped_total: 0 });
    for (const id of failedIds) expect(await wait(id)).toBe("failed"); // ran again, failed again
    const attempts = server.db.sqlite.query<{ attempts: number }, [string]>("SELECT attempts FROM tasks WHERE id = ?").get(failedIds[0]!)!.attempts;
    expect(attempts).toBe(2);

    const deleted = await expectOk(await server.api("/tasks/bulk", json({ action: "delete", filter: { status: ["failed"] } })));
    expect(deleted.done).toBe(failedIds.length);
    for (const id of failedIds) expect(statusOf(server, id)).toBeUndefined();
    expect(statusOf(server, fine.id)).toBe("succeeded");
  });

  test("bad bodies are 400s naming the problem", async () => {
    const server = await startTestApp({ workers: 0 });
    for (const [body, field] of [
      [{ action: "cancel" }, "ids"],
      [{ action: "cancel", ids: ["a"], filter: { status: ["failed"] } }, "ids"],
      [{ action: "explode", ids: ["a"] }, "action"],
      [{ action: "retry", filter: { status: ["broken"] } }, "filter.status.0"],
      [{ action: "retry", ids: [] }, "ids"],
    ] as const) {
      const res = await server.api("/tasks/bulk", json(body));
      expect(res.status).toBe(400);
      const err = (await res.json()) as { error: { details: Array<{ field: string }> } };
      expect(err.error.details.map((d) => d.field)).toContain(field);
    }
  });
});

test("a viewer may not bulk-act", async () => {
  const server = await startTestApp({ workers: 0 });
  const { access_token } = await userWithRole(server, server.token, "vic", "viewer");
  const res = await server.api("/tasks/bulk", bearer(access_token, json({ action: "cancel", ids: ["x"] })));
  expect(res.status).toBe(403);
});
