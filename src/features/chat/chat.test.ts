// The chat over real HTTP and real WebSockets on loopback: two clients in one conversation see each
// other's messages in order, edits and threads; a signed-out session's socket closes with 4401; a viewer
// reads but cannot post; a reply to an open question answers it; the task's questions, routing and status
// changes are in its conversation; pages both ways; attachments; a plan run gathers its steps' messages.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { bearer, errorOf, expectOk, login, userWithRole } from "../../../test/auth.ts";
import { cleanup, json, startTestServer, until, type TestServer } from "../../../test/helpers.ts";

setDefaultTimeout(30_000);
// Started at load (not in beforeAll): whether this build delivers messages to running tasks decides below
// whether the end-to-end delivery test runs (the thread side of it is the lead's, in src/thread-pool).
const server: TestServer = await startTestServer({ workers: 2, rateLimit: 0 });
const probe = await expectOk(await server.api("/tasks", json({ title: "probe", task_type: "test_echo_messages", params: { probe: true } })), 201);
const DELIVERY = (await expectOk(await server.api(`/tasks/${probe.id}/wait?timeout=20`))).result?.delivery === true;
let viewer: string;
let operator: string;
let operatorId: string;

beforeAll(async () => {
  viewer = (await userWithRole(server, server.token, "vera", "viewer")).access_token;
  const op = await userWithRole(server, server.token, "otto", "operator");
  operator = op.access_token;
  operatorId = op.user.id;
});
afterAll(cleanup);

/** A WebSocket client that records every frame and lets a test wait for the one it expects. */
class Client {
  frames: any[] = [];
  closed: { code: number; reason: string } | null = null;
  #waiters: Array<() => void> = [];
  constructor(readonly ws: WebSocket) {
    ws.onmessage = (e) => {
      this.frames.push(JSON.parse(String(e.data)));
      this.#wake();
    };
    ws.onclose = (e) => {
      this.closed = { code: e.code, reason: e.reason };
      this.#wake();
    };
  }
  static async open(conversation: string, token: string, extra: Record<string, string> = {}): Promise<Client> {
    const ws = new WebSocket(`${server.url.replace(/^http/, "ws")}/api/v1/chat/ws/${conversation}`, { headers: { authorization: `Bearer ${token}`, ...extra } } as never);
    const client = new Client(ws);
    await client.next((f) => f.type === "hello");
    return client;
  }
  #wake() {
    for (const w of this.#waiters.splice(0)) w();
  }
  /** Resolves once `ready()` gives a value — checked on every frame and on close — or fails at the deadline. */
  #waitFor<T>(ready: () => T | undefined, describe: () => string, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(check) >>> 0, 1);
        reject(new Error(`${describe()} within ${timeoutMs} ms`));
      }, timeoutMs);
      const check = () => {
        try {
          const v = ready();
          if (v === undefined) return void this.#waiters.push(check);
          clearTimeout(timer);
          resolve(v);
        } catch (err) {
          clearTimeout(timer);
          reject(err);
        }
      };
      check();
    });
  }
  next(match: (f: any) => boolean, timeoutMs = 10_000): Promise<any> {
    return this.#waitFor(
      () => {
        const found = this.frames.find(match);
        if (found) return found;
        if (this.closed) throw new Error(`closed (${this.closed.code}) while waiting; frames: ${JSON.stringify(this.frames).slice(0, 500)}`);
        return undefined;
      },
      () => `no matching frame; frames: ${JSON.stringify(this.frames).slice(0, 800)}`,
      timeoutMs,
    );
  }
  closedWith(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    return this.#waitFor(() => this.closed ?? undefined, () => "still open", timeoutMs);
  }
  send(frame: unknown) {
    this.ws.send(JSON.stringify(frame));
  }
  messages() {
    return this.frames.filter((f) => f.type === "message").map((f) => f.message);
  }
}

async function conversation(title = "release coordination"): Promise<string> {
  return (await expectOk(await server.api("/chat/conversations", json({ title })), 201)).id;
}

describe("two clients in one conversation", () => {
  test("each sees the other's messages, in the order they were stored, with edits and threads", async () => {
    const id = await conversation();
    const a = await Client.open(id, server.token);
    const b = await Client.open(id, operator);
    for (let i = 0; i < 10; i++) {
      (i % 2 ? b : a).send({ type: "message", message: `m${i}`, client_id: `c${i}` });
    }
    await a.next(() => a.messages().length >= 10);
    await b.next(() => b.messages().length >= 10);
    const order = (c: Client) => c.messages().map((m) => m.message);
    // Both see the same order, the server's (seq increasing), each client's own messages in the order it sent them.
    expect(order(a)).toEqual(order(b));
    const seqs = a.messages().map((m) => m.seq);
    expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
    expect(order(a).filter((t) => ["m0", "m2", "m4", "m6", "m8"].includes(t))).toEqual(["m0", "m2", "m4", "m6", "m8"]);
    expect(a.messages().find((m) => m.message === "m1").sender_name).toBe("otto");
    // Acks carry the stored message to its sender.
    expect((await a.next((f) => f.type === "ack" && f.client_id === "c0")).message.message).toBe("m0");

    // An edit by its sender reaches both; an edit of someone else's message is refused.
    const mine = a.messages().find((m) => m.message === "m0");
    a.send({ type: "edit", message_id: mine.id, message: "m0 (fixed)", client_id: "e1" });
    const edited = await b.next((f) => f.type === "message_edited" && f.message.id === mine.id);
    expect(edited.message.message).toBe("m0 (fixed)");
    expect(edited.message.edited_at).not.toBeNull();
    b.send({ type: "edit", message_id: mine.id, message: "hijacked", client_id: "e2" });
    const refused = await b.next((f) => f.type === "error" && f.client_id === "e2");
    expect(refused.error.code).toBe("forbidden");

    // A reply goes into the root's thread; a reply to a reply joins the same thread.
    const root = b.messages().find((m) => m.message === "m3");
    a.send({ type: "message", message: "in the thread", parent_message_id: root.id });
    const reply = (await b.next((f) => f.type === "message" && f.message.message === "in the thread")).message;
    expect(reply.parent_message_id).toBe(root.id);
    b.send({ type: "message", message: "deeper", parent_message_id: reply.id });
    const deeper = (await a.next((f) => f.type === "message" && f.message.message === "deeper")).message;
    expect(deeper.parent_message_id).toBe(root.id);
    const thread = await expectOk(await server.api(`/chat/conversations/${id}/messages?thread=${root.id}`));
    expect(thread.items.map((m: any) => m.message)).toEqual(["m3", "in the thread", "deeper"]);
    expect(thread.items[0].reply_count).toBe(2);

    // Typing reaches the other client, not the typist.
    a.send({ type: "typing" });
    expect((await b.next((f) => f.type === "typing")).user.username).toBe("admin");
    expect(a.frames.some((f) => f.type === "typing")).toBe(false);
    a.ws.close();
    b.ws.close();
  });

  test("a message posted over HTTP reaches the sockets, and the SSE stream", async () => {
    const id = await conversation();
    const a = await Client.open(id, viewer);
    const sse = await server.api(`/chat/conversations/${id}/events`, { headers: { accept: "text/event-stream" } });
    const reader = sse.body!.getReader();
    const posted = await expectOk(await server.api(`/chat/conversations/${id}/messages`, json({ message: "over **http**" })), 201);
    expect((await a.next((f) => f.type === "message")).message.id).toBe(posted.id);
    let text = "";
    while (!text.includes(posted.id)) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain("event: message");
    await reader.cancel();
    a.ws.close();
  });
});

describe("who may do what", () => {
  test("a viewer reads (HTTP and socket) but cannot post or edit", async () => {
    const id = await conversation();
    const v = await Client.open(id, viewer);
    expect((await v.next((f) => f.type === "hello")).user.may_post).toBe(false);
    v.send({ type: "message", message: "let me in", client_id: "x" });
    const err = await v.next((f) => f.type === "error" && f.client_id === "x");
    expect(err.error.code).toBe("forbidden");
    const res = await server.api(`/chat/conversations/${id}/messages`, bearer(viewer, json({ message: "no" })));
    expect((await errorOf(res)).status).toBe(403);
    await expectOk(await server.api(`/chat/conversations/${id}/messages`, json({ message: "from the admin" })), 201);
    expect((await v.next((f) => f.type === "message")).message.message).toBe("from the admin");
    const page = await expectOk(await server.api(`/chat/conversations/${id}/messages`, bearer(viewer)));
    expect(page.items.map((m: any) => m.message)).toEqual(["from the admin"]);
    expect(v.messages().some((m) => m.message === "let me in")).toBe(false);
    v.ws.close();
  });

  test("a signed-out session's socket is closed with 4401; a revoked API key's too", async () => {
    const id = await conversation();
    const session = await login(server, "otto");
    const c = await Client.open(id, session.access_token);
    const out = await server.api("/auth/logout", bearer(session.access_token, { method: "POST" }));
    expect(out.status).toBeLessThan(300);
    const closed = await c.closedWith();
    expect(closed.code).toBe(4401);
    expect(closed.reason).toContain("access withdrawn");

    const key = await expectOk(await server.api("/api-keys", json({ name: "chat-bot", scope: "api" })), 201);
    const k = await Client.open(id, key.key);
    expect((await server.api(`/api-keys/${key.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await k.closedWith()).code).toBe(4401);
  });

  test("a browser session's socket: accepted from this server's pages, refused from another origin or with no Origin", async () => {
    const id = await conversation();
    const login = await server.request("/login", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: server.url },
      body: new URLSearchParams({ username: "otto", password: "violet tractor umbrella 42" }),
      redirect: "manual",
    });
    const cookie = /agentvine_session=[^;]+/.exec(login.headers.get("set-cookie") ?? "")?.[0];
    expect(cookie).toBeDefined();
    const attempt = (origin: string | null) =>
      new Promise<string>((resolve) => {
        const headers: Record<string, string> = { cookie: cookie! };
        if (origin) headers.origin = origin;
        const ws = new WebSocket(`${server.url.replace(/^http/, "ws")}/api/v1/chat/ws/${id}`, { headers } as never);
        ws.onmessage = (e) => {
          resolve(JSON.parse(String(e.data)).type);
          ws.close();
        };
        ws.onclose = () => resolve("refused");
      });
    expect(await attempt(server.url)).toBe("hello");
    expect(await attempt("https://evil.example")).toBe("refused");
    expect(await attempt(null)).toBe("refused");
    // The refusals are ordinary HTTP answers naming the reason.
    const upgrade = { upgrade: "websocket", connection: "Upgrade", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", cookie: cookie! };
    const evil = await errorOf(await server.request(`/api/v1/chat/ws/${id}`, { headers: { ...upgrade, origin: "https://evil.example" } }));
    expect(evil).toMatchObject({ status: 403 });
    expect(evil.message).toContain("Cross-site WebSocket refused");
  });

  test("a cookie-authenticated socket from another origin is refused before the upgrade", async () => {
    const id = await conversation();
    const res = await server.request(`/api/v1/chat/ws/${id}`, { headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", cookie: "agentvine_session=x", origin: "https://evil.example" } });
    expect(res.status).toBe(401); // the stale cookie is refused first
    const plain = await server.api(`/chat/ws/${id}`);
    expect((await errorOf(plain)).status).toBe(400);
    expect((await errorOf(await server.api("/chat/ws/no-such-conversation", { headers: { upgrade: "websocket" } }))).status).toBe(404);
  });
});

describe("unread counts and deleted conversations", () => {
  test("a person's unread count counts others' messages after their read marker; reading moves it", async () => {
    const id = await conversation("unread check");
    for (const text of ["one", "two", "three"]) await expectOk(await server.api(`/chat/conversations/${id}/messages`, json({ message: text })), 201);
    const unreadOf = async (token: string) =>
      ((await expectOk(await server.api(`/chat/conversations?q=unread%20check`, bearer(token)))).items as any[]).find((c) => c.id === id).unread;
    expect(await unreadOf(operator)).toBe(3);
    expect(await unreadOf(server.token)).toBe(0); // one's own messages are read
    const c = await Client.open(id, operator);
    const page = await expectOk(await server.api(`/chat/conversations/${id}/messages`, bearer(operator)));
    c.send({ type: "read", seq: page.items[1].seq });
    c.send({ type: "ping" });
    await c.next((f) => f.type === "pong");
    expect(await unreadOf(operator)).toBe(1);
    c.ws.close();
  });

  test("deleting a task closes its conversation's sockets with 4404", async () => {
    const task = await expectOk(await server.api("/tasks", json({ title: "short lived", task_type: "hello", params: { name: "x" } })), 201);
    await expectOk(await server.api(`/tasks/${task.id}/wait?timeout=20`));
    const c = await Client.open(task.id, server.token);
    expect((await server.api(`/tasks/${task.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await c.closedWith()).code).toBe(4404);
    expect((await errorOf(await server.api(`/chat/conversations/${task.id}/messages`))).status).toBe(404);
  });
});

describe("messages", () => {
  test("pages both ways: the newest first page, then older and newer around a cursor", async () => {
    const id = await conversation();
    for (let i = 0; i < 25; i++) await expectOk(await server.api(`/chat/conversations/${id}/messages`, json({ message: `n${i}` })), 201);
    const newest = await expectOk(await server.api(`/chat/conversations/${id}/messages?per_page=10`));
    expect(newest.items.map((m: any) => m.message)).toEqual(Array.from({ length: 10 }, (_, i) => `n${15 + i}`));
    expect(newest.total).toBe(25);
    expect(newest.newer).toBeNull();
    const older = await expectOk(await server.api(`/chat/conversations/${id}/messages?per_page=10&before=${newest.older}`));
    expect(older.items.map((m: any) => m.message)).toEqual(Array.from({ length: 10 }, (_, i) => `n${5 + i}`));
    const oldest = await expectOk(await server.api(`/chat/conversations/${id}/messages?per_page=10&before=${older.older}`));
    expect(oldest.items.map((m: any) => m.message)).toEqual(["n0", "n1", "n2", "n3", "n4"]);
    expect(oldest.older).toBeNull();
    const forward = await expectOk(await server.api(`/chat/conversations/${id}/messages?per_page=10&after=${oldest.items[4].id}`));
    expect(forward.items.map((m: any) => m.message)).toEqual(Array.from({ length: 10 }, (_, i) => `n${5 + i}`));
    expect(forward.newer).toBe(forward.items[9].id);
    const bad = await server.api(`/chat/conversations/${id}/messages?before=a&after=b`);
    expect((await errorOf(bad)).status).toBe(400);
  });

  test("bad input: empty, too long, unknown parent, unknown fields — each a 400 naming it, nothing stored", async () => {
    const id = await conversation();
    const cases: Array<[unknown, string]> = [
      [{ message: "   " }, "message"],
      [{ message: "x".repeat(20_001) }, "message"],
      [{ message: "hi", parent_message_id: "nope" }, "parent_message_id"],
      [{ message: "hi", extra: 1 }, "extra"],
    ];
    for (const [body, field] of cases) {
      const res = await server.api(`/chat/conversations/${id}/messages`, json(body));
      const text = await res.text();
      expect(res.status).toBe(400);
      expect(text).toContain(field);
    }
    expect((await expectOk(await server.api(`/chat/conversations/${id}/messages`))).total).toBe(0);
    expect((await errorOf(await server.api(`/chat/conversations/nope/messages`))).status).toBe(404);
  });

  test("attachments: stored under the data dir, served as downloads with a safe type; over the limit is 413", async () => {
    const id = await conversation();
    const form = new FormData();
    form.append("message", "the logs");
    form.append("file", new File(["<script>alert(1)</script>"], "../../evil.html", { type: "text/html" }));
    form.append("file", new File(["hello"], "notes.txt", { type: "text/plain" }));
    const res = await server.get(`/api/v1/chat/conversations/${id}/attachments`, { method: "POST", body: form });
    const msg = await expectOk(res, 201);
    expect(msg.attachments.map((a: any) => [a.filename, a.content_type, a.size_bytes])).toEqual([
      ["evil.html", "application/octet-stream", 25],
      ["notes.txt", "text/plain", 5],
    ]);
    const dl = await server.get(msg.attachments[0].url);
    expect(dl.status).toBe(200);
    expect(dl.headers.get("content-type")).toBe("application/octet-stream");
    expect(dl.headers.get("content-disposition")).toStartWith("attachment;");
    expect(dl.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await dl.text()).toBe("<script>alert(1)</script>");
    const big = new FormData();
    big.append("file", new File([new Uint8Array(10 * 1024 * 1024 + 1)], "big.bin"));
    const tooBig = await server.get(`/api/v1/chat/conversations/${id}/attachments`, { method: "POST", body: big });
    expect((await errorOf(tooBig)).status).toBe(413);
  });
});

describe("a task's conversation", () => {
  test("made with the task; its question, the routing decision, the answer given in the conversation, and its status changes", async () => {
    const task = await expectOk(
      await server.api("/tasks", json({ title: "deploy gate", task_type: "ask", params: { question: "Ship it?", options: ["approve", "reject"], category: "approval" } })),
      201,
    );
    const got = await expectOk(await server.api(`/tasks/${task.id}`));
    expect(typeof got.conversation_id).toBe("string");
    const ws = await Client.open(got.conversation_id, operator);
    const pageOf = async () => (await expectOk(await server.api(`/chat/conversations/${got.conversation_id}/messages?per_page=100`))).items as any[];
    const bus = server.services.deps.bus;
    const milestone = server.db.sqlite.query("SELECT 1 FROM chat_messages WHERE conversation_id = ? AND message_type = 'log_milestone'");
    await until(bus, ["chat:message"], () => milestone.get(got.conversation_id) !== null);
    const first = await pageOf();
    const question = first.find((m) => m.message_type === "question");
    expect(question.message).toBe("Ship it?");
    expect(question.sender_type).toBe("worker");
    expect(question.metadata.options).toEqual(["approve", "reject"]);
    const routed = first.find((m) => m.message_type === "log_milestone");
    expect(routed.parent_message_id).toBe(question.id);
    expect(routed.message).toContain("approvals go to a human");

    // Not one of the options: 400, nothing stored; then the answer, as a reply in the question's thread.
    const wrong = await server.api(`/chat/conversations/${got.conversation_id}/messages`, bearer(operator, json({ message: "maybe", parent_message_id: question.id })));
    expect((await errorOf(wrong)).status).toBe(400);
    const answer = await expectOk(await server.api(`/chat/conversations/${got.conversation_id}/messages`, bearer(operator, json({ message: "approve", parent_message_id: question.id }))), 201);
    expect(answer.message_type).toBe("answer");
    expect(answer.metadata.request_id).toBe(question.metadata.request_id);
    const done = await expectOk(await server.api(`/tasks/${task.id}/wait?timeout=20`));
    expect(done.status).toBe("succeeded");
    expect(done.result.answer).toBe("approve");
    expect(done.result.answered_by).toEqual({ type: "human", id: operatorId });
    // Answering again: 409 saying it was answered, and by whom.
    const late = await server.api(`/chat/conversations/${got.conversation_id}/messages`, json({ message: "reject", parent_message_id: question.id }));
    const lateErr = await errorOf(late);
    expect(lateErr.status).toBe(409);
    expect(lateErr.message).toContain("answered by a person");
    const succeeded = server.db.sqlite.query("SELECT 1 FROM chat_messages WHERE conversation_id = ? AND message = 'Task succeeded'");
    await until(bus, ["chat:message"], () => succeeded.get(got.conversation_id) !== null);
    const page = await expectOk(await server.api(`/chat/conversations/${got.conversation_id}/messages?per_page=100`));
    const kinds = page.items.map((m: any) => `${m.message_type}:${m.message}`);
    expect(kinds).toContain("status_change:Task queued");
    expect(kinds).toContain("status_change:Task waiting for an answer");
    expect(kinds).toContain("question:Ship it?");
    expect(kinds).toContain("answer:approve");
    // Exactly one answer for the request (the recorder does not add a second).
    expect(page.items.filter((m: any) => m.message_type === "answer" && m.metadata.request_id === question.metadata.request_id)).toHaveLength(1);
    ws.ws.close();
  });
});

describe("messages reach a running task", () => {
  test("a person's message to a running task's conversation goes out as task:message, once, after it is stored", async () => {
    const task = await expectOk(await server.api("/tasks", json({ title: "long one", task_type: "test_sleep", params: { ms: 20_000 } })), 201);
    const bus = server.services.deps.bus;
    await until(bus, ["task:changed"], () => server.db.sqlite.query("SELECT 1 FROM tasks WHERE id = ? AND status = 'running'").get(task.id) !== null);
    const seen: any[] = [];
    const off = bus.on("task:message", (m) => {
      // Stored before it is announced: the runner may read it back.
      seen.push({ ...m, stored: server.db.sqlite.query("SELECT 1 FROM chat_messages WHERE id = ?").get(m.messageId) !== null });
    });
    const posted = await expectOk(await server.api(`/chat/conversations/${task.id}/messages`, bearer(operator, json({ message: "use the staging database" }))), 201);
    off();
    expect(seen).toEqual([{ taskId: task.id, messageId: posted.id, senderType: "human", senderId: operatorId, sender: "otto", text: "use the staging database", at: Date.parse(posted.created_at), stored: true }]);
    await server.api(`/tasks/${task.id}/cancel`, { method: "POST" });
    // A finished task is not sent anything.
    await until(bus, ["task:changed"], () => server.db.sqlite.query("SELECT 1 FROM tasks WHERE id = ? AND status = 'cancelled'").get(task.id) !== null);
    const after: unknown[] = [];
    const off2 = bus.on("task:message", (m) => after.push(m));
    await expectOk(await server.api(`/chat/conversations/${task.id}/messages`, json({ message: "too late" })), 201);
    off2();
    expect(after).toEqual([]);
  });

  test.skipIf(!DELIVERY)("end to end: the task echoes each message it is sent in its log, and finishes on 'done'", async () => {
    const task = await expectOk(await server.api("/tasks", json({ title: "echo", task_type: "test_echo_messages", params: {} })), 201);
    const bus = server.services.deps.bus;
    // The line is published before it is stored (in batches): flush, then look.
    await until(bus, ["log:appended"], () => {
      server.services.logger.flush();
      return server.db.sqlite.query("SELECT 1 FROM execution_logs l JOIN executions e ON e.id = l.execution_id WHERE e.task_id = ? AND l.message = 'listening for messages'").get(task.id) !== null;
    });
    await expectOk(await server.api(`/chat/conversations/${task.id}/messages`, json({ message: "hello there" })), 201);
    await expectOk(await server.api(`/chat/conversations/${task.id}/messages`, json({ message: "done" })), 201);
    const done = await expectOk(await server.api(`/tasks/${task.id}/wait?timeout=20`));
    expect(done.status).toBe("succeeded");
    server.services.logger.flush();
    const lines = server.db.sqlite
      .query<{ message: string }, [string]>("SELECT l.message FROM execution_logs l JOIN executions e ON e.id = l.execution_id WHERE e.task_id = ? ORDER BY l.seq")
      .all(task.id)
      .map((r) => r.message);
    expect(lines.filter((l) => l.startsWith("echo: "))).toEqual(["echo: hello there", "echo: done"]);
  });
});

describe("a plan run's conversation", () => {
  test("gathers its steps' messages (each labelled by its conversation), and its sockets hear them", async () => {
    const plan = await expectOk(
      await server.api("/plans", json({ name: "two-steps-chat", steps: [{ name: "first", task_type: "hello", params: { name: "a" } }, { name: "second", task_type: "hello", params: { name: "b" }, depends_on: ["first"] }] })),
      201,
    );
    const run = await expectOk(await server.api(`/plans/${plan.id}/run`, { method: "POST" }), 201);
    const runConv = (await expectOk(await server.api(`/tasks/${run.id}`))).conversation_id;
    const ws = await Client.open(runConv, server.token);
    await expectOk(await server.api(`/tasks/${run.id}/wait?timeout=20`));
    const steps = (await expectOk(await server.api(`/tasks?parent_task_id=${run.id}`))).items;
    const stepConv = (await expectOk(await server.api(`/tasks/${steps[0].id}`))).conversation_id;
    await expectOk(await server.api(`/chat/conversations/${stepConv}/messages`, json({ message: "note on the first step" })), 201);
    expect((await ws.next((f) => f.type === "message" && f.message.message === "note on the first step")).message.conversation_id).toBe(stepConv);
    // Status lines are written in short batches: wait until the run's page has the run's and both steps'.
    const gathered = server.db.sqlite.query<{ n: number }, [string]>(
      "SELECT count(DISTINCT conversation_id) AS n FROM chat_messages WHERE conversation_id IN (SELECT id FROM conversations WHERE id = ?1 OR parent_conversation_id = ?1)",
    );
    await until(server.services.deps.bus, ["chat:message"], () => gathered.get(runConv)!.n === 3);
    const page = await expectOk(await server.api(`/chat/conversations/${runConv}/messages?per_page=100`));
    const convs = new Set(page.items.map((m: any) => m.conversation_id));
    expect(convs.size).toBe(3); // the run's own status lines and both steps'
    expect(page.items.some((m: any) => m.message === "note on the first step")).toBe(true);
    ws.ws.close();
  });
});
