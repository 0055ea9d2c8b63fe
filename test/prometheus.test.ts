// The README's Prometheus scrape job, as written, checked by promtool and run by a real Prometheus against
// a real server: it authenticates with a viewer's key and its samples arrive. Needs Debian's `prometheus`
// package (.ci/run installs it); without it the test says so and is skipped.
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { SYSTEM_ACTOR } from "../src/features/audit/service.ts";
import { createApiKey } from "../src/features/auth/api-keys.ts";
import { createUser } from "../src/features/auth/users.ts";
import { cleanup, startTestServer, tempDir, TEST_PASSWORD } from "./helpers.ts";
import { freePort } from "../bench/lib.ts";

const PROMETHEUS = Bun.which("prometheus");
const PROMTOOL = Bun.which("promtool");
if (!PROMETHEUS || !PROMTOOL) console.warn("prometheus.test.ts: prometheus/promtool not found (apt-get install prometheus): the README's scrape job is not run");

let prometheus: Subprocess | null = null;
afterEach(async () => {
  prometheus?.kill();
  await prometheus?.exited;
  prometheus = null;
  await cleanup();
});

/** The YAML block of the README's Metrics section, as documented. */
function readmeScrapeConfig(): string {
  const readme = readFileSync(join(import.meta.dir, "../README.md"), "utf8");
  const block = /```yaml\n(# prometheus\.yml[\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error("the README has no ```yaml block starting with # prometheus.yml");
  return block;
}

describe("the README's Prometheus job", () => {
  test.skipIf(!PROMETHEUS || !PROMTOOL)("promtool accepts it, and a real Prometheus scrapes /metrics with it", async () => {
    const server = await startTestServer({ workers: 0 });
    const auth = server.services.auth;
    const viewer = await createUser(auth, { username: "prometheus", password: TEST_PASSWORD, role: "viewer" }, SYSTEM_ACTOR);
    const dir = tempDir();
    const keyFile = join(dir, "agentvine.key");
    writeFileSync(keyFile, createApiKey(auth, { name: "prometheus", scope: "api" }, { userId: viewer.id, actor: SYSTEM_ACTOR }).key, { mode: 0o600 });

    // The documented job with this machine's paths: the key file, the server's port, a 1 s interval.
    const documented = readmeScrapeConfig();
    const config = documented
      .replace("/etc/prometheus/agentvine.key", keyFile)
      .replace('"127.0.0.1:8080"', `"${new URL(server.url).host}"`)
      .replace("scrape_interval: 15s", "scrape_interval: 1s");
    expect(config).not.toBe(documented);
    const configFile = join(dir, "prometheus.yml");
    writeFileSync(configFile, config);
    const check = Bun.spawnSync([PROMTOOL!, "check", "config", configFile]);
    expect(check.stdout.toString() + check.stderr.toString()).toContain("SUCCESS");
    expect(check.exitCode).toBe(0);

    // Resolves at the second answered scrape: by then the first one's samples are stored.
    const metrics = server.services.metrics;
    const observe = metrics.observeHttp.bind(metrics);
    let scrapes = 0;
    const scraped = new Promise<void>((resolve) => {
      metrics.observeHttp = (a) => {
        observe(a);
        if (a.route === "/metrics" && a.status === 200 && ++scrapes === 2) resolve();
      };
    });
    const port = await freePort();
    prometheus = Bun.spawn([PROMETHEUS!, `--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, "tsdb")}`, `--web.listen-address=127.0.0.1:${port}`], {
      stdout: "ignore",
      stderr: "ignore",
    });
    await Promise.race([scraped, prometheus.exited.then((code) => Promise.reject(new Error(`prometheus exited with ${code}`)))]);

    const query = async (q: string) => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`);
      return ((await res.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }).data.result;
    };
    expect((await query('up{job="agentvine"}')).map((r) => r.value[1])).toEqual(["1"]);
    const info = await query("agentvine_build_info");
    expect(info).toHaveLength(1);
    expect(info[0]!.metric).toMatchObject({ job: "agentvine", version: server.services.version });
  }, 60_000);
});
