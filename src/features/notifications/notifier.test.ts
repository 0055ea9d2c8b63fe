// Notifications from real events: a question a running task asks reaches its owner in the app and at
// their own webhook (signed, once), and preferences are refused naming the field when they cannot work.
import { afterEach, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { cleanup, json, startTestServer } from "../../../test/helpers.ts";
import { startWebhookReceiver } from "../../../test/webhook-receiver.ts";

afterEach(cleanup);

test("a question waiting for me arrives in the app and at my webhook, once", async () => {
  const receiver = startWebhookReceiver();
  const server = await startTestServer({ workers: 1, opsIntervalMs: 0, outboxBaseMs: 5 });
  try {
    const prefs = await server.api("/users/me/notifications", { ...json({ question: { webhook: true }, webhook_url: receiver.url("/mine"), webhook_secret: "my-own-key" }), method: "PUT" });
    expect(prefs.status).toBe(200);
    expect(await prefs.json()).toMatchObject({ question: { in_app: true, webhook: true }, webhook_url_hint: expect.stringContaining("127.0.0.1"), webhook_signed: true });
    await server.api("/plans", json({ name: "asks", steps: [{ name: "approve", task_type: "ask", params: { question: "Ship it?", options: ["yes", "no"], category: "approval" } }] }));
    expect((await server.api("/plans/asks/run", { method: "POST" })).status).toBe(201);

    await receiver.until((r) => r.length >= 1);
    const [post] = receiver.received;
    expect(post!.event).toBe("notification.question");
    expect(post!.signature).toBe(`sha256=${createHmac("sha256", "my-own-key").update(post!.raw).digest("hex")}`);
    expect(post!.body).toMatchObject({ notification: { kind: "question", body: "Ship it?" } });
    const list = (await (await server.api("/notifications")).json()) as { unread: number; items: Array<{ kind: string; url: string }> };
    expect(list.unread).toBe(1);
    expect(list.items[0]).toMatchObject({ kind: "question", url: expect.stringMatching(/^\/tasks\//) });
    const page = await (await server.get("/notifications")).text();
    expect(page).toContain('data-notification="question"');
    expect((await (await server.api("/notifications/read", json({}))).json()) as { marked: number }).toEqual({ marked: 1 });
    expect(receiver.received.length).toBe(1);
  } finally {
    receiver.stop();
  }
});

test("the webhook channel without a URL, or a bad URL, is refused naming the field", async () => {
  const server = await startTestServer({ workers: 0, opsIntervalMs: 0 });
  for (const [body, field] of [
    [{ alert: { webhook: true } }, "webhook_url"],
    [{ webhook_url: "ftp://nope" }, "webhook_url"],
    [{ question: { sms: true } }, "question.sms"],
  ] as const) {
    const res = await server.api("/users/me/notifications", { ...json(body), method: "PUT" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { details: Array<{ field: string }> } }).error.details.map((d) => d.field)).toContain(field);
  }
});
