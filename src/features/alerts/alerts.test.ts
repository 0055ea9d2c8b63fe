// Each alert rule fires against a real server and database, and its webhook arrives at a receiver on
// loopback — generic JSON signed with HMAC-SHA256, and a Slack-compatible message — retried when the
// receiver fails. The evaluator runs with an injected clock (runOnce(now)): nothing sleeps.
import { afterEach, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { cleanup, json, startTestServer, type TestServer } from "../../../test/helpers.ts";
import { startWebhookReceiver } from "../../../test/webhook-receiver.ts";
import type { AlertJson } from "./service.ts";

afterEach(cleanup);

const MIN = 60_000;
const SECRET = "alert-signing-key";

async function submit(server: TestServer, body: Record<string, unknown>): Promise<string> {
  const res = await server.api("/tasks", json(body));
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

test("every rule fires, its webhooks arrive (JSON signed, Slack-shaped), and resolves", async () => {
  const receiver = startWebhookReceiver({ failFirst: 1 });
  const server = await startTestServer({ workers: 1, opsIntervalMs: 0, outboxBaseMs: 5 });
  const alerts = server.services.alerts;
  try {
    expect((await server.api("/alerts/webhooks", json({ name: "ops-json", url: receiver.url("/json"), format: "json", secret: SECRET }))).status).toBe(201);
    expect((await server.api("/alerts/webhooks", json({ name: "ops-slack", url: receiver.url("/slack"), format: "slack" }))).status).toBe(201);
    const listed = (await (await server.api("/alerts/webhooks")).json()) as { items: Array<{ url_hint: string; signed: boolean }> };
    expect(listed.items.map((w) => w.signed).sort()).toEqual([false, true]);
    const rules = await server.api("/alerts/rules", { ...json({ queue_depth: { threshold: 2, for_minutes: 5 }, oldest_queued: { max_age_minutes: 10 }, worker_offline: { for_minutes: 0 }, failure_rate: { percent: 50, min_tasks: 2 }, question_overdue: { grace_minutes: 1 } }), method: "PUT" });
    expect(rules.status).toBe(200);

    // Three tasks no worker can run: the queue is stuck.
    const stuck = [];
    for (let i = 0; i < 3; i++) stuck.push(await submit(server, { title: `stuck ${i}`, task_type: "hello", params: { name: "x" }, requires: ["nobody-has-this"] }));
    const t0 = Date.now();
    expect(alerts.runOnce(t0).fired).toEqual([]);
    expect(((await (await server.api("/alerts?status=pending")).json()) as { items: AlertJson[] }).items.map((a) => a.rule)).toEqual(["queue_depth"]);

    const firedBy = (at: number) => alerts.runOnce(at).fired.map((a) => a.rule);
    expect(firedBy(t0 + 5 * MIN + 1000)).toEqual(["queue_depth"]); // over the threshold for 5 minutes
    expect(firedBy(t0 + 11 * MIN)).toEqual(["oldest_queued"]);

    // A remote worker that registered and then went silent.
    expect((await server.api("/workers", json({ name: "gpu-box", hostname: "gpu-box.lan" }))).status).toBe(201);
    const offline = alerts.runOnce(t0 + 11 * MIN + 1000).fired;
    expect(offline.map((a) => a.rule)).toEqual(["worker_offline"]);
    expect(offline[0]!.summary).toContain("gpu-box");

    // A question nobody resolved, past its deadline (the deadline timer never heard of it).
    server.db.sqlite
      .query(
        `INSERT INTO worker_requests (id, task_id, question, status, handler, route_action, on_timeout, deadline_at, created_at, updated_at)
         VALUES ('q-overdue', ?, 'Ship it?', 'open', 'human', 'human', 'fail_task', ?, ?, ?)`,
      )
      .run(stuck[0]!, t0 + MIN, t0, t0);
    expect(firedBy(t0 + 12 * MIN)).toEqual(["question_overdue"]);

    // Two tasks that really fail.
    for (const i of [1, 2]) {
      const id = await submit(server, { title: `fail ${i}`, task_type: "shell", params: { command: "false" } });
      expect(((await (await server.api(`/tasks/${id}/wait?timeout=30`)).json()) as { status: string }).status).toBe("failed");
    }
    // The clock only moves forward: from t0 on, as the server would see it.
    expect(firedBy(t0 + 13 * MIN)).toEqual(["failure_rate"]);

    // The disk: no file system has 100 % free.
    await server.api("/alerts/rules", { ...json({ disk_space: { min_free_percent: 100 } }), method: "PUT" });
    expect(firedBy(t0 + 13 * MIN + 1000)).toEqual(["disk_space"]);

    const RULES: string[] = ["queue_depth", "oldest_queued", "worker_offline", "question_overdue", "failure_rate", "disk_space"];
    const jsonFor = (rule: string) => receiver.received.filter((x) => x.path === "/json" && (x.body.alert as AlertJson | undefined)?.rule === rule);
    await receiver.until((r) => RULES.every((rule) => jsonFor(rule).some((x) => x.signature !== null)) && new Set(r.filter((x) => x.path === "/slack").map((x) => x.delivery)).size === RULES.length);
    for (const rule of RULES) expect(new Set(jsonFor(rule).map((x) => x.delivery)).size).toBe(1); // each announced once
    for (const r of receiver.received.filter((x) => x.path === "/json")) {
      expect(r.event).toBe("alert.firing");
      expect(r.signature).toBe(`sha256=${createHmac("sha256", SECRET).update(r.raw).digest("hex")}`);
      expect(r.body).toMatchObject({ event: "alert.firing", alert: { status: "firing" } });
    }
    for (const r of receiver.received.filter((x) => x.path === "/slack")) {
      expect(r.signature).toBeNull();
      expect(Object.keys(r.body).sort()).toEqual(["blocks", "text"]);
      expect(String(r.body.text)).toStartWith("[FIRING] ");
    }
    // The receiver refused the very first post: it came again, with the same delivery id.
    const first = receiver.received[0]!;
    expect(receiver.received.filter((x) => x.delivery === first.delivery).length).toBe(2);
    const byRule = ((await (await server.api("/alerts?status=firing&per_page=100")).json()) as { items: AlertJson[] }).items;
    expect(byRule.map((a) => a.rule as string).sort()).toEqual([...RULES].sort());
    const detail = (await (await server.api(`/alerts/${byRule.find((a) => a.rule === "queue_depth")!.id}`)).json()) as { deliveries: Array<{ status: string }> };
    expect(detail.deliveries.map((d) => d.status)).toEqual(["sent", "sent"]);

    // Every page shows the banner; the admin got in-app notifications.
    const page = await (await server.get("/tasks")).text();
    expect(page).toContain("data-alert-banner");
    expect(page).toContain("Disk nearly full");
    const notes = (await (await server.api("/notifications?per_page=100")).json()) as { unread: number; items: Array<{ kind: string }> };
    expect(notes.items.filter((n) => n.kind === "alert").length).toBe(RULES.length);
    expect(notes.items.filter((n) => n.kind === "task_failed").length).toBe(2); // the two shell tasks this admin made

    // Resolution: the disk rule off, the stuck tasks cancelled.
    await server.api("/alerts/rules", { ...json({ disk_space: { enabled: false } }), method: "PUT" });
    for (const id of stuck) await server.api(`/tasks/${id}/cancel`, { method: "POST" });
    const resolved = alerts.runOnce(t0 + 14 * MIN).resolved.map((a) => a.rule as string);
    expect(resolved).toEqual(expect.arrayContaining(["disk_space", "oldest_queued", "queue_depth"]));
    expect(resolved).not.toContain("worker_offline");
    await receiver.until((r) => new Set(r.filter((x) => x.event === "alert.resolved").map((x) => x.delivery)).size === resolved.length);
  } finally {
    receiver.stop();
  }
}, 60_000);

test("a webhook that stays down keeps its deliveries pending, and they go out once it is back", async () => {
  let up = false;
  const receiver = startWebhookReceiver({ status: () => (up ? 200 : 500) });
  const server = await startTestServer({ workers: 0, opsIntervalMs: 0, outboxBaseMs: 1 });
  try {
    await server.api("/alerts/webhooks", json({ name: "flaky", url: receiver.url("/hook") }));
    await server.api("/alerts/rules", { ...json({ disk_space: { min_free_percent: 100 } }), method: "PUT" });
    const [alert] = server.services.alerts.runOnce(Date.now()).fired;
    await server.services.outbox.idle();
    const row = () => server.db.sqlite.query<{ status: string; attempts: number }, [string]>("SELECT status, attempts FROM outbox WHERE source = ?").get(`alert:${alert!.id}`)!;
    expect(row()).toEqual({ status: "pending", attempts: 1 });
    expect(receiver.received.length).toBe(3); // one round: three quick tries
    expect(await server.services.outbox.deliverPending()).toBe(0); // the next round waits its turn
    up = true;
    await server.services.outbox.deliverPending(Date.now() + 60_000);
    expect(row()).toEqual({ status: "sent", attempts: 2 });
    expect(new Set(receiver.received.map((r) => r.delivery)).size).toBe(1);

    const test = (await (await server.api("/alerts/webhooks/flaky/test", { method: "POST" })).json()) as { ok: boolean; status: number };
    expect(test).toMatchObject({ ok: true, status: 200 });
  } finally {
    receiver.stop();
  }
});

test("bad rule settings and webhooks are refused naming the field", async () => {
  const server = await startTestServer({ workers: 0, opsIntervalMs: 0 });
  const bad = async (path: string, init: RequestInit, field: string) => {
    const res = await server.api(path, init);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { details: Array<{ field: string }> } }).error.details.map((d) => d.field)).toContain(field);
  };
  await bad("/alerts/rules", { ...json({ queue_depth: { threshold: -1 } }), method: "PUT" }, "queue_depth.threshold");
  await bad("/alerts/rules", { ...json({ no_such_rule: {} }), method: "PUT" }, "no_such_rule");
  await bad("/alerts/webhooks", json({ name: "x", url: "ftp://example.com" }), "url");
  await bad("/alerts/webhooks", json({ name: "x", url: "https://example.com", format: "teams" }), "format");
});
