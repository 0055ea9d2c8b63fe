// The task thread's log: backpressure (a chatty task waits while LOG_WINDOW batches are unacknowledged) and the cap.
import { describe, expect, test } from "bun:test";
import { LOG_WINDOW, type FromThread } from "./protocol.ts";
import { ThreadLog } from "./thread-log.ts";

describe("ThreadLog", () => {
  test("ready() waits while LOG_WINDOW batches are on their way, and resumes at the next ack", async () => {
    const sent: Array<Extract<FromThread, { type: "log" }>> = [];
    const log = new ThreadLog("e1", (m) => sent.push(m as Extract<FromThread, { type: "log" }>));
    for (let i = 0; i < 500 * LOG_WINDOW; i++) log.log.info(`line ${i}`);
    expect(sent.length).toBe(LOG_WINDOW);
    let resumed = false;
    const waiting = log.ready().then(() => (resumed = true));
    await Promise.resolve();
    expect(resumed).toBe(false);
    log.acked(sent[0]!.batch!);
    await waiting;
    expect(resumed).toBe(true);
  });

  test("beyond the cap lines are counted, not sent; one line says the cap was reached and a last one how many were dropped", () => {
    const lines: string[] = [];
    const log = new ThreadLog("e1", (m) => m.type === "log" && lines.push(...m.lines.map((l) => l[1])), { maxLines: 3, maxBytes: 1 << 20 });
    for (let i = 1; i <= 10; i++) log.log.info(`n${i}`);
    log.finish();
    expect(lines).toEqual([
      "n1",
      "n2",
      "n3",
      "log cap reached (3 lines or 1048576 bytes per execution): further lines are counted and dropped",
      "7 log line(s) (15 bytes) dropped: the execution's log cap was reached",
    ]);
  });
});
