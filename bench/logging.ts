// What structured logging costs on GET /api/v1/tasks/:id (target < 5 %): this code against the commit
// before it (checked out into a temp worktree and loaded into the same process, so both run on the same
// runtime, machine and moment), through app.fetch with no sockets — so only the server's own work shows,
// which makes the relative cost look larger than over a network. Three variants, interleaved round by round:
//   before   — the commit before operations (its logger wrote nothing per request at info)
//   info     — this code at the default level: request id, correlation id, log context, request metrics
//              (access lines are `debug`: none written)
//   debug    — this code at --log-level debug: also one JSON access line per request (to /dev/null, async)
//   bun bench/logging.ts [--requests 20000] [--rounds 5] [--base REV]
import { symlinkSync, copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pino from "pino";
import { configureLogging } from "../src/log.ts";
import { adminKey } from "./accounts.ts";
import { hardLimit, machineNote, median, table, tempDir } from "./lib.ts";

const root = join(import.meta.dir, "..");
const git = (...a: string[]) => {
  const r = Bun.spawnSync(["git", ...a], { cwd: root });
  if (r.exitCode !== 0) throw new Error(`git ${a.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString().trim();
};
// The commit before operations: the parent of the one that added their migration.
const added = git("log", "--diff-filter=A", "--format=%H", "-1", "--", "migrations/0008_ops.sql");
const { values: args } = parseArgs({ options: { requests: { type: "string", default: "20000" }, rounds: { type: "string", default: "5" }, base: { type: "string", default: added ? `${added}^` : "HEAD" } } });
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
process.exit(0);
