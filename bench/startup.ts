// Start-up: process start → first 200 from GET /api/v1/health (median of 10 runs), and idle RSS.
// Uses the compiled binary dist/agentvine when it exists (npm run build), else `bun src/main.ts`.
// Each run: an empty temp dir as cwd and data dir, a free port, --workers 2; the health endpoint is
// polled in a tight bounded loop (polling is the measurement here).
//
//   bun bench/startup.ts [--runs 10] [--binary path]
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { cleanupTemp, freePort, hardLimit, machineNote, median, percentile, table, tempDir } from "./lib.ts";

const { values: args } = parseArgs({ options: { runs: { type: "string", default: "10" }, binary: { type: "string" } } });
const RUNS = Number(args.runs);
hardLimit(3 * 60_000, "startup");

const ROOT = join(import.meta.dir, "..");
const binary = args.binary ?? join(ROOT, "dist/agentvine");
const useBinary = existsSync(binary);
const SOURCE = ["bun", join(ROOT, "src/main.ts")];

let child: Bun.Subprocess | null = null;
process.on("exit", () => child?.kill("SIGKILL"));

function rssKb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? Number.NaN);
  } catch {
    return Number.NaN;
  }
}

async function once(command: string[]): Promise<{ ms: number; rssMb: number; pid: number }> {
  const dir = tempDir("agentvine-startup-");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/api/v1/health`;
  const t0 = performance.now();
  child = Bun.spawn([...command, "serve", "--port", String(port), "--data-dir", join(dir, "data"), "--workers", "2", "--log-level", "error"], {
    cwd: dir,
    stdout: "ignore",
    stderr: "pipe",
  });
  let ms = Number.NaN;
  const deadline = t0 + 15_000;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${await new Response(child.stderr as ReadableStream).text()}`);
    try {
      const res = await fetch(url);
      if (res.status === 200) {
        ms = performance.now() - t0;
        await res.arrayBuffer();
        break;
      }
    } catch {
      // connection refused: not listening yet
    }
    await Bun.sleep(1);
  }
  if (Number.isNaN(ms)) throw new Error("no healthy answer within 15 s");
  await Bun.sleep(1000); // idle for ~1 s
  const rssMb = rssKb(child.pid) / 1024;
  const pid = child.pid;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child?.kill("SIGKILL"), 5000);
  await child.exited;
  clearTimeout(timer);
  child = null;
  cleanupTemp();
  return { ms, rssMb, pid };
}

await machineNote("startup");
console.log(`\n## Start-up to first healthy answer, ${RUNS} runs each, --workers 2, empty temp data dir`);
if (!useBinary) console.log(`   dist/agentvine does not exist yet (run \`npm run build\`): measuring \`bun src/main.ts\` only`);
console.log();

async function measure(command: string[]) {
  await once(command); // warm the OS file cache (and Bun's transpiler cache) — not counted
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await once(command));
  return { ms: runs.map((r) => r.ms), rss: runs.map((r) => r.rssMb) };
}
const results: Array<[string, { ms: number[]; rss: number[] }]> = [];
if (useBinary) results.push([`binary ${binary.replace(`${ROOT}/`, "")}`, await measure([binary])]);
results.push(["source: bun src/main.ts", await measure(SOURCE)]);

table(
  ["command", "start→200 median ms", "min", "p90", "max", "idle RSS median MB", "max MB"],
  results.map(([name, r]) => [name, median(r.ms), Math.min(...r.ms), percentile(r.ms, 90), Math.max(...r.ms), median(r.rss), Math.max(...r.rss)]),
);
const [judged, main] = results[0]!;
const okStart = median(main.ms) < 150;
const okRss = median(main.rss) < 80;
console.log(
  `\nTargets (on ${judged}${useBinary ? "" : " — NOT the binary"}): start < 150 ms → ${median(main.ms).toFixed(0)} ms ${okStart ? "MET" : "MISSED"}; ` +
    `idle RSS < 80 MB → ${median(main.rss).toFixed(1)} MB ${okRss ? "MET" : "MISSED"}`,
);
process.exit(0);
