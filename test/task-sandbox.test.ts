// Issue 10, items 3 and 8, at the server: a shell task runs in bubblewrap — its processes end when it
// ends (background, setsid'd and double-forked children included), it cannot read the data dir or the
// server's environment, write outside its workspace, or reach the network unless it says so. And without
// bwrap (--sandbox none) background children still end with the task (its process group).
import { afterEach, describe, expect, test } from "bun:test";
import { createReadStream, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { bwrapAvailable, killAllWith, liveWith, marker, withGuard } from "../src/sandbox/testing.ts";
import type { TaskJson } from "../src/engine/task-record.ts";
import { AWAIT_GATE, gate } from "./gate.ts";
import { cleanup, json, sharedDir, startTestServer, type TestServer } from "./helpers.ts";

const available = bwrapAvailable(import.meta.file);
const marks: string[] = [];
afterEach(async () => {
  for (const m of marks.splice(0)) killAllWith(m);
  await cleanup();
});
const mark = () => {
  const m = marker();
  marks.push(m);
  return m;
};

async function run(server: TestServer, params: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<TaskJson & { result: any }> {
  const res = await server.api("/tasks", json({ title: "t", task_type: "shell", params, ...extra }));
  if (res.status !== 201) throw new Error(`${res.status}: ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  return (await (await server.api(`/tasks/${id}/wait?timeout=30`)).json()) as TaskJson & { result: any };
}

const sh = (script: string, more: Record<string, unknown> = {}) => ({ command: script, shell: true, ...more });

describe.each([["bwrap"], ["none"]] as const)("--sandbox %s: a task's processes end with the task", (mode) => {
  const skip = mode === "bwrap" && !available;

  test.skipIf(skip)("a background child of a command that succeeded is gone when the task is done", async () => {
    const server = await startTestServer({ sandbox: mode });
    const m = mark();
    // The child keeps stdout open: before, the task waited for it, and after a cancel it went on running.
    const done = await run(server, sh(`sleep 96 ${m} & echo ok`));
    expect(done.status).toBe("succeeded");
    expect(done.result.stdout).toBe("ok\n");
    expect(liveWith(m)).toEqual([]);
  });

  test.skipIf(skip)("cancelling a task ends its background children", async () => {
    const server = await startTestServer({ sandbox: mode });
    const m = mark();
    const g = gate();
    // The child holds a fifo the test reads: its EOF says every process holding it is gone (no polling). The
    // marker reaches it through the environment, so only the sleep, not the shell, shows it in its command line.
    const fifo = join(sharedDir(), "held");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    let up: () => void = () => {};
    const holding = new Promise<void>((resolve) => (up = resolve));
    const eof = new Promise<void>((resolve, reject) => createReadStream(fifo).on("data", () => up()).on("end", resolve).on("error", reject));
    const child = `{ echo up; exec sleep 300 "$M"; } > "$FIFO" &`;
    const res = await server.api("/tasks", json({ title: "t", task_type: "shell", params: sh(`${child} ${AWAIT_GATE}`, { env: { ...g.env, FIFO: fifo, M: m } }) }));
    const { id } = (await res.json()) as { id: string };
    await withGuard(holding, 10_000, "the background child did not start");
    expect((await server.api(`/tasks/${id}/cancel`, { method: "POST" })).status).toBe(200);
    await withGuard(eof, 10_000, "a background child of the cancelled task still holds its fifo");
    expect(liveWith(m)).toEqual([]);
  });
});

describe.skipIf(!available)("--sandbox bwrap: what a shell task can and cannot reach", () => {
  test("setsid'd and double-forked children end with the command too", async () => {
    const server = await startTestServer({ sandbox: "bwrap" });
    const m = mark();
    const done = await run(server, sh(`setsid sleep 300 ${m} & (sleep 300 ${m} &); echo ok`));
    expect(done.status).toBe("succeeded");
    expect(liveWith(m)).toEqual([]);
  });

  test("the data dir, the server's environment and the host's /proc are out of reach; only the workspace is writable", async () => {
    const canary = `canary-${crypto.randomUUID()}`;
    process.env.AGENTVINE_TEST_CANARY = canary; // the server's environment: a task must not read it
    try {
      const server = await startTestServer({ sandbox: "bwrap" });
      const dataDir = server.services.config.dataDir;
      const outside = sharedDir();
      const script = [
        `cat ${dataDir}/secrets.key ${dataDir}/jwt-secret.key 2>/dev/null; echo "keys=$?"`,
        `ls -A ${dataDir} | tr '\\n' ' '; echo`,
        `cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n' | grep -c AGENTVINE_TEST_CANARY`,
        `ls /proc | grep -c '^[0-9]'`,
        `touch /usr/local/x 2>/dev/null; echo "root=$?"`,
        `echo made > here; echo "workspace=$?"`,
        `echo shared > ${outside}/x; echo "writable=$?"`,
        'echo "home=$HOME tmp=$TMPDIR"',
      ].join("; ");
      const done = await run(server, sh(script));
      expect(done.status).toBe("succeeded");
      const out = done.result.stdout as string;
      expect(out).not.toContain(canary);
      expect(out).toMatch(/keys=[1-9]/);
      expect(out).toContain("\n0\n"); // no process it can see has the server's variables
      // Its own few processes (sh, cat…), never the host's hundreds.
      expect(Number(out.split("\n")[3])).toBeLessThan(10);
      expect(out).toMatch(/root=[1-9]/);
      expect(out).toContain("workspace=0");
      // The test servers let tasks write one shared dir (--sandbox-writable), nothing else outside the workspace.
      expect(out).toContain("writable=0");
      expect(readFileSync(join(outside, "x"), "utf8")).toBe("shared\n");
      expect(out).toContain("home=/tmp tmp=/tmp");
      // The data dir shows as empty but for the workspaces under it (the task's own is bound into it).
      expect(out.split("\n")[1]!.trim()).toBe("workspaces");
      expect(existsSync(join(dataDir, "secrets.key"))).toBe(true);
    } finally {
      delete process.env.AGENTVINE_TEST_CANARY;
    }
  });

  test("with --shell-role operator, an operator's shell task cannot mint an admin key with the server's own binary", async () => {
    const server = await startTestServer({ sandbox: "bwrap", shellRole: "operator" });
    const dataDir = server.services.config.dataDir;
    const keysBefore = server.db.sqlite.query<{ n: number }, []>("SELECT count(*) AS n FROM api_keys").get()!.n;
    const main = join(import.meta.dir, "..", "src", "main.ts");
    const done = await run(server, { command: process.execPath, args: [main, "apikey", "create", "mine", "--scope", "api", "--user", "admin", "--data-dir", dataDir] });
    expect(done.status).toBe("failed");
    expect(server.db.sqlite.query<{ n: number }, []>("SELECT count(*) AS n FROM api_keys").get()!.n).toBe(keysBefore);
  });

  test("no network unless the task says network: true (or the server's --shell-network)", async () => {
    const server = await startTestServer({ sandbox: "bwrap" });
    const probe = sh(`curl -s -o /dev/null -w '%{http_code}' --max-time 5 ${server.url}/api/v1/health; echo " exit=$?"`);
    const off = await run(server, probe);
    expect(off.result.stdout).toMatch(/ exit=[1-9]/); // its loopback is its own: the server is not there
    const on = await run(server, { ...probe, network: true });
    expect(on.result.stdout).toBe("200 exit=0\n");
    const byDefault = await startTestServer({ sandbox: "bwrap", shellNetwork: true });
    expect((await run(byDefault, sh(`curl -s -o /dev/null -w '%{http_code}' --max-time 5 ${byDefault.url}/api/v1/health`))).result.stdout).toBe("200");
  });

  test("a command killed by a signal inside the sandbox says so (exit 128+n)", async () => {
    const server = await startTestServer({ sandbox: "bwrap" });
    const done = await run(server, sh("kill -9 $$"));
    expect(done.status).toBe("failed");
    expect(done.error).toBe("command exited with code 137 (128+9: killed by SIGKILL, in the sandbox a signal shows as 128+n)");
  });
});
