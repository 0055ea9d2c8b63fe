// Opens the one SQLite connection the process writes through, with the pragmas the engine relies on.
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { drizzle, type BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import { privateDatabaseFile } from "../data-dir/private-files.ts";
import * as schema from "./schema.ts";

export type Drizzle = BunSQLiteDatabase<typeof schema>;

export interface Db {
  /** The raw bun:sqlite handle: hot paths use cached prepared statements on it. */
  sqlite: Database;
  /** drizzle over the same connection, for the rest. */
  orm: Drizzle;
  path: string;
  close(): void;
}

export interface OpenOptions {
  /** `FULL` fsyncs every commit (survives power loss); `NORMAL` (default) survives a process crash. */
  synchronous?: "NORMAL" | "FULL";
}

/**
 * bun:sqlite's `query()` keeps 20 prepared statements by default; the server runs a few hundred distinct
 * ones, so with 20 every hot statement was compiled again on most calls (a fifth of the main thread's
 * time in the e2e benchmark). Distinct SQL texts are bounded by the code (dynamic ones vary only in
 * their batch sizes), so a larger cache stays small.
 */
const QUERY_CACHE_SIZE = 2048;

export function openDatabase(path: string, options: OpenOptions = {}): Db {
  if (Database.MAX_QUERY_CACHE_SIZE < QUERY_CACHE_SIZE) Database.MAX_QUERY_CACHE_SIZE = QUERY_CACHE_SIZE;
  if (path !== ":memory:") {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // 0600 before SQLite creates it: its -wal and -shm take the database file's permissions.
    privateDatabaseFile(path);
  }
  const sqlite = new Database(path, { create: true, strict: true });
  // busy_timeout first, so the WAL switch itself waits for another process instead of failing.
  sqlite.run("PRAGMA busy_timeout = 5000");
  sqlite.run("PRAGMA journal_mode = WAL");
  sqlite.run(`PRAGMA synchronous = ${options.synchronous ?? "NORMAL"}`);
  sqlite.run("PRAGMA foreign_keys = ON");
  sqlite.run("PRAGMA temp_store = MEMORY");
  sqlite.run("PRAGMA cache_size = -32000");
  // After a checkpoint resets the WAL, truncate it back to 64 MiB rather than keep its high-water mark.
  sqlite.run("PRAGMA journal_size_limit = 67108864");
  const orm = drizzle({ client: sqlite, schema });
  return {
    sqlite,
    orm,
    path,
    close() {
      try {
        sqlite.run("PRAGMA optimize");
      } catch {
        // optimize is advisory; a closing connection must not fail on it.
      }
      sqlite.close();
    },
  };
}
