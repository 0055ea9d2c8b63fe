// Applies the embedded migrations in order, each once, each in its own transaction.
import type { Db } from "./client.ts";
import { MIGRATIONS } from "./migrations.ts";

export interface MigrationResult {
  applied: string[];
  current: string | null;
}

/**
 * Unlike drizzle's migrator (which compares against the newest applied timestamp), this records each
 * tag it applied, so a migration merged out of order is still applied exactly once.
 */
export function migrate(db: Db, migrations = MIGRATIONS): MigrationResult {
  const { sqlite } = db;
  sqlite.run(`CREATE TABLE IF NOT EXISTS schema_migrations (
    tag TEXT PRIMARY KEY NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
  const done = new Set(sqlite.query<{ tag: string }, []>("SELECT tag FROM schema_migrations").all().map((r) => r.tag));
  const applied: string[] = [];
  for (const m of migrations) {
    if (done.has(m.tag)) continue;
    const statements = m.sql
      .split("--> statement-breakpoint")
      .map((s) => s.trim())
      .filter(Boolean);
    sqlite.transaction(() => {
      for (const statement of statements) sqlite.run(statement);
      sqlite.query("INSERT INTO schema_migrations (tag, applied_at) VALUES (?, ?)").run(m.tag, Date.now());
    })();
    applied.push(m.tag);
  }
  return { applied, current: migrations.at(-1)?.tag ?? null };
}
