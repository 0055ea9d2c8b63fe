// What structured logging costs on GET /api/v1/tasks/:id (target < 5 %): this code against the commit
// before it (checked out into a temp worktree), measured two ways, the variants interleaved round by round:
//   1. through app.fetch, both versions loaded into this process (no sockets: only the server's own work
//      shows, so the relative cost looks larger than it is for a client);
//   2. over HTTP: each version its own `serve` process, loaded by autocannon (node) over 127.0.0.1.
// The variants:
//   before   — the code without operations (its logger wrote nothing per request at info): main's side of
//              the last merge while on the ops branch, else the parent of the commit that added them
//   info     — this code at the default level: request id, correlation id, log context, request metrics
//              (access lines are `debug`: none written)
//   debug    — this code at --log-level debug: also one JSON access line per request (to /dev/null, async)
//   bun bench/logging.ts [--requests 20000] [--rounds 5] [--seconds 5] [--connections 32] [--base REV]
import { symlinkSync, copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pino from "pino";
import { configureLogging } from "../src/log.ts";
import { adminKey } from "./accounts.ts";
import { freePort, hardLimit, machineNote, median, table, tempDir } from "./lib.ts";

const root = join(import.meta.dir, "..");
const git = (...a: string[]) => {
  const r = Bun.spawnSync(["git", ...a], { cwd: root });
  if (r.exitCode !== 0) throw new Error(`git ${a.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString().trim();
};
// The code without operations: on the ops branch, main (their merge base, when main was merged in);
// once merged, the parent of the commit that added their migration.
const added = git("log", "--diff-filter=A", "--format=%H", "-1", "--", "migrations/0008_ops.sql");
const mergeBase = Bun.spawnSync(["git", "merge-base", "HEAD", "main"], { cwd: root }).stdout.toString().trim();
const ancestor = (a: string, b: string) => Bun.spawnSync(["git", "merge-base", "--is-ancestor", a, b], { cwd: root }).exitCode === 0;
const defaultBase = mergeBase && mergeBase !== git("rev-parse", "HEAD") && added && !ancestor(added, mergeBase) ? mergeBase : added ? `${added}^` : "HEAD";
const { values: args } = parseArgs({
  options: {
    requests: { type: "string", default: "20000" },
    rounds: { type: "string", default: "5" },
    seconds: { type: "string", default: "5" },
    connections: { type: "string", default: "32" },
    base: { type: "string", default: defaultBase },
  },
});
const REQUESTS = Number(args.requests);
const ROUNDS = Number(args.rounds);
hardLimit(8 * 60_000, "logging");
await machineNote("logging");

// ---- the commit before, beside this one ----
const baseDir = join(tempDir(), "base");
const baseRev = git("rev-parse", "--short", args.base!);
git("worktree", "add", "--detach", baseDir, baseRev);
process.on("exit", () => Bun.spawnSync(["git", "worktree", "remove", "--force", baseDir], { cwd: root }));
symlinkSync(join(root, "node_modules"), join(baseDir, "node_modules"));
mkdirSync(join(baseDir, "public/build"), { recursive: true });
copyFileSync(join(root, "public/build/app.css"), join(baseDir, "public/build/app.css"));

type Started = { fetch(r: Request): Promise<Response>; stop(g?: number): Promise<unknown>; services: { auth: any; deps: any } };
async function start(dir: string): Promise<{ server: Started; key: string; url: string }> {
  const { embeddedServerOptions, startServer } = await import(join(dir, "src/server.ts"));
  const { submitTasks } = await import(join(dir, "src/engine/submit.ts"));
  const server = (await startServer(embeddedServerOptions(tempDir(), { workers: 0, listen: false, rateLimit: 0 }))) as Started;
  const [task] = submitTasks(server.services.deps, [{ title: "bench", task_type: "hello", params: { name: "x" }, timeout_seconds: 60, max_retries: 0 }]);
  const key = await adminKey(server.services.auth);
  return { server, key, url: `http://localhost/api/v1/tasks/${task.id}` };
}
const before = await start(baseDir);
const after = await start(root);

const devNull = pino.destination({ dest: "/dev/null", sync: false });
async function run(target: { server: Started; key: string; url: string }, n: number): Promise<number> {
  const headers = { authorization: `Bearer ${target.key}` };
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const res = await target.server.fetch(new Request(target.url, { headers }));
    if (res.status !== 200) throw new Error(`GET answered ${res.status}`);
    await res.arrayBuffer();
  }
  return ((performance.now() - t0) * 1000) / n; // µs per request
}
const variants: Record<string, () => Promise<number>> = {
  before: () => run(before, REQUESTS),
  info: () => (configureLogging({ level: "info", format: "json", destination: devNull }), run(after, REQUESTS)),
  debug: () => (configureLogging({ level: "debug", format: "json", destination: devNull }), run(after, REQUESTS)),
};
for (const v of Object.values(variants)) await v(); // warm up each (JIT, caches)
const results: Record<string, number[]> = { before: [], info: [], debug: [] };
for (let r = 0; r < ROUNDS; r++) for (const [name, v] of Object.entries(variants)) results[name]!.push(await v());

const base = median(results.before!);
console.log(`\n## GET /api/v1/tasks/:id through app.fetch, ${REQUESTS.toLocaleString("en-US")} requests × ${ROUNDS} rounds (base ${baseRev})\n`);
table(
  ["variant", "µs/request (median)", "min", "max", "req/s", "vs before"],
  Object.entries(results).map(([name, xs]) => [name, median(xs), Math.min(...xs), Math.max(...xs), 1e6 / median(xs), name === "before" ? "—" : `${(((median(xs) - base) / base) * 100).toFixed(1)} %`]),
);
const overhead = ((median(results.info!) - base) / base) * 100;
const debug = ((median(results.debug!) - base) / base) * 100;
console.log(`\ntarget: under 5 % → ${overhead < 5 ? "met" : "NOT met"} (${overhead.toFixed(1)} % at the default level; ${debug.toFixed(1)} % with a line per request at debug — in process: over sockets the same µs are a smaller share)`);
configureLogging({ level: "warn", format: "json" });
await before.server.stop(0);
await after.server.stop(0);

// ---- 2. over HTTP: each version its own process ----
const SECONDS = Math.min(30, Number(args.seconds));
const children: Bun.Subprocess[] = [];
process.on("exit", () => children.forEach((c) => c.exitCode === null && c.kill("SIGKILL")));
async function serve(dir: string, level: string): Promise<{ url: string; key: string }> {
  const dataDir = tempDir();
  const cli = (...a: string[]) => {
    const r = Bun.spawnSync(["bun", join(dir, "src/main.ts"), ...a, "--data-dir", dataDir], { stdin: new TextEncoder().encode("violet tractor umbrella 42\n") });
    if (r.exitCode !== 0) throw new Error(`${a.join(" ")}: ${r.stderr.toString()}`);
    return r.stdout.toString().trim();
  };
  cli("user", "create", "admin", "--admin");
  const key = cli("apikey", "create", "bench", "--scope", "api", "--user", "admin");
  const port = await freePort();
  const proc = Bun.spawn(["bun", join(dir, "src/main.ts"), "serve", "--port", String(port), "--data-dir", dataDir, "--workers", "0", "--rate-limit", "0", "--log-level", level], {
    stdout: "ignore",
    stderr: "ignore",
  });
  children.push(proc);
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const ok = await fetch(`${base}/api/v1/health`).then((r) => r.status < 600, () => false);
    if (ok) break;
    if (i > 500 || proc.exitCode !== null) throw new Error("server did not start");
    await Bun.sleep(20);
  }
  const task = (await (await fetch(`${base}/api/v1/tasks`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${key}` }, body: JSON.stringify({ title: "bench", task_type: "hello", params: { name: "x" } }) })).json()) as { id: string };
  return { url: `${base}/api/v1/tasks/${task.id}`, key };
}
async function autocannon(target: { url: string; key: string }): Promise<number> {
  const opts = { url: target.url, connections: Number(args.connections), duration: SECONDS, headers: { authorization: `Bearer ${target.key}` } };
  const proc = Bun.spawn(["node", join(import.meta.dir, "autocannon-run.mjs"), JSON.stringify(opts)], { stdout: "pipe", stderr: "inherit" });
  const out = await new Response(proc.stdout).text();
  if ((await proc.exited) !== 0) throw new Error("autocannon failed");
  const r = JSON.parse(out.trim().split("\n").at(-1)!) as { rps: number; non2xx: number };
  if (r.non2xx > 0) throw new Error(`${r.non2xx} answers were not 2xx`);
  return r.rps;
}
const targets = { before: await serve(baseDir, "info"), info: await serve(root, "info"), debug: await serve(root, "debug") };
const rps: Record<string, number[]> = { before: [], info: [], debug: [] };
for (let r = 0; r < Math.max(2, Math.ceil(ROUNDS / 2)); r++) for (const [name, t] of Object.entries(targets)) rps[name]!.push(await autocannon(t));
const baseRps = median(rps.before!);
console.log(`\n## the same over HTTP: autocannon, ${args.connections} connections, ${SECONDS} s a run, each version its own serve process (--log-level info / debug, stdout to /dev/null)\n`);
table(
  ["variant", "req/s (median)", "min", "max", "vs before"],
  Object.entries(rps).map(([name, xs]) => [name, median(xs), Math.min(...xs), Math.max(...xs), name === "before" ? "—" : `${(((baseRps - median(xs)) / baseRps) * 100).toFixed(1)} % fewer`]),
);
const httpCost = ((baseRps - median(rps.info!)) / baseRps) * 100;
console.log(`\ntarget over HTTP: under 5 % → ${httpCost < 5 ? "met" : "NOT met"} (${httpCost.toFixed(1)} % fewer requests a second at the default level)`);
for (const c of children) c.kill("SIGTERM");
await Promise.all(children.map((c) => c.exited));
process.exit(0);
