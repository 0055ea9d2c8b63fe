// migrate(): idempotent, every drizzle-kit migration embedded, and the database enforcing the allowed states.
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, tempDir } from "../../test/helpers.ts";
import { openDatabase, type Db } from "./client.ts";
import { migrate } from "./migrate.ts";
import { MIGRATIONS } from "./migrations.ts";

const MIGRATIONS_DIR = join(import.meta.dir, "../../migrations");

const open: Db[] = [];
/** An empty (unmigrated) database file in a temp dir. */
function freshDb(): Db {
  const db = openDatabase(join(tempDir(), "agentvine.db"));
  open.push(db);
  return db;
}
afterEach(async () => {
  while (open.length) open.pop()!.close(); // before the temp dirs go
  await cleanup();
});

const schemaOf = (db: Db) =>
  db.sqlite.query<{ type: string; name: string; sql: string | null }, []>("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").all();

/** Tags recorded as applied (none when the bookkeeping table does not exist yet). */
const appliedTags = (db: Db) =>
  db.sqlite.query("SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'").get()
    ? db.sqlite.query<{ tag: string }, []>("SELECT tag FROM schema_migrations ORDER BY tag").all().map((r) => r.tag)
    : [];

describe("migrate", () => {
  test("applies every migration once; running it again changes nothing", () => {
    const db = freshDb();
    expect(appliedTags(db)).toEqual([]);
    const first = migrate(db);
    expect(first.applied).toEqual(MIGRATIONS.map((m) => m.tag));
    expect(first.current).toBe(MIGRATIONS.at(-1)!.tag);
    expect(appliedTags(db)).toEqual(MIGRATIONS.map((m) => m.tag).sort());

    db.sqlite.run(
      `INSERT INTO tasks (id, title, task_type, params, status, timeout_seconds, max_retries, created_at, updated_at)
       VALUES ('t1', 'kept', 'hello', '{}', 'queued', 60, 0, 1, 1)`,
    );
    const schema = schemaOf(db);
    const second = migrate(db);
    expect(second.applied).toEqual([]);
    expect(second.current).toBe(first.current);
    expect(schemaOf(db)).toEqual(schema);
    expect(db.sqlite.query("SELECT title FROM tasks WHERE id = 't1'").get()).toEqual({ title: "kept" });
  });

  test("a migration added later (even one sorting before the newest) is applied exactly once", () => {
    const db = freshDb();
    migrate(db);
    const later = [{ tag: "0000_aa_backfill", sql: "CREATE TABLE extra_a (x INTEGER);--> statement-breakpoint\nCREATE TABLE extra_b (y INTEGER);" }];
    expect(migrate(db, [...MIGRATIONS, ...later]).applied).toEqual(["0000_aa_backfill"]);
    expect(migrate(db, [...MIGRATIONS, ...later]).applied).toEqual([]);
    const tables = schemaOf(db).map((r) => r.name);
    expect(tables).toContain("extra_a");
    expect(tables).toContain("extra_b");
  });

  test("a failing migration leaves nothing behind and is not recorded", () => {
    const db = freshDb();
    migrate(db);
    const broken = [{ tag: "9999_broken", sql: "CREATE TABLE half (x INTEGER);--> statement-breakpoint\nTHIS IS NOT SQL;" }];
    expect(() => migrate(db, [...MIGRATIONS, ...broken])).toThrow();
    expect(schemaOf(db).map((r) => r.name)).not.toContain("half");
    expect(appliedTags(db)).not.toContain("9999_broken");
  });

  test("every migration in migrations/meta/_journal.json is embedded in MIGRATIONS, in order, with its file's SQL", () => {
    const journal = JSON.parse(readFileSync(join(MIGRATIONS_DIR, "meta/_journal.json"), "utf8")) as { entries: Array<{ idx: number; tag: string }> };
    expect(journal.entries.length).toBeGreaterThan(0);
    const tags = [...journal.entries].sort((a, b) => a.idx - b.idx).map((e) => e.tag);
    expect(MIGRATIONS.map((m) => m.tag)).toEqual(tags);
    for (const m of MIGRATIONS) expect(m.sql).toBe(readFileSync(join(MIGRATIONS_DIR, `${m.tag}.sql`), "utf8"));
  });
});

describe("CHECK constraints", () => {
  const task = (over: Record<string, string | number> = {}) => ({
    id: "t1",
    title: "t",
    task_type: "hello",
    params: "{}",
    status: "queued",
    priority: "default",
    timeout_seconds: 60,
    max_retries: 0,
    ...over,
  });
  const insertTask = (db: Db, row: Record<string, string | number>) =>
    db.sqlite
      .query(
        `INSERT INTO tasks (id, title, task_type, params, status, priority, timeout_seconds, max_retries, created_at, updated_at)
         VALUES ($id, $title, $task_type, $params, $status, $priority, $timeout_seconds, $max_retries, 1, 1)`,
      )
      .run(row);

  test("a valid task row is accepted (the refusals below are about the values)", () => {
    const db = freshDb();
    migrate(db);
    expect(() => insertTask(db, task())).not.toThrow();
  });

  test.each([
    ["tasks.status 'bogus'", { status: "bogus" }, "tasks_status_check"],
    ["tasks.priority 'urgent'", { priority: "urgent" }, "tasks_priority_check"],
    ["tasks.timeout_seconds 0", { timeout_seconds: 0 }, "tasks_timeout_check"],
    ["tasks.max_retries -1", { max_retries: -1 }, "tasks_retries_check"],
  ] as const)("refuses %s", (_name, over, constraint) => {
    const db = freshDb();
    migrate(db);
    expect(() => insertTask(db, task(over))).toThrow(new RegExp(`CHECK constraint failed: ${constraint}`));
    expect(db.sqlite.query("SELECT count(*) AS n FROM tasks").get()).toEqual({ n: 0 });
  });

  test("refuses a work order in an unknown status, or claimed without a lease", () => {
    const db = freshDb();
    migrate(db);
    const insertOrder = (status: string, lease: { by: string | null; until: number | null; token: string | null }) =>
      db.sqlite
        .query(
          `INSERT INTO work_orders (id, queue, priority, status, payload, max_retries, timeout_seconds, run_at, claimed_by, lease_until, lease_token, created_at, updated_at)
           VALUES (?, 'default', 1, ?, '{}', 0, 60, 1, ?, ?, ?, 1, 1)`,
        )
        .run(`wo-${status}-${lease.by}`, status, lease.by, lease.until, lease.token);
    expect(() => insertOrder("queued", { by: null, until: null, token: null })).not.toThrow();
    expect(() => insertOrder("bogus", { by: null, until: null, token: null })).toThrow(/work_orders_status_check/);
    expect(() => insertOrder("claimed", { by: null, until: null, token: null })).toThrow(/work_orders_lease_check/);
    expect(() => insertOrder("claimed", { by: "w1", until: 5, token: "tok" })).not.toThrow();
  });
});
