// The chat and the context documents under load:
//
//   WebSocket fan-out — 1,000 sockets in 50 conversations (20 each) on one server; messages posted over
//   the HTTP API (10 in flight); for each, the time from just before the POST to the last of its
//   conversation's sockets parsing it: p50 / p99 (target p99 < 100 ms). The server's memory per open
//   socket: its RSS (/proc/<pid>/status) before and after the sockets open, over their number. The server
//   runs as its own process, the sockets in another (bench/chat-ws-client.ts).
//
//   Full-text search — 10,000 documents (~250 words each from a 5,000-word vocabulary, a Zipf-like mix),
//   then 1,000 searches of one or two words (with and without filters) through searchDocuments on the
//   SQLite file, and 200 through GET /api/v1/context/documents: p50 / p99 (target p99 < 20 ms).
//
//   bun bench/chat.ts [--clients 1000] [--conversations 50] [--messages 500] [--documents 10000]
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { adminKeyOn } from "./accounts.ts";
import { freePort, hardLimit, machineNote, percentile, table, tempDir } from "./lib.ts";
import { openDatabase } from "../src/db/client.ts";
import { migrate } from "../src/db/migrate.ts";
import { EventBus } from "../src/events/bus.ts";
import { createDocument, searchDocuments, DOCUMENT_TYPES } from "../src/features/context/service.ts";

const { values: args } = parseArgs({
  options: {
    clients: { type: "string", default: "1000" },
    conversations: { type: "string", default: "50" },
    messages: { type: "string", default: "500" },
    documents: { type: "string", default: "10000" },
  },
});
const CLIENTS = Number(args.clients);
const CONVERSATIONS = Number(args.conversations);
const MESSAGES = Number(args.messages);
const DOCUMENTS = Number(args.documents);
hardLimit(10 * 60_000, "chat");
await machineNote("chat");

const ROOT = join(import.meta.dir, "..");
const children: Bun.Subprocess[] = [];
process.on("exit", () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
});
const withFileLimit = (cmd: string[]) => ["sh", "-c", `ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`, "sh", ...cmd];
const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;

// ---------------------------------------------------------------------------------------------------
// WebSocket fan-out
// ---------------------------------------------------------------------------------------------------
{
  const dataDir = tempDir();
  const key = await adminKeyOn(dataDir);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = Bun.spawn(
    withFileLimit(["bun", join(ROOT, "src/main.ts"), "serve", "--port", String(port), "--host", "127.0.0.1", "--data-dir", dataDir, "--workers", "0", "--log-level", "error", "--rate-limit", "0"]),
    { cwd: dataDir, stdout: "ignore", stderr: "inherit" },
  );
  children.push(server);
  for (const deadline = Date.now() + 20_000; ; ) {
    if ((await fetch(`${base}/api/v1/health`).catch(() => null))?.ok) break;
    if (Date.now() > deadline) throw new Error("server not healthy within 20 s");
    await Bun.sleep(100);
  }
  const convs: string[] = [];
  for (let i = 0; i < CONVERSATIONS; i++) {
    const res = await fetch(`${base}/api/v1/chat/conversations`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ title: `bench ${i}` }) });
    convs.push(((await res.json()) as { id: string }).id);
  }
  await Bun.sleep(500);
  const rssBefore = rssOf(server.pid);
  const client = Bun.spawn(withFileLimit(["bun", join(import.meta.dir, "chat-ws-client.ts"), base, key, convs.join(","), String(CLIENTS)]), { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  children.push(client);
  const lines = (async function* () {
    let buf = "";
    for await (const chunk of client.stdout as unknown as AsyncIterable<Uint8Array>) {
      buf += new TextDecoder().decode(chunk);
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        yield buf.slice(0, nl);
        buf = buf.slice(nl + 1);
      }
    }
  })();
  const t0 = performance.now();
  for (;;) {
    const { value, done } = await lines.next();
    if (done) throw new Error("client exited before it was ready");
    if (value === "ready") break;
  }
  const openMs = performance.now() - t0;
  await Bun.sleep(1000);
  const rssAfter = rssOf(server.pid);
  const measure = async (n: number) => {
    client.stdin.write(`publish ${n}\n`);
    client.stdin.flush();
    const ms: number[] = [];
    for (;;) {
      const { value, done } = await lines.next();
      if (done) throw new Error("client exited");
      if (value === "done") return ms;
      ms.push((JSON.parse(value) as { ms: number }).ms);
    }
  };
  await measure(50); // warm-up
  const started = performance.now();
  const lat = await measure(MESSAGES);
  const seconds = (performance.now() - started) / 1000;
  client.stdin.write("quit\n");
  client.stdin.flush();
  await client.exited;
  server.kill();
  await server.exited;
  console.log(`\nWebSocket fan-out: ${CLIENTS} sockets in ${CONVERSATIONS} conversations (${CLIENTS / CONVERSATIONS} each), ${MESSAGES} messages posted over HTTP, 10 in flight`);
  table(
    ["sockets", "opened in", "publish → last receive p50", "p99", "max", "messages/s", "server RSS before", "after", "per socket"],
    [[CLIENTS, `${(openMs / 1000).toFixed(2)} s`, `${percentile(lat, 50).toFixed(1)} ms`, `${percentile(lat, 99).toFixed(1)} ms`, `${Math.max(...lat).toFixed(1)} ms`, (MESSAGES / seconds).toFixed(0), mb(rssBefore), mb(rssAfter), `${((rssAfter - rssBefore) / CLIENTS / 1024).toFixed(1)} KB`]],
  );
  console.log(`target: p99 < 100 ms — ${percentile(lat, 99) < 100 ? "met" : "NOT met"}`);
}

// ---------------------------------------------------------------------------------------------------
// Full-text search over 10,000 documents
// ---------------------------------------------------------------------------------------------------
{
  const dir = tempDir();
  const db = openDatabase(join(dir, "agentvine.db"));
  migrate(db);
  const deps = { db, bus: new EventBus() };
  // A vocabulary of made-up words; word i is drawn with weight 1/(i+1) (Zipf-like), as in real text.
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "de", "po", "an", "el", "or", "ut", "is"];
  const vocab = Array.from({ length: 5000 }, (_, i) => {
    let w = "";
    for (let n = i + 7; w.length < 4 || n > 0; n = Math.floor(n / syllables.length)) w += syllables[n % syllables.length];
    return w;
  });
  const weights = vocab.map((_, i) => 1 / (i + 1));
  const cumulative: number[] = [];
  weights.reduce((sum, w, i) => (cumulative[i] = sum + w), 0);
  const total = cumulative.at(-1)!;
  const word = () => {
    const r = rand() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < r) lo = mid + 1;
      else hi = mid;
    }
    return vocab[lo]!;
  };
  const repos = Array.from({ length: 20 }, (_, i) => `https://git.example.com/acme/repo-${i}`);
  const t0 = performance.now();
  db.sqlite.transaction(() => {
    for (let i = 0; i < DOCUMENTS; i++) {
      const content = Array.from({ length: 250 }, word).join(" ");
      createDocument(deps, {
        title: `${word()} ${word()} ${word()}`,
        document_type: DOCUMENT_TYPES[i % DOCUMENT_TYPES.length]!,
        content,
        repository_url: repos[i % repos.length],
        tags: [word(), word()],
      });
    }
  })();
  const loadMs = performance.now() - t0;
  const queries = Array.from({ length: 1000 }, (_, i) => ({
    // Mid-frequency words: the common ones match most documents (the hard case for ranking), the rare ones few.
    q: i % 2 ? vocab[Math.floor(rand() * 500)] : `${vocab[Math.floor(rand() * 2000)]} ${vocab[Math.floor(rand() * 200)]}`,
    filter: i % 4 === 0 ? { document_type: "design" as const } : i % 4 === 1 ? { repository_url: repos[i % repos.length] } : {},
  }));
  for (const q of queries.slice(0, 50)) searchDocuments(deps, { ...q, page: 1, per_page: 20 }); // warm-up
  const times: number[] = [];
  let hits = 0;
  for (const q of queries) {
    const s = performance.now();
    hits += searchDocuments(deps, { ...q, page: 1, per_page: 20 }).total;
    times.push(performance.now() - s);
  }
  const common = performance.now();
  const worst = searchDocuments(deps, { q: vocab[0], page: 1, per_page: 20 });
  const worstMs = performance.now() - common;
  db.close();
  console.log(`\nFull-text search: ${DOCUMENTS} documents (~250 words each) loaded in ${(loadMs / 1000).toFixed(1)} s; 1,000 searches of 1–2 words, a quarter filtered by type, a quarter by repository, 20 results a page`);
  table(
    ["searches", "p50", "p99", "max", "mean matches", "the most common word (matches every document)"],
    [[queries.length, `${percentile(times, 50).toFixed(2)} ms`, `${percentile(times, 99).toFixed(2)} ms`, `${Math.max(...times).toFixed(2)} ms`, (hits / queries.length).toFixed(0), `${worstMs.toFixed(1)} ms (${worst.total} matches)`]],
  );
  console.log(`target: p99 < 20 ms — ${percentile(times, 99) < 20 ? "met" : "NOT met"}`);
}
process.exit(0);
