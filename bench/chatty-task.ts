// Prints what a chatty shell task costs the server: wall time, peak RSS, disk used under the data dir, and
// the slowest /health answer while it runs. Usage: bun bench/chatty-task.ts [MB] [newlines|nonewline] [timeout s]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { embeddedServerOptions, startServer } from "../src/server.ts";

const mb = Number(process.argv[2] ?? 200);
const shape = process.argv[3] ?? "newlines";
const timeout = Number(process.argv[4] ?? 120);
const dataDir = mkdtempSync(join(tmpdir(), "agentvine-bench-chatty-"));
const server = await startServer(embeddedServerOptions(dataDir, { workers: 1 }));
const bytes = mb * 1024 * 1024;
const command =
  shape === "newlines"
    ? `yes 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' | head -c ${bytes}`
    : `head -c ${bytes} /dev/zero | tr '\\0' a`;
const { createTask } = await import("../src/features/tasks/service.ts");
const task = await createTask(server.services.submitter, server.services.deps, { title: "chatty", task_type: "shell", params: { command, shell: true }, timeout_seconds: timeout } as never, {
  timeoutSeconds: timeout,
  maxRetries: 0,
});
let peak = process.memoryUsage().rss;
let worstHealth = 0;
let running = true;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
const pinger = (async () => {
  while (running) {
    const t = performance.now();
    await (await fetch(`${server.url}/api/v1/health`)).arrayBuffer();
    worstHealth = Math.max(worstHealth, performance.now() - t);
    await Bun.sleep(200);
  }
})();
const t0 = performance.now();
const done = await server.services.waiters.wait(task.id, (timeout + 60) * 1000);
const seconds = (performance.now() - t0) / 1000;
running = false;
await pinger;
clearInterval(sampler);
await server.services.logger.drain();
const du = Bun.spawnSync(["du", "-sm", dataDir]).stdout.toString().split("\t")[0];
const row = server.db.sqlite.query<{ log_count: number; log_dropped?: number }, [string]>("SELECT * FROM executions WHERE task_id = ?").get(task.id);
console.log(
  `${mb} MB (${shape}): ${done.status} in ${seconds.toFixed(1)} s; peak RSS ${Math.round(peak / 1048576)} MB; data dir ${du} MB; ` +
    `log rows ${row?.log_count}${row?.log_dropped !== undefined ? `, dropped ${row.log_dropped}` : ""}; slowest /health ${Math.round(worstHealth)} ms`,
);
await server.stop(0);
rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
