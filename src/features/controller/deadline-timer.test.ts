// The deadline timer on a real (migrated) SQLite database: a request whose on-timeout action fails — a
// full disk, a locked database — neither crashes the server nor holds up the others; it is retried with
// backoff until it goes through.
import { describe, expect, test } from "bun:test";
import { openDatabase } from "../../db/client.ts";
import { migrate } from "../../db/migrate.ts";
import { DeadlineTimer } from "./deadline-timer.ts";
import type { RequestRow } from "./requests.ts";

function database() {
  const db = openDatabase(":memory:");
  migrate(db);
  db.sqlite.run("PRAGMA foreign_keys = OFF"); // questions without their tasks: only the timer is under test
  const insert = db.sqlite.query<unknown, [string, number]>(
    "INSERT INTO worker_requests (id, task_id, question, status, handler, route_action, on_timeout, deadline_at, created_at, updated_at) VALUES (?1, 't', 'q?', 'open', 'human', 'human', 'fail_task', ?2, 0, 0)",
  );
  return { db, insert: (id: string, deadlineAt: number) => insert.run(id, deadlineAt) };
}

describe("a deadline that cannot be applied", () => {
  test("is retried with backoff until it goes through; the others fire on time; nothing is thrown", async () => {
    const { db, insert } = database();
    const now = Date.now();
    for (const id of ["a", "b", "c"]) insert(id, now - 1000);
    const status = (id: string) => db.sqlite.query<{ status: string }, [string]>("SELECT status FROM worker_requests WHERE id = ?").get(id)!.status;
    let failuresLeft = 3;
    const attempts: number[] = [];
    let done!: () => void;
    const bDone = new Promise<void>((resolve) => (done = resolve));
    const timer = new DeadlineTimer(
      db,
      Date.now,
      (row: RequestRow) => {
        if (row.id === "b") {
          attempts.push(Date.now());
          if (failuresLeft-- > 0) throw new Error("SQLITE_FULL: database or disk is full");
        }
        db.sqlite.query("UPDATE worker_requests SET status = 'timed_out', resolved_at = 1 WHERE id = ?").run(row.id);
        if (row.id === "b") done();
      },
      { retryBaseMs: 20, retryMaxMs: 80 },
    );
    expect(() => timer.start()).not.toThrow();
    // The first pass applied the two that work, and gave up on b for now.
    expect([status("a"), status("b"), status("c")]).toEqual(["timed_out", "open", "timed_out"]);
    await bDone;
    expect(status("b")).toBe("timed_out");
    expect(attempts).toHaveLength(4);
    // Backoff: each wait at least as long as the one before (20, 40, 80 ms).
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(15);
    expect(gaps[2]).toBeGreaterThanOrEqual(gaps[0]!);
    timer.stop();
    db.close();
  });

  test("a broken database read at arm time backs off instead of throwing into the caller, and recovers", async () => {
    const { db, insert } = database();
    let fired!: (id: string) => void;
    const firedId = new Promise<string>((resolve) => (fired = resolve));
    const timer = new DeadlineTimer(
      db,
      Date.now,
      (row) => {
        db.sqlite.query("UPDATE worker_requests SET status = 'timed_out', resolved_at = 1 WHERE id = ?").run(row.id);
        fired(row.id);
      },
      { retryBaseMs: 10 },
    );
    timer.start();
    db.sqlite.run("ALTER TABLE worker_requests RENAME TO worker_requests_gone");
    expect(() => timer.arm()).not.toThrow();
    // Repaired: the retry finds the table again and applies what fell due meanwhile.
    db.sqlite.run("ALTER TABLE worker_requests_gone RENAME TO worker_requests");
    insert("late", Date.now() - 1);
    expect(await firedId).toBe("late");
    timer.stop();
    db.close();
  });

  test("an action that leaves its request open does not spin: it waits for the retry", async () => {
    const { db, insert } = database();
    insert("stuck", Date.now() - 1);
    const calls: number[] = [];
    let third!: () => void;
    const thrice = new Promise<void>((resolve) => (third = resolve));
    const timer = new DeadlineTimer(
      db,
      Date.now,
      () => {
        calls.push(Date.now());
        if (calls.length === 3) third();
      },
      { retryBaseMs: 20 },
    );
    timer.start();
    expect(calls).toHaveLength(1); // once per pass, not in a loop
    await thrice;
    timer.stop();
    expect(calls[2]! - calls[1]!).toBeGreaterThanOrEqual(35); // 20 ms, then 40 ms
    db.close();
  });
});
