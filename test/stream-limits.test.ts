// Issue 10, item 10: event streams are limited per account and per address (429 beyond --max-streams; a
// closed one frees its slot), and what each replays when it opens is bounded (the newest lines only).
import { afterEach, describe, expect, test } from "bun:test";
import { bearer, expectOk, userWithRole } from "./auth.ts";
import { cleanup, json, startTestServer } from "./helpers.ts";
import { openSse, type SseReader } from "./sse.ts";

afterEach(cleanup);

describe("event stream limits", () => {
  test("an account may hold --max-streams open at once; the next is a 429; closing one frees its slot; another account has its own", async () => {
    const server = await startTestServer({ workers: 0, maxStreams: 3 });
    const task = await expectOk(await server.api("/tasks", json({ title: "t", task_type: "hello", params: { name: "x" } })), 201);
    const urls = [`${server.url}/events?topics=tasks`, `${server.url}/api/v1/tasks/${task.id}/events`, `${server.url}/events?topics=dashboard`];
    const open: SseReader[] = [];
    for (const url of urls) open.push((await openSse(url, { token: server.token })).sse);
    const page = await fetch(`${server.url}/events?topics=tasks`, { headers: bearer(server.token).headers });
    expect(page.status).toBe(429);
    expect(page.headers.get("retry-after")).toBe("5");
    await page.arrayBuffer();
    const refused = await fetch(`${server.url}/api/v1/tasks/${task.id}/events`, { headers: bearer(server.token).headers });
    expect(refused.status).toBe(429);
    const error = ((await refused.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe("rate_limited");
    expect(error.message).toContain("Too many open event streams for this account: at most 3 at once");
    // Another account (same address, whose limit is twice as high) may open its own.
    const vic = (await userWithRole(server, server.token, "vic", "viewer")).access_token;
    const other = (await openSse(`${server.url}/events?topics=tasks`, { token: vic })).sse;
    // Closed: its slot is free again.
    const freed = server.services.streams.nextRelease();
    await open.pop()!.close();
    await freed;
    const reopened = (await openSse(`${server.url}/events?topics=tasks`, { token: server.token })).sse;
    open.push(reopened);
    for (const s of [...open, other]) await s.close();
  });

  test("the live log stream replays the newest lines only, at most 256 KiB, however long the log", async () => {
    const server = await startTestServer();
    // 4,000 lines of 1 KiB: 4 MB a stream would replay (each open page once more).
    const task = await expectOk(await server.api("/tasks", json({ title: "t", task_type: "shell", params: { command: "for i in $(seq 1 4000); do printf '%01000d\\n' $i; done", shell: true } })), 201);
    const done = await expectOk(await server.api(`/tasks/${task.id}/wait?timeout=60`));
    expect(done.status).toBe("succeeded");
    const [execution] = (await expectOk(await server.api(`/executions?task_id=${task.id}`))).items;
    const { sse } = await openSse(`${server.url}/events?topics=log:${execution.id}`, { token: server.token });
    const first = await sse.next(10_000);
    await sse.close();
    expect(first?.event).toBe("log");
    expect(first!.data.length).toBeLessThan(400 * 1024);
    expect(first!.id).toBe(String(execution.log_count)); // the newest line is in it
    // The JSON log stream says what it skipped instead of replaying it all.
    const { sse: logs } = await openSse(`${server.url}/api/v1/executions/${execution.id}/logs`, { token: server.token });
    const frames = await logs.rest(20_000);
    expect(frames[0]!.event).toBe("skipped");
    expect(frames.filter((f) => f.event === "log").length).toBeLessThan(1100);
    expect(frames.at(-1)!.event).toBe("end");
  }, 90_000);
});
