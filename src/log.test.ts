// The process log: pino's JSON fields, the request/task context on every line, redaction and masking,
// levels, and the readable format a terminal gets.
import { afterEach, describe, expect, test } from "bun:test";
import { Writable } from "node:stream";
import { configureLogging, logger, setLogMasker, withLogContext } from "./log.ts";

/** Captures what the logger writes (pino calls write with one line at a time). */
function capture() {
  const chunks: string[] = [];
  return {
    destination: new Writable({
      write(chunk, _encoding, done) {
        chunks.push(String(chunk));
        done();
      },
    }),
    text: () => chunks.join(""),
    lines: () => chunks.join("").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

afterEach(() => {
  setLogMasker(null);
  configureLogging({ level: "warn", format: "json" });
});

describe("the process log", () => {
  test("one JSON object a line with pino's fields, the scope, and extra arguments as fields", () => {
    const out = capture();
    configureLogging({ level: "debug", format: "json", destination: out.destination });
    const log = logger("pool");
    log.info("started", { threads: 2 });
    log.error("reaper pass failed:", new Error("disk I/O error"));
    log.warn("dropped", 3, "lines");
    const [started, failed, dropped] = out.lines();
    expect(started).toMatchObject({ level: 30, scope: "pool", msg: "started", threads: 2, pid: process.pid });
    expect(typeof started!.time).toBe("number");
    expect(typeof started!.hostname).toBe("string");
    expect(failed).toMatchObject({ level: 50, msg: "reaper pass failed:", err: { type: "Error", message: "disk I/O error" } });
    expect(String((failed!.err as { stack: string }).stack)).toContain("disk I/O error");
    expect(dropped).toMatchObject({ level: 40, msg: "dropped 3 lines" });
  });

  test("--log-level: lines below it are not written", () => {
    const out = capture();
    configureLogging({ level: "warn", format: "json", destination: out.destination });
    const log = logger("x");
    log.debug("no");
    log.info("no");
    log.warn("yes");
    expect(out.lines().map((l) => l.msg)).toEqual(["yes"]);
  });

  test("every line written inside withLogContext carries its fields, later (async) lines too; a line's own fields win", async () => {
    const out = capture();
    configureLogging({ level: "info", format: "json", destination: out.destination });
    const log = logger("http");
    await withLogContext({ req_id: "r-1", correlation_id: "c-1" }, async () => {
      log.info("before");
      await new Promise((resolve) => setTimeout(resolve, 1));
      log.info("after a timer", { status: 201 });
      withLogContext({ task_id: "t-9" }, () => log.info("nested"));
      log.info("own correlation", { correlation_id: "c-own" });
      log.info("context untouched by the line before");
    });
    log.info("outside");
    const lines = out.lines();
    expect(lines.map((l) => [l.msg, l.req_id, l.correlation_id, l.task_id])).toEqual([
      ["before", "r-1", "c-1", undefined],
      ["after a timer", "r-1", "c-1", undefined],
      ["nested", "r-1", "c-1", "t-9"],
      ["own correlation", "r-1", "c-own", undefined],
      ["context untouched by the line before", "r-1", "c-1", undefined],
      ["outside", undefined, undefined, undefined],
    ]);
    expect(lines[4]).not.toHaveProperty("status");
  });

  test("credentials in fields are redacted, and secret values in messages are masked", () => {
    const out = capture();
    configureLogging({ level: "info", format: "json", destination: out.destination });
    setLogMasker((text) => text.replaceAll("s3cr3t-value", "***"));
    logger("auth").info("login with s3cr3t-value", { password: "hunter2", body: { token: "abc", name: "ok" }, authorization: "Bearer avk_x" });
    const text = out.text();
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("abc");
    expect(text).not.toContain("avk_x");
    expect(text).not.toContain("s3cr3t-value");
    expect(out.lines()[0]).toMatchObject({ msg: "login with ***", password: "***", body: { token: "***", name: "ok" }, authorization: "***" });
  });

  test("the readable format (a terminal's): one line each, time, level, [scope] and the message, no JSON", () => {
    const out = capture();
    configureLogging({ level: "info", format: "pretty", destination: out.destination });
    logger("http").info("GET /api/v1/health 200", { ms: 1.2 });
    const text = out.text();
    expect(text.trim().split("\n")).toHaveLength(1);
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO.*\[http\] GET \/api\/v1\/health 200/);
    expect(text).not.toContain('"msg"');
  });
});
