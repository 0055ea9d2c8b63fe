// `agentvine restore FILE`: checks a backup (manifest, checksums, SQLite integrity, a schema this version
// knows) and puts it in place of the data dir's database and keys — only while no server has the
// database open. What it replaces is kept aside in <data-dir>/before-restore-<time>/.
import { Database } from "bun:sqlite";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { extract as extractTar } from "tar";
import { openDatabase } from "../../db/client.ts";
import { migrate } from "../../db/migrate.ts";
import { MIGRATIONS } from "../../db/migrations.ts";
import { BACKUP_FORMAT, DB_NAME, KEY_FILES, MANIFEST, sha256File, type BackupManifest } from "./backup.ts";

export class RestoreRefused extends Error {}

export interface RestoreOptions {
  dataDir: string;
  dbPath: string;
  file: string;
  /** Only check the backup; change nothing. */
  checkOnly?: boolean;
}

export interface RestoreReport {
  manifest: BackupManifest;
  /** Where the replaced database and keys were moved (null when there was nothing, or checkOnly). */
  keptAside: string | null;
  /** Migrations applied after the restore (a backup from an older version). */
  migrated: string[];
}

const ALLOWED = new Set<string>([MANIFEST, DB_NAME, ...KEY_FILES]);

/**
 * Throws RestoreRefused when another connection has the database open (a running server, an offline
 * command): SQLite will not leave WAL mode while anyone else has the file open.
 */
export function assertDatabaseUnused(dbPath: string): void {
  if (!existsSync(dbPath)) return;
  const db = new Database(dbPath);
  try {
    db.run("PRAGMA busy_timeout = 0");
    db.query("PRAGMA journal_mode = DELETE").get();
  } catch (err) {
    throw new RestoreRefused(`${dbPath} is in use (${(err as Error).message}): stop the server on this data dir first`);
  } finally {
    db.close();
  }
}

/** Extracts and checks the backup into `dir`; returns its manifest. */
async function unpackAndVerify(file: string, dir: string): Promise<BackupManifest> {
  try {
    await extractTar({ file, cwd: dir, strict: true, filter: (path) => ALLOWED.has(path.replace(/^\.\//, "")) });
  } catch (err) {
    throw new RestoreRefused(`${file} is not a readable AgentVine backup: ${(err as Error).message}`);
  }
  if (!existsSync(join(dir, MANIFEST))) throw new RestoreRefused(`${file} has no ${MANIFEST}: not an AgentVine backup`);
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, MANIFEST), "utf8"));
  } catch {
    throw new RestoreRefused(`${MANIFEST} in ${file} is not JSON`);
  }
  if (manifest.format !== BACKUP_FORMAT || !manifest.files?.[DB_NAME]) throw new RestoreRefused(`${file} is not an AgentVine backup (format ${String(manifest.format)})`);
  for (const [name, expected] of Object.entries(manifest.files)) {
    if (!ALLOWED.has(name) || !existsSync(join(dir, name))) throw new RestoreRefused(`${name} is missing from ${file}`);
    if ((await sha256File(join(dir, name))) !== expected.sha256) throw new RestoreRefused(`${name} in ${file} does not match its checksum: the file is damaged`);
  }
  const db = new Database(join(dir, DB_NAME), { readonly: true });
  try {
    const integrity = db.query<{ integrity_check: string }, []>("PRAGMA integrity_check").all().map((r) => r.integrity_check);
    if (integrity.join() !== "ok") throw new RestoreRefused(`the database in ${file} fails SQLite's integrity check: ${integrity.slice(0, 3).join("; ")}`);
    const tags = db.query<{ tag: string }, []>("SELECT tag FROM schema_migrations").all().map((r) => r.tag);
    const known = new Set(MIGRATIONS.map((m) => m.tag));
    const unknown = tags.filter((t) => !known.has(t));
    if (unknown.length) {
      throw new RestoreRefused(
        `the backup's schema is newer than this AgentVine knows (${unknown.join(", ")}; made by version ${manifest.agentvine_version}): restore it with that version or a later one`,
      );
    }
  } finally {
    db.close();
  }
  return manifest;
}

export async function restoreDataDir(o: RestoreOptions): Promise<RestoreReport> {
  const file = resolve(o.file);
  if (!existsSync(file)) throw new RestoreRefused(`no file ${file}`);
  if (!o.checkOnly) assertDatabaseUnused(o.dbPath);
  mkdirSync(o.dataDir, { recursive: true });
  // Unpacked inside the data dir (same file system), so putting it in place is a rename.
  const staging = mkdtempSync(join(o.dataDir, ".restore-"));
  try {
    const manifest = await unpackAndVerify(file, staging);
    if (o.checkOnly) return { manifest, keptAside: null, migrated: [] };
    assertDatabaseUnused(o.dbPath); // again: a server may have started while the backup was checked
    const replaced = [DB_NAME, `${DB_NAME}-wal`, `${DB_NAME}-shm`, ...KEY_FILES].filter((name) => existsSync(join(o.dataDir, name)));
    let keptAside: string | null = null;
    if (replaced.length) {
      keptAside = join(o.dataDir, `before-restore-${new Date().toISOString().replace(/[:.]/g, "-")}`);
      mkdirSync(keptAside, { mode: 0o700 });
      for (const name of replaced) renameSync(join(o.dataDir, name), join(keptAside, name));
    }
    for (const name of Object.keys(manifest.files)) renameSync(join(staging, name), join(o.dataDir, name));
    for (const key of KEY_FILES) if (manifest.files[key]) chmodSync(join(o.dataDir, key), 0o600);
    // A backup from an older version is brought up to this one's schema now, not at the next start.
    const db = openDatabase(o.dbPath);
    try {
      return { manifest, keptAside, migrated: migrate(db).applied };
    } finally {
      db.close();
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
