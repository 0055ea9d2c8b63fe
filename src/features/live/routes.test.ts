// GET /events and the LiveHub behind it: topics, catch-up after a render, folded bursts, log replay.
import { afterEach, describe, expect, test } from "bun:test";
import { EventBus } from "../../events/bus.ts";
import type { TaskJson } from "../../engine/task-record.ts";
import { AWAIT_GATE, gate } from "../../../test/gate.ts";
import { cleanup, json, startTestServer, until } from "../../../test/helpers.ts";
import { HOSTILE, HOSTILE_ESCAPED } from "../../../test/html.ts";
import { openSse, type SseFrame } from "../../../test/sse.ts";
import { LiveHub } from "./hub.ts";

afterEach(cleanup);

type Server = Awaited<ReturnType<typeof startTestServer>>;

async function create(server: Server, body: Record<string, unknown>): Promise<TaskJson> {
  const res = await server.api("/tasks", json(body));
  if (res.status !== 201) throw new Error(`POST /tasks answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as TaskJson;
}
const parked = (title: string) => ({ title, task_type: "hello", params: { name: "p" }, requires: ["gpu"] });
const events = (frames: SseFrame[]) => frames.map((f) => f.event);

describe("GET /events", () => {
  test("refuses unknown or missing topics", async () => {
    const server = await startTestServer();
    for (const q of ["", "?topics=", "?topics=everything", "?topics=plans:x", "?topics=task:", "?topics=log:a,log:b", `?topics=${"tasks,".repeat(11)}`]) {
      const res = await server.get(`/events${q}`);
      expect(res.status).toBe(400);
      await res.body?.cancel();
    }
  });

  test("`tasks` and `dashboard` when a task is created; `task` and `execution` for the watched task", async () => {
    const server = await startTestServer();
    const { res, sse } = await openSse(`${server.url}/events?topics=tasks,dashboard`, { token: server.token });
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    await create(server, parked("one"));
    const frames = await sse.until((f) => f.event === "dashboard");
    expect(events(frames)).toContain("tasks");
    expect(frames.find((f) => f.event === "tasks")!.data).toBe("tasks");
    await sse.close();

    // B waits on A, which waits on a gate: B starts only after the stream is open.
    const g = gate();
    const a = await create(server, { title: "a", task_type: "shell", params: { command: AWAIT_GATE, shell: true, env: g.env } });
    const t = await create(server, { title: "two", task_type: "test_sleep", params: { ms: 60_000 }, depends_on: [a.id] });
    const watch = await openSse(`${server.url}/events?topics=task:${t.id},exec:${t.id}`, { token: server.token });
    g.open();
    const seen = await watch.sse.until((f) => f.event === "execution");
    expect(seen.at(-1)!.data).toBe(`exec:${t.id}`);
    await server.api(`/tasks/${t.id}/cancel`, { method: "POST" });
    expect((await watch.sse.until((f) => f.event === "task")).at(-1)!.data).toBe(`task:${t.id}`);
    await watch.sse.close();
  });

  test("`plans` when a plan run changes, not for other tasks", async () => {
    const server = await startTestServer();
    const plan = (await (await server.api("/plans", json({ name: "p", steps: [{ name: "a", task_type: "hello", params: { name: "x" } }] }))).json()) as { id: string };
    const { sse } = await openSse(`${server.url}/events?topics=plans,dashboard`, { token: server.token });
    await create(server, parked("not a run"));
    expect(events(await sse.until((f) => f.event === "dashboard"))).not.toContain("plans");
    await server.api(`/plans/${plan.id}/run`, { method: "POST" });
    expect((await sse.until((f) => f.event === "plans")).at(-1)!.data).toBe("plans");
    await sse.close();
  });

  test("a page rendered before a change gets that change as soon as its stream opens (v)", async () => {
    const server = await startTestServer({ workers: 0 });
    const res = await server.get("/tasks");
    const v = /topics=tasks&amp;v=(\d+)/.exec(await res.text())![1];
    await create(server, parked("made between render and connect"));
    const { sse } = await openSse(`${server.url}/events?topics=tasks&v=${v}`, { token: server.token });
    expect((await sse.next())!.event).toBe("tasks");
    await sse.close();
  });

  test("replays a running execution's log after `after` as escaped HTML, then streams new lines", async () => {
    const server = await startTestServer();
    const g = gate();
    const t = await create(server, {
      title: "logs",
      task_type: "shell",
      params: { command: `echo one; echo '${HOSTILE}'; ${AWAIT_GATE}; echo three`, shell: true, env: g.env },
    });
    const bus = server.services.deps.bus;
    // Both lines before the gate are logged: the task now waits, so the stream sees a still log.
    const executionId = await until(bus, ["log:appended"], () => {
      server.services.logger.flush(); // lines reach the table within a flush interval; read them now
      return server.db.sqlite
        .query<{ execution_id: string }, [string]>(
          "SELECT l.execution_id FROM execution_logs l JOIN executions e ON e.id = l.execution_id WHERE e.task_id = ? AND l.seq = 2",
        )
        .get(t.id)?.execution_id;
    });
    const all = await openSse(`${server.url}/events?topics=log:${executionId}&after=0`, { token: server.token });
    const replay = (await all.sse.next())!;
    expect(replay.event).toBe("log");
    expect(replay.id).toBe("2");
    expect(replay.data).toContain('data-seq="1"');
    expect(replay.data).toContain(HOSTILE_ESCAPED);
    expect(replay.data).not.toContain(HOSTILE);

    const tail = await openSse(`${server.url}/events?topics=log:${executionId}`, { token: server.token, headers: { "last-event-id": "1" } });
    const rest = (await tail.sse.next())!;
    expect(rest.data).not.toContain('data-seq="1"');
    expect(rest.data).toContain('data-seq="2"');

    g.open();
    for (const s of [all.sse, tail.sse]) {
      const live = (await s.next())!;
      expect(live.id).toBe("3");
      expect(live.data).toContain("three");
      expect(live.data).not.toContain('data-seq="2"');
      await s.close();
    }
  });
});

describe("LiveHub", () => {
  function subscriber() {
    const frames: string[] = [];
    let wake: (() => void) | null = null;
    const sub = {
      after: 0,
      write(frame: Uint8Array) {
        frames.push(new TextDecoder().decode(frame));
        wake?.();
      },
    };
    const nextFrame = (count: number) =>
      new Promise<void>((resolve) => {
        if (frames.length >= count) return resolve();
        wake = () => frames.length >= count && resolve();
      });
    return { sub, frames, nextFrame };
  }
  const changed = (bus: EventBus, taskId: string) => bus.emit("task:changed", { taskId, status: "queued", taskType: "hello", parentTaskId: "parent-1", at: Date.now() });

  test("a burst of changes goes out as one frame per topic, encoded once for every subscriber", async () => {
    const bus = new EventBus();
    const hub = new LiveHub(bus, () => "");
    const a = subscriber();
    const b = subscriber();
    hub.subscribe(["tasks"], a.sub, null);
    hub.subscribe(["tasks", "task:parent-1"], b.sub, null);
    for (let i = 0; i < 100; i++) changed(bus, `t${i}`);
    await a.nextFrame(1);
    await b.nextFrame(2);
    expect(a.frames).toEqual(["event: tasks\ndata: tasks\n\n"]);
    expect(b.frames.sort()).toEqual(["event: task\ndata: task:parent-1\n\n", "event: tasks\ndata: tasks\n\n"]);
    // The next change waits for the topic's window, then goes out too: nothing is dropped.
    changed(bus, "late");
    await a.nextFrame(2);
    expect(a.frames).toHaveLength(2);
    hub.close();
  });

  test("questions: `requests` and `questions:<task>` when one is asked or resolved, `answers` as the model's answer streams", async () => {
    const bus = new EventBus();
    const hub = new LiveHub(bus, () => "");
    const inbox = subscriber();
    const taskPage = subscriber();
    const other = subscriber();
    hub.subscribe(["requests", "answers"], inbox.sub, null);
    hub.subscribe(["questions:t1"], taskPage.sub, null);
    hub.subscribe(["questions:t2", "tasks"], other.sub, null);
    bus.emit("request:created", { requestId: "r1", taskId: "t1", status: "open", handler: "human", at: Date.now() });
    await inbox.nextFrame(1);
    await taskPage.nextFrame(1);
    expect(inbox.frames).toEqual(["event: requests\ndata: requests\n\n"]);
    expect(taskPage.frames).toEqual(["event: questions\ndata: questions:t1\n\n"]);
    bus.emit("request:delta", { requestId: "r1", taskId: "t1", text: "Yes" });
    await inbox.nextFrame(2);
    expect(inbox.frames[1]).toBe("event: answers\ndata: answers\n\n");
    await taskPage.nextFrame(2);
    expect(other.frames).toEqual([]);
    hub.close();
  });

  test("a subscriber gets at once what changed after the version its page was rendered at, and only that", () => {
    const bus = new EventBus();
    const hub = new LiveHub(bus, () => "");
    const before = hub.version;
    changed(bus, "t1");
    const late = subscriber();
    hub.subscribe(["tasks", "dashboard", "task:t1", "task:t2"], late.sub, before);
    expect(late.frames.sort()).toEqual(["event: dashboard\ndata: dashboard\n\n", "event: task\ndata: task:t1\n\n", "event: tasks\ndata: tasks\n\n"]);
    const current = subscriber();
    hub.subscribe(["tasks"], current.sub, hub.version);
    expect(current.frames).toEqual([]);
    hub.close();
  });

  test("unsubscribing stops the frames and forgets the topic", async () => {
    const bus = new EventBus();
    const hub = new LiveHub(bus, () => "");
    const gone = subscriber();
    const stays = subscriber();
    const off = hub.subscribe(["tasks"], gone.sub, null);
    hub.subscribe(["tasks"], stays.sub, null);
    expect(hub.subscriberCount).toBe(2);
    off();
    expect(hub.subscriberCount).toBe(1);
    changed(bus, "x");
    await stays.nextFrame(1);
    expect(gone.frames).toEqual([]);
    hub.close();
  });
});
