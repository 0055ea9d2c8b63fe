// `agentvine backup FILE`: a consistent copy of a (possibly running) server's database — SQLite's
// `VACUUM INTO`, one read transaction, so the server goes on writing meanwhile — plus the key files it
// cannot be read without (secrets.key, jwt-secret.key), with a manifest of checksums, in one tar file
// (gzip-compressed when FILE ends in .gz or .tgz). `tar tf FILE` lists it; restore.ts reads it back.
import { Database } from "bun:sqlite";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { create as createTar } from "tar";

export const BACKUP_FORMAT = "agentvine-backup";
export const BACKUP_FORMAT_VERSION = 1;
export const DB_NAME = "agentvine.db";
/** Key files of the data dir a backup carries: without secrets.key the stored secrets cannot be read. */
export const KEY_FILES = ["secrets.key", "jwt-secret.key"] as const;
export const MANIFEST = "manifest.json";

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  format_version: number;
  agentvine_version: string;
  created_at: string;
  /** Migrations applied to the copied database. */
  schema: string[];
  files: Record<string, { bytes: number; sha256: string }>;
  counts: { tasks: number; audit_events: number };
  notes: string[];
}

export interface BackupOptions {
  dataDir: string;
  dbPath: string;
  file: string;
  version: string;
  /** Where the keys come from, when not from files in the data dir (they are then not in the backup). */
  keysFromEnvironment?: { secretsKey: boolean; jwtSecret: boolean };
}

export interface BackupReport {
  file: string;
  bytes: number;
  manifest: BackupManifest;
  seconds: number;
}

/** SHA-256 of a file, streamed (a 1 GB database is not read into memory). */
export async function sha256File(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream() as unknown as AsyncIterable<Uint8Array>) hasher.update(chunk);
  return hasher.digest("hex");
}

export async function backupDataDir(o: BackupOptions): Promise<BackupReport> {
  const started = performance.now();
  const target = resolve(o.file);
  if (!existsSync(o.dbPath)) throw new Error(`no database at ${o.dbPath}: is --data-dir right?`);
  mkdirSync(dirname(target), { recursive: true });
  // Staged beside the target (same file system), so the finished file appears in one rename.
  const staging = mkdtempSync(join(dirname(target), `.${basename(target)}.`));
  try {
    const db = new Database(o.dbPath, { strict: true });
    let schema: string[];
    let counts: BackupManifest["counts"];
    try {
      db.run("PRAGMA busy_timeout = 10000");
      // One read transaction: a consistent snapshot however much the server writes meanwhile.
      db.query("VACUUM INTO ?").run(join(staging, DB_NAME));
    } finally {
      db.close();
    }
    const copy = new Database(join(staging, DB_NAME), { readonly: true });
    try {
      schema = copy.query<{ tag: string }, []>("SELECT tag FROM schema_migrations ORDER BY tag").all().map((r) => r.tag);
      counts = {
        tasks: copy.query<{ n: number }, []>("SELECT count(*) AS n FROM tasks").get()!.n,
        audit_events: copy.query<{ n: number }, []>("SELECT count(*) AS n FROM audit_events").get()!.n,
      };
    } finally {
      copy.close();
    }
    const notes: string[] = [];
    const files: BackupManifest["files"] = {};
    const add = async (name: string, from: string) => {
      if (from !== join(staging, name)) writeFileSync(join(staging, name), await Bun.file(from).bytes(), { mode: 0o600 });
      files[name] = { bytes: statSync(join(staging, name)).size, sha256: await sha256File(join(staging, name)) };
    };
    await add(DB_NAME, join(staging, DB_NAME));
    for (const key of KEY_FILES) {
      const path = join(o.dataDir, key);
      if (existsSync(path)) await add(key, path);
    }
    if (o.keysFromEnvironment?.secretsKey) notes.push("AGENTVINE_SECRETS_KEY is set: the secrets key comes from the environment and is not in this backup — keep it with it");
    if (o.keysFromEnvironment?.jwtSecret) notes.push("AGENTVINE_JWT_SECRET is set: the token key comes from the environment and is not in this backup");
    if (!files["secrets.key"] && !o.keysFromEnvironment?.secretsKey) notes.push("no secrets.key in the data dir: stored secrets (if any) cannot be read after a restore");
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      format_version: BACKUP_FORMAT_VERSION,
      agentvine_version: o.version,
      created_at: new Date().toISOString(),
      schema,
      files,
      counts,
      notes,
    };
    writeFileSync(join(staging, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    const archive = join(staging, "archive");
    const gzip = /\.(t?gz)$/i.test(target);
    await createTar({ file: archive, cwd: staging, gzip, portable: true }, [MANIFEST, ...Object.keys(files)]);
    // The keys are inside: only the owner may read the file.
    chmodSync(archive, 0o600);
    renameSync(archive, target);
    return { file: target, bytes: statSync(target).size, manifest, seconds: (performance.now() - started) / 1000 };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
