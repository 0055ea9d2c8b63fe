import { describe, expect, test } from "bun:test";
import { WorkerApiError, type CompleteBody, type FailBody, type LogLine } from "./client.ts";
import { Outbox, type OutboxSender } from "./outbox.ts";

const line = (execution_id: string, message: string): LogLine => ({ execution_id, level: "info", message, ts: 1 });
const done = (execution_id: string): CompleteBody => ({ worker_id: "w", work_order_id: `wo-${execution_id}`, lease_token: "t", execution_id, result: null });

/** A server stand-in that records what reached it and answers with the scripted errors first. */
function server(script: Array<WorkerApiError | null> = []) {
  const received: string[] = [];
  const answer = () => {
    const next = script.shift();
    if (next) throw next;
  };
  const send: OutboxSender = {
    async logs(lines) {
      answer();
      received.push(`logs:${lines.map((l) => `${l.execution_id}/${l.message}`).join(",")}`);
    },
    async complete(body: CompleteBody) {
      answer();
      received.push(`complete:${body.execution_id}`);
    },
    async fail(body: FailBody) {
      answer();
      received.push(`fail:${body.execution_id}`);
    },
  };
  return { send, received };
}

async function deliverAll(outbox: Outbox, send: OutboxSender) {
  for (let i = 0; i < 100 && outbox.size > 0; i++) await outbox.deliverOnce(send, true);
}

describe("Outbox", () => {
  test("a task's log lines reach the server before its outcome, and outcomes in the order tasks finished", async () => {
    const outbox = new Outbox({ clock: () => 0 });
    outbox.pushLog(line("a", "1"));
    outbox.pushLog(line("b", "1"));
    outbox.pushOutcome({ kind: "complete", body: done("b") });
    outbox.pushLog(line("a", "2"));
    outbox.pushOutcome({ kind: "fail", body: { ...done("a"), error: "boom" } });
    const { send, received } = server();
    await deliverAll(outbox, send);
    expect(received).toEqual(["logs:a/1,b/1", "complete:b", "logs:a/2", "fail:a"]);
  });

  test("log lines go out in batches: when 200 have gathered or the oldest is 100 ms old", async () => {
    let now = 0;
    const outbox = new Outbox({ clock: () => now });
    const { send, received } = server();
    for (let i = 0; i < 450; i++) outbox.pushLog(line("a", String(i)));
    expect(outbox.size).toBe(3);
    expect(await outbox.deliverOnce(send)).toEqual({ state: "sent" });
    expect(await outbox.deliverOnce(send)).toEqual({ state: "sent" });
    // The last 50 wait for company until their batch is 100 ms old.
    now = 60;
    expect(await outbox.deliverOnce(send)).toEqual({ state: "idle", dueInMs: 40 });
    now = 100;
    expect(await outbox.deliverOnce(send)).toEqual({ state: "sent" });
    expect(received.map((r) => r.split(",").length)).toEqual([200, 200, 50]);
  });

  test("while the server is unreachable nothing is lost or reordered; delivery resumes where it stopped", async () => {
    const outbox = new Outbox({ clock: () => 0 });
    for (const id of ["1", "2", "3"]) outbox.pushOutcome({ kind: "complete", body: done(id) });
    const down = () => new WorkerApiError(0, "unreachable", "connection refused", null, true);
    const { send, received } = server([null, down(), new WorkerApiError(503, "unavailable", "503"), null]);
    const states = [];
    for (let i = 0; i < 5; i++) states.push((await outbox.deliverOnce(send)).state);
    expect(states).toEqual(["sent", "retry", "retry", "sent", "sent"]);
    expect(received).toEqual(["complete:1", "complete:2", "complete:3"]);
    expect(outbox.size).toBe(0);
  });

  test("an outcome refused with 409 (the lease moved on) is dropped and said so; the next one still goes", async () => {
    const dropped: string[] = [];
    const outbox = new Outbox({ onDrop: (what) => dropped.push(what) });
    outbox.pushOutcome({ kind: "complete", body: done("late") });
    outbox.pushOutcome({ kind: "complete", body: done("ok") });
    const { send, received } = server([new WorkerApiError(409, "conflict", "lease expired")]);
    expect((await outbox.deliverOnce(send)).state).toBe("dropped");
    expect((await outbox.deliverOnce(send)).state).toBe("sent");
    expect(dropped).toEqual(["the complete of execution late"]);
    expect(received).toEqual(["complete:ok"]);
  });

  test("a refused log batch is split per execution, so one lost lease costs only its own lines", async () => {
    const dropped: string[] = [];
    const outbox = new Outbox({ onDrop: (what) => dropped.push(what) });
    outbox.pushLog(line("lost", "x"));
    outbox.pushLog(line("kept", "y"));
    const conflict = () => new WorkerApiError(409, "conflict", "not held: lost");
    const { send, received } = server([conflict(), conflict()]);
    expect((await outbox.deliverOnce(send, true)).state).toBe("sent");
    expect(received).toEqual(["logs:kept/y"]);
    expect(dropped).toEqual(["1 log line(s) of execution lost"]);
  });

  test("a refused key (401/403) stops delivery: it is thrown, and the outcome stays", async () => {
    const outbox = new Outbox();
    outbox.pushOutcome({ kind: "complete", body: done("a") });
    const { send } = server([new WorkerApiError(401, "unauthorized", "revoked")]);
    await expect(outbox.deliverOnce(send)).rejects.toThrow("revoked");
    expect(outbox.pendingOutcomes().map((o) => o.execution_id)).toEqual(["a"]);
  });

  test("past the limit of waiting log lines, new lines are counted and dropped; outcomes never are", () => {
    const outbox = new Outbox({ maxPendingLines: 3 });
    for (let i = 0; i < 5; i++) outbox.pushLog(line("a", String(i)));
    outbox.pushOutcome({ kind: "complete", body: done("a") });
    expect(outbox.droppedLines).toBe(2);
    expect(outbox.pendingOutcomes()).toHaveLength(1);
  });
});
