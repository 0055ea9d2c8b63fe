// Issue 10, item 6: a full disk is said, not hidden — writes answer 507 insufficient_storage (nothing
// changed), /health reports it, an acknowledged task whose outcome cannot be written keeps it and writes it
// once there is room (it does not stay `running` for an hour), and log lines the disk refused are kept or
// counted and shown. On a real full file system: a small tmpfs (needs root to mount; skipped otherwise).
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, rmSync, rmdirSync, statfsSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectOk } from "./auth.ts";
import { AWAIT_GATE, gate } from "./gate.ts";
import { cleanup, json, startTestServer, until } from "./helpers.ts";

const mountPoint = mkdtempSync(join(tmpdir(), "agentvine-tmpfs-"));
let mounted = false;
beforeAll(() => {
  const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", mountPoint], { stderr: "pipe" });
  mounted = r.exitCode === 0;
  if (!mounted) console.warn(`[disk-full] SKIPPED: cannot mount a tmpfs here (${r.stderr.toString().trim() || `exit ${r.exitCode}`}); run as root to test a full disk`);
});
afterEach(cleanup);
afterAll(() => {
  if (mounted) Bun.spawnSync(["umount", "-l", mountPoint]);
  try {
    rmdirSync(mountPoint);
  } catch {
    // still busy: the lazy unmount frees it
  }
});

/** Fills the file system under `dir` to the last byte; returns the filler's path (remove it to free the space). */
function fill(dir: string): string {
  const path = join(dir, "filler");
  const fd = openSync(path, "w");
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (let size = chunk.length; size >= 1; ) {
      try {
        writeSync(fd, chunk, 0, size);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
        size = Math.floor(size / 2);
      }
    }
  } finally {
    closeSync(fd);
  }
  expect(statfsSync(dir).bavail).toBe(0);
  return path;
}

describe("a full disk", () => {
  test("507 for writes, /health says so, an accepted task's outcome is written once there is room, dropped log lines are counted", async () => {
    if (!mounted) return;
    const dataDir = mkdtempSync(join(mountPoint, "data-"));
    const server = await startTestServer({ dataDir, workers: 1 });
    const g = gate();
    // Accepted (201) and running before the disk fills; after the gate it prints 30,000 lines and succeeds.
    const running = await expectOk(await server.api("/tasks", json({ title: "finishes on a full disk", task_type: "shell", params: { command: `${AWAIT_GATE}; seq 1 30000`, shell: true, env: g.env } })), 201);
    const queued = await expectOk(await server.api("/tasks", json({ title: "waits", task_type: "hello", params: { name: "x" }, depends_on: [running.id] })), 201);
    const statusOf = (id: string) => server.db.sqlite.query<{ status: string }, [string]>("SELECT status FROM tasks WHERE id = ?").get(id)!.status;
    await until(server.services.deps.bus, ["task:changed"], () => statusOf(running.id) === "running");
    const filler = fill(mountPoint);

    // A write: 507 in the documented shape, not a 500; nothing stored.
    const before = server.db.sqlite.query<{ n: number }, []>("SELECT count(*) AS n FROM tasks").get()!.n;
    let refused: Response | null = null;
    // The WAL may still have room for a write or two: the first that needs more space is refused.
    for (let i = 0; i < 200 && (!refused || refused.status === 201); i++) refused = await server.api("/tasks", json({ title: `t${i}`, description: "y".repeat(8000), task_type: "hello", params: { name: "y" } }));
    expect(refused!.status).toBe(507);
    expect(refused!.headers.get("retry-after")).toBe("30");
    const body = (await refused!.json()) as { error: { code: string; message: string; details: unknown[] } };
    expect(body.error).toEqual({ code: "insufficient_storage", message: expect.stringContaining("The server's disk is full: nothing was changed"), details: [] });
    expect(server.db.sqlite.query<{ n: number }, []>("SELECT count(*) AS n FROM tasks").get()!.n).toBeGreaterThanOrEqual(before);
    // Cancel: was a 500. A small write may still fit in WAL pages SQLite already has; if not, it is a 507.
    const cancel = await server.api(`/tasks/${queued.id}/cancel`, { method: "POST" });
    expect([200, 507]).toContain(cancel.status);
    const cancelled = cancel.status === 200;

    // /health says the disk is full (was: ok).
    const health = await server.api("/health");
    expect(health.status).toBe(503);
    const checks = (await health.json()) as { status: string; checks: { disk: { status: string; free_bytes: number; message: string } } };
    expect(checks.status).toBe("degraded");
    expect(checks.checks.disk).toMatchObject({ status: "failing", free_bytes: 0, message: expect.stringContaining("writes answer 507 until there is room") });

    // The running task ends now. Whether its outcome fits (SQLite reuses WAL pages it already has) or
    // not, it is not thrown away: when the write is refused the task stays running, and is retried.
    const refusedOutcome = server.services.disk.whenFailed("recording task outcomes").then(() => "refused" as const);
    const finished = server.services.waiters.wait(running.id, 60_000).then(() => "finished" as const);
    g.open();
    const first = await Promise.race([refusedOutcome, finished]);
    if (first === "refused") expect(statusOf(running.id)).toBe("running");

    // Room again: the outcome is written within the retry, the dependant runs, /health is ok.
    rmSync(filler);
    const done = await expectOk(await server.api(`/tasks/${running.id}/wait?timeout=30`));
    expect(done.status).toBe("succeeded");
    expect((await expectOk(await server.api(`/tasks/${queued.id}/wait?timeout=30`))).status).toBe(cancelled ? "cancelled" : "succeeded");
    expect((await server.api("/health")).status).toBe(200);
    // Log lines the disk refused were kept (up to 20,000) and written; the rest are counted, and shown.
    await server.services.logger.drain();
    const [execution] = (await expectOk(await server.api(`/executions?task_id=${running.id}`))).items;
    expect(execution.log_count + execution.log_dropped).toBeGreaterThanOrEqual(30_000);
    expect(execution.log_dropped).toBeGreaterThan(0);
    const page = await server.get(`/tasks/${running.id}`);
    expect(await page.text()).toContain(`data-log-dropped="${execution.log_dropped}"`);
  }, 120_000);
});
