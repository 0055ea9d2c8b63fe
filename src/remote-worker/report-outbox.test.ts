import { describe, expect, test } from "bun:test";
import { WorkerApiError, type CompleteBody, type LogLine, type Report, type ReportAnswer } from "./api-client.ts";
import { ReportOutbox, type OutboxSender } from "./report-outbox.ts";

const line = (execution_id: string, message: string): LogLine => ({ execution_id, level: "info", message, ts: 1 });
const done = (execution_id: string): CompleteBody => ({ worker_id: "w", work_order_id: `wo-${execution_id}`, lease_token: "t", execution_id, result: null });

/** A report as the server sees it: lines first, then outcomes (`status:execution`). */
const seen = (r: Report) => [...(r.logs.length ? [`logs:${r.logs.map((l) => `${l.execution_id}/${l.message}`).join(",")}`] : []), ...r.outcomes.map((o) => `${o.status}:${o.execution_id}`)].join(" ");

/** A server stand-in that records each report that reached it and answers with the scripted errors or answers first. */
function server(script: Array<WorkerApiError | Partial<ReportAnswer> | null> = []) {
  const received: string[] = [];
  const reports: Report[] = [];
  const send: OutboxSender = {
    async report(report) {
      const next = script.shift();
      if (next instanceof WorkerApiError) throw next;
      received.push(seen(report));
      reports.push(structuredClone(report));
      return {
        outcomes: next?.outcomes ?? report.outcomes.map((o) => ({ execution_id: o.execution_id, accepted: true })),
        logs: next?.logs ?? { accepted: report.logs.length, refused: [] },
      };
    },
  };
  return { send, received, reports };
}

describe("ReportOutbox", () => {
  test("everything waiting goes in one report, in order: a task's log lines with (and so before) its outcome", async () => {
    const outbox = new ReportOutbox({ clock: () => 0 });
    outbox.pushLog(line("a", "1"));
    outbox.pushLog(line("b", "1"));
    outbox.pushOutcome({ kind: "complete", body: done("b") });
    outbox.pushLog(line("a", "2"));
    outbox.pushOutcome({ kind: "fail", body: { ...done("a"), error: "boom", timed_out: true } });
    const { send, received, reports } = server();
    expect(await outbox.deliverOnce(send)).toEqual({ state: "sent" });
    expect(received).toEqual(["logs:a/1,b/1,a/2 succeeded:b timed_out:a"]);
    expect(reports[0]!.outcomes[1]).toMatchObject({ execution_id: "a", work_order_id: "wo-a", lease_token: "t", error: "boom" });
    expect(reports[0]!.outcomes[1]).not.toHaveProperty("worker_id");
    expect(outbox.size).toBe(0);
    expect(await outbox.deliverOnce(send)).toEqual({ state: "empty" });
  });

  test("log lines alone wait until 200 have gathered or the oldest is 100 ms old; a report holds at most 1,000 lines", async () => {
    let now = 0;
    const outbox = new ReportOutbox({ clock: () => now });
    const { send, reports } = server();
    for (let i = 0; i < 50; i++) outbox.pushLog(line("a", String(i)));
    now = 60;
    expect(await outbox.deliverOnce(send)).toEqual({ state: "idle", dueInMs: 40 });
    for (let i = 50; i < 1050; i++) outbox.pushLog(line("a", String(i)));
    expect(await outbox.deliverOnce(send)).toEqual({ state: "sent" });
    // The last 50 (a batch opened at 60 ms) wait for company until it is 100 ms old.
    expect(await outbox.deliverOnce(send)).toEqual({ state: "idle", dueInMs: 100 });
    now = 160;
    expect(await outbox.deliverOnce(send)).toEqual({ state: "sent" });
    expect(reports.map((r) => r.logs.length)).toEqual([1000, 50]);
    expect(reports.flatMap((r) => r.logs.map((l) => Number(l.message)))).toEqual(Array.from({ length: 1050 }, (_, i) => i));
  });

  test("a report holds at most 256 outcomes; the rest go in the next", async () => {
    const outbox = new ReportOutbox({ clock: () => 0 });
    for (let i = 0; i < 300; i++) outbox.pushOutcome({ kind: "complete", body: done(String(i)) });
    const { send, reports } = server();
    expect((await outbox.deliverOnce(send)).state).toBe("sent");
    expect((await outbox.deliverOnce(send)).state).toBe("sent");
    expect(reports.map((r) => r.outcomes.length)).toEqual([256, 44]);
    expect(reports[1]!.outcomes[0]!.execution_id).toBe("256");
  });

  test("while the server is unreachable nothing is lost or reordered; what came meanwhile follows it", async () => {
    const outbox = new ReportOutbox({ clock: () => 0 });
    for (const id of ["1", "2"]) outbox.pushOutcome({ kind: "complete", body: done(id) });
    const down = () => new WorkerApiError(0, "unreachable", "connection refused", null, true);
    const { send, received } = server([down(), new WorkerApiError(503, "unavailable", "503"), null]);
    expect((await outbox.deliverOnce(send)).state).toBe("retry");
    outbox.pushOutcome({ kind: "complete", body: done("3") });
    expect((await outbox.deliverOnce(send)).state).toBe("retry");
    expect(outbox.pendingOutcomes().map((o) => o.execution_id)).toEqual(["1", "2", "3"]);
    expect((await outbox.deliverOnce(send)).state).toBe("sent");
    expect(received).toEqual(["succeeded:1 succeeded:2 succeeded:3"]);
    expect(outbox.size).toBe(0);
  });

  test("one report at a time: while a claim carries one, nothing else goes; restored, it goes first", async () => {
    const outbox = new ReportOutbox({ clock: () => 0 });
    outbox.pushOutcome({ kind: "complete", body: done("1") });
    const carried = outbox.take()!;
    expect(carried.report.outcomes.map((o) => o.execution_id)).toEqual(["1"]);
    outbox.pushOutcome({ kind: "complete", body: done("2") });
    const { send, received } = server();
    expect(await outbox.deliverOnce(send)).toEqual({ state: "busy" });
    // Still reported in heartbeats while it is out.
    expect(outbox.pendingOutcomes().map((o) => o.execution_id)).toEqual(["1", "2"]);
    outbox.restore(carried);
    expect((await outbox.deliverOnce(send)).state).toBe("sent");
    expect(received).toEqual(["succeeded:1 succeeded:2"]);
  });

  test("an outcome refused (the lease moved on) and the lines of a lost execution are dropped and said so; the rest is delivered", async () => {
    const dropped: string[] = [];
    const outbox = new ReportOutbox({ clock: () => 0, onDrop: (what, err) => dropped.push(`${what}: ${err.message}`) });
    outbox.pushLog(line("lost", "x"));
    outbox.pushLog(line("kept", "y"));
    outbox.pushOutcome({ kind: "complete", body: done("late") });
    outbox.pushOutcome({ kind: "complete", body: done("kept") });
    const { send } = server([
      {
        logs: { accepted: 1, refused: ["lost"] },
        outcomes: [
          { execution_id: "late", accepted: false, reason: "its lease moved to worker 'b'" },
          { execution_id: "kept", accepted: true },
        ],
      },
    ]);
    expect((await outbox.deliverOnce(send)).state).toBe("sent");
    expect(dropped).toEqual(["1 log line(s) of execution lost: execution lost is not held by this worker", "the complete of execution late: its lease moved to worker 'b'"]);
    expect(outbox.size).toBe(0);
  });

  test("a report refused as a whole for good (400) is dropped and said so", async () => {
    const dropped: string[] = [];
    const outbox = new ReportOutbox({ onDrop: (what) => dropped.push(what) });
    outbox.pushLog(line("a", "x"));
    outbox.pushOutcome({ kind: "complete", body: done("a") });
    const { send } = server([new WorkerApiError(400, "bad_request", "too long")]);
    expect((await outbox.deliverOnce(send)).state).toBe("dropped");
    expect(dropped).toEqual(["1 log line(s) and 1 outcome(s)"]);
    expect(outbox.size).toBe(0);
  });

  test("a refused key (401/403) stops delivery: it is thrown, and the outcome stays", async () => {
    const outbox = new ReportOutbox();
    outbox.pushOutcome({ kind: "complete", body: done("a") });
    const { send } = server([new WorkerApiError(401, "unauthorized", "revoked")]);
    await expect(outbox.deliverOnce(send)).rejects.toThrow("revoked");
    expect(outbox.pendingOutcomes().map((o) => o.execution_id)).toEqual(["a"]);
    expect(outbox.busy).toBe(false);
  });

  test("past the limit of waiting log lines, new lines are counted and dropped; outcomes never are", () => {
    const outbox = new ReportOutbox({ maxPendingLines: 3 });
    for (let i = 0; i < 5; i++) outbox.pushLog(line("a", String(i)));
    outbox.pushOutcome({ kind: "complete", body: done("a") });
    expect(outbox.droppedLines).toBe(2);
    expect(outbox.pendingOutcomes()).toHaveLength(1);
  });
});
