// The README's tour, run as written: every ```sh block marked `<!-- tour -->` in README.md, pasted into
// bash against a real server started the way the README starts it — so the tour stays true. Only the
// address changes (the test server's free port for localhost:8080); every request's status is recorded
// (a curl wrapper writes it to stderr) and checked: the 409s and 400s the tour shows on purpose, and
// nothing else that is not a 2xx.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ADMIN_PASSWORD, spawnServer, waitHealthy, type ServerProcess } from "./process.ts";

const ROOT = join(import.meta.dir, "..");
const work = mkdtempSync(join(tmpdir(), "agentvine-tour-"));
const dataDir = join(work, "data");
const ENV = {
  PATH: `${join(ROOT, "node_modules", ".bin")}:/usr/local/bin:/usr/bin:/bin`,
  HOME: work,
  NPM_CONFIG_UPDATE_NOTIFIER: "false",
};
let server: ServerProcess;

/** The tour: each ```sh block right after a `<!-- tour -->` line, in order. */
export function tourBlocks(readme: string): string[] {
  return [...readme.matchAll(/<!-- tour -->\r?\n```sh\r?\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

beforeAll(async () => {
  // As the README says: the admin first (offline, on the data dir), then the server.
  const made = Bun.spawnSync(["bun", join(ROOT, "src/main.ts"), "user", "create", "admin", "--admin", "--password-stdin", "--data-dir", dataDir], {
    cwd: ROOT,
    env: ENV,
    stdin: Buffer.from(`${ADMIN_PASSWORD}\n`),
  });
  if (made.exitCode !== 0) throw new Error(`user create: ${made.stderr}`);
  server = await spawnServer(["bun", join(ROOT, "src/main.ts"), "serve", "--port", "0", "--workers", "2", "--data-dir", dataDir], { cwd: ROOT, env: ENV });
  await waitHealthy(server.url);
}, 60_000);

afterAll(async () => {
  server?.proc.kill("SIGTERM");
  await server?.proc.exited;
  rmSync(work, { recursive: true, force: true });
});

describe("the README tour", () => {
  test("runs as written against a real server: every id captured, the outputs it promises, no unexpected error", async () => {
    const blocks = tourBlocks(readFileSync(join(ROOT, "README.md"), "utf8"));
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    const address = new URL(server.url).host;
    const script = [
      "set -euo pipefail",
      // Every request's status on stderr, the body untouched on stdout.
      `curl() { command curl -w '%{stderr}HTTP %{http_code} %{method} %{url_effective}\\n' "$@"; }`,
      ...blocks.map((b) => b.replaceAll("localhost:8080", address)),
    ].join("\n");
    const proc = Bun.spawn(["bash", "-c", script], {
      cwd: ROOT,
      env: { ...ENV, AGENTVINE_SERVER: server.url, AGENTVINE_DATA_DIR: dataDir },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    if (code !== 0) throw new Error(`the tour stopped (exit ${code})\n--- stdout\n${out.slice(-3000)}\n--- stderr\n${err.slice(-3000)}`);

    const statuses = [...err.matchAll(/^HTTP (\d{3}) (\S+) (\S+)$/gm)].map((m) => ({ status: Number(m[1]), request: `${m[2]} ${m[3]}` }));
    expect(statuses.length).toBeGreaterThanOrEqual(20);
    const unexpected = statuses.filter((s) => s.status >= 300).map((s) => `${s.status} ${s.request}`);
    // Exactly the refusals the tour shows on purpose.
    expect(unexpected.map((u) => u.replace(/\/tasks\/[0-9a-f-]{36}/, "/tasks/ID").replace(/^(\d+ \S+) http:\/\/[^/]+/, "$1 "))).toEqual([
      "409 POST /api/v1/tasks/ID/cancel",
      "409 POST /api/v1/tasks/ID/retry",
      "400 POST /api/v1/tasks",
      "400 GET /api/v1/executions?task_id=",
    ]);

    // What the comments promise.
    expect(out).toContain('"result":{"message":"Hello, world!"}');
    expect(out).toContain("event: end");
    expect(out).toContain(process.platform === "linux" ? "Linux" : "");
    expect(out).toContain('"code":"validation_failed"');
    expect(out).toContain("colour: unknown field");
    expect(out).toContain("task_id: is empty");
    expect(out).toContain("agentvine_tasks"); // the metrics
    // The tour's tasks, all finished as the README says they would (B after A; the ping reached the server).
    const tasks = (await (await fetch(`${server.url}/api/v1/tasks?per_page=100`, { headers: { authorization: `Bearer ${tourKey()}` } })).json()) as {
      items: Array<{ title: string; status: string }>;
    };
    expect(tasks.items.map((t) => t.title)).toEqual(expect.arrayContaining(["A", "B", "hi", "ping", "uname", "hello-pipeline (v1)", "greet", "repeat", "bye"]));
    expect(out).toContain("plan hello-pipeline unchanged (v1)");
    expect(out).toContain("Hello, Grace!");
    // Operations: the schedule's run now started a run; the rules and the webhook were saved.
    expect(out).toContain('"trigger":"manual","outcome":"started"');
    expect(out).toContain('"threshold":500');
    expect(out).toContain('"url_hint":"https://alerts.example.com/agentvine/…"');
  }, 120_000);
});

/** The key the tour created (the newest `api` key), read offline like an operator would. */
function tourKey(): string {
  const r = Bun.spawnSync(["bun", join(ROOT, "src/main.ts"), "apikey", "create", "after-tour", "--scope", "api", "--user", "admin", "--data-dir", dataDir], { cwd: ROOT, env: ENV });
  return r.stdout.toString().trim();
}
