// Remote workers over loopback HTTP: the server runs as its own process with no threads of its own
// (`serve --workers 0`) and 1, 2 and 4 `agentvine worker` processes do all the work through
// /api/v1/queue/claim (long-poll) → run in a task thread → the task's log lines and outcome carried by the
// worker's next claim (or POST /queue/report): one request per round for a busy worker.
//   throughput: N hello tasks enqueued in batches (POST /queue/enqueue) with the workers already
//               long-polling; tasks/s over the server's own records (first execution started → last
//               finished), and enqueue-start → all succeeded as the client saw it.
//   latency:    with the 4 workers idle and long-polling, single tasks (POST /api/v1/tasks) one at a
//               time; enqueue → claimed (executions.started_at − tasks.created_at, both the server's
//               clock) and enqueue → the task's thread logging its first line (the worker's clock: the
//               same machine's Date.now(), integer ms).
// CPU seconds of the server and of the workers (from /proc) say who the bottleneck is on this machine.
//
// Each worker runs --concurrency 16 task threads by default (hello tasks are tiny: 4 left the server idle
// between rounds; --concurrency 4 gives the old figures' setup).
//   bun bench/remote-workers.ts [--tasks 10000] [--concurrency 16] [--samples 200] [--workers 1,2,4] [--profile]
// --profile writes a CPU profile of the server of the last throughput run (bun --cpu-prof) to bench/profiles/.
import { Database } from "bun:sqlite";
import { mkdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { adminKeyOn, bearer } from "./accounts.ts";
import { cleanupTemp, freePort, hardLimit, machineNote, median, percentile, table, tempDir } from "./lib.ts";

const { values: args } = parseArgs({
  options: {
    tasks: { type: "string", default: "10000" },
    concurrency: { type: "string", default: "16" },
    samples: { type: "string", default: "200" },
    workers: { type: "string", default: "1,2,4" },
    profile: { type: "boolean", default: false },
    "count-requests": { type: "boolean", default: false },
  },
});
const TASKS = Number(args.tasks);
const CONCURRENCY = Number(args.concurrency);
const SAMPLES = Number(args.samples);
const WORKER_COUNTS = args.workers.split(",").map(Number);
const BATCH = 500;
/** --count-requests: the server logs every request (debug access log, which costs CPU: tasks/s of such a run are lower) and they are counted per route. */
const COUNT = args["count-requests"];
const requestCounts = new Map<string, number>();
/** The text of a child's output stream, chunk by chunk. */
async function* texts(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    yield decoder.decode(value, { stream: true });
  }
}
async function countRequests(stream: ReadableStream<Uint8Array>) {
  const re = /\b(GET|POST) (\/api\/v1\/[a-z]+\/?[a-z]*)[^ ]* (\d{3})/g;
  let tail = "";
  for await (const chunk of texts(stream)) {
    const text = tail + chunk;
    const cut = text.lastIndexOf("\n");
    tail = text.slice(cut + 1);
    for (const m of text.slice(0, cut + 1).matchAll(re)) {
      const k = `${m[1]} ${m[2]!.replace(/\/workers\/[^ ]+/, "/workers/:id")} ${m[3]}`;
      requestCounts.set(k, (requestCounts.get(k) ?? 0) + 1);
    }
  }
}
hardLimit(10 * 60_000, "remote-workers");

const ROOT = join(import.meta.dir, "..");
const MAIN = join(ROOT, "src/main.ts");
const children: Bun.Subprocess[] = [];
process.on("exit", () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
});

/** CPU seconds (user + system, all threads) a process used so far, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return Number.NaN;
  }
}

async function waitHealthy(base: string, proc: Bun.Subprocess, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`server exited early with ${proc.exitCode}`);
    const ok = await fetch(`${base}/api/v1/health`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await Bun.sleep(20); // a starting server: nothing to wait on from outside
  }
  throw new Error(`server not healthy within ${limitMs} ms`);
}

async function stop(proc: Bun.Subprocess) {
  if (proc.exitCode !== null) return;
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
  await proc.exited;
  clearTimeout(timer);
}

/** A worker key made the way an admin would: `agentvine apikey create NAME --scope worker --user admin`. */
function workerKey(dataDir: string): string {
  const r = Bun.spawnSync(["bun", MAIN, "apikey", "create", "bench-workers", "--scope", "worker", "--user", "admin", "--max-tasks", "64", "--data-dir", dataDir], { cwd: dataDir });
  const key = r.stdout.toString().trim();
  if (r.exitCode !== 0 || !/^avk_\S+$/.test(key)) throw new Error(`apikey create exited ${r.exitCode}: ${key} ${r.stderr}`);
  return key;
}

interface Setup {
  base: string;
  key: string;
  dataDir: string;
  server: Bun.Subprocess;
  workers: Bun.Subprocess[];
}

async function startCluster(n: number, profileDir?: string): Promise<Setup> {
  const dataDir = tempDir();
  const key = await adminKeyOn(dataDir);
  const wkey = workerKey(dataDir);
  const port = await freePort();
  const prof = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
  const server = Bun.spawn(
    [
      "bun",
      ...prof,
      MAIN,
      "serve",
      "--port",
      String(port),
      "--data-dir",
      dataDir,
      "--workers",
      "0",
      "--rate-limit",
      "0",
      "--log-level",
      COUNT ? "debug" : "error",
      "--shutdown-grace",
      "2",
    ],
    {
      cwd: dataDir,
      stdout: COUNT ? "pipe" : "ignore",
      stderr: COUNT ? "pipe" : "inherit",
    },
  );
  children.push(server);
  if (COUNT) for (const stream of [server.stdout, server.stderr]) void countRequests(stream as ReadableStream<Uint8Array>);
  const base = `http://127.0.0.1:${port}`;
  await waitHealthy(base, server);
  const workers: Bun.Subprocess[] = [];
  for (let i = 1; i <= n; i++) {
    const stateDir = join(dataDir, `worker-${i}`);
    const w = Bun.spawn(
      [
        "bun",
        MAIN,
        "worker",
        "--server",
        base,
        "--token",
        wkey,
        "--name",
        `w${i}`,
        "--concurrency",
        String(CONCURRENCY),
        "--state-dir",
        stateDir,
        "--log-level",
        "error",
        "--shutdown-grace",
        "5",
      ],
      { cwd: dataDir, stdout: "ignore", stderr: "pipe" },
    );
    children.push(w);
    workers.push(w);
    void (async () => {
      // Passed on, except the drain notice every worker prints when the benchmark stops it.
      for await (const chunk of texts(w.stderr as ReadableStream<Uint8Array>)) {
        const text = chunk
          .split("\n")
          .filter((l) => l && !l.startsWith("SIGTERM: draining"))
          .join("\n");
        if (text) process.stderr.write(`[w${i}] ${text}\n`);
      }
    })();
  }
  // Registered and in their claim loops: each writes state "running" to its status file right before the first claim.
  const deadline = Date.now() + 20_000;
  for (let i = 1; i <= n; i++) {
    const file = join(dataDir, `worker-${i}`, "status.json");
    for (;;) {
      if (workers[i - 1]!.exitCode !== null) throw new Error(`worker w${i} exited with ${workers[i - 1]!.exitCode}`);
      const state = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8") || "{}") as { state?: string }).state : undefined;
      if (state === "running") break;
      if (Date.now() > deadline) throw new Error(`worker w${i} did not start within 20 s`);
      await Bun.sleep(20); // another process's file: nothing to wait on
    }
  }
  return { base, key, dataDir, server, workers };
}

async function api<T>(s: Setup, path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(s.base + path, {
    ...init,
    headers: bearer(s.key, {
      "content-type": "application/json",
      ...(init.headers as Record<string, string>),
    }),
  });
  if (!res.ok) throw new Error(`${init.method ?? "GET"} ${path} answered ${res.status}: ${await res.text()}`);
  return res.json() as Promise<T>;
}

async function enqueue(s: Setup, from: number, count: number, label: string): Promise<void> {
  const tasks = Array.from({ length: count }, (_, i) => ({
    title: `${label} ${from + i}`,
    task_type: "hello",
    params: { name: `n${from + i}` },
  }));
  await api(s, "/api/v1/queue/enqueue", {
    method: "POST",
    body: JSON.stringify({ tasks }),
  });
}

/** Waits until `total` work orders are completed (queue/status every 50 ms: the dashboard SSE stream is coalesced to once a second, too coarse here). */
async function waitCompleted(s: Setup, total: number, limitMs: number): Promise<number> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const st = await api<{ totals: Record<string, number> }>(s, "/api/v1/queue/status");
    const bad = (st.totals.failed ?? 0) + (st.totals.dead ?? 0) + (st.totals.expired ?? 0);
    if (bad > 0) throw new Error(`work orders went wrong: ${JSON.stringify(st.totals)}`);
    if ((st.totals.completed ?? 0) >= total) return performance.now();
    if (Date.now() > deadline) throw new Error(`only ${st.totals.completed} of ${total} completed within ${limitMs / 1000} s`);
    await Bun.sleep(50);
  }
}

interface ThroughputRow {
  workers: number;
  tasks: number;
  serverTps: number;
  clientTps: number;
  enqueueS: number;
  spanS: number;
  serverCpuPct: number;
  workerCpuPct: number;
}

async function throughput(n: number, profileDir?: string): Promise<{ row: ThroughputRow; setup: Setup }> {
  const s = await startCluster(n, profileDir);
  // Warm-up (JIT, thread start-up, sqlite caches): a few hundred tasks through the same path.
  const WARM = 400;
  await enqueue(s, 0, WARM, "warm");
  await waitCompleted(s, WARM, 60_000);

  const cpu0 = {
    server: cpuSeconds(s.server.pid),
    workers: s.workers.reduce((a, w) => a + cpuSeconds(w.pid), 0),
  };
  requestCounts.clear();
  const t0 = performance.now();
  for (let i = 0; i < TASKS; i += BATCH) await enqueue(s, i, Math.min(BATCH, TASKS - i), "bench");
  const enqueued = performance.now();
  const end = await waitCompleted(s, WARM + TASKS, 240_000);
  if (COUNT) {
    console.log(`  requests during the ${n}-worker run (${TASKS} tasks):`);
    for (const [k, v] of [...requestCounts].sort((a, b) => b[1] - a[1])) console.log(`    ${k.padEnd(40)} ${String(v).padStart(7)}  (${(v / TASKS).toFixed(2)} per task)`);
    const total = [...requestCounts.values()].reduce((a, b) => a + b, 0);
    console.log(`    ${"all".padEnd(40)} ${String(total).padStart(7)}  (${(total / TASKS).toFixed(2)} per task)`);
  }
  const cpu1 = {
    server: cpuSeconds(s.server.pid),
    workers: s.workers.reduce((a, w) => a + cpuSeconds(w.pid), 0),
  };
  const wallS = (end - t0) / 1000;

  // The server's own records: first start → last finish of the measured tasks.
  const db = new Database(join(s.dataDir, "agentvine.db"), { readonly: true });
  const span = db
    .query<{ first: number; last: number; n: number }, []>(
      "SELECT min(e.started_at) AS first, max(e.finished_at) AS last, count(*) AS n FROM executions e JOIN tasks t ON t.id = e.task_id WHERE t.title LIKE 'bench %' AND e.status = 'succeeded'",
    )
    .get()!;
  db.close();
  if (span.n !== TASKS) throw new Error(`${span.n} of ${TASKS} executions succeeded`);
  const spanS = (span.last - span.first) / 1000;
  return {
    setup: s,
    row: {
      workers: n,
      tasks: TASKS,
      serverTps: TASKS / spanS,
      clientTps: TASKS / wallS,
      enqueueS: (enqueued - t0) / 1000,
      spanS,
      serverCpuPct: ((cpu1.server - cpu0.server) / wallS) * 100,
      workerCpuPct: ((cpu1.workers - cpu0.workers) / wallS) * 100,
    },
  };
}

async function shutdown(s: Setup) {
  await Promise.all(s.workers.map(stop));
  await stop(s.server);
}

/** Single tasks one at a time to idle, long-polling workers. */
async function latency(s: Setup) {
  const ids: string[] = [];
  const submitted = new Map<string, number>();
  const roundTrip: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const before = Date.now();
    const t = performance.now();
    const task = await api<{ id: string }>(s, "/api/v1/tasks", {
      method: "POST",
      body: JSON.stringify({
        title: `latency ${i}`,
        task_type: "hello",
        params: { name: "lat" },
      }),
    });
    const done = await api<{ status: string }>(s, `/api/v1/tasks/${task.id}/wait?timeout=10`);
    if (done.status !== "succeeded") throw new Error(`latency task ${task.id} ended ${done.status}`);
    roundTrip.push(performance.now() - t);
    ids.push(task.id);
    submitted.set(task.id, before);
  }
  const db = new Database(join(s.dataDir, "agentvine.db"), { readonly: true });
  const rows = db
    .query<
      {
        id: string;
        created_at: number;
        started_at: number;
        first_log: number | null;
      },
      []
    >(
      `SELECT t.id, t.created_at, e.started_at, (SELECT min(l.ts) FROM execution_logs l WHERE l.execution_id = e.id) AS first_log
         FROM tasks t JOIN executions e ON e.task_id = t.id WHERE t.title LIKE 'latency %'`,
    )
    .all();
  db.close();
  const claimed = rows.map((r) => r.started_at - r.created_at);
  const threadStart = rows.filter((r) => r.first_log !== null).map((r) => r.first_log! - r.created_at);
  const fromClient = rows.filter((r) => r.first_log !== null).map((r) => r.first_log! - submitted.get(r.id)!);
  return { claimed, threadStart, fromClient, roundTrip, n: rows.length };
}

// ---------------------------------------------------------------------------------------------------

await machineNote("remote-workers");
console.log(
  `\n## Remote workers over loopback HTTP: server (--workers 0) + 1/2/4 \`agentvine worker\` processes, --concurrency ${CONCURRENCY} each; ` +
    `${TASKS.toLocaleString("en-US")} hello tasks per run, enqueued in batches of ${BATCH} with the workers already long-polling\n`,
);

const profileDir = args.profile ? join(import.meta.dir, "profiles") : undefined;
if (profileDir) mkdirSync(profileDir, { recursive: true });
const rows: ThroughputRow[] = [];
let lat: Awaited<ReturnType<typeof latency>> | null = null;
for (const n of WORKER_COUNTS) {
  const last = n === WORKER_COUNTS.at(-1);
  const { row, setup } = await throughput(n, last ? profileDir : undefined);
  rows.push(row);
  console.log(`  ${n} worker(s): ${Math.round(row.serverTps).toLocaleString("en-US")} tasks/s`);
  if (last) lat = await latency(setup);
  await shutdown(setup);
}
cleanupTemp();

console.log("");
table(
  ["workers", "tasks", "tasks/s (server: 1st start→last finish)", "tasks/s (client: enqueue→all done)", "enqueue s", "span s", "server CPU %", "workers CPU %"],
  rows.map((r) => [r.workers, r.tasks, r.serverTps, r.clientTps, r.enqueueS, r.spanS, r.serverCpuPct, r.workerCpuPct]),
);
console.log(`(CPU % = CPU seconds / wall seconds × 100 over the measured run; this machine has ${navigator.hardwareConcurrency} cores = ${navigator.hardwareConcurrency * 100}%)`);

const l = lat!;
console.log(`\n## Enqueue → start, ${l.n} single tasks one at a time (POST /api/v1/tasks) to ${WORKER_COUNTS.at(-1)} idle long-polling workers\n`);
const lrow = (name: string, v: number[]) => [name, v.length, median(v), percentile(v, 90), percentile(v, 99), Math.max(...v)];
table(
  ["interval", "samples", "p50 ms", "p90 ms", "p99 ms", "max ms"],
  [
    lrow("created → claimed by a worker (server clock)", l.claimed),
    lrow("created → task thread's first log line", l.threadStart),
    lrow("client POST sent → task thread's first log line", l.fromClient),
    lrow("client POST → /wait answered succeeded", l.roundTrip),
  ],
);
console.log("(server and worker timestamps are integer milliseconds of this machine's clock)");

const four = rows.find((r) => r.workers === 4);
const startMs = median(l.threadStart);
console.log(
  `\nTargets: ≥ 2,000 tasks/s with 4 workers → ${four ? `${Math.round(four.serverTps).toLocaleString("en-US")} ${four.serverTps >= 2000 ? "MET" : "MISSED"}` : "not run"}; ` +
    `median enqueue-to-start < 5 ms → ${startMs} ms (thread start; ${median(l.claimed)} ms to the claim) ${startMs < 5 ? "MET" : "MISSED"}`,
);
if (profileDir) console.log(`\nCPU profile of the last server: ${profileDir}`);
await machineNote("remote-workers (after)");
process.exit(0);
