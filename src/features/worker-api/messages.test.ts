// Messages reach running tasks: a `task:message` (what the chat emits when a person writes to a running
// task) is delivered into the task's thread — on the server's own threads, and on a remote worker over
// POST /queue/messages — in order, each once.
import { afterEach, describe, expect, test } from "bun:test";
import { cleanup, json, startTestServer, tempDir, TEST_THREAD_URL, until, type TestServer } from "../../../test/helpers.ts";
import { RemoteWorker } from "../../remote-worker/remote-worker.ts";
import { SYSTEM_ACTOR } from "../audit/service.ts";
import { createApiKey } from "../auth/api-keys.ts";
import { findUserByLogin } from "../auth/users.ts";

afterEach(cleanup);

/** Resolves once the task's log has a line `text` (after each appended line). */
const logged = (server: TestServer, taskId: string, text: string) =>
  until(server.services.deps.bus, ["log:appended"], () => {
    server.services.logger.flush();
    return server.db.sqlite
      .query<{ n: number }, [string, string]>("SELECT count(*) AS n FROM execution_logs l JOIN executions e ON e.id = l.execution_id WHERE e.task_id = ? AND l.message = ?")
      .get(taskId, text)!.n > 0;
  });

async function steer(server: TestServer) {
  const res = await server.api("/tasks", json({ title: "listener", task_type: "test_echo_messages", params: {} }));
  const task = (await res.json()) as { id: string };
  await logged(server, task.id, "listening for messages");
  const send = (text: string, i: number) =>
    server.services.deps.bus.emit("task:message", { taskId: task.id, messageId: `m${i}`, senderType: "human", senderId: null, sender: "admin", text, at: Date.now() });
  ["turn left", "now right", "done"].forEach(send);
  const done = await (await server.api(`/tasks/${task.id}/wait?timeout=20`)).json();
  expect(done.status).toBe("succeeded");
  expect(done.result.messages).toEqual(["turn left", "now right", "done"]);
  expect(await logged(server, task.id, "echo: now right")).toBe(true);
}

describe("messages to a running task", () => {
  test("on the server's own threads", async () => {
    await steer(await startTestServer());
  });

  test("on a remote worker, over POST /queue/messages", async () => {
    const server = await startTestServer({ workers: 0 });
    const admin = findUserByLogin(server.services.auth, "admin")!;
    const { key } = createApiKey(server.services.auth, { name: "remote", scope: "worker" }, { userId: admin.id, actor: SYSTEM_ACTOR });
    const worker = new RemoteWorker({ server: server.url, token: key, name: "steered", concurrency: 1, stateDir: tempDir(), shutdownGraceMs: 5000, claimWaitSeconds: 5, threadUrl: TEST_THREAD_URL });
    await worker.start();
    try {
      await steer(server);
    } finally {
      await worker.drain();
    }
  });
});
