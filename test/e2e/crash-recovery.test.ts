// Nothing accepted is lost: kill -9 the server while it takes and runs 2,000 tasks, restart it,
// and every task it answered 201 for runs to success — none lost, none stuck.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAdminKey, spawnServer, waitHealthy, type ServerProcess } from "../process.ts";

const root = join(import.meta.dir, "..", "..");
const dataDir = mkdtempSync(join(tmpdir(), "agentvine-crash-"));
const servers: ServerProcess[] = [];
const program = [process.execPath, join(root, "src/main.ts")];
// The admin's API key, made with the CLI on the data dir before the first start.
const key = createAdminKey(program, { cwd: dataDir, dataDir });
const authorization = `Bearer ${key}`;
/** A JSON GET as the admin. */
const getJson = async <T>(url: string): Promise<T> => (await (await fetch(url, { headers: { authorization } })).json()) as T;

afterAll(() => {
  for (const s of servers) s.proc.kill("SIGKILL");
  rmSync(dataDir, { recursive: true, force: true });
});

const start = async () => {
  const s = await spawnServer([...program, "serve", "--port", "0", "--workers", "2", "--data-dir", dataDir], {
    cwd: dataDir,
  });
  servers.push(s);
  await waitHealthy(s.url);
  return s;
};

const TOTAL = 2000;
const KILL_AFTER_ACKS = 1200;

function taskBody(i: number) {
  // Mostly instant tasks, with a few that hold a thread so some are surely running at the kill.
  return i % 20 === 0
    ? { title: `crash-${i}`, task_type: "shell", params: { command: "sleep", args: ["0.05"] } }
    : { title: `crash-${i}`, task_type: "hello", params: { name: `n${i}` } };
}

test(
  "kill -9 during submission and execution loses nothing",
  async () => {
    const first = await start();
    const acked: string[] = [];
    let next = 0;
    let killed = false;
    const submitter = async () => {
      while (next < TOTAL) {
        const i = next++;
        try {
          const res = await fetch(`${first.url}/api/v1/tasks`, {
            method: "POST",
            headers: { "content-type": "application/json", authorization },
            body: JSON.stringify(taskBody(i)),
          });
          if (res.status === 201) acked.push(((await res.json()) as { id: string }).id);
        } catch {
          // the server is gone: this request was never acknowledged
        }
        if (!killed && acked.length >= KILL_AFTER_ACKS) {
          killed = true;
          first.proc.kill("SIGKILL");
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, submitter));
    expect(await first.proc.exited).not.toBe(0);
    expect(acked.length).toBeGreaterThanOrEqual(KILL_AFTER_ACKS);

    // Some of what was acknowledged had not run yet or was running at the kill.
    const second = await start();
    const before = await getJson<{ total: number }>(`${second.url}/api/v1/tasks?status=succeeded&per_page=1`);
    console.log(`acked ${acked.length}; succeeded before restart ~${before.total}; ${/recovered (\d+)/.exec(second.output())?.[1] ?? 0} running at the kill`);

    let i = 0;
    const statuses: Record<string, number> = {};
    const waiter = async () => {
      while (i < acked.length) {
        const id = acked[i++]!;
        const res = await fetch(`${second.url}/api/v1/tasks/${id}/wait?timeout=60`, { headers: { authorization } });
        expect(res.status).toBe(200);
        const task = (await res.json()) as { status: string };
        statuses[task.status] = (statuses[task.status] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: 8 }, waiter));
    expect(statuses).toEqual({ succeeded: acked.length });

    // Nothing stuck: no task left pending/queued/running, no work order claimed or queued.
    const stuck = await getJson<{ total: number }>(`${second.url}/api/v1/tasks?status=pending,queued,running,waiting_input&per_page=1`);
    expect(stuck.total).toBe(0);
    const queue = await getJson<{ totals: Record<string, number> }>(`${second.url}/api/v1/queue/status`);
    expect(queue.totals.queued).toBe(0);
    expect(queue.totals.claimed).toBe(0);
    second.proc.kill("SIGTERM");
    expect(await second.proc.exited).toBe(0);
  },
  180_000,
);
