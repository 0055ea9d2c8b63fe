// Plan runs against the same work as plain tasks: a 100-step chain and a 100-wide fan-out (one root,
// 100 parallel hello steps, one join), through the in-process server and its worker threads.
//   plan:  runPlan (what POST /plans/:id/run calls) → the parent task 'succeeded' on the bus;
//   plain: the same hello tasks with the same dependency edges via submitTasks → the last one 'succeeded'.
// Per-step overhead = (plan time − plain time) / steps: what a plan adds (the parent following its
// children, template checks, the run record). Rounds alternate plan and plain; medians are compared.
//
//   bun bench/plan-run.ts [--steps 100] [--rounds 9] [--warmup 2] [--workers N]
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { submitTasks, type NewTask } from "../src/engine/submit.ts";
import { createPlan, runPlan } from "../src/features/plans/service.ts";
import type { StepBody } from "../src/features/plans/schemas.ts";
import { embeddedServerOptions, startServer, type RunningServer } from "../src/server.ts";
import { cleanupTemp, hardLimit, machineNote, median, nowMs, percentile, table, tempDir } from "./lib.ts";

const { values: args } = parseArgs({
  options: {
    steps: { type: "string", default: "100" },
    rounds: { type: "string", default: "9" },
    warmup: { type: "string", default: "2" },
    workers: { type: "string" },
  },
});
const STEPS = Number(args.steps);
const ROUNDS = Number(args.rounds);
const WARMUP = Number(args.warmup);
const WORKERS = Number(args.workers ?? Math.max(1, availableParallelism())); // the server's default
const WAIT_LIMIT_MS = 60_000;
const TARGET_MS_PER_STEP = 2;
hardLimit(5 * 60_000, "plan-run");

type Shape = "chain" | "fan-out";

/** Step names and their dependencies (by name) for a shape; the same edges serve the plan and the plain tasks. */
function shape(kind: Shape): Array<{ name: string; after: string[] }> {
  if (kind === "chain") return Array.from({ length: STEPS }, (_, i) => ({ name: `s${i}`, after: i > 0 ? [`s${i - 1}`] : [] }));
  const wide = Array.from({ length: STEPS }, (_, i) => ({ name: `w${i}`, after: ["root"] }));
  return [{ name: "root", after: [] }, ...wide, { name: "join", after: wide.map((w) => w.name) }];
}

function planSteps(kind: Shape): StepBody[] {
  // The chain is written as a sequence (no depends_on): the plan's own default, the same edges.
  return shape(kind).map((s) => ({ name: s.name, task_type: "hello", params: { name: s.name }, depends_on: kind === "chain" ? [] : s.after }));
}

function plainTasks(kind: Shape): NewTask[] {
  const ids = new Map(shape(kind).map((s) => [s.name, Bun.randomUUIDv7()]));
  return shape(kind).map((s) => ({
    id: ids.get(s.name)!,
    title: s.name,
    task_type: "hello",
    params: { name: s.name },
    depends_on: s.after.map((a) => ids.get(a)!),
    timeout_seconds: 60,
    max_retries: 0,
  }));
}

/** Resolves when `id` reaches a terminal status on the bus; rejects unless it succeeded. */
function finished(server: RunningServer, ids: () => string | undefined): { done: Promise<number> } {
  const bus = server.services.deps.bus;
  let off = () => {};
  const done = new Promise<number>((resolve, reject) => {
    const limit = setTimeout(() => {
      off();
      reject(new Error(`not finished within ${WAIT_LIMIT_MS} ms`));
    }, WAIT_LIMIT_MS);
    off = bus.on("task:changed", (e) => {
      if (e.taskId !== ids() || !["succeeded", "failed", "cancelled", "timed_out"].includes(e.status)) return;
      const at = nowMs();
      clearTimeout(limit);
      off();
      if (e.status === "succeeded") resolve(at);
      else reject(new Error(`${e.taskId} ended ${e.status}: ${e.error ?? ""}`));
    });
  });
  return { done };
}

async function timePlan(server: RunningServer, planId: string): Promise<number> {
  const deps = server.services.deps;
  let runId: string | undefined;
  const { done } = finished(server, () => runId);
  const t0 = nowMs();
  runId = runPlan(deps, planId, { inputs: {} }, { timeoutSeconds: 60, maxRetries: 0 }).id;
  return (await done) - t0;
}

async function timePlain(server: RunningServer, kind: Shape): Promise<number> {
  const tasks = plainTasks(kind);
  const lastId = tasks.at(-1)!.id!;
  const { done } = finished(server, () => lastId);
  const t0 = nowMs();
  submitTasks(server.services.deps, tasks);
  return (await done) - t0;
}

await machineNote("plan-run");
const dataDir = tempDir();
const server = await startServer(
  embeddedServerOptions(dataDir, {
    workers: WORKERS,
    shutdownGraceSeconds: 5,
  }),
);

console.log(`\n## Plan runs vs plain tasks of the same shape: in-process server, ${WORKERS} worker threads, ${ROUNDS} rounds (+${WARMUP} warm-up), medians\n`);
const rows: Array<Array<string | number>> = [];
let worst = 0;
for (const kind of ["chain", "fan-out"] as const) {
  const steps = shape(kind).length;
  const plan = createPlan(server.services.deps, { name: `bench ${kind}`, description: null, steps: planSteps(kind) });
  const planMs: number[] = [];
  const plainMs: number[] = [];
  for (let round = 0; round < WARMUP + ROUNDS; round++) {
    // Alternate which goes first, so neither always runs on a freshly warmed (or freshly grown) database.
    const order = round % 2 === 0 ? (["plan", "plain"] as const) : (["plain", "plan"] as const);
    for (const which of order) {
      const ms = which === "plan" ? await timePlan(server, plan.id) : await timePlain(server, kind);
      if (round >= WARMUP) (which === "plan" ? planMs : plainMs).push(ms);
    }
  }
  const overhead = (median(planMs) - median(plainMs)) / steps;
  worst = Math.max(worst, overhead);
  const label = kind === "chain" ? `chain of ${steps}` : `fan-out: 1 → ${STEPS} → 1 (${steps} steps)`;
  rows.push(
    [label, steps, median(plainMs), percentile(plainMs, 100), median(planMs), percentile(planMs, 100), overhead],
  );
}
table(["shape", "steps", "plain p50 ms", "plain max ms", "plan p50 ms", "plan max ms", "overhead ms/step"], rows);
console.log("  (plain = hello tasks with the same dependency edges via submitTasks; time = submit/run call → last task / parent 'succeeded' on the bus)");
console.log(`\nTarget: per-step overhead < ${TARGET_MS_PER_STEP} ms → worst ${worst.toFixed(3)} ms ${worst < TARGET_MS_PER_STEP ? "MET" : "MISSED"}`);

await server.stop(5);
cleanupTemp();
process.exit(0);
