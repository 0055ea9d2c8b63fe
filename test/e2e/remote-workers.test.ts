// The server and three `agentvine worker` processes, all from the built binary, on loopback: 3,000 shell
// tasks with mixed capability requirements; one worker is kill -9ed while it runs tasks. Every task must
// end succeeded, its side effect (a file named after it) written, and no attempt may have run on a worker
// that lacked a capability the task required. The killed worker's orders come back when their leases
// run out and another worker finishes them: each attempt is an execution the UI shows.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { createAdminKey, spawnServer, waitHealthy, type ServerProcess } from "../process.ts";

const root = join(import.meta.dir, "..", "..");
const work = mkdtempSync(join(tmpdir(), "agentvine-remote-"));
const binary = join(work, "agentvine");
const TOTAL = 3_000;
const WORKERS = [
  { name: "wa", capabilities: ["git"] },
  { name: "wb", capabilities: ["git", "node"] },
  { name: "wc", capabilities: ["git", "node"] }, // the one that is killed: nothing depends on it alone
] as const;
const REQUIRES: string[][] = [[], ["git"], ["node"], ["git", "node"]];

let server: ServerProcess | undefined;
const workers = new Map<string, Subprocess>();

beforeAll(async () => {
  const build = Bun.spawnSync(["bun", "scripts/build.ts"], { cwd: root, env: { ...process.env, AGENTVINE_OUTFILE: binary } });
  if (build.exitCode !== 0) throw new Error(`build failed: ${build.stderr.toString()}`);
}, 120_000);

afterAll(() => {
  for (const w of workers.values()) w.kill("SIGKILL");
  server?.proc.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
});

/** Resolves when `check` holds, re-checking on every event of the server's live stream (no polling). */
async function untilLive(url: string, token: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  if (await check()) return;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const res = await fetch(`${url}/events?topics=dashboard,tasks`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
    if (res.status !== 200 || !res.body) throw new Error(`/events answered ${res.status}`);
    const reader = res.body.getReader();
    for (;;) {
      const { done } = await reader.read();
      if (done) throw new Error("the live stream ended");
      if (await check()) return;
    }
  } catch (err) {
    if (abort.signal.aborted) throw new Error(`condition not met within ${timeoutMs} ms`);
    throw err;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

describe("remote workers from the binary", () => {
  test(
    "3 workers, 3,000 tasks with capability requirements, one worker kill -9ed mid-task: all succeed, each side effect once, capabilities respected",
    async () => {
      const cwd = mkdtempSync(join(work, "server-"));
      const out = join(work, "side-effects");
      mkdirSync(out);
      // Only remote workers execute (--workers 0).
      // The checks below ask the API on every live event: far more than the default 3,000 a minute.
      server = await spawnServer([binary, "serve", "--port", "0", "--workers", "0", "--rate-limit", "0"], { cwd });
      await waitHealthy(server.url);
      const env = { PATH: "/usr/bin:/bin" };
      const admin = createAdminKey([binary], { cwd, env });
      // Granted what the three workers declare: git and node, 4 slots each.
      const keyRun = Bun.spawnSync([binary, "apikey", "create", "workers", "--scope", "worker", "--user", "admin", "--capabilities", "git,node", "--max-tasks", "12"], { cwd, env: { ...env, HOME: cwd } });
      const workerKey = keyRun.stdout.toString().trim();
      expect(workerKey).toStartWith("avk_");
      const api = (path: string, init: RequestInit = {}) =>
        fetch(`${server!.url}/api/v1${path}`, { ...init, headers: { authorization: `Bearer ${admin}`, "content-type": "application/json", ...(init.headers as object) } });

      for (const w of WORKERS) {
        const dir = mkdtempSync(join(work, `${w.name}-`));
        const proc = Bun.spawn(
          // The side effects go to a directory outside their sandbox: the one it lets them write.
          [binary, "worker", "--server", server.url, "--token", workerKey, "--name", w.name, "--capabilities", w.capabilities.join(","), "--concurrency", "4", "--state-dir", dir, "--sandbox-writable", out],
          { cwd: dir, env: { ...env, HOME: dir }, stdout: "ignore", stderr: "pipe" },
        );
        workers.set(w.name, proc);
      }

      // The tasks: each writes a file named after its index (idempotent: a second run rewrites the same file).
      const requiresOf = new Map<string, string[]>();
      for (let start = 0; start < TOTAL; start += 500) {
        const tasks = Array.from({ length: Math.min(500, TOTAL - start) }, (_, k) => {
          const i = start + k;
          return {
            title: `effect ${i}`,
            task_type: "shell",
            requires: REQUIRES[i % REQUIRES.length],
            params: { command: "sh", args: ["-c", 'sleep 0.02; printf done > "$0"', join(out, String(i))] },
          };
        });
        const res = await api("/queue/enqueue", { method: "POST", body: JSON.stringify({ tasks }) });
        expect(res.status).toBe(201);
        const { items } = (await res.json()) as { items: Array<{ id: string; requires: string[] }> };
        for (const t of items) requiresOf.set(t.id, t.requires ?? []);
      }
      expect(requiresOf.size).toBe(TOTAL);

      const succeeded = async () => ((await (await api("/tasks?status=succeeded&per_page=1")).json()) as { total: number }).total;
      const workerByName = async (name: string) => {
        const list = (await (await api(`/workers?per_page=100`)).json()) as { items: Array<{ id: string; name: string; capabilities: string[]; claimed_work_orders: number }> };
        return list.items.find((w) => w.name === name);
      };

      // A third of the way in, kill -9 a worker while it holds work.
      await untilLive(server.url, admin, async () => (await succeeded()) >= TOTAL / 3 && ((await workerByName("wc"))?.claimed_work_orders ?? 0) > 0, 120_000);
      workers.get("wc")!.kill("SIGKILL");
      await workers.get("wc")!.exited;
      const heldAtKill = (await workerByName("wc"))!.claimed_work_orders;
      expect(heldAtKill).toBeGreaterThan(0);

      // Everything finishes: the killed worker's orders after their leases ran out (30 s), on the others.
      await untilLive(server.url, admin, async () => (await succeeded()) === TOTAL, 240_000);
      const failed = (await (await api("/tasks?status=failed,cancelled,timed_out&per_page=1")).json()) as { total: number };
      expect(failed.total).toBe(0);

      // Each side effect exactly once: one file per task, each written.
      const files = readdirSync(out);
      expect(files.length).toBe(TOTAL);
      expect(files.every((f) => readFileSync(join(out, f), "utf8") === "done")).toBe(true);

      // Every attempt ran on a worker with the capabilities its task required; the killed worker's
      // interrupted attempts show as executions of their own, followed by one that succeeded elsewhere.
      const caps = new Map<string, string[]>();
      for (const w of WORKERS) {
        const found = (await workerByName(w.name))!;
        expect(found.capabilities.sort()).toEqual([...w.capabilities].sort());
        caps.set(found.id, found.capabilities);
      }
      const killedId = (await workerByName("wc"))!.id;
      const executions: Array<{ task_id: string; worker_id: string; status: string }> = [];
      for (let page = 1; ; page++) {
        const res = (await (await api(`/executions?per_page=100&page=${page}`)).json()) as { items: typeof executions; total: number };
        executions.push(...res.items);
        if (executions.length >= res.total || res.items.length === 0) break;
      }
      expect(executions.length).toBeGreaterThanOrEqual(TOTAL);
      const lacking = executions.filter((e) => !(requiresOf.get(e.task_id) ?? []).every((c) => caps.get(e.worker_id)?.includes(c)));
      expect(lacking).toEqual([]);
      const successes = new Map<string, number>();
      for (const e of executions) if (e.status === "succeeded") successes.set(e.task_id, (successes.get(e.task_id) ?? 0) + 1);
      expect(successes.size).toBe(TOTAL);
      expect([...successes.values()].every((n) => n === 1)).toBe(true);
      const interrupted = executions.filter((e) => e.worker_id === killedId && e.status !== "succeeded");
      expect(interrupted.length).toBeGreaterThan(0);
      expect(interrupted.every((e) => successes.get(e.task_id) === 1)).toBe(true);
    },
    420_000,
  );
});
