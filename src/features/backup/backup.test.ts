// Backup and restore with a real server writing: the backup is taken under load, the restore brings back
// every task that was acknowledged before it began (and the keys that read the secrets); a restore is
// refused while a server runs, for a damaged file, and for a schema newer than this version knows.
import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { create as createTar, extract as extractTar, list as listTar } from "tar";
import type { TaskJson } from "../../engine/task-record.ts";
import { backupCommand, restoreCommand } from "../../cli/backup.ts";
import { cleanup, json, startTestServer, tempDir, type TestServer } from "../../../test/helpers.ts";
import { sha256File, type BackupManifest } from "./backup.ts";

afterEach(cleanup);

function cli() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { log: (s: string) => void out.push(s), error: (s: string) => void err.push(s) }, out, err };
}

/** Keeps `loops` clients submitting tasks until stopped; every 201 is recorded with its order. */
function writeLoad(server: TestServer, loops = 6) {
  const acked: string[] = [];
  let running = true;
  let waiter: { n: number; resolve: () => void } | null = null;
  const loop = async (i: number) => {
    for (let n = 0; running; n++) {
      const res = await server.api("/tasks", json({ title: `load ${i}.${n}`, task_type: "hello", params: { name: `${i}.${n}` } }));
      if (res.status !== 201) throw new Error(`POST /tasks answered ${res.status}`);
      acked.push(((await res.json()) as TaskJson).id);
      if (waiter && acked.length >= waiter.n) waiter.resolve();
    }
  };
  const done = Promise.all(Array.from({ length: loops }, (_, i) => loop(i)));
  return {
    acked,
    reached: (n: number) => (acked.length >= n ? Promise.resolve() : new Promise<void>((resolve) => (waiter = { n, resolve }))),
    stop: async () => {
      running = false;
      await done;
    },
  };
}

describe("agentvine backup / restore", () => {
  test("a backup taken while the server writes restores every task acknowledged before it began, and the keys its secrets need", async () => {
    const dataDir = tempDir();
    const server = await startTestServer({ dataDir });
    expect((await server.api("/secrets", json({ name: "TOKEN", value: "tok-1a2b3c4d5e6f" }))).status).toBe(201);
    const load = writeLoad(server);
    await load.reached(300);
    const acknowledged = [...load.acked];
    const file = join(tempDir(), "backups", "agentvine.tar.gz");
    const backup = cli();
    expect(await backupCommand([file, "--data-dir", dataDir], {}, backup.io)).toBe(0);
    await load.reached(acknowledged.length + 50); // the server went on taking writes
    await load.stop();
    expect(backup.out.join("\n")).toContain(`backed up ${join(dataDir, "agentvine.db")} to ${file}`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const names: string[] = [];
    await listTar({ file, onReadEntry: (e) => void names.push(e.path) });
    expect(names.sort()).toEqual(["agentvine.db", "jwt-secret.key", "manifest.json", "secrets.key"]);

    // Refused while the server has the database open.
    const busy = cli();
    expect(await restoreCommand([file, "--data-dir", dataDir], {}, busy.io)).toBe(1);
    expect(busy.err.join("\n")).toContain("stop the server on this data dir first");
    await server.stop();

    // Restored into a fresh data dir: every acknowledged task, the secret still readable by a task.
    const restoredDir = tempDir();
    const check = cli();
    expect(await restoreCommand([file, "--data-dir", restoredDir, "--check"], {}, check.io)).toBe(0);
    expect(check.out.join("\n")).toContain("ok:");
    const restore = cli();
    expect(await restoreCommand([file, "--data-dir", restoredDir], {}, restore.io)).toBe(0);
    expect(restore.out.join("\n")).toContain(`restored the backup of`);
    expect(readFileSync(join(restoredDir, "secrets.key"), "utf8")).toBe(readFileSync(join(dataDir, "secrets.key"), "utf8"));
    const restored = await startTestServer({ dataDir: restoredDir });
    const present = new Set(restored.db.sqlite.query<{ id: string }, []>("SELECT id FROM tasks").all().map((r) => r.id));
    const missing = acknowledged.filter((id) => !present.has(id));
    expect(missing).toEqual([]);
    const secretTask = (await (await restored.api("/tasks", json({ title: "uses the secret", task_type: "shell", params: { command: "echo", args: ["{{secrets.TOKEN}}"] } }))).json()) as TaskJson;
    const done = (await (await restored.api(`/tasks/${secretTask.id}/wait?timeout=20`)).json()) as TaskJson;
    expect(done.status).toBe("succeeded");
    expect(JSON.stringify(done.result)).toContain("***");
  });

  test("restore refuses a damaged backup and one whose schema is newer than this version, and changes nothing", async () => {
    const dataDir = tempDir();
    const server = await startTestServer({ dataDir, workers: 0 });
    expect((await server.api("/tasks", json({ title: "kept", task_type: "hello", params: { name: "k" } }))).status).toBe(201);
    const file = join(tempDir(), "b.tar");
    expect(await backupCommand([file, "--data-dir", dataDir], {}, cli().io)).toBe(0);
    await server.stop();

    // A newer schema: a migration this version does not know, with the manifest's checksum kept right.
    const work = tempDir();
    await extractTar({ file, cwd: work });
    const db = new Database(join(work, "agentvine.db"));
    db.run("INSERT INTO schema_migrations (tag, applied_at) VALUES ('9999_from_the_future', 1)");
    db.close();
    const manifest = JSON.parse(readFileSync(join(work, "manifest.json"), "utf8")) as BackupManifest;
    manifest.files["agentvine.db"]!.sha256 = await sha256File(join(work, "agentvine.db"));
    manifest.agentvine_version = "9.9.9";
    writeFileSync(join(work, "manifest.json"), JSON.stringify(manifest));
    const newer = join(work, "newer.tar");
    await createTar({ file: newer, cwd: work }, ["manifest.json", "agentvine.db", "secrets.key", "jwt-secret.key"]);
    const target = tempDir();
    mkdirSync(target, { recursive: true });
    const refusedNewer = cli();
    expect(await restoreCommand([newer, "--data-dir", target], {}, refusedNewer.io)).toBe(1);
    expect(refusedNewer.err.join("\n")).toContain("schema is newer than this AgentVine knows (9999_from_the_future; made by version 9.9.9)");

    // A damaged file: the database no longer matches its checksum.
    const damaged = join(work, "damaged.tar");
    writeFileSync(join(work, "agentvine.db"), Buffer.concat([readFileSync(join(work, "agentvine.db")).subarray(0, 4096), Buffer.alloc(4096, 7)]));
    await createTar({ file: damaged, cwd: work }, ["manifest.json", "agentvine.db", "secrets.key", "jwt-secret.key"]);
    const refusedDamaged = cli();
    expect(await restoreCommand([damaged, "--data-dir", target], {}, refusedDamaged.io)).toBe(1);
    expect(refusedDamaged.err.join("\n")).toContain("does not match its checksum");

    // Not a backup at all.
    writeFileSync(join(work, "notes.txt"), "hello");
    const bogus = join(work, "bogus.tar");
    await createTar({ file: bogus, cwd: work }, ["notes.txt"]);
    const refusedBogus = cli();
    expect(await restoreCommand([bogus, "--data-dir", target], {}, refusedBogus.io)).toBe(1);
    expect(refusedBogus.err.join("\n")).toContain("not an AgentVine backup");

    // Nothing was put in the target.
    expect(statSync(target).isDirectory()).toBe(true);
    expect(() => statSync(join(target, "agentvine.db"))).toThrow();
  });

  test("restoring over an existing data dir keeps what it replaces aside; bad usage exits 2", async () => {
    const dataDir = tempDir();
    const server = await startTestServer({ dataDir, workers: 0 });
    await server.api("/tasks", json({ title: "before", task_type: "hello", params: { name: "b" } }));
    const file = join(tempDir(), "b.tar");
    expect(await backupCommand([file, "--data-dir", dataDir], {}, cli().io)).toBe(0);
    await server.api("/tasks", json({ title: "after the backup", task_type: "hello", params: { name: "a" } }));
    await server.stop();
    const r = cli();
    expect(await restoreCommand([file, "--data-dir", dataDir], {}, r.io)).toBe(0);
    const aside = /what it replaced is in (\S+)/.exec(r.out.join("\n"))?.[1];
    expect(aside).toBeString();
    const old = new Database(join(aside!, "agentvine.db"), { readonly: true });
    expect(old.query<{ n: number }, []>("SELECT count(*) AS n FROM tasks").get()!.n).toBe(2);
    old.close();
    const now = new Database(join(dataDir, "agentvine.db"), { readonly: true });
    expect(now.query<{ title: string }, []>("SELECT title FROM tasks").all().map((t) => t.title)).toEqual(["before"]);
    now.close();

    expect(await backupCommand([], {}, cli().io)).toBe(2);
    expect(await restoreCommand(["a", "b"], {}, cli().io)).toBe(2);
    const missing = cli();
    expect(await backupCommand([join(tempDir(), "x.tar"), "--data-dir", join(tempDir(), "empty")], {}, missing.io)).toBe(1);
    expect(missing.err.join("\n")).toContain("no database at");
  });
});
