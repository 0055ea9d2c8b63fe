// Builds the single executable and runs it the way a user would: from an empty directory, without Bun on PATH.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAdminKey, spawnServer, waitHealthy, type ServerProcess } from "../process.ts";

const root = join(import.meta.dir, "..", "..");
const work = mkdtempSync(join(tmpdir(), "agentvine-bin-"));
const binary = join(work, "agentvine");
let server: ServerProcess;

beforeAll(async () => {
  const build = Bun.spawnSync(["bun", "scripts/build.ts"], { cwd: root, env: { ...process.env, AGENTVINE_OUTFILE: binary } });
  if (build.exitCode !== 0) throw new Error(`build failed: ${build.stderr.toString()}`);
}, 120_000);

afterAll(() => {
  server?.proc.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
});

const run = (args: string[], cwd: string) => Bun.spawnSync([binary, ...args], { cwd, env: { PATH: "/usr/bin:/bin", HOME: cwd } });

describe("the compiled binary", () => {
  test("prints its version and refuses a bad flag with a message naming it", () => {
    const empty = mkdtempSync(join(work, "v-"));
    const version = run(["version"], empty);
    expect(version.exitCode).toBe(0);
    expect(version.stdout.toString().trim()).toMatch(/^\d+\.\d+\.\d+/);

    const bad = run(["serve", "--port", "not-a-port"], empty);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.toString()).toContain("--port");
    expect(existsSync(join(empty, "data"))).toBe(false); // nothing created on a bad config

    // An unknown flag is one line naming it (no stack trace); --help answers; no command is the help, not a server.
    const unknown = run(["healthcheck", "--bogus"], empty);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr.toString()).toBe("agentvine healthcheck: unknown option '--bogus' (see agentvine healthcheck --help)\n");
    const help = run(["healthcheck", "--help"], empty);
    expect(help.exitCode).toBe(0);
    expect(help.stdout.toString()).toContain("Usage: agentvine healthcheck");
    const nothing = run([], empty);
    expect(nothing.exitCode).toBe(2);
    expect(nothing.stdout.toString()).toContain("Usage: agentvine <command>");
    expect(existsSync(join(empty, "data"))).toBe(false);
  });

  test("serves from an empty directory: migrations, threads, sign-in and the hello world task", async () => {
    const cwd = mkdtempSync(join(work, "serve-"));
    expect(readdirSync(cwd)).toEqual([]);
    server = await spawnServer([binary, "serve", "--port", "0", "--workers", "2"], { cwd });
    await waitHealthy(server.url);
    expect(existsSync(join(cwd, "data", "agentvine.db"))).toBe(true);

    // Nothing but the health check without credentials.
    const anonymous = await fetch(`${server.url}/api/v1/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ title: "hi", task_type: "hello", params: { name: "world" } }),
    });
    expect(anonymous.status).toBe(401);
    // No account yet: the first visitor is sent to register (the first account is the admin).
    const dashboardSignedOut = await fetch(`${server.url}/`, { redirect: "manual" });
    expect(dashboardSignedOut.status).toBe(302);
    expect(dashboardSignedOut.headers.get("location")).toBe("/register");

    // The admin and an API key, made with the binary on the running server's data dir.
    const key = createAdminKey([binary], { cwd, env: { PATH: "/usr/bin:/bin" } });
    const authorization = `Bearer ${key}`;

    const created = await fetch(`${server.url}/api/v1/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization },
      body: JSON.stringify({ title: "hi", task_type: "hello", params: { name: "world" } }),
    });
    const createdBody = await created.text();
    expect(`${created.status} ${createdBody}`).toStartWith("201 ");
    const { id } = JSON.parse(createdBody) as { id: string };
    const get = (path: string) => fetch(`${server.url}${path}`, { headers: { authorization } });
    const done = (await (await get(`/api/v1/tasks/${id}/wait?timeout=20`)).json()) as any;
    expect(done.status).toBe("succeeded");
    expect(done.result.message).toBe("Hello, world!");

    const executions = (await (await get(`/api/v1/executions?task_id=${id}`)).json()) as any;
    expect(executions.items).toHaveLength(1);
    const logs = (await (await get(`/api/v1/executions/${executions.items[0].id}/logs`)).json()) as any;
    expect(logs.items.map((l: any) => l.message)).toEqual(["Saying hello to world"]);

    // The web UI and its embedded, content-hashed assets (stylesheet generated at build time).
    const dashboard = await (await get("/")).text();
    expect(dashboard).toContain("<title>Dashboard · AgentVine</title>");
    const assets = [...dashboard.matchAll(/(?:href|src)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(4);
    for (const path of assets) {
      // Assets are public: the sign-in page needs them too.
      const res = await fetch(`${server.url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toContain("immutable");
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(100);
    }
    expect((await get(`/tasks/${id}`)).status).toBe(200);

    const health = run(["healthcheck", "--url", server.url], cwd);
    expect(health.exitCode).toBe(0);

    const refused = run(["task", "list", "--server", server.url], cwd);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr.toString()).toContain("pass --token KEY or set AGENTVINE_TOKEN");

    const cli = run(["task", "submit", "--server", server.url, "--token", key, "--type", "hello", "--param", "name=binary", "--wait", "--json"], cwd);
    expect(cli.exitCode).toBe(0);
    expect(JSON.parse(cli.stdout.toString().slice(cli.stdout.toString().indexOf("{"))).result.message).toBe("Hello, binary!");

    // Every embedded thread entry loaded: no fallback warnings from the pool or the checkpointer.
    expect(server.output()).not.toMatch(/failed to start|checkpointer thread unavailable/);

    server.proc.kill("SIGTERM");
    expect(await server.proc.exited).toBe(0);
    expect(run(["healthcheck", "--url", server.url], cwd).exitCode).toBe(1);
  });

  test("migrate applies the embedded migrations once", () => {
    const cwd = mkdtempSync(join(work, "migrate-"));
    const first = run(["migrate"], cwd);
    expect(first.exitCode).toBe(0);
    expect(first.stdout.toString()).toContain("applied 0000_init");
    const second = run(["migrate"], cwd);
    expect(second.stdout.toString()).toContain("up to date");
  });
});
