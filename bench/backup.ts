// Backup and restore of a 1 GB database (execution log lines and tasks), with a server holding it open
// and writing while the backup runs: `agentvine backup` (its own process, as an operator runs it) to
// .tar and to .tar.gz, then `restore --check` and a restore into an empty data dir. Prints time, size
// and throughput of each, and what the server's writes saw meanwhile (commits made, the slowest one).
//   bun bench/backup.ts [--gb 1]
import { statSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { restoreDataDir } from "../src/features/backup/restore.ts";
import { submitTasks } from "../src/engine/submit.ts";
import { embeddedServerOptions, startServer } from "../src/server.ts";
import { hardLimit, machineNote, table, tempDir } from "./lib.ts";

const { values: args } = parseArgs({ options: { gb: { type: "string", default: "1" } } });
const TARGET = Number(args.gb) * 1024 ** 3;
hardLimit(10 * 60_000, "backup");
await machineNote("backup");

const dataDir = tempDir();
const server = await startServer(embeddedServerOptions(dataDir, { workers: 0, rateLimit: 0, retainLogsDays: 0, retainTasksDays: 0, retainAuditDays: 0 }));
const { sqlite } = server.db;
const dbPath = join(dataDir, "agentvine.db");
const size = () => statSync(dbPath).size + (statSync(`${dbPath}-wal`, { throwIfNoEntry: false })?.size ?? 0);

// ---- fill: tasks with one execution each, and ~200-byte log lines, until the file reaches the target ----
let t0 = performance.now();
const line = "x".repeat(160);
let tasks = 0;
let lines = 0;
while (size() < TARGET) {
  const records = submitTasks(server.services.deps, Array.from({ length: 100 }, (_, i) => ({ title: `t${tasks + i}`, task_type: "hello", params: { name: "n" }, timeout_seconds: 60, max_retries: 0 })));
  tasks += records.length;
  sqlite.transaction(() => {
    const exec = sqlite.query("INSERT INTO executions (id, task_id, work_order_id, worker_id, attempt, status, started_at, log_count) VALUES (?, ?, 'wo', 'w', 1, 'succeeded', 1, 2000)");
    const log = sqlite.query("INSERT INTO execution_logs (execution_id, seq, level, message, metadata, ts) VALUES (?, ?, 'info', ?, NULL, 1)");
    for (const r of records) {
      const id = Bun.randomUUIDv7();
      exec.run(id, r.id);
      for (let seq = 1; seq <= 2000; seq++) log.run(id, seq, `${line} ${seq}`);
      lines += 2000;
    }
  })();
  sqlite.run("PRAGMA wal_checkpoint(TRUNCATE)");
}
console.log(`\nfilled ${(size() / 1024 ** 3).toFixed(2)} GB (${tasks.toLocaleString("en-US")} tasks, ${lines.toLocaleString("en-US")} log lines) in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);

// ---- a writer keeps committing (a task every 5 ms) while each backup runs in its own process ----
let writes = 0;
let slowest = 0;
let writing = true;
const writer = (async () => {
  while (writing) {
    const t = performance.now();
    submitTasks(server.services.deps, [{ title: "during", task_type: "hello", params: { name: "d" }, timeout_seconds: 60, max_retries: 0 }]);
    slowest = Math.max(slowest, performance.now() - t);
    writes++;
    await new Promise((r) => setTimeout(r, 5));
  }
})();

const rows: Array<Array<string | number>> = [];
const out = tempDir();
for (const name of ["agentvine.tar", "agentvine.tar.gz"]) {
  const file = join(out, name);
  const before = writes;
  slowest = 0;
  t0 = performance.now();
  const cli = Bun.spawn(["bun", join(import.meta.dir, "../src/main.ts"), "backup", file, "--data-dir", dataDir], { stdout: "pipe", stderr: "inherit" });
  if ((await cli.exited) !== 0) throw new Error(`agentvine backup exited ${cli.exitCode}`);
  const seconds = (performance.now() - t0) / 1000;
  rows.push([`backup → ${name}`, seconds, statSync(file).size / 1024 ** 2, size() / 1024 ** 2 / seconds, `${writes - before} commits, slowest ${slowest.toFixed(1)} ms`]);
}
writing = false;
await writer;
await server.stop(0);

for (const name of ["agentvine.tar", "agentvine.tar.gz"]) {
  const file = join(out, name);
  t0 = performance.now();
  await restoreDataDir({ dataDir: tempDir(), dbPath: "", file, checkOnly: true });
  const check = (performance.now() - t0) / 1000;
  rows.push([`restore --check ${name}`, check, statSync(file).size / 1024 ** 2, statSync(file).size / 1024 ** 2 / check, "-"]);
  const into = tempDir();
  t0 = performance.now();
  await restoreDataDir({ dataDir: into, dbPath: join(into, "agentvine.db"), file });
  const restore = (performance.now() - t0) / 1000;
  rows.push([`restore ${name}`, restore, statSync(join(into, "agentvine.db")).size / 1024 ** 2, statSync(file).size / 1024 ** 2 / restore, "-"]);
}
table(["step", "seconds", "MB (file)", "MB/s", "server writes meanwhile"], rows);
process.exit(0);
