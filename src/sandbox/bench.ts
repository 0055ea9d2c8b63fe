// Start-up cost of a command through bwrap vs plain: `bun src/sandbox/bench.ts [runs]` prints the median and p90 of spawn → exit for `true`.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sandboxPlan, type SandboxOptions } from "./plan.ts";
import { probeSandbox } from "./probe.ts";

const runs = Number(process.argv[2] ?? 50);
const probe = probeSandbox();
if (!probe.available) {
  console.log(`bwrap unavailable: ${probe.reason}`);
  process.exit(0);
}
const workspace = mkdtempSync(join(tmpdir(), "agentvine-sandbox-bench-"));
const base: SandboxOptions = { mode: "bwrap", workspace, env: { PATH: "/usr/bin:/bin" }, tools: probe.tools };
const variants: Record<string, SandboxOptions> = {
  plain: { ...base, mode: "none" },
  bwrap: base,
  "bwrap + prlimit": { ...base, limits: { cpuSeconds: 600, fileSizeBytes: 1 << 30, openFiles: 1024, coreBytes: 0 } },
};
const times: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));

async function once(opts: SandboxOptions): Promise<number> {
  const plan = sandboxPlan(["true"], opts);
  const t0 = performance.now();
  const proc = Bun.spawn(plan.argv, { env: plan.env, cwd: plan.cwd, stdout: "ignore", stderr: "inherit", detached: true });
  if ((await proc.exited) !== 0) throw new Error(`${plan.argv.join(" ")} failed`);
  return performance.now() - t0;
}

try {
  for (const opts of Object.values(variants)) await once(opts); // warm the page cache
  // Interleaved, so drift on the machine hits every variant alike.
  for (let i = 0; i < runs; i++) for (const [name, opts] of Object.entries(variants)) times[name]!.push(await once(opts));
} finally {
  rmSync(workspace, { recursive: true, force: true });
}
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
console.log(`${probe.version}, ${runs} runs of \`true\` each (spawn → exit, ms)`);
for (const [name, xs] of Object.entries(times)) console.log(`${name.padEnd(16)} median ${pct(xs, 0.5).toFixed(2)}  p90 ${pct(xs, 0.9).toFixed(2)}`);
