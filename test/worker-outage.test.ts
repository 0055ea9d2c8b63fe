// The server goes away while a remote worker runs its tasks, and comes back on the same address: the
// worker keeps running what it holds, retries with backoff, then delivers the outcomes it kept — and no
// task runs twice (each appends a mark to its own file; every file ends with exactly one).
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SYSTEM_ACTOR } from "../src/features/audit/service.ts";
import { createApiKey } from "../src/features/auth/api-keys.ts";
import { findUserByLogin } from "../src/features/auth/users.ts";
import { RemoteWorker } from "../src/remote-worker/remote-worker.ts";
import { cleanup, sharedDir, sharedTestDir, startTestServer, tempDir, until } from "./helpers.ts";

afterEach(cleanup);

const TASKS = 8;

describe("a remote worker through a server outage", () => {
  test("finished work is delivered once the server is back, nothing runs twice, the rest is claimed after", async () => {
    const dataDir = tempDir();
    const marks = sharedDir(); // the tasks write here from their sandbox
    const first = await startTestServer({ workers: 0, dataDir });
    const admin = findUserByLogin(first.services.auth, "admin")!;
    const { key } = createApiKey(first.services.auth, { name: "fleet", scope: "worker" }, { userId: admin.id, actor: SYSTEM_ACTOR });
    const ids: string[] = [];
    for (let i = 0; i < TASKS; i++) {
      const res = await first.api("/tasks", {
        method: "POST",
        // Long enough that the outage falls inside the first ones.
        body: JSON.stringify({ title: `mark ${i}`, task_type: "shell", params: { command: "sh", args: ["-c", 'sleep 0.3; printf x >> "$0"', join(marks, String(i))] } }),
      });
      expect(res.status).toBe(201);
      ids.push(((await res.json()) as { id: string }).id);
    }

    const worker = new RemoteWorker({ server: first.url, token: key, name: "survivor", concurrency: 2, stateDir: tempDir(), shutdownGraceMs: 5000, claimWaitSeconds: 2, sandboxWritable: [sharedTestDir()] });
    await worker.start();
    try {
      // Two tasks running on the worker: now the server goes away.
      await until(first.services.deps.bus, ["execution:started"], () =>
        first.db.sqlite.query<{ n: number }, []>("SELECT count(*) AS n FROM executions WHERE status = 'running'").get()!.n >= 2 || null,
      );
      await first.stop(0);

      // While it is down, the worker finishes what it holds (its files get their mark) and keeps the outcomes;
      // the server comes back on the same address and data dir.
      const second = await startTestServer({ workers: 0, dataDir, port: first.port });
      expect(second.url).toBe(first.url);

      const finished = async (id: string) => (await (await second.api(`/tasks/${id}/wait?timeout=60`)).json()) as { status: string };
      const statuses = await Promise.all(ids.map(finished));
      expect(statuses.map((t) => t.status)).toEqual(Array(TASKS).fill("succeeded"));
      // Each task ran once: one mark per file.
      for (let i = 0; i < TASKS; i++) expect({ i, marks: readFileSync(join(marks, String(i)), "utf8") }).toEqual({ i, marks: "x" });
      // One success per task. Any other attempt is a claim the outage cut off in transit — the worker never
      // got it, so it never ran — requeued at the worker's next heartbeat (not after its 30 s lease).
      const executions = second.db.sqlite.query<{ task_id: string; status: string; error: string | null }, []>("SELECT task_id, status, error FROM executions").all();
      const succeeded = executions.filter((e) => e.status === "succeeded");
      expect(new Set(succeeded.map((e) => e.task_id)).size).toBe(TASKS);
      expect(succeeded.length).toBe(TASKS);
      for (const e of executions.filter((x) => x.status !== "succeeded")) expect(e.error).toContain("never received this claim");
      expect(await worker.drain()).toBe(0);
      expect(worker.undelivered).toBe(0);
    } finally {
      await worker.drain();
    }
  }, 90_000);
});
