// HTTP API under load: the server runs as its own process (`bun src/main.ts serve … --workers 2`) and
// autocannon (programmatic API, under node, bench/autocannon-run.mjs) loads it over 127.0.0.1:
//   GET  /api/v1/tasks/:id  at 64 connections for ~10 s → req/s, p50/p99
//   POST /api/v1/tasks      (hello) at 64 connections   → req/s, p99 (the threads run them meanwhile)
// A trivial Bun.serve answering the same JSON body is loaded the same way: the ceiling of this machine.
// Every request to the server carries an admin's API key (Authorization: Bearer avk_…), as a script's
// would; the per-client rate limit is off (--rate-limit 0) so 64 connections from one address are not
// throttled to 3,000 a minute.
//
//   bun bench/http.ts [--duration 10] [--connections 64]
import { join } from "node:path";
import { parseArgs } from "node:util";
import { adminKeyOn, bearer } from "./accounts.ts";
import { cleanupTemp, freePort, hardLimit, machineNote, table, tempDir } from "./lib.ts";

const { values: args } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "64" },
    tasks: { type: "string", default: "200" },
  },
});
const DURATION = Math.min(30, Number(args.duration));
const CONNECTIONS = Number(args.connections);
const SEED_TASKS = Number(args.tasks);
hardLimit(5 * 60_000, "http");

const ROOT = join(import.meta.dir, "..");
const children: Bun.Subprocess[] = [];
process.on("exit", () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
});

interface LoadResult {
  rps: number;
  total: number;
  seconds: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

async function autocannon(opts: Record<string, unknown>): Promise<LoadResult> {
  const proc = Bun.spawn(["node", join(import.meta.dir, "autocannon-run.mjs"), JSON.stringify(opts)], { stdout: "pipe", stderr: "inherit" });
  children.push(proc);
  const out = await new Response(proc.stdout).text();
  if ((await proc.exited) !== 0) throw new Error(`autocannon failed (exit ${proc.exitCode})`);
  return JSON.parse(out.trim().split("\n").at(-1)!) as LoadResult;
}

async function waitHealthy(base: string, proc: Bun.Subprocess, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`server exited early with ${proc.exitCode}`);
    try {
      const res = await fetch(`${base}/api/v1/health`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await Bun.sleep(20);
  }
  throw new Error(`server not healthy within ${limitMs} ms`);
}

async function stop(proc: Bun.Subprocess) {
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
  await proc.exited;
  clearTimeout(timer);
}

const load = (url: string, extra: Record<string, unknown> = {}) => autocannon({ url, connections: CONNECTIONS, duration: DURATION, ...extra });

await machineNote("http");
console.log(`\n## HTTP under load: autocannon (node) → server subprocess over 127.0.0.1, ${CONNECTIONS} connections, ${DURATION} s each\n`);

// The ceiling: a trivial Bun.serve in its own process answering a task-sized JSON body.
const ceilingPort = await freePort();
const sampleBody = JSON.stringify({
  id: Bun.randomUUIDv7(),
  title: "hello 1",
  description: null,
  task_type: "hello",
  params: { name: "bench" },
  priority: "default",
  status: "succeeded",
  result: { message: "Hello, bench!" },
  error: null,
  created_at: new Date().toISOString(),
});
const ceiling = Bun.spawn(
  [
    "bun",
    "-e",
    `Bun.serve({ port: ${ceilingPort}, hostname: "127.0.0.1", fetch: () => new Response(${JSON.stringify(sampleBody)}, { headers: { "content-type": "application/json" } }) });`,
  ],
  { stdout: "ignore", stderr: "inherit" },
);
children.push(ceiling);
const ceilingBase = `http://127.0.0.1:${ceilingPort}`;
for (let i = 0; i < 200; i++) {
  if (await fetch(ceilingBase).then((r) => r.ok, () => false)) break;
  await Bun.sleep(20);
}
await load(`${ceilingBase}/`, { duration: 2 }); // warm-up
const ceilingResult = await load(`${ceilingBase}/`);
await stop(ceiling);

// The AgentVine server.
const dataDir = tempDir();
const key = await adminKeyOn(dataDir);
const port = await freePort();
const server = Bun.spawn(
  ["bun", ...(process.env.SERVER_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.SERVER_PROF}`] : []), join(ROOT, "src/main.ts"), "serve", "--port", String(port), "--data-dir", dataDir, "--workers", "2", "--log-level", "error", "--shutdown-grace", "2", "--rate-limit", "0"],
  { cwd: dataDir, stdout: "ignore", stderr: "inherit" },
);
children.push(server);
const base = `http://127.0.0.1:${port}`;
await waitHealthy(base, server);

/** Tasks that succeeded so far, from the Prometheus text of /metrics. */
async function succeededCount(): Promise<number> {
  const text = await fetch(`${base}/metrics`, { headers: bearer(key) }).then((r) => r.text());
  return Number(/^agentvine_tasks\{status="succeeded"\} (\d+)$/m.exec(text)?.[1] ?? 0);
}

const post = (i: number) =>
  fetch(`${base}/api/v1/tasks`, {
    method: "POST",
    headers: bearer(key, { "content-type": "application/json" }),
    body: JSON.stringify({ title: `seed ${i}`, task_type: "hello", params: { name: "bench" } }),
  }).then(async (r) => {
    if (r.status !== 201) throw new Error(`POST /api/v1/tasks answered ${r.status}: ${await r.text()}`);
    return r.json() as Promise<{ id: string }>;
  });
let target = "";
for (let i = 0; i < SEED_TASKS; i++) target = (await post(i)).id;
const settled = (await fetch(`${base}/api/v1/tasks/${target}/wait?timeout=20`, { headers: bearer(key) }).then((r) => r.json())) as { status: string };
const getUrl = `${base}/api/v1/tasks/${target}`;
const sampleGet = await fetch(getUrl, { headers: bearer(key) });
if (sampleGet.status !== 200) throw new Error(`GET ${getUrl} answered ${sampleGet.status}: ${await sampleGet.text()}`);
const getBytes = (await sampleGet.arrayBuffer()).byteLength;

await load(getUrl, { duration: 2, headers: bearer(key) }); // warm-up (JIT)
const getResult = await load(getUrl, { headers: bearer(key) });
const succeededBefore = await succeededCount();
const postBody = JSON.stringify({ title: "bench", task_type: "hello", params: { name: "bench" } });
const postResult = await load(`${base}/api/v1/tasks`, { method: "POST", headers: bearer(key, { "content-type": "application/json" }), body: postBody });
const healthAfter = await fetch(`${base}/api/v1/health`).then((r) => r.json() as Promise<{ checks: { queue: { queued: number } } }>);
const ranDuringPost = (await succeededCount()) - succeededBefore;
await stop(server);
cleanupTemp();

console.log(`(GET target: a ${settled.status} hello task, ${getBytes} byte body; ${SEED_TASKS} tasks in the DB before the GET load; every request with an API key)\n`);
const row = (name: string, r: LoadResult) => [name, r.total, r.rps, r.mean, r.p50, r.p90, r.p99, r.max, r.non2xx + r.errors + r.timeouts];
table(
  ["load", "requests", "req/s", "mean ms", "p50 ms", "p90 ms", "p99 ms", "max ms", "non-2xx/err"],
  [
    row("ceiling: trivial Bun.serve, same-size JSON", ceilingResult),
    row("GET /api/v1/tasks/:id", getResult),
    row("POST /api/v1/tasks (hello)", postResult),
  ],
);
console.log(
  `\n(during the POST load the 2 threads finished ${ranDuringPost.toLocaleString("en-US")} tasks (${Math.round(ranDuringPost / DURATION).toLocaleString("en-US")}/s); ` +
    `${healthAfter.checks.queue.queued.toLocaleString("en-US")} orders were still queued after it)`,
);
console.log(`(autocannon reports latency in whole milliseconds)`);
console.log(
  `\nTargets: GET ≥ 15,000 req/s → ${Math.round(getResult.rps).toLocaleString("en-US")} ${getResult.rps >= 15_000 ? "MET" : "MISSED"}` +
    ` (${Math.round((getResult.rps / ceilingResult.rps) * 100)}% of this machine's trivial-server ceiling); ` +
    `GET p99 < 10 ms at ${CONNECTIONS} connections → ${getResult.p99} ms ${getResult.p99 < 10 ? "MET" : "MISSED"}`,
);
process.exit(0);
