// `agentvine backup FILE` and `agentvine restore FILE`: the data dir's database and keys into one file
// (while the server runs) and back (while it does not).
import { parseArgs } from "node:util";
import { loadServeConfig } from "../config.ts";
import { backupDataDir } from "../features/backup/backup.ts";
import { restoreDataDir, RestoreRefused } from "../features/backup/restore.ts";
import { VERSION } from "../version.ts";
import type { Out } from "./common.ts";

export const BACKUP_USAGE = `Usage: agentvine backup FILE [--data-dir DIR]

A consistent copy of the database in --data-dir (AGENTVINE_DATA_DIR, default ./data) — safe while the
server runs and writes — with the key files it needs (secrets.key, jwt-secret.key) and a manifest of
checksums, in one tar file readable only by you. FILE ending in .gz or .tgz is gzip-compressed.
  agentvine backup /backups/agentvine-$(date +%F).tar.gz`;

export const RESTORE_USAGE = `Usage: agentvine restore FILE [--data-dir DIR] [--check]

Checks the backup (checksums, SQLite integrity, a schema this version knows; a backup from a newer
version is refused) and puts its database and keys in --data-dir. The server must be stopped: restore
refuses while anything has the database open. What it replaces is moved to
<data-dir>/before-restore-<time>/. --check only checks the backup and changes nothing.`;

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

function parse(argv: string[], usage: string, out: Out, extra: Record<string, { type: "boolean"; default: boolean }> = {}) {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { "data-dir": { type: "string" }, help: { type: "boolean", short: "h", default: false }, ...extra },
    });
    if (values.help) {
      out.log(usage);
      return 0;
    }
    if (positionals.length !== 1) {
      out.error(usage);
      return 2;
    }
    return { values: values as Record<string, string | boolean | undefined>, file: positionals[0]! };
  } catch (err) {
    out.error(`${(err as Error).message}\n\n${usage}`);
    return 2;
  }
}

export async function backupCommand(argv: string[], env = process.env, out: Out = console): Promise<number> {
  const parsed = parse(argv, BACKUP_USAGE, out);
  if (typeof parsed === "number") return parsed;
  const dataDir = parsed.values["data-dir"] as string | undefined;
  const config = loadServeConfig(dataDir === undefined ? [] : ["--data-dir", dataDir], env);
  try {
    const r = await backupDataDir({
      dataDir: config.dataDir,
      dbPath: config.dbPath,
      file: parsed.file,
      version: VERSION,
      keysFromEnvironment: { secretsKey: config.secretsKey !== undefined, jwtSecret: config.jwtSecret !== undefined },
    });
    out.log(`backed up ${config.dbPath} to ${r.file} (${mib(r.bytes)}) in ${r.seconds.toFixed(1)} s: ${r.manifest.counts.tasks} task(s), schema ${r.manifest.schema.at(-1)}, ${Object.keys(r.manifest.files).join(", ")}`);
    for (const note of r.manifest.notes) out.error(`note: ${note}`);
    return 0;
  } catch (err) {
    out.error(`agentvine backup: ${(err as Error).message}`);
    return 1;
  }
}

export async function restoreCommand(argv: string[], env = process.env, out: Out = console): Promise<number> {
  const parsed = parse(argv, RESTORE_USAGE, out, { check: { type: "boolean", default: false } });
  if (typeof parsed === "number") return parsed;
  const dataDir = parsed.values["data-dir"] as string | undefined;
  const config = loadServeConfig(dataDir === undefined ? [] : ["--data-dir", dataDir], env);
  try {
    const r = await restoreDataDir({ dataDir: config.dataDir, dbPath: config.dbPath, file: parsed.file, checkOnly: parsed.values.check === true });
    const m = r.manifest;
    const what = `backup of ${m.created_at} (AgentVine ${m.agentvine_version}, ${m.counts.tasks} task(s), schema ${m.schema.at(-1)})`;
    if (parsed.values.check) {
      out.log(`ok: ${parsed.file} is a sound ${what}`);
      return 0;
    }
    out.log(`restored the ${what} into ${config.dataDir}`);
    if (r.migrated.length) out.log(`  upgraded its schema: ${r.migrated.join(", ")}`);
    if (r.keptAside) out.log(`  what it replaced is in ${r.keptAside}`);
    for (const note of m.notes) out.error(`note: ${note}`);
    return 0;
  } catch (err) {
    out.error(`agentvine restore: ${(err as Error).message}`);
    if (!(err instanceof RestoreRefused) && !(err instanceof Error)) throw err;
    return 1;
  }
}
