// Shared helpers of the benchmarks: aligned tables, percentiles, temp dirs, a hard time limit,
// and a note about other load on the machine (the figures of a busy machine are not comparable).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";

export type Cell = string | number;

const fmtCell = (v: Cell) => (typeof v === "number" ? fmtNum(v) : v);

/** 12345.6 → "12,346"; small numbers keep two decimals. */
export function fmtNum(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? "-" : String(n);
  if (Number.isInteger(n)) return n.toLocaleString("en-US");
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString("en-US");
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

/** Prints an aligned table: text columns left-aligned, numbers right-aligned. */
export function table(headers: string[], rows: Cell[][]): void {
  const cells = rows.map((r) => r.map(fmtCell));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? "").length)));
  const numeric = headers.map((_, i) => rows.every((r) => typeof r[i] === "number" || r[i] === "-" || r[i] === undefined));
  const line = (r: string[]) =>
    r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  console.log(line(headers));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of cells) console.log(line(r));
}

/** Percentile (nearest rank) of an unsorted sample; `p` in 0..100. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export const median = (values: number[]) => percentile(values, 50);

/** A fresh temp dir; removed by `cleanupTemp()` (and on exit). */
const temps: string[] = [];
export function tempDir(prefix = "agentvine-bench-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}
export function cleanupTemp(): void {
  while (temps.length) rmSync(temps.pop()!, { recursive: true, force: true });
}
process.on("exit", cleanupTemp);

/** Exits the process (code 2) if the benchmark runs longer than `ms`: every benchmark is bounded in time. */
export function hardLimit(ms: number, name: string): void {
  const t = setTimeout(() => {
    console.error(`\n[${name}] hard time limit of ${Math.round(ms / 1000)} s reached: aborting`);
    cleanupTemp();
    process.exit(2);
  }, ms);
  t.unref();
}

/** Busy fraction of all CPUs over `ms`, from /proc/stat (this process sleeps meanwhile: the rest is others' load). */
export async function cpuBusy(ms = 1000): Promise<number> {
  const read = () => {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (line[3] ?? 0) + (line[4] ?? 0);
    return { idle, total: line.reduce((a, b) => a + b, 0) };
  };
  try {
    const a = read();
    await Bun.sleep(ms);
    const b = read();
    return 1 - (b.idle - a.idle) / Math.max(1, b.total - a.total);
  } catch {
    return Number.NaN;
  }
}

/** One line about the machine, so a reader can tell a quiet run from a noisy one. */
export async function machineNote(name: string): Promise<void> {
  const busy = await cpuBusy();
  const [one] = loadavg();
  const noisy = busy > 0.1;
  console.log(
    `# ${name} — bun ${Bun.version}, ${navigator.hardwareConcurrency} cores, ${Math.round(busy * 100)}% CPU busy with other work just before the run` +
      ` (load avg ${(one ?? 0).toFixed(2)})` +
      (noisy ? "\n# ** measured with other load present: figures may be noisy; re-run when the machine is quiet **" : ""),
  );
}

/** A free TCP port on 127.0.0.1 (bind port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export const nowMs = () => performance.now();

/** Yields to the event loop (lets timers, I/O and worker messages run). */
export const tick = () => new Promise<void>((r) => setImmediate(r));
