// The program as a newcomer runs it: every command answers --help, a bad flag is one line naming it
// (exit 2, no stack trace), no arguments is help rather than a server, and what the start banner tells
// you to type works when pasted.
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ADMIN_PASSWORD, spawnServer } from "../test/process.ts";
import { cleanup, tempDir } from "../test/helpers.ts";

afterEach(cleanup);

const ROOT = join(import.meta.dir, "..");
const MAIN = join(ROOT, "src", "main.ts");
// npm's update notice (on a fresh HOME) is not the program's output.
const ENV = { PATH: `${join(ROOT, "node_modules", ".bin")}:/usr/local/bin:/usr/bin:/bin`, NPM_CONFIG_UPDATE_NOTIFIER: "false" };

function run(args: string[], cwd = tempDir()) {
  const r = Bun.spawnSync(["bun", MAIN, ...args], { cwd, env: { ...ENV, HOME: tempDir() }, stdin: "ignore" });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

describe("agentvine on the command line", () => {
  test.each([
    [["--help"], "Usage: agentvine <command>"],
    [["-h"], "Usage: agentvine <command>"],
    [["help"], "Usage: agentvine <command>"],
    [["help", "serve"], "Usage: agentvine serve"],
    [["serve", "--help"], "Usage: agentvine serve"],
    [["serve", "-h"], "--data-dir DIR"],
    [["migrate", "--help"], "Usage: agentvine migrate"],
    [["healthcheck", "--help"], "Usage: agentvine healthcheck"],
    [["version", "--help"], "Usage: agentvine version"],
    [["task", "--help"], "Usage: agentvine task"],
    [["task", "submit", "--help"], "Usage: agentvine task"],
    [["plan", "run", "-h"], "Usage: agentvine plan"],
    [["user", "create", "--help"], "Usage: agentvine user"],
    [["apikey", "--help"], "Usage: agentvine apikey"],
    [["worker", "--help"], "agentvine worker stop"],
    [["worker", "stop", "--help"], "agentvine worker stop"],
  ])("agentvine %p prints its usage and exits 0", (args, usage) => {
    const r = run(args);
    expect(r.err).toBe("");
    expect(r.out).toContain(usage);
    expect(r.code).toBe(0);
  });

  test.each([
    [["healthcheck", "--bogus"], "agentvine healthcheck: unknown option '--bogus' (see agentvine healthcheck --help)"],
    [["serve", "--colour", "red"], "agentvine serve: unknown option '--colour' (see agentvine serve --help)"],
    [["serve", "--port"], "agentvine serve: --port needs a value (see agentvine serve --help)"],
    [["migrate", "extra"], "agentvine migrate: unexpected argument 'extra' (see agentvine migrate --help)"],
    [["task", "list", "--colour"], "agentvine task list: unknown option '--colour' (see agentvine task --help)"],
    [["user", "list", "--al"], "agentvine user list: unknown option '--al' (see agentvine user --help)"],
    [["worker", "--nme", "x"], "agentvine worker: unknown option '--nme' (see agentvine worker --help)"],
    [["--port", "9000"], "agentvine: unknown option '--port': give a command first, e.g. agentvine serve --port (see agentvine --help)"],
    [["teleport"], "agentvine: unknown command 'teleport' (see agentvine --help)"],
    [["version", "now"], "agentvine version: unexpected argument 'now' (see agentvine version --help)"],
  ])("agentvine %p is one line naming the problem, exit 2", (args, line) => {
    const r = run(args);
    expect(r.err.trimEnd()).toBe(line);
    expect(r.out).toBe("");
    expect(r.code).toBe(2);
  });

  test("with no arguments it prints the help and exits 2 — it starts no server and creates nothing", () => {
    const cwd = tempDir();
    const r = run([], cwd);
    expect(r.code).toBe(2);
    expect(r.out).toContain("Usage: agentvine <command>");
    expect(Bun.spawnSync(["ls", "-A", cwd]).stdout.toString()).toBe("");
  });

  test("the start banner's next steps work pasted as printed: create the admin, a key, the hello world task", async () => {
    const dataDir = join(tempDir(), "my data");
    const server = await spawnServer(["bun", MAIN, "serve", "--port", "0", "--workers", "1", "--data-dir", dataDir], { cwd: ROOT, env: { ...ENV, HOME: tempDir() } });
    try {
      const banner = await server.waitForOutput(/task submit --type hello/);
      const lines = banner.split("\n");
      const first = lines.find((l) => l.includes("first:"));
      expect(first).toContain(`open ${server.url} in a browser`);
      const create = lines.find((l) => l.includes("user create admin --admin"))!.replace(/^.*create it here: /, "");
      expect(create).toBe(`npx agentvine user create admin --admin --data-dir '${dataDir}'`);
      // The banner's two lines that make a key and run the task, pasted into a shell after the admin exists.
      const start = lines.findIndex((l) => l.includes("export AGENTVINE_TOKEN="));
      const script = [lines[start]!.replace(/^\s*then:\s*/, ""), lines[start + 1]!.trim()];
      expect(script[1]).toBe(`npx agentvine task submit --type hello --param name=world --wait --server ${server.url}`);
      const home = tempDir();
      const sh = (text: string, stdin?: string) =>
        Bun.spawnSync(["bash", "-c", text], { cwd: ROOT, env: { ...ENV, HOME: home }, stdin: stdin === undefined ? "ignore" : Buffer.from(stdin) });
      const made = sh(create, `${ADMIN_PASSWORD}\n`);
      expect(made.stderr.toString()).toBe("");
      expect(made.exitCode).toBe(0);
      expect(made.stdout.toString()).toContain("created admin 'admin'");
      const ran = sh(script.join("\n"));
      expect(ran.exitCode).toBe(0);
      expect(ran.stdout.toString()).toContain('"message": "Hello, world!"');

      // The reset link the CLI prints points at this server's port, not at :8080.
      const reset = sh(`npx agentvine user reset-password admin --data-dir '${dataDir}'`);
      expect(reset.exitCode).toBe(0);
      expect(reset.stdout.toString()).toContain(`${server.url}/reset-password?token=`);
    } finally {
      server.proc.kill("SIGTERM");
      await server.proc.exited;
    }
  }, 60_000);

  test("once an admin exists, the banner's try: lines name that admin", async () => {
    const dataDir = tempDir();
    const made = Bun.spawnSync(["bun", MAIN, "user", "create", "root-ada", "--admin", "--data-dir", dataDir], { cwd: ROOT, env: { ...ENV, HOME: tempDir() }, stdin: Buffer.from(`${ADMIN_PASSWORD}\n`) });
    expect(made.exitCode).toBe(0);
    const server = await spawnServer(["bun", MAIN, "serve", "--port", "0", "--workers", "1", "--data-dir", dataDir], { cwd: ROOT, env: { ...ENV, HOME: tempDir() } });
    try {
      const banner = await server.waitForOutput(/task submit --type hello/);
      expect(banner).not.toContain("first:");
      expect(banner).toMatch(/try:\s+export AGENTVINE_TOKEN=\$\(npx agentvine apikey create cli --scope api --user root-ada --data-dir \S+\)/);
    } finally {
      server.proc.kill("SIGTERM");
      await server.proc.exited;
    }
  }, 60_000);
});
