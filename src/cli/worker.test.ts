// `agentvine worker` as a real process against a real server: the key from a file (not the command
// line), `worker stop` draining it by its status file, and the server showing it offline at once.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, watch, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, startTestServer, tempDir } from "../../test/helpers.ts";
import { SYSTEM_ACTOR } from "../features/audit/service.ts";
import { createApiKey } from "../features/auth/api-keys.ts";
import { findUserByLogin } from "../features/auth/users.ts";
import { readStatus } from "../remote-worker/status-file.ts";
import { workerCommand } from "./worker.ts";

afterEach(cleanup);

const MAIN = join(import.meta.dir, "..", "main.ts");

async function capture(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await workerCommand(argv, env, { log: (s) => out.push(s), error: (s) => err.push(s) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

/** Resolves once the status file in `dir` satisfies `check` (the worker rewrites it on every change). */
function statusBecomes(dir: string, check: (state: string | undefined) => boolean, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const look = () => {
      if (!check(readStatus(dir)?.state)) return;
      clearTimeout(timer);
      watcher.close();
      resolve();
    };
    const watcher = watch(dir, look);
    const timer = setTimeout(() => {
      watcher.close();
      reject(new Error(`worker status in ${dir} is still ${readStatus(dir)?.state}`));
    }, timeoutMs);
    look();
  });
}

describe("agentvine worker", () => {
  test("reads its key from --token-file, `worker stop` drains it by its status file, and the server shows it offline at once", async () => {
    const server = await startTestServer({ workers: 0 });
    const admin = findUserByLogin(server.services.auth, "admin")!;
    const { key } = createApiKey(server.services.auth, { name: "fleet", scope: "worker" }, { userId: admin.id, actor: SYSTEM_ACTOR });
    const dir = tempDir();
    const keyFile = join(dir, "worker.key");
    writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
    const stateDir = join(dir, "state");
    mkdirSync(stateDir, { recursive: true });
    const proc = Bun.spawn(["bun", MAIN, "worker", "--server", server.url, "--token-file", keyFile, "--name", "stop-me", "--state-dir", stateDir, "--concurrency", "1"], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir },
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      // The key is nowhere on its command line.
      expect(proc.pid).toBeGreaterThan(0);
      await statusBecomes(stateDir, (s) => s === "running");
      const cmdline = await Bun.file(`/proc/${proc.pid}/cmdline`).text();
      expect(cmdline).not.toContain(key);
      const listed = (await (await server.api("/workers?worker_type=remote")).json()) as { items: Array<{ name: string; status: string }> };
      expect(listed.items).toContainEqual(expect.objectContaining({ name: "stop-me", status: "idle" }));

      const stopped = await capture(["stop", "--state-dir", stateDir]);
      expect(stopped.err).toBe("");
      expect(stopped.code).toBe(0);
      expect(stopped.out).toContain("draining worker stop-me");
      expect(stopped.out).toContain("worker stop-me stopped");
      expect(await proc.exited).toBe(0);
      expect(readStatus(stateDir)?.state).toBe("stopped");
      // It said goodbye: offline now, not after 15 s of missed heartbeats.
      const after = (await (await server.api("/workers?worker_type=remote")).json()) as { items: Array<{ name: string; status: string }> };
      expect(after.items).toContainEqual(expect.objectContaining({ name: "stop-me", status: "offline" }));

      // Stopping it again finds nothing to stop (exit 0); a state dir no worker ever used is exit 1.
      const again = await capture(["stop", "--state-dir", stateDir]);
      expect(again.code).toBe(0);
      expect(again.out).toContain("is not running");
      const nowhere = await capture(["stop", "--state-dir", join(dir, "nope")]);
      expect(nowhere.code).toBe(1);
      expect(nowhere.err).toContain("no worker status in");
    } finally {
      proc.kill("SIGKILL");
    }
  }, 60_000);

  test("--token on the command line works but warns that ps shows it; a missing key or key file is one line, exit 2", async () => {
    const noKey = await capture(["--server", "http://127.0.0.1:9"]);
    expect(noKey.code).toBe(2);
    expect(noKey.err).toContain("a worker key is required (AGENTVINE_TOKEN, --token-file PATH or --token KEY)");
    const missingFile = await capture(["--server", "http://127.0.0.1:9", "--token-file", "/nonexistent/key"]);
    expect(missingFile.code).toBe(2);
    expect(missingFile.err).toBe("agentvine worker: --token-file /nonexistent/key: no such file");
    const unknownFlag = await capture(["--tokn", "x"]);
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.err).toBe("agentvine worker: unknown option '--tokn' (see agentvine worker --help)");
    const badTimeout = await capture(["stop", "--timeout", "soon"]);
    expect(badTimeout.code).toBe(2);
    // A visible key is accepted, with a warning (a refused concurrency stops it before it connects).
    const visible = await capture(["--server", "http://127.0.0.1:9", "--token", "avk_x", "--concurrency", "0"]);
    expect(visible.code).toBe(2);
    expect(visible.err).toContain("warning: --token on the command line is visible to every user of this machine (ps)");
  });
});
