// Open streams lose access with their principal: a task's event stream, an execution's log tail and
// a long-poll of a revoked API key end at once; the pages' /events stream of a deactivated user ends;
// the streams of everyone still allowed go on. Changes made behind the server's back (the CLI writes
// the database directly) end them at the next periodic check.
import { afterEach, describe, expect, test } from "bun:test";
import { SYSTEM_ACTOR } from "../src/features/audit/service.ts";
import { createApiKey } from "../src/features/auth/api-keys.ts";
import { bearer, errorOf, expectOk, PASSWORD, send } from "./auth.ts";
import { cleanup, json, startTestServer, TEST_PASSWORD, waitFor, type TestServer } from "./helpers.ts";
import { dataOf, openSse } from "./sse.ts";

afterEach(cleanup);

/** Well under the 15 s heartbeat: a stream that ends within this was ended by the change itself. */
const PROMPTLY_MS = 5_000;
/** The last frame of a stream whose access was withdrawn: the pages close their EventSource on it (sse-close="bye"). */
const BYE = { event: "bye", data: "access withdrawn" };

/** A viewer account and an `api` key acting as it. */
async function viewerWithKey(server: TestServer, username = "vera") {
  const user = await expectOk(await server.api("/users", json({ username, password: PASSWORD, role: "viewer" })), 201);
  const key = createApiKey(server.services.auth, { name: `${username}'s key`, scope: "api" }, { userId: user.id, actor: SYSTEM_ACTOR });
  return { user, key };
}

/** A task that keeps running (until cancelled), with its execution. */
async function runningTask(server: TestServer) {
  const started = waitFor(server.services.deps.bus, "execution:started");
  const task = await expectOk(await server.api("/tasks", json({ title: "sleeper", task_type: "test_sleep", params: { ms: 60_000 } })), 201);
  const execution = await started;
  expect(execution.taskId).toBe(task.id);
  return { task, executionId: execution.executionId };
}

/** Signs in through the login form as a browser does; the session cookie's `name=value`. */
async function signIn(server: TestServer, username: string): Promise<string> {
  const res = await fetch(`${server.url}/login`, {
    method: "POST",
    body: new URLSearchParams({ username, password: TEST_PASSWORD }).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", origin: server.url, "sec-fetch-site": "same-origin" },
    redirect: "manual",
  });
  expect(res.status).toBe(303);
  const line = res.headers.getSetCookie().find((c) => c.startsWith("agentvine_session="));
  return line!.split(";")[0]!;
}

describe("revoking an API key", () => {
  test("ends its open task event stream, log tail and long-poll at once; the admin's stream goes on", async () => {
    const server = await startTestServer();
    const { task, executionId } = await runningTask(server);
    const { key } = await viewerWithKey(server);

    // The long-poll first: the streams' round trips below give it time to be admitted and start waiting.
    const viewerWait = fetch(`${server.url}/api/v1/tasks/${task.id}/wait?timeout=300`, bearer(key.key, { signal: AbortSignal.timeout(PROMPTLY_MS * 2) }));
    const viewerEvents = await openSse(`${server.url}/api/v1/tasks/${task.id}/events`, { token: key.key });
    expect(dataOf((await viewerEvents.sse.next())!).id).toBe(task.id);
    const viewerLogs = await openSse(`${server.url}/api/v1/executions/${executionId}/logs`, { token: key.key });
    const adminEvents = await openSse(`${server.url}/api/v1/tasks/${task.id}/events`, { token: server.token });
    expect(dataOf((await adminEvents.sse.next())!).status).toBe("running");

    expect((await server.api(`/api-keys/${key.id}`, send("DELETE"))).status).toBe(204);

    expect(await viewerEvents.sse.rest(PROMPTLY_MS)).toEqual([BYE]); // told why, then closed: nothing else sent
    await viewerLogs.sse.rest(PROMPTLY_MS); // log lines of the running task may come first; then it ends
    // Refused while it waited (not at the door, which would say "Invalid or revoked API key").
    const waited = await viewerWait;
    expect(waited.status).toBe(401);
    expect((await errorOf(waited)).message).toContain("withdrawn while waiting");
    expect((await fetch(`${server.url}/api/v1/tasks/${task.id}/events`, bearer(key.key))).status).toBe(401); // the reconnect

    // The admin's stream is still open and still told of changes.
    await expectOk(await server.api(`/tasks/${task.id}/cancel`, { method: "POST" }));
    const frames = await adminEvents.sse.until((f) => f.event === "task" && dataOf(f).status === "cancelled", PROMPTLY_MS);
    expect(frames.at(-1)!.event).toBe("task");
    await adminEvents.sse.close();
  });

  test("revoking another key, or any other change, leaves a valid key's stream open", async () => {
    const server = await startTestServer();
    const { task } = await runningTask(server);
    const vera = await viewerWithKey(server, "vera");
    const otto = await viewerWithKey(server, "otto");
    const stream = await openSse(`${server.url}/api/v1/tasks/${task.id}/events`, { token: vera.key.key });
    await stream.sse.next();

    expect((await server.api(`/api-keys/${otto.key.id}`, send("DELETE"))).status).toBe(204);
    await expectOk(await server.api(`/users/${otto.user.id}`, send("PATCH", { is_active: false })));

    await expectOk(await server.api(`/tasks/${task.id}/cancel`, { method: "POST" }));
    await stream.sse.until((f) => f.event === "task" && dataOf(f).status === "cancelled", PROMPTLY_MS);
    await stream.sse.close();
  });

  test("revoked behind the server's back (the CLI), the stream ends at the next check", async () => {
    const server = await startTestServer({ authSettings: { cacheTtlMs: 100 } });
    server.services.auth.principals.streamRecheckMs = 100;
    const { task } = await runningTask(server);
    const { key } = await viewerWithKey(server);
    const stream = await openSse(`${server.url}/api/v1/tasks/${task.id}/events`, { token: key.key });
    await stream.sse.next();

    // What `agentvine apikey revoke` does from another process: the database only, no cache clear.
    server.db.sqlite.query("UPDATE api_keys SET revoked_at = ? WHERE id = ?").run(Date.now(), key.id);

    expect(await stream.sse.rest(PROMPTLY_MS)).toEqual([BYE]); // told why, then closed: nothing else sent
  });
});

describe("deactivating a user", () => {
  test("ends their open /events stream (the reconnect is sent to sign in); an admin's goes on", async () => {
    const server = await startTestServer();
    const user = await expectOk(await server.api("/users", json({ username: "vera", password: PASSWORD, role: "viewer" })), 201);
    const cookie = await signIn(server, "vera");
    const adminCookie = await signIn(server, "admin");

    const vera = await openSse(`${server.url}/events?topics=tasks,dashboard`, { headers: { cookie } });
    const admin = await openSse(`${server.url}/events?topics=tasks`, { headers: { cookie: adminCookie } });

    await expectOk(await server.api(`/users/${user.id}`, send("PATCH", { is_active: false })));

    expect(await vera.sse.rest(PROMPTLY_MS)).toEqual([BYE]); // told why, then closed: nothing else sent
    const again = await fetch(`${server.url}/events?topics=tasks,dashboard`, { headers: { cookie, accept: "text/event-stream" }, redirect: "manual" });
    expect(again.status).toBe(302);
    expect(again.headers.get("location")).toStartWith("/login");

    await expectOk(await server.api("/tasks", json({ title: "quick", task_type: "test_sleep", params: { ms: 0 } })), 201);
    expect((await admin.sse.until((f) => f.event === "tasks", PROMPTLY_MS)).at(-1)!.data).toBe("tasks");
    await admin.sse.close();
  });

  test("signing out ends the streams of that session only", async () => {
    const server = await startTestServer();
    await expectOk(await server.api("/users", json({ username: "vera", password: PASSWORD, role: "viewer" })), 201);
    const first = await signIn(server, "vera");
    const second = await signIn(server, "vera");
    const a = await openSse(`${server.url}/events?topics=tasks`, { headers: { cookie: first } });
    const b = await openSse(`${server.url}/events?topics=tasks`, { headers: { cookie: second } });

    const out = await fetch(`${server.url}/logout`, { method: "POST", headers: { cookie: first, origin: server.url, "sec-fetch-site": "same-origin" }, redirect: "manual" });
    expect(out.status).toBeLessThan(400);

    expect(await a.sse.rest(PROMPTLY_MS)).toEqual([BYE]); // told why, then closed: nothing else sent
    await expectOk(await server.api("/tasks", json({ title: "quick", task_type: "test_sleep", params: { ms: 0 } })), 201);
    await b.sse.until((f) => f.event === "tasks", PROMPTLY_MS);
    await b.sse.close();
  });
});
