// The worker loop against the real server (its queue and worker endpoints).
import { afterEach, describe, expect, test } from "bun:test";
import { cleanup, startTestServer, tempDir } from "../../test/helpers.ts";
import { SYSTEM_ACTOR } from "../features/audit/service.ts";
import { createApiKey } from "../features/auth/api-keys.ts";
import { findUserByLogin } from "../features/auth/users.ts";
import { RemoteWorker } from "./remote.ts";
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
