// The submit batcher: submissions of one event-loop turn share one transaction; a bad one fails alone.
import { afterEach, expect, test } from "bun:test";
import { cleanup, freshDeps } from "../../test/helpers.ts";
import { AppError } from "../errors.ts";
import type { NewTask } from "./submit.ts";
import { SubmitBatcher } from "./submit-batcher.ts";

afterEach(cleanup);

const hello = (title: string, extra: Partial<NewTask> = {}): NewTask => ({
  title,
  task_type: "hello",
  params: { name: title },
  timeout_seconds: 60,
  max_retries: 0,
  ...extra,
});

test("submissions in the same turn are committed together, each promise after the commit", async () => {
  const deps = freshDeps();
  const readies: number[] = [];
  deps.bus.on("queue:ready", (e) => readies.push(e.count));
  const batcher = new SubmitBatcher(deps);
  const tasks = await Promise.all([batcher.submit(hello("a")), batcher.submit(hello("b")), batcher.submit(hello("c"))]);
  expect(tasks.map((t) => [t.title, t.status])).toEqual([
    ["a", "queued"],
    ["b", "queued"],
    ["c", "queued"],
  ]);
  expect(readies).toEqual([3]); // one transaction, one wake-up for all three
  expect(deps.db.sqlite.query<{ n: number }, []>("SELECT count(*) AS n FROM work_orders").get()!.n).toBe(3);
});

test("one bad submission is rejected with its own field names; the others are stored", async () => {
  const deps = freshDeps();
  const batcher = new SubmitBatcher(deps);
  const results = await Promise.allSettled([
    batcher.submit(hello("good 1")),
    batcher.submit(hello("bad", { depends_on: ["missing"] })),
    batcher.submit(hello("good 2")),
  ]);
  expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
  const err = (results[1] as PromiseRejectedResult).reason as AppError;
  expect(err).toBeInstanceOf(AppError);
  expect(err.details[0]!.field).toBe("depends_on");
  const titles = deps.db.sqlite.query<{ title: string }, []>("SELECT title FROM tasks ORDER BY title").all().map((r) => r.title);
  expect(titles).toEqual(["good 1", "good 2"]);
});
