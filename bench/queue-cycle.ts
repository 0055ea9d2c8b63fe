// The in-process queue's full cycle (enqueue → claim → complete) in jobs/s, four ways side by side
// on this machine in this run, each on a fresh temp SQLite file in WAL mode with synchronous=NORMAL:
//   (a) raw bun:sqlite: AgentVine's own three statements, prepared once, each job's statements autocommit;
//   (b) plainjob: its documented API (queue.add / addMany, defineWorker) on bun:sqlite;
//   (c) AgentVine unbatched: enqueueWorkOrders([one]) / claimWorkOrders(limit 1) / completeWorkOrder;
//   (d) AgentVine batched: enqueue batches (each durable when the call returns), claim N, complete N in one tx.
// Then claim throughput with 100k queued orders, and the query plan of the claim's inner SELECT.
//
//   bun bench/queue-cycle.ts [--jobs 20000] [--depth 100000] [--claims 3000]
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { bun as plainjobBun, defineQueue, defineWorker } from "plainjob";
import { openDatabase, type Db } from "../src/db/client.ts";
import { migrate } from "../src/db/migrate.ts";
import { claimWorkOrders, completeWorkOrder, enqueueWorkOrders, type EnqueueInput } from "../src/queue/work-orders.ts";
import { cleanupTemp, hardLimit, machineNote, nowMs, percentile, table, tempDir } from "./lib.ts";

const { values: args } = parseArgs({
  options: {
    jobs: { type: "string", default: "20000" },
    depth: { type: "string", default: "100000" },
    claims: { type: "string", default: "3000" },
  },
});
const JOBS = Number(args.jobs);
const DEPTH = Number(args.depth);
const CLAIMS = Number(args.claims);
const VARIANT_LIMIT_MS = 30_000; // a variant that is slower than this stops and reports what it did
hardLimit(10 * 60_000, "queue-cycle");

const WORKER = "bench-worker";
const PAYLOAD = { task_type: "hello", params: { name: "bench" } };
const ORDER: EnqueueInput = { taskId: null, queue: "default", payload: PAYLOAD, maxRetries: 0, timeoutSeconds: 60 };
const silent = { error() {}, warn() {}, info() {}, debug() {} };

interface Run {
  name: string;
  jobs: number;
  enqueueMs: number;
  processMs: number;
  note?: string;
}

function freshDb(path = join(tempDir(), "queue.db")): Db {
  const db = openDatabase(path);
  migrate(db);
  const mode = db.sqlite.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get()?.journal_mode;
  const sync = db.sqlite.query<{ synchronous: number }, []>("PRAGMA synchronous").get()?.synchronous;
  if (mode !== "wal" || sync !== 1) throw new Error(`expected WAL + synchronous=NORMAL, got ${mode} / ${sync}`);
  return db;
}

const completedCount = (db: Database, sql = "SELECT count(*) AS n FROM work_orders WHERE status = 'completed'") =>
  db.query<{ n: number }, []>(sql).get()?.n ?? 0;

/** The exact SQL text the AgentVine functions run, captured by spying on `db.sqlite.query` once. */
function captureSql(): { insert: string; claim: string; complete: string } {
  const db = freshDb();
  const seen: string[] = [];
  const original = db.sqlite.query.bind(db.sqlite);
  (db.sqlite as { query: unknown }).query = (sql: string) => {
    seen.push(sql);
    return original(sql);
  };
  enqueueWorkOrders(db, [ORDER]);
  const [order] = claimWorkOrders(db, { workerId: WORKER, limit: 1, now: Date.now() });
  completeWorkOrder(db, { id: order!.id, workerId: WORKER, leaseToken: order!.lease_token }, null, Date.now());
  (db.sqlite as { query: unknown }).query = original;
  db.close();
  const find = (re: RegExp) => {
    const sql = seen.find((s) => re.test(s));
    if (!sql) throw new Error(`statement ${re} not captured`);
    return sql;
  };
  return {
    insert: find(/^\s*INSERT INTO work_orders/),
    claim: find(/SET status = 'claimed'/),
    complete: find(/SET status = 'completed'/),
  };
}

// (a) ---------------------------------------------------------------------------------------------
function rawVariant(sql: ReturnType<typeof captureSql>): Run {
  const db = freshDb();
  const insert = db.sqlite.prepare(sql.insert);
  const claim = db.sqlite.prepare<{ id: string; lease_token: string }, any>(sql.claim);
  const complete = db.sqlite.prepare(sql.complete);
  const deadline = nowMs() + VARIANT_LIMIT_MS;
  let t = nowMs();
  let enq = 0;
  for (; enq < JOBS; enq++) {
    if ((enq & 255) === 0 && nowMs() > deadline) break;
    const now = Date.now();
    insert.run({
      id: Bun.randomUUIDv7(),
      task_id: null,
      queue: "default",
      priority: 1,
      payload: JSON.stringify(PAYLOAD),
      requires: "[]",
      max_retries: 0,
      timeout_seconds: 60,
      run_at: now,
      expires_at: null,
      now,
    });
  }
  const enqueueMs = nowMs() - t;
  t = nowMs();
  let done = 0;
  for (;;) {
    if ((done & 255) === 0 && nowMs() > deadline) break;
    const now = Date.now();
    const [row] = claim.all({ worker: WORKER, now, lease_ms: null, caps: "[]", except: "[]", limit: 1 });
    if (!row) break;
    complete.run({ id: row.id, worker: WORKER, token: row.lease_token, result: "null", now });
    done++;
  }
  const processMs = nowMs() - t;
  const ok = completedCount(db.sqlite);
  db.close();
  return { name: "(a) raw bun:sqlite, prepared, unbatched", jobs: ok, enqueueMs, processMs };
}

// (b) ---------------------------------------------------------------------------------------------
async function plainjobVariant(batch: number): Promise<Run> {
  const sqlite = new Database(join(tempDir(), "plainjob.db"), { strict: true });
  const queue = defineQueue({ connection: plainjobBun(sqlite), logger: silent });
  const mode = sqlite.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get()?.journal_mode;
  const sync = sqlite.query<{ synchronous: number }, []>("PRAGMA synchronous").get()?.synchronous;
  if (mode !== "wal" || sync !== 1) throw new Error(`plainjob: expected WAL + synchronous=NORMAL, got ${mode} / ${sync}`);
  const deadline = nowMs() + VARIANT_LIMIT_MS;
  let t = nowMs();
  if (batch <= 1) {
    for (let i = 0; i < JOBS; i++) {
      if ((i & 255) === 0 && nowMs() > deadline) break;
      queue.add("bench", PAYLOAD);
    }
  } else {
    const data = Array.from({ length: batch }, () => PAYLOAD);
    for (let i = 0; i < JOBS; i += batch) {
      if (nowMs() > deadline) break;
      queue.addMany("bench", data.slice(0, Math.min(batch, JOBS - i)));
    }
  }
  const enqueueMs = nowMs() - t;
  const queued = queue.countJobs();
  t = nowMs();
  let done = 0;
  const worker = defineWorker("bench", () => {}, {
    queue,
    logger: silent,
    pollIntervall: 1,
    onCompleted: () => {
      if (++done >= queued || ((done & 255) === 0 && nowMs() > deadline)) void worker.stop();
    },
  });
  await worker.start();
  const processMs = nowMs() - t;
  const ok = completedCount(sqlite, "SELECT count(*) AS n FROM plainjob_jobs WHERE status = 2");
  queue.close();
  const name = batch <= 1 ? "(b) plainjob add() + defineWorker" : `(b) plainjob addMany(${batch}) + defineWorker`;
  return { name, jobs: ok, enqueueMs, processMs };
}

// (c) ---------------------------------------------------------------------------------------------
function agentvineUnbatched(): Run {
  const db = freshDb();
  const deadline = nowMs() + VARIANT_LIMIT_MS;
  let t = nowMs();
  for (let i = 0; i < JOBS; i++) {
    if ((i & 255) === 0 && nowMs() > deadline) break;
    enqueueWorkOrders(db, [ORDER]);
  }
  const enqueueMs = nowMs() - t;
  t = nowMs();
  for (let i = 0; ; i++) {
    if ((i & 255) === 0 && nowMs() > deadline) break;
    const [order] = claimWorkOrders(db, { workerId: WORKER, limit: 1, now: Date.now() });
    if (!order) break;
    completeWorkOrder(db, { id: order.id, workerId: WORKER, leaseToken: order.lease_token }, null, Date.now());
  }
  const processMs = nowMs() - t;
  const ok = completedCount(db.sqlite);
  db.close();
  return { name: "(c) AgentVine unbatched", jobs: ok, enqueueMs, processMs };
}

// (d) ---------------------------------------------------------------------------------------------
function agentvineBatched(enqueueBatch: number, claimBatch: number): Run {
  const db = freshDb();
  const deadline = nowMs() + VARIANT_LIMIT_MS;
  let t = nowMs();
  for (let i = 0; i < JOBS; i += enqueueBatch) {
    if (nowMs() > deadline) break;
    // Each call is one IMMEDIATE transaction: its orders are durable when it returns.
    enqueueWorkOrders(db, Array.from({ length: Math.min(enqueueBatch, JOBS - i) }, () => ORDER));
  }
  const enqueueMs = nowMs() - t;
  t = nowMs();
  const completeAll = db.sqlite.transaction((orders: ReturnType<typeof claimWorkOrders>, now: number) => {
    for (const o of orders) completeWorkOrder(db, { id: o.id, workerId: WORKER, leaseToken: o.lease_token }, null, now);
  });
  for (;;) {
    if (nowMs() > deadline) break;
    const orders = claimWorkOrders(db, { workerId: WORKER, limit: claimBatch, now: Date.now() });
    if (orders.length === 0) break;
    completeAll(orders, Date.now());
  }
  const processMs = nowMs() - t;
  const ok = completedCount(db.sqlite);
  db.close();
  return { name: `(d) AgentVine batched (enqueue ${enqueueBatch}/tx, claim ${claimBatch}, complete ${claimBatch}/tx)`, jobs: ok, enqueueMs, processMs };
}

// Interleaved: each job's insert → claim → complete before the next job (queue depth ≤ 1) ---------
function rawInterleaved(sql: ReturnType<typeof captureSql>): Run {
  const db = freshDb();
  const insert = db.sqlite.prepare(sql.insert);
  const claim = db.sqlite.prepare<{ id: string; lease_token: string }, any>(sql.claim);
  const complete = db.sqlite.prepare(sql.complete);
  const deadline = nowMs() + VARIANT_LIMIT_MS;
  const t = nowMs();
  for (let i = 0; i < JOBS; i++) {
    if ((i & 255) === 0 && nowMs() > deadline) break;
    const now = Date.now();
    insert.run({
      id: Bun.randomUUIDv7(),
      task_id: null,
      queue: "default",
      priority: 1,
      payload: JSON.stringify(PAYLOAD),
      requires: "[]",
      max_retries: 0,
      timeout_seconds: 60,
      run_at: now,
      expires_at: null,
      now,
    });
    const [row] = claim.all({ worker: WORKER, now, lease_ms: null, caps: "[]", except: "[]", limit: 1 });
    complete.run({ id: row!.id, worker: WORKER, token: row!.lease_token, result: "null", now });
  }
  const ms = nowMs() - t;
  const ok = completedCount(db.sqlite);
  db.close();
  return { name: "(a) raw bun:sqlite, prepared, unbatched", jobs: ok, enqueueMs: ms, processMs: 0 };
}

function plainjobInterleaved(): Run {
  const sqlite = new Database(join(tempDir(), "plainjob.db"), { strict: true });
  const queue = defineQueue({ connection: plainjobBun(sqlite), logger: silent });
  const deadline = nowMs() + VARIANT_LIMIT_MS;
  const t = nowMs();
  for (let i = 0; i < JOBS; i++) {
    if ((i & 255) === 0 && nowMs() > deadline) break;
    queue.add("bench", PAYLOAD);
    // What defineWorker does per job, without its polling loop.
    const claimed = queue.getAndMarkJobAsProcessing("bench");
    queue.getJobById(claimed!.id);
    queue.markJobAsDone(claimed!.id);
  }
  const ms = nowMs() - t;
  const ok = completedCount(sqlite, "SELECT count(*) AS n FROM plainjob_jobs WHERE status = 2");
  queue.close();
  return { name: "(b) plainjob add / getAndMarkJobAsProcessing / getJobById / markJobAsDone", jobs: ok, enqueueMs: ms, processMs: 0 };
}

function agentvineInterleaved(): Run {
  const db = freshDb();
  const deadline = nowMs() + VARIANT_LIMIT_MS;
  const t = nowMs();
  for (let i = 0; i < JOBS; i++) {
    if ((i & 255) === 0 && nowMs() > deadline) break;
    enqueueWorkOrders(db, [ORDER]);
    const [order] = claimWorkOrders(db, { workerId: WORKER, limit: 1, now: Date.now() });
    completeWorkOrder(db, { id: order!.id, workerId: WORKER, leaseToken: order!.lease_token }, null, Date.now());
  }
  const ms = nowMs() - t;
  const ok = completedCount(db.sqlite);
  db.close();
  return { name: "(c) AgentVine unbatched", jobs: ok, enqueueMs: ms, processMs: 0 };
}

// Claim at depth --------------------------------------------------------------------------------
interface PlanRow {
  id: number;
  parent: number;
  detail: string;
}

function planOf(db: Db, sql: string, params: Record<string, string | number | null>): string[] {
  return db.sqlite
    .query<PlanRow, any>(`EXPLAIN QUERY PLAN ${sql}`)
    .all(params)
    .map((r) => r.detail);
}

function claimAtDepth(sql: ReturnType<typeof captureSql>) {
  const db = freshDb();
  let t = nowMs();
  for (let i = 0; i < DEPTH; i += 1000) enqueueWorkOrders(db, Array.from({ length: Math.min(1000, DEPTH - i) }, () => ORDER));
  const enqMs = nowMs() - t;

  const params = { worker: WORKER, now: Date.now(), lease_ms: null, caps: "[]", except: "[]", limit: 1 };
  const inner = /SELECT id FROM work_orders[\s\S]*?LIMIT \$limit/.exec(sql.claim)?.[0];
  if (!inner) throw new Error("could not find the claim's inner SELECT");
  const innerParams = { now: params.now, caps: params.caps, except: params.except, limit: params.limit };
  const innerPlan = planOf(db, inner, innerParams);
  const updatePlan = planOf(db, sql.claim, params);
  const usesIdx = (plan: string[]) => plan.some((d) => /work_orders_claim_idx/.test(d));
  const tempSort = (plan: string[]) => plan.some((d) => /TEMP B-TREE/.test(d));

  const measure = (count: number, limitMs: number) => {
    const lat: number[] = [];
    const deadline = nowMs() + limitMs;
    const start = nowMs();
    for (let i = 0; i < count && nowMs() < deadline; i++) {
      const t0 = nowMs();
      const got = claimWorkOrders(db, { workerId: WORKER, limit: 1, now: Date.now() });
      lat.push(nowMs() - t0);
      if (got.length !== 1) throw new Error("queue ran dry during the claim measurement");
    }
    const ms = nowMs() - start;
    return { claims: lat.length, perSec: (lat.length / ms) * 1000, p50: percentile(lat, 50) * 1000, p99: percentile(lat, 99) * 1000 };
  };
  const asShipped = measure(CLAIMS, 15_000);
  db.close();

  // Reference: the same inner SELECT forced onto the claim index, on a fresh copy of the same queue.
  const forcedDb = freshDb();
  for (let i = 0; i < DEPTH; i += 1000) enqueueWorkOrders(forcedDb, Array.from({ length: Math.min(1000, DEPTH - i) }, () => ORDER));
  // The shipped claim names the index itself (since the planner was found choosing a sort); older
  // versions did not, and are rewritten so the reference row always shows the indexed plan.
  const forcedSql = /INDEXED BY work_orders_claim_idx/.test(sql.claim)
    ? sql.claim
    : sql.claim.replace(/FROM work_orders(\s+WHERE status = 'queued')/, "FROM work_orders INDEXED BY work_orders_claim_idx$1");
  if (!/INDEXED BY work_orders_claim_idx/.test(forcedSql)) throw new Error("could not rewrite the claim with INDEXED BY");
  const forcedStmt = forcedDb.sqlite.prepare(forcedSql);
  const forcedPlan = planOf(forcedDb, forcedSql, params);
  const forced = (() => {
    const lat: number[] = [];
    const deadline = nowMs() + 15_000;
    const start = nowMs();
    for (let i = 0; i < CLAIMS && nowMs() < deadline; i++) {
      const t0 = nowMs();
      forcedStmt.all({ ...params, now: Date.now() });
      lat.push(nowMs() - t0);
    }
    const ms = nowMs() - start;
    return { claims: lat.length, perSec: (lat.length / ms) * 1000, p50: percentile(lat, 50) * 1000, p99: percentile(lat, 99) * 1000 };
  })();
  forcedDb.close();

  console.log(`\n## Claim throughput with ${DEPTH.toLocaleString("en-US")} queued orders (claimWorkOrders, limit 1, each its own commit)`);
  console.log(`(enqueued ${DEPTH.toLocaleString("en-US")} in batches of 1000 at ${Math.round((DEPTH / enqMs) * 1000).toLocaleString("en-US")} orders/s)\n`);
  table(
    ["plan", "claims", "claims/s", "p50 µs", "p99 µs"],
    [
      ["claimWorkOrders as shipped", asShipped.claims, asShipped.perSec, asShipped.p50, asShipped.p99],
      ["reference: the UPDATE alone as a raw prepared statement", forced.claims, forced.perSec, forced.p50, forced.p99],
    ],
  );
  console.log("\nEXPLAIN QUERY PLAN — the claim's inner SELECT:");
  for (const d of innerPlan) console.log(`  ${d}`);
  console.log("EXPLAIN QUERY PLAN — the whole claim UPDATE … RETURNING:");
  for (const d of updatePlan) console.log(`  ${d}`);
  console.log("EXPLAIN QUERY PLAN — reference UPDATE with INDEXED BY work_orders_claim_idx:");
  for (const d of forcedPlan) console.log(`  ${d}`);
  console.log(
    `\nas shipped — uses work_orders_claim_idx: inner SELECT ${usesIdx(innerPlan) ? "YES" : "NO"}, UPDATE ${usesIdx(updatePlan) ? "YES" : "NO"}; ` +
      `temp b-tree sort: ${tempSort(innerPlan) || tempSort(updatePlan) ? "YES (bad)" : "no"}`,
  );
  return asShipped;
}

// main ------------------------------------------------------------------------------------------
await machineNote("queue-cycle");
const sql = captureSql();
const times = (x: number) => `${x.toFixed(2)}×`.padStart(7);
const rate = (r: Run) => (r.jobs / (r.enqueueMs + r.processMs)) * 1000;
const step = async (fn: () => Run | Promise<Run>) => {
  const r = await fn();
  cleanupTemp();
  return r;
};

console.log(`\n## Queue full cycle, phased: enqueue ${JOBS.toLocaleString("en-US")} jobs, then claim+complete until empty`);
console.log("   fresh temp DB per variant, WAL + synchronous=NORMAL, every acknowledged enqueue committed\n");
const runs: Run[] = [];
runs.push(await step(() => rawVariant(sql)));
runs.push(await step(() => plainjobVariant(1)));
runs.push(await step(() => plainjobVariant(500)));
runs.push(await step(agentvineUnbatched));
runs.push(await step(() => agentvineBatched(100, 100)));
runs.push(await step(() => agentvineBatched(500, 500)));

const plainjobBest = Math.max(...runs.filter((r) => r.name.startsWith("(b)")).map(rate));
const plainjobAdd = rate(runs.find((r) => r.name.startsWith("(b) plainjob add()"))!);
table(
  ["variant", "jobs done", "enqueue/s", "claim+complete/s", "full cycle jobs/s", "× plainjob add()", "× plainjob best"],
  runs.map((r) => [r.name, r.jobs, (JOBS / r.enqueueMs) * 1000, (r.jobs / r.processMs) * 1000, rate(r), times(rate(r) / plainjobAdd), times(rate(r) / plainjobBest)]),
);
const short = runs.filter((r) => r.jobs < JOBS);
if (short.length) {
  console.log(`\nNOTE: stopped at the ${VARIANT_LIMIT_MS / 1000} s limit before draining the queue: ${short.map((r) => r.name.slice(0, 3)).join(", ")}`);
  console.log("      (their claim+complete/s is over the part they drained; the queue was deepest then)");
}

console.log(`\n## Queue full cycle, interleaved: each job enqueued, claimed and completed before the next (depth ≤ 1)\n`);
const inter: Run[] = [];
inter.push(await step(() => rawInterleaved(sql)));
inter.push(await step(plainjobInterleaved));
inter.push(await step(agentvineInterleaved));
const plainInter = rate(inter[1]!);
table(
  ["variant", "jobs done", "full cycle jobs/s", "µs per job", "× plainjob"],
  inter.map((r) => [r.name, r.jobs, rate(r), (r.enqueueMs * 1000) / r.jobs, times(rate(r) / plainInter)]),
);

const bestD = Math.max(...runs.filter((r) => r.name.startsWith("(d)")).map(rate));
console.log(
  `\nTarget: batched ≥ 20,000 jobs/s → ${Math.round(bestD).toLocaleString("en-US")} ${bestD >= 20_000 ? "MET" : "MISSED"}; ` +
    `≥ 2× plainjob (best of its APIs, same run) → ${(bestD / plainjobBest).toFixed(2)}× ${bestD / plainjobBest >= 2 ? "MET" : "MISSED"}`,
);

const depth = claimAtDepth(sql);
cleanupTemp();
console.log(
  `\nTarget: claim with ${DEPTH.toLocaleString("en-US")} queued stays ~20,000/s (not ~150/s) → ${Math.round(depth.perSec).toLocaleString("en-US")}/s ` +
    `${depth.perSec >= 5_000 ? "OK" : "MISSED (the claim does not use work_orders_claim_idx)"}`,
);
