// `npm run bench`: every benchmark, one after the other (never two at once: the figures would be worthless).
// Extra arguments after `--only` pick some: bun bench/run-all.ts --only queue-cycle,http
import { join } from "node:path";
import { parseArgs } from "node:util";

const BENCHMARKS = ["queue-cycle", "e2e-hello", "http", "remote-workers", "startup", "sse-fanout", "plan-run", "page-weight", "auth", "chat"] as const;
const LIMIT_MS = 12 * 60_000; // per benchmark; each also stops itself well before this

const { values } = parseArgs({ options: { only: { type: "string" } } });
const selected = values.only ? values.only.split(",").map((s) => s.trim()) : [...BENCHMARKS];
const unknown = selected.filter((s) => !(BENCHMARKS as readonly string[]).includes(s));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(", ")}; known: ${BENCHMARKS.join(", ")}`);
  process.exit(2);
}

const summary: Array<[string, number | null, number]> = [];
for (const name of selected) {
  console.log(`\n==================== bench/${name}.ts ====================`);
  const t0 = performance.now();
  const proc = Bun.spawn(["bun", join(import.meta.dir, `${name}.ts`)], { stdout: "inherit", stderr: "inherit" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), LIMIT_MS);
  const code = await proc.exited;
  clearTimeout(timer);
  summary.push([name, code, (performance.now() - t0) / 1000]);
}

console.log("\n==================== summary ====================");
for (const [name, code, s] of summary) console.log(`${name.padEnd(12)} ${code === 0 ? "ok    " : `exit ${code}`}  ${s.toFixed(1)} s`);
process.exit(summary.every(([, code]) => code === 0) ? 0 : 1);
