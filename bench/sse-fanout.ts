// Live-update fan-out: N browsers' worth of SSE subscribers on one server, one event published, how long
// until the last subscriber has it; server memory per open stream; and no event lost or reordered.
//
// The server runs as its own process (`sh -c 'ulimit -n …; exec bun src/main.ts serve …'`) so its RSS
// can be read from /proc/<pid>/status. Subscribers are raw sockets spread over a few client processes
// (bench/sse-fanout-client.ts). The publish time is taken just before the event is caused, the receive
// time when a subscriber has parsed the frame — all processes read the same clock
// (performance.timeOrigin + now). Streams, as the web UI opens them:
//
//   tasks  GET /events?topics=tasks — what the tasks page listens to. Event = a task edit (PATCH);
//          the frame names the topic only, so events are spaced by the topic's window (500 ms: a
//          burst would be folded into one frame by design) and each subscriber must count one
//          frame per event.
//   log    GET /events?topics=log:<execution> — a task detail page's live log. Event = one line a
//          running shell task prints (the bench writes it into the FIFO the task reads); lines are
//          never folded, so after the spaced events a burst of lines follows and every subscriber
//          must get every line, once, in order.
//   task-events  GET /api/v1/tasks/:id/events — the JSON API's per-task stream, for comparison
//          (not what the UI uses; `--targets task-events`).
//
//   ceiling  a bare Bun.serve in its own process that writes one pre-encoded frame to every stream:
//          the fan-out this machine (and these clients) allow, to compare the others with.
//
// The streams need a signed-in user: every request (and every subscriber's) carries an admin's API key
// (Bearer), made on the data dir before the server starts; the per-client rate limit is off
// (--rate-limit 0) since thousands of subscribers come from one address.
//
//   bun bench/sse-fanout.ts [--subscribers 1000,10000] [--targets ceiling,tasks,log] [--events 20] [--burst 500] [--clients 2]
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { adminKeyOn } from "./accounts.ts";
import { cleanupTemp, freePort, hardLimit, machineNote, percentile, table, tempDir } from "./lib.ts";

const { values: args } = parseArgs({
  options: {
    subscribers: { type: "string", default: "1000,10000" },
    targets: { type: "string", default: "ceiling,tasks,log" },
    events: { type: "string", default: "20" },
    burst: { type: "string", default: "500" },
    clients: { type: "string", default: "2" },
  },
});
const SIZES = args.subscribers.split(",").map(Number);
const EVENTS = Number(args.events);
const BURST = Number(args.burst);
const CLIENTS = Number(args.clients);
const WAIT_MS = 60_000; // for any one step (connecting, one event reaching everyone)
hardLimit(10 * 60_000, "sse-fanout");

const ROOT = join(import.meta.dir, "..");
const now = () => performance.timeOrigin + performance.now();
const children: Bun.Subprocess[] = [];
process.on("exit", () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
});

/** Raises the open-files limit as far as the hard limit allows, then runs `cmd`. */
const withFileLimit = (cmd: string[]) => ["sh", "-c", `ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`, "sh", ...cmd];

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : Number.NaN;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

/** The machine's ceiling: a bare Bun.serve that writes one pre-encoded frame to every open stream. */
const CEILING_SERVER = `
const frame = new TextEncoder().encode("event: tasks\\ndata: tasks\\n\\n");
const subs = new Set();
Bun.serve({ port: Number(process.env.PORT), hostname: "127.0.0.1", idleTimeout: 0, fetch(req) {
  if (new URL(req.url).pathname === "/publish") { for (const write of subs) write(frame); return new Response("ok"); }
  if (new URL(req.url).pathname === "/api/v1/health") return new Response("ok");
  let write;
  return new Response(new ReadableStream({
    start(c) { write = (b) => c.enqueue(b); subs.add(write); c.enqueue(new TextEncoder().encode("retry: 2000\\n\\n")); req.signal.addEventListener("abort", () => subs.delete(write)); },
    cancel() { subs.delete(write); },
  }), { headers: { "content-type": "text/event-stream" } });
} });`;

async function startServer(ceiling = false) {
  const dataDir = tempDir();
  const port = await freePort();
  // The ceiling server ignores the header; the key is sent to it all the same, so the requests match.
  const authorization = `Bearer ${ceiling ? "avk_ceiling" : await adminKeyOn(dataDir)}`;
  const cmd = ceiling
    ? ["bun", "-e", CEILING_SERVER]
    : ["bun", join(ROOT, "src/main.ts"), "serve", "--port", String(port), "--host", "127.0.0.1", "--data-dir", dataDir, "--workers", "1", "--log-level", "error", "--shutdown-grace", "1", "--rate-limit", "0"];
  const proc = Bun.spawn(withFileLimit(cmd), { cwd: dataDir, env: { ...process.env, PORT: String(port) }, stdout: "ignore", stderr: "inherit" });
  children.push(proc);
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited early with ${proc.exitCode}`);
    if (await fetch(`${base}/api/v1/health`).then((r) => r.ok, () => false)) break;
    if (Date.now() > deadline) throw new Error("server not healthy within 20 s");
    await Bun.sleep(20); // polling a starting process: there is nothing to wait on from outside
  }
  return { proc, port, base, dataDir, authorization };
}

async function stopProcess(proc: Bun.Subprocess) {
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
  await proc.exited;
  clearTimeout(timer);
}

type Server = Awaited<ReturnType<typeof startServer>>;

async function api<T>(server: Server, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${server.base}/api/v1${path}`, {
    method,
    headers: body === undefined ? { authorization: server.authorization } : { authorization: server.authorization, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

type Mode = { kind: "seq" } | { kind: "count"; event: string };

interface Prepared {
  path: string;
  mode: Mode;
  /** Causes event `seq` (0: a warm-up that counts for nothing, sent before anyone subscribes). */
  publish(seq: number): Promise<void>;
  /** Least time between two spaced events (the topic's fold window). */
  spacingMs: number;
  /** Whether a burst can be checked event by event (not for folded topics). */
  burst: boolean;
  done(): Promise<void>;
}

/** What the subscribers listen to and how one numbered event is caused. */
interface Target {
  name: string;
  /** Runs the bare ceiling server instead of AgentVine. */
  ceiling?: boolean;
  describe: string;
  prepare(server: Server): Promise<Prepared>;
}

async function editableTask(server: Server) {
  const { id } = await api<{ id: string }>(server, "POST", "/tasks", { title: "fanout", task_type: "hello", params: { name: "fanout" }, priority: "low" });
  await api(server, "GET", `/tasks/${id}/wait?timeout=30`);
  return {
    id,
    publish: async (seq: number) => void (await api(server, "PATCH", `/tasks/${id}`, { title: seq > 0 ? `fanout-seq-${seq}` : "warm-up" })),
  };
}

const TARGETS: Record<string, Target> = {
  ceiling: {
    name: "ceiling",
    ceiling: true,
    describe: "a bare Bun.serve writing one pre-encoded frame to every stream: what this machine allows",
    async prepare({ base }) {
      const publish = async (seq: number) => {
        if (seq > 0) await (await fetch(`${base}/publish`)).text();
      };
      return { path: "/events", mode: { kind: "count", event: "tasks" }, publish, spacingMs: 0, burst: false, done: async () => {} };
    },
  },
  tasks: {
    name: "tasks",
    describe: "GET /events?topics=tasks; event = PATCH of a task (frame per event, spaced 550 ms)",
    async prepare(server) {
      const task = await editableTask(server);
      return { path: "/events?topics=tasks", mode: { kind: "count", event: "tasks" }, publish: task.publish, spacingMs: 550, burst: false, done: async () => {} };
    },
  },
  log: {
    name: "log",
    describe: "GET /events?topics=log:<execution>; event = a line printed by a running shell task",
    async prepare(server) {
      const fifo = join(server.dataDir, "lines.fifo");
      if ((await Bun.spawn(["mkfifo", fifo]).exited) !== 0) throw new Error("mkfifo failed");
      const { id } = await api<{ id: string }>(server, "POST", "/tasks", {
        title: "fanout log",
        task_type: "shell",
        params: { command: "cat", args: [fifo] },
      });
      // Read-write: opening never blocks on a FIFO, and the task sees end-of-file when this closes.
      const fd = openSync(fifo, "r+");
      let executionId: string | undefined;
      for (const deadline = Date.now() + 20_000; !executionId; ) {
        const list = await api<{ items: Array<{ id: string }> }>(server, "GET", `/executions?task_id=${id}`);
        executionId = list.items[0]?.id;
        if (!executionId && Date.now() > deadline) throw new Error("the log task did not start");
        if (!executionId) await Bun.sleep(20); // polling another process's state
      }
      return {
        path: `/events?topics=log:${executionId}`,
        mode: { kind: "seq" },
        publish: async (seq) => void writeSync(fd, seq > 0 ? `fanout-seq-${seq}\n` : "warm-up\n"),
        spacingMs: 60,
        burst: true,
        async done() {
          closeSync(fd);
          await api(server, "GET", `/tasks/${id}/wait?timeout=30`);
        },
      };
    },
  },
  "task-events": {
    name: "task-events",
    describe: "GET /api/v1/tasks/:id/events (JSON API); event = PATCH of the task",
    async prepare(server) {
      const task = await editableTask(server);
      return { path: `/api/v1/tasks/${task.id}/events`, mode: { kind: "seq" }, publish: task.publish, spacingMs: 0, burst: true, done: async () => {} };
    },
  },
};

interface Client {
  proc: Bun.Subprocess;
  send(msg: unknown): void;
  next(type: string): Promise<any>;
  have: number; // highest seq every subscriber of this client holds
  onHave: () => void;
}

function spawnClient(): Client {
  const queues = new Map<string, Array<(m: any) => void>>();
  const pending = new Map<string, any[]>();
  const client: Client = {
    proc: undefined as unknown as Bun.Subprocess,
    send: (msg) => client.proc.send(msg),
    next(type) {
      const waiting = pending.get(type);
      if (waiting?.length) return Promise.resolve(waiting.shift());
      return new Promise((resolve) => {
        const q = queues.get(type) ?? [];
        q.push(resolve);
        queues.set(type, q);
      });
    },
    have: 0,
    onHave: () => {},
  };
  client.proc = Bun.spawn(withFileLimit(["bun", join(import.meta.dir, "sse-fanout-client.ts")]), {
    stdout: "inherit",
    stderr: "inherit",
    serialization: "advanced",
    ipc(msg: any) {
      if (msg.type === "have") {
        client.have = Math.max(client.have, msg.seq);
        client.onHave();
        return;
      }
      const resolver = queues.get(msg.type)?.shift();
      if (resolver) resolver(msg);
      else pending.set(msg.type, [...(pending.get(msg.type) ?? []), msg]);
    },
  });
  children.push(client.proc);
  return client;
}

/** Resolves once every client reports that all its subscribers hold event `seq`. */
function everyoneHas(clients: Client[], seq: number): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve) => {
      const check = () => {
        if (clients.every((c) => c.have >= seq)) resolve();
      };
      for (const c of clients) c.onHave = check;
      check();
    }),
    WAIT_MS,
    `event ${seq} reaching every subscriber`,
  );
}

interface Row {
  stream: string;
  subscribers: number;
  failed: number;
  connectS: number;
  kbPerConn: number;
  kbPerConnAfter: number;
  lastP50: number;
  lastP99: number;
  lastMax: number;
  firstP50: number;
  allP50: number;
  allP99: number;
  events: number;
  lost: number;
  reordered: number;
}

async function run(target: Target, subscribers: number): Promise<Row> {
  const server = await startServer(target.ceiling);
  try {
    const prepared = await target.prepare(server);
    const { path, publish } = prepared;
    // Warm the routes the run uses, so first-call compilation is not counted as per-connection memory.
    await publish(0);
    for (let i = 0; i < 20; i++) {
      const ac = new AbortController();
      const r = await fetch(`${server.base}${path}`, { signal: ac.signal, headers: { accept: "text/event-stream", authorization: server.authorization } });
      if (r.status !== 200) throw new Error(`GET ${path} answered ${r.status}: ${await r.text()}`);
      ac.abort();
      await r.body?.cancel().catch(() => {});
    }
    const rss0 = rssKb(server.proc.pid);

    const clients = Array.from({ length: CLIENTS }, spawnClient);
    await Promise.all(clients.map((c) => withTimeout(c.next("ready"), WAIT_MS, "client start")));
    const t0 = now();
    const per = Math.ceil(subscribers / CLIENTS);
    clients.forEach((c, i) =>
      c.send({ type: "connect", port: server.port, path, authorization: server.authorization, count: Math.min(per, subscribers - per * i), concurrency: 64, mode: prepared.mode }),
    );
    const connected = await Promise.all(clients.map((c) => withTimeout(c.next("connected"), WAIT_MS * 2, "connecting")));
    const connectS = (now() - t0) / 1000;
    const ok = connected.reduce((a, m) => a + m.ok, 0);
    const failed = connected.reduce((a, m) => a + m.failed, 0);
    const rss1 = rssKb(server.proc.pid);

    const sentAt: number[] = [];
    for (let seq = 1; seq <= EVENTS; seq++) {
      // The topic's fold window: an event sooner than this after the last would be held back (by design).
      const wait = (sentAt[seq - 1] ?? 0) + prepared.spacingMs - now();
      if (wait > 0) await Bun.sleep(wait);
      sentAt[seq] = now();
      await publish(seq);
      await everyoneHas(clients, seq);
    }
    const total = prepared.burst ? EVENTS + BURST : EVENTS;
    for (let seq = EVENTS + 1; seq <= total; seq++) await publish(seq);
    await everyoneHas(clients, total);
    const rss2 = rssKb(server.proc.pid);

    clients.forEach((c) => c.send({ type: "report" }));
    const reports = await Promise.all(clients.map((c) => withTimeout(c.next("report"), WAIT_MS, "report")));
    clients.forEach((c) => c.send({ type: "close" }));
    await Promise.all(clients.map((c) => withTimeout(c.proc.exited, 10_000, "client exit")));
    await prepared.done();

    let lost = 0;
    let reordered = 0;
    for (const r of reports) {
      reordered += r.disorder;
      for (const count of r.counts as number[]) lost += Math.max(0, total - count);
    }
    const lastLatency: number[] = [];
    const firstLatency: number[] = [];
    const all: number[] = [];
    for (let seq = 1; seq <= EVENTS; seq++) {
      let first = Infinity;
      let last = 0;
      for (const r of reports) {
        for (const t of (r.receiveTimes[seq] ?? []) as number[]) {
          const ms = t - sentAt[seq]!;
          all.push(ms);
          first = Math.min(first, ms);
          last = Math.max(last, ms);
        }
      }
      firstLatency.push(first);
      lastLatency.push(last);
    }
    return {
      stream: target.name,
      subscribers: ok,
      failed,
      connectS,
      kbPerConn: (rss1 - rss0) / Math.max(1, ok),
      kbPerConnAfter: (rss2 - rss0) / Math.max(1, ok),
      lastP50: percentile(lastLatency, 50),
      lastP99: percentile(lastLatency, 99),
      lastMax: Math.max(...lastLatency),
      firstP50: percentile(firstLatency, 50),
      allP50: percentile(all, 50),
      allP99: percentile(all, 99),
      events: total,
      lost,
      reordered,
    };
  } finally {
    await stopProcess(server.proc);
  }
}

const targets = args.targets.split(",").map((name) => {
  const t = TARGETS[name.trim()];
  if (!t) {
    console.error(`unknown target ${name}; known: ${Object.keys(TARGETS).join(", ")}`);
    process.exit(2);
  }
  return t;
});

await machineNote("sse-fanout");
console.log(`\n## SSE fan-out to raw-socket subscribers in ${CLIENTS} client processes; server: its own process, 1 worker thread`);
for (const t of targets) console.log(`##   ${t.name.padEnd(11)} ${t.describe}`);
console.log(`## ${EVENTS} events one at a time (each after every subscriber had the last), then a burst of ${BURST} (log, task-events)\n`);
const rows: Row[] = [];
for (const t of targets) for (const n of SIZES) rows.push(await run(t, n));
table(
  ["stream", "subscribers", "failed", "connect s", "KB/conn", "after events", "last-sub p50 ms", "p99", "max", "first-sub p50", "any-sub p50", "p99", "events", "lost", "reordered"],
  rows.map((r) => [r.stream, r.subscribers, r.failed, r.connectS, r.kbPerConn, r.kbPerConnAfter, r.lastP50, r.lastP99, r.lastMax, r.firstP50, r.allP50, r.allP99, r.events, r.lost, r.reordered]),
);
console.log(
  `\n"last-sub": from causing an event (the request or line leaving this process) until the last subscriber parsed it, over the ${EVENTS} spaced events;` +
    `\n"first-sub" until the first had it; "any-sub" over every delivery. KB/conn: server RSS growth / open streams (after connecting; after all events;` +
    `\n  at 1,000 streams the growth is within the garbage collector's noise, read the 10,000 rows).` +
    `\nlost/reordered: deliveries missing or out of order, over all events x every subscriber. Targets: 10k subscribers, last-sub p50 < 120 ms, < 10 KB/conn.`,
);
const bad = rows.some((r) => r.lost > 0 || r.reordered > 0 || r.failed > 0);
if (bad) console.log("\n** some events were lost or reordered, or subscribers failed to connect **");
cleanupTemp();
process.exit(bad ? 1 : 0);
