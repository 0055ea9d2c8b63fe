// Issue 10, item 3 (a, d): a task's processes must not outlive a server or a remote worker killed with -9.
// In bubblewrap they die with the process that started them (--die-with-parent). Without it they survive
// the kill — so each start kills what the previous run recorded (<data-dir>/processes, <state-dir>/processes)
// before it runs anything again: the re-run never runs beside its first attempt.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { createReadStream, existsSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { bwrapAvailable, killAllWith, liveWith, marker, withGuard } from "../src/sandbox/testing.ts";
import { cleanup, sharedDir, sharedTestDir, tempDir } from "./helpers.ts";
import { createAdminKey, spawnServer, waitHealthy, type ServerProcess } from "./process.ts";

const available = bwrapAvailable(import.meta.file);
const program = [process.execPath, join(import.meta.dir, "..", "src", "main.ts")];
const procs: Subprocess[] = [];
const marks: string[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) p.kill("SIGKILL");
  for (const m of marks.splice(0)) killAllWith(m);
  await cleanup();
});
afterAll(() => {
  for (const p of procs) p.kill("SIGKILL");
});

/** A fifo the task's command holds: resolves `up` at its first line, `gone` at EOF (every holder dead). */
function heldFifo() {
  const path = join(sharedDir("fifo-"), "held");
  if (Bun.spawnSync(["mkfifo", path]).exitCode !== 0) throw new Error("mkfifo failed");
  let up: () => void = () => {};
  const started = new Promise<void>((r) => (up = r));
  const gone = new Promise<void>((resolve, reject) => createReadStream(path).on("data", () => up()).on("end", resolve).on("error", reject));
  return { path, started, gone };
}

/**
 * The command: says it is up on the fifo, then sleeps holding it, with the marker in its command line (from
 * the env). Only its first attempt does: a re-run opening the fifo again would hide the first one's end.
 */
const HOLD = '[ -e "$ONCE" ] && exit 0; touch "$ONCE"; { echo up; exec sleep 300 "$M"; } > "$FIFO"';
const once = () => ({ ONCE: join(sharedDir("once-"), "ran") });

/** Whether `p` has settled by now (no waiting: what has happened so far). */
async function settled(p: Promise<unknown>): Promise<boolean> {
  return Promise.race([p.then(() => true), new Promise<boolean>((resolve) => setImmediate(() => resolve(false)))]);
}

async function startServer(dataDir: string, mode: string, workers = 1): Promise<ServerProcess> {
  const s = await spawnServer([...program, "serve", "--port", "0", "--workers", String(workers), "--data-dir", dataDir, "--sandbox", mode, "--sandbox-writable", sharedTestDir()], { cwd: dataDir });
  procs.push(s.proc);
  await waitHealthy(s.url);
  return s;
}

async function submit(url: string, key: string, params: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${url}/api/v1/tasks`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ title: "holds", task_type: "shell", params, max_retries: 1 }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

describe("the server killed with -9 while a task runs", () => {
  test("--sandbox none: the task's process survives the kill, and the restart kills it before running the task again", async () => {
    const dataDir = tempDir();
    const key = createAdminKey(program, { cwd: dataDir, dataDir });
    const first = await startServer(dataDir, "none");
    const m = marker();
    marks.push(m);
    const fifo = heldFifo();
    await submit(first.url, key, { command: HOLD, shell: true, env: { M: m, FIFO: fifo.path, ...once() } });
    await withGuard(fifo.started, 15_000, "the task's command did not start");
    first.proc.kill("SIGKILL");
    await first.proc.exited;
    // Without a sandbox nothing ties it to the server: it still runs (it still holds the fifo).
    expect(await settled(fifo.gone)).toBe(false);

    const second = await startServer(dataDir, "none");
    await withGuard(fifo.gone, 15_000, "the previous run's process was not killed at start");
    expect(liveWith(m)).toEqual([]);
    expect(second.output()).toContain("left running by the previous run: process group");
    expect(second.output()).toContain("killed (leader still running)");
  }, 60_000);

  test.skipIf(!available)("--sandbox bwrap: the task's whole tree dies with the server", async () => {
    const dataDir = tempDir();
    const key = createAdminKey(program, { cwd: dataDir, dataDir });
    const first = await startServer(dataDir, "bwrap");
    const m = marker();
    marks.push(m);
    const fifo = heldFifo();
    await submit(first.url, key, { command: `setsid sh -c '${HOLD}' & wait`, shell: true, env: { M: m, FIFO: fifo.path, ...once() } });
    await withGuard(fifo.started, 15_000, "the task's command did not start");
    first.proc.kill("SIGKILL");
    await withGuard(fifo.gone, 15_000, "a sandboxed process (setsid'd) survived the server");
    expect(liveWith(m)).toEqual([]);
  }, 60_000);
});

describe("a remote worker killed with -9 while a task runs", () => {
  async function startWorker(url: string, key: string, stateDir: string, mode: string) {
    const proc = Bun.spawn([...program, "worker", "--server", url, "--token", key, "--name", "w1", "--concurrency", "1", "--state-dir", stateDir, "--sandbox", mode, "--sandbox-writable", sharedTestDir()], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: stateDir },
      stdout: "ignore",
      stderr: "pipe",
    });
    procs.push(proc);
    return proc;
  }

  for (const mode of ["none", "bwrap"] as const) {
    test.skipIf(mode === "bwrap" && !available)(`--sandbox ${mode}: its task's side effect never happens after the kill`, async () => {
      const dataDir = tempDir();
      const key = createAdminKey(program, { cwd: dataDir, dataDir });
      const server = await startServer(dataDir, "none", 0); // only the remote worker runs tasks
      const made = Bun.spawnSync([...program, "apikey", "create", "fleet", "--scope", "worker", "--user", "admin", "--data-dir", dataDir], { cwd: dataDir, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dataDir } });
      const workerKey = made.stdout.toString().trim();
      expect(workerKey).toStartWith("avk_");
      const stateDir = tempDir();
      const worker = await startWorker(server.url, workerKey, stateDir, mode);
      let restarted: Subprocess | undefined;
      const m = marker();
      marks.push(m);
      const fifo = heldFifo();
      const effect = join(sharedDir(), "side-effect");
      // Holds the fifo until killed; were it not killed, it would then write the side effect.
      await submit(server.url, key, { command: `${HOLD.replace('exec sleep 300 "$M"', 'sleep 300 "$M"')}; touch "$EFFECT"`, shell: true, env: { M: m, FIFO: fifo.path, EFFECT: effect, ...once() } });
      await withGuard(fifo.started, 20_000, "the task's command did not start on the worker");
      worker.kill("SIGKILL");
      await worker.exited;
      if (mode === "none") {
        // Nothing ties it to the worker: it runs on until the worker starts again, which kills it first.
        expect(await settled(fifo.gone)).toBe(false);
        restarted = await startWorker(server.url, workerKey, stateDir, mode);
      }
      await withGuard(fifo.gone, 20_000, "the task's process outlived the worker").catch(async (err) => {
        restarted?.kill();
        throw new Error(`${(err as Error).message}\nrestarted worker said: ${restarted ? await new Response(restarted.stderr as ReadableStream).text() : "-"}`);
      });
      expect(liveWith(m)).toEqual([]);
      expect(existsSync(effect)).toBe(false);
    }, 60_000);
  }
});
