// Issue 10, item 9: everything in the data dir is its owner's only — 0700 directories, 0600 files (database,
// its WAL and shared memory, log files, workspaces) — whatever the umask, also what an earlier version left;
// and a failed execution's workspace, kept for inspection, goes once it is older than --workspace-retention.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expectOk } from "./auth.ts";
import { cleanup, json, startTestServer, tempDir, type TestServer } from "./helpers.ts";

let umask = 0;
beforeAll(() => (umask = process.umask(0o022))); // the usual default: files 0644, directories 0755
afterAll(() => process.umask(umask));
afterEach(cleanup);

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

async function run(server: TestServer, command: string) {
  const task = await expectOk(await server.api("/tasks", json({ title: "t", task_type: "shell", params: { command, shell: true } })), 201);
  return expectOk(await server.api(`/tasks/${task.id}/wait?timeout=30`));
}

describe("the data dir is private", () => {
  test("database, WAL, shared memory, log files and workspaces are 0600/0700 under umask 022; older loose files are tightened at start", async () => {
    const dataDir = tempDir();
    // As an earlier version left it.
    chmodSync(dataDir, 0o755);
    mkdirSync(join(dataDir, "logs", "2026-01-01"), { recursive: true, mode: 0o755 });
    writeFileSync(join(dataDir, "logs", "2026-01-01", "old.jsonl"), "{}\n", { mode: 0o644 });
    const server = await startTestServer({ dataDir });
    const failed = await run(server, "echo working; echo secret-ish > notes.txt; printf 'exit 0' > tool.sh; chmod 755 tool.sh; exit 3");
    expect(failed.status).toBe("failed");
    await server.services.logger.drain();
    const [execution] = (await expectOk(await server.api(`/executions?task_id=${failed.id}`))).items;

    expect(mode(dataDir)).toBe("700");
    for (const f of ["agentvine.db", "agentvine.db-wal", "agentvine.db-shm", "secrets.key", "jwt-secret.key"]) expect({ f, mode: mode(join(dataDir, f)) }).toEqual({ f, mode: "600" });
    const logFile = server.services.logger.filePath(execution.id);
    expect(mode(logFile)).toBe("600");
    expect(mode(join(logFile, ".."))).toBe("700");
    expect(mode(join(dataDir, "logs"))).toBe("700");
    expect(mode(join(dataDir, "logs", "2026-01-01"))).toBe("700");
    expect(mode(join(dataDir, "logs", "2026-01-01", "old.jsonl"))).toBe("600");
    expect(mode(join(dataDir, "workspaces"))).toBe("700");
    expect(mode(join(dataDir, "workspaces", execution.id))).toBe("700");
    // Started again on the same data dir: a kept workspace's files keep the modes their task gave them.
    await server.stop(0);
    await startTestServer({ dataDir });
    expect(mode(join(dataDir, "workspaces", execution.id, "tool.sh"))).toBe("755");
    expect(mode(join(dataDir, "workspaces", execution.id))).toBe("700");
  });

  test("a failed execution's workspace is kept for inspection, then removed once older than --workspace-retention", async () => {
    const server = await startTestServer({ workspaceRetentionSeconds: 3600 });
    const dataDir = server.services.config.dataDir;
    const oldOne = await run(server, "echo x > left-behind; exit 1");
    const newOne = await run(server, "exit 1");
    const ok = await run(server, "echo fine > here");
    const workspaces = join(dataDir, "workspaces");
    const idOf = async (taskId: string) => (await expectOk(await server.api(`/executions?task_id=${taskId}`))).items[0].id as string;
    const [oldId, newId, okId] = [await idOf(oldOne.id), await idOf(newOne.id), await idOf(ok.id)];
    expect(existsSync(join(workspaces, okId))).toBe(false); // a success's goes at once
    expect(existsSync(join(workspaces, oldId))).toBe(true);
    // Two hours old: past the retention.
    const past = new Date(Date.now() - 2 * 3600_000);
    utimesSync(join(workspaces, oldId), past, past);
    // The coding agents' clones and worktrees live beside them, as old: not an execution's workspace.
    mkdirSync(join(workspaces, "agents", "repos"), { recursive: true });
    utimesSync(join(workspaces, "agents"), past, past);
    expect(server.sweepWorkspaces()).toBe(1);
    expect(readdirSync(workspaces).sort()).toEqual(["agents", newId].sort());
  });
});
