// Authentication costs, in two parts:
//  1. Password hashing: ms per argon2id verify at the chosen cost (19 MiB, t=2 — OWASP's first
//     configuration) next to Bun's default (64 MiB, t=2) and OWASP's 46 MiB/t=1 alternative; then
//     sign-in throughput over real HTTP (POST /api/v1/auth/login against an in-process server,
//     `--concurrency` clients, each its own user so the one-check-per-account guard does not serialise them).
//  2. The latency authentication adds to GET /api/v1/tasks/:id, measured with app.request() (no
//     sockets: only the middleware's own cost shows). The app always authenticates; the baseline is the
//     same app handed the principal up front (authenticate() then has nothing to check; the route's
//     access rule still runs), against an access token, an API key and the session cookie, in
//     alternating rounds; and the cold path (signature checked with WebCrypto, user and session read
//     from SQLite) with every cache cleared before each request. Target: < 0.2 ms.
//
//   bun bench/auth.ts [--seconds 5] [--concurrency 4] [--requests 20000]
import { parseArgs } from "node:util";
import { Hono } from "hono";
import { createApp } from "../src/app.ts";
import { startBrowserSession } from "../src/features/auth/middleware.ts";
import type { Principal } from "../src/features/auth/principals.ts";
import { DEFAULT_PASSWORD_COST, hashPassword, verifyPassword, type PasswordCost } from "../src/features/auth/passwords.ts";
import type { AppServices } from "../src/app-context.ts";
import { embeddedServerOptions, startServer } from "../src/server.ts";
import { cleanupTemp, hardLimit, machineNote, median, percentile, table, tempDir } from "./lib.ts";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    concurrency: { type: "string", default: "4" },
    requests: { type: "string", default: "20000" },
  },
});
const SECONDS = Math.min(30, Number(args.seconds));
const CONCURRENCY = Number(args.concurrency);
const REQUESTS = Number(args.requests);
hardLimit(5 * 60_000, "auth");

const PASSWORD = "violet tractor umbrella 42";
await machineNote("auth");

// ---- 1a. argon2id cost ----
console.log("\n## argon2id: one verify (median of 15), and verifies/s with 4 in parallel\n");
const costs: Array<[string, PasswordCost]> = [
  ["chosen: 19 MiB, t=2 (OWASP #1)", DEFAULT_PASSWORD_COST],
  ["OWASP alt: 46 MiB, t=1", { memoryCost: 47_104, timeCost: 1 }],
  ["Bun default: 64 MiB, t=2", { memoryCost: 65_536, timeCost: 2 }],
];
const costRows: Array<Array<string | number>> = [];
for (const [name, cost] of costs) {
  const hash = await hashPassword(PASSWORD, cost);
  const times: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    await verifyPassword(PASSWORD, hash);
    times.push(performance.now() - t0);
  }
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 12 }, () => verifyPassword(PASSWORD, hash)));
  const parallel = 12 / ((performance.now() - t0) / 1000);
  costRows.push([name, median(times), percentile(times, 90), parallel, Math.round(cost.memoryCost / 1024)]);
}
table(["cost", "verify p50 ms", "p90 ms", "verifies/s (4 par.)", "MiB each"], costRows);

// ---- 1b. sign-in throughput over HTTP ----
const dataDir = tempDir();
const server = await startServer(
  embeddedServerOptions(dataDir, {
    workers: 0,
    shutdownGraceSeconds: 1,
    authRateLimit: 0,
    rateLimit: 0,
  }),
);
const api = (path: string, init: RequestInit = {}) =>
  fetch(`${server.url}/api/v1${path}`, { ...init, headers: { "content-type": "application/json", ...(init.headers as Record<string, string>) } });
const post = (path: string, body: unknown, token?: string) =>
  api(path, { method: "POST", body: JSON.stringify(body), headers: token ? { authorization: `Bearer ${token}` } : {} }).then(async (r) => {
    if (!r.ok) throw new Error(`${path} answered ${r.status}: ${await r.text()}`);
    return r.json() as Promise<any>;
  });

const admin = await post("/auth/register", { username: "admin", password: PASSWORD });
const users = ["admin"];
for (let i = 1; i < CONCURRENCY; i++) {
  await post("/users", { username: `user${i}`, password: PASSWORD, role: "operator" }, admin.access_token);
  users.push(`user${i}`);
}
console.log(`\n## POST /api/v1/auth/login over 127.0.0.1: ${CONCURRENCY} clients (one user each), ${SECONDS} s\n`);
const latencies: number[] = [];
const deadline = performance.now() + SECONDS * 1000;
const started = performance.now();
await Promise.all(
  users.map(async (username) => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      await post("/auth/login", { username, password: PASSWORD });
      latencies.push(performance.now() - t0);
    }
  }),
);
const elapsed = (performance.now() - started) / 1000;
table(["argon2id cost", "sign-ins", "sign-ins/s", "p50 ms", "p99 ms"], [
  [`m=${DEFAULT_PASSWORD_COST.memoryCost} KiB, t=${DEFAULT_PASSWORD_COST.timeCost}, p=1`, latencies.length, latencies.length / elapsed, median(latencies), percentile(latencies, 99)],
]);

// ---- 2. added latency on GET /api/v1/tasks/:id ----
const services: AppServices = server.services;
const task = await post("/tasks", { title: "bench", task_type: "hello", params: { name: "bench" }, requires: ["never"] }, admin.access_token);
const apiKey = await post("/api-keys", { name: "bench", scope: "api" }, admin.access_token);

/** The app behind a wrapper that provides the services (for /bench-login) and, for the baseline, the principal. */
function wrapped(principal?: Principal): Hono {
  const app = new Hono();
  app.use(async function provide(c, next) {
    for (const [k, v] of Object.entries(services)) c.set(k as keyof AppServices, v as never);
    if (principal) c.set("principal", principal);
    await next();
  });
  // Before the app's routes, so its page rules do not apply: a session cookie as the login form sets it.
  app.post("/bench-login", async (c) => {
    await startBrowserSession(c, admin.user.id, { ip: "127.0.0.1", userAgent: "bench" });
    return c.body(null, 204);
  });
  app.route("/", createApp(services));
  return app;
}
const given = wrapped({ kind: "user", userId: admin.user.id, username: admin.user.username, role: admin.user.role });
const guarded = wrapped();
const cookie = (await guarded.request("http://localhost/bench-login", { method: "POST" })).headers.get("set-cookie")!.split(";")[0]!;

const url = `http://localhost/api/v1/tasks/${task.id}`;
type Variant = { name: string; app: Hono<any>; headers: Record<string, string>; before?: () => void };
const variants: Variant[] = [
  { name: "principal given: nothing to check (baseline)", app: given, headers: {} },
  { name: "access token (Bearer JWT)", app: guarded, headers: { authorization: `Bearer ${admin.access_token}` } },
  { name: "API key (Bearer avk_…)", app: guarded, headers: { authorization: `Bearer ${apiKey.key}` } },
  { name: "session cookie", app: guarded, headers: { cookie } },
  {
    name: "access token, caches cleared each time",
    app: guarded,
    headers: { authorization: `Bearer ${admin.access_token}` },
    before: () => {
      services.auth.principals.clear();
      services.auth.tokens.clearCache();
    },
  },
];
for (const v of variants) {
  const res = await v.app.request(url, { headers: v.headers });
  if (res.status !== 200) throw new Error(`${v.name}: GET answered ${res.status}: ${await res.text()}`);
}

async function round(v: Variant, n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    v.before?.();
    const res = await v.app.request(url, { headers: v.headers });
    await res.arrayBuffer();
  }
  return ((performance.now() - t0) * 1000) / n; // µs per request
}
const ROUNDS = 10;
const perRound = Math.max(100, Math.floor(REQUESTS / ROUNDS));
const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
for (const v of variants) await round(v, perRound); // warm-up
for (let r = 0; r < ROUNDS; r++) for (const v of variants) samples.get(v.name)!.push(await round(v, perRound));

console.log(`\n## GET /api/v1/tasks/:id through app.request(): ${ROUNDS} alternating rounds of ${perRound} requests, µs per request (median round)\n`);
const base = median(samples.get(variants[0]!.name)!);
table(
  ["variant", "µs/request", "added µs", "added ms", "target < 0.2 ms"],
  variants.map((v) => {
    const us = median(samples.get(v.name)!);
    const added = us - base;
    return [v.name, us, v === variants[0] ? "-" : added, v === variants[0] ? "-" : added / 1000, v === variants[0] ? "-" : added < 200 ? "met" : "MISSED"];
  }),
);

await server.stop(0);
cleanupTemp();
process.exit(0);
