// Policies over the API (in process): validation naming the bad field, order and the default rule, the
// dry run saying which rule matches and why, every change a new version in the audit log; and the
// webhook a human question sends, signed.
import { afterEach, describe, expect, test } from "bun:test";
import { cleanup, json, startTestApp, startTestServer } from "../../../test/helpers.ts";
import { signature } from "./webhook.ts";

afterEach(cleanup);

describe("/policies", () => {
  test("a fresh server has the default rules, the default last; bad input is a 400 naming the field", async () => {
    const server = await startTestApp();
    const { items } = await (await server.api("/policies")).json();
    expect(items.at(-1)).toMatchObject({ name: "default", is_default: true, action: "human" });
    expect(items.map((p: { name: string }) => p.name)).toContain("clarifications go to the LLM");

    const cases: Array<[unknown, string]> = [
      [{ name: "x", action: "ask_mum" }, "action"],
      [{ name: "x", action: "human", match: { pattern: "([unclosed" } }, "match.pattern"],
      [{ name: "x", action: "human", on_timeout: "auto_answer" }, "on_timeout_answer"],
      [{ name: "x", action: "human", match: { permission_level: "root" } }, "match.permission_level"],
      [{ name: "x", action: "human", timeout_seconds: 0 }, "timeout_seconds"],
      [{ name: "", action: "human" }, "name"],
      [{ name: "x", action: "human", colour: "red" }, "colour"],
    ];
    for (const [body, field] of cases) {
      const res = await server.api("/policies", json(body));
      expect(res.status).toBe(400);
      const { error } = await res.json();
      expect(error.code).toBe("validation_failed");
      expect(error.details.map((d: { field: string }) => d.field)).toContain(field);
    }
    // Nothing was written by any of them.
    expect((await (await server.api("/policies")).json()).items).toHaveLength(items.length);
    const dup = await server.api("/policies", json({ name: "default", action: "human" }));
    expect(dup.status).toBe(409);
  });

  test("the dry run names the first matching rule and why, and the rules it skipped; order and enabled decide", async () => {
    const server = await startTestApp();
    const a = await (await server.api("/policies", json({ name: "prod deploys", position: 1, match: { pattern: "deploy.*prod" }, action: "deny" }))).json();
    const dry = (body: unknown) => server.api("/policies/dry-run", json(body)).then((r) => r.json());
    const hit = await dry({ question: "May I deploy to production now?" });
    expect(hit.policy.name).toBe("prod deploys");
    expect(hit.reasons[0]).toContain('the question matches /deploy.*prod/i ("deploy to prod")');

    // Disabled, it is skipped (and said so); the next rule that matches answers.
    await server.api(`/policies/${a.id}`, { method: "PUT", body: JSON.stringify({ name: "prod deploys", position: 1, match: { pattern: "deploy.*prod" }, action: "deny", enabled: false }) });
    const next = await dry({ question: "May I deploy to production now?" });
    expect(next.policy.name).toBe("destructive actions go to a human");
    expect(next.skipped[0]).toMatchObject({ name: "prod deploys", why: "disabled" });

    // Nothing matches: the default rule.
    expect((await dry({ question: "What colour is the sky?", category: "smalltalk" })).policy).toMatchObject({ is_default: true });
    expect((await dry({ question: "Which library?", category: "clarification" })).policy.name).toBe("clarifications go to the LLM");
    expect((await dry({ question: "Open a PR?", permission_level: "push" })).reasons).toContain("permission level is push");
  });

  test("reorder takes every rule once; the default rule cannot be deleted, disabled or given conditions; each change is a new version in the audit log", async () => {
    const server = await startTestApp();
    const { items } = await (await server.api("/policies")).json();
    const rules = items.filter((p: { is_default: boolean }) => !p.is_default);
    const dflt = items.find((p: { is_default: boolean }) => p.is_default);
    const reversed = rules.map((p: { id: string }) => p.id).reverse();
    const reordered = await (await server.api("/policies/reorder", json({ order: reversed }))).json();
    expect(reordered.items.slice(0, -1).map((p: { id: string }) => p.id)).toEqual(reversed);
    expect((await server.api("/policies/reorder", json({ order: reversed.slice(1) }))).status).toBe(400);

    expect((await server.api(`/policies/${dflt.id}`, { method: "DELETE" })).status).toBe(409);
    const noMatch = await server.api(`/policies/${dflt.id}`, { method: "PUT", body: JSON.stringify({ name: "default", action: "human", match: { category: "x" } }) });
    expect(noMatch.status).toBe(400);
    const edited = await (await server.api(`/policies/${dflt.id}`, { method: "PUT", body: JSON.stringify({ name: "default", action: "automated", timeout_seconds: 60, on_timeout: "escalate" }) })).json();
    expect(edited).toMatchObject({ action: "automated", version: 2, enabled: true });

    const audit = await (await server.api(`/audit?resource=policy:${dflt.id}`)).json();
    expect(audit.items[0]).toMatchObject({ action: "policy.updated", details: { version: 2, action: "automated" } });
  });
});

describe("the webhook", () => {
  test("a question for a human is POSTed as JSON, HMAC-signed, with a link to the Inbox; a failing receiver is retried", async () => {
    type Hook = { body: string; signature: string | null; event: string | null };
    let delivered!: (hook: Hook) => void;
    const arrived = new Promise<Hook>((resolve) => (delivered = resolve));
    let attempts = 0;
    let failFirst = true;
    const receiver = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(req) {
        attempts++;
        if (failFirst) {
          failFirst = false;
          return new Response("busy", { status: 503 });
        }
        delivered({ body: await req.text(), signature: req.headers.get("x-agentvine-signature"), event: req.headers.get("x-agentvine-event") });
        return new Response("ok");
      },
    });
    try {
      const server = await startTestServer({ webhookUrl: `http://127.0.0.1:${receiver.port}/hook`, webhookSecret: "s3cret-signing-key", publicUrl: "https://vine.example.com" });
      const res = await server.api("/tasks", json({ title: "needs ok", task_type: "ask", params: { question: "Release?", options: ["yes", "no"] } }));
      const task = (await res.json()) as { id: string };
      const hook = await arrived;
      expect(attempts).toBe(2);
      expect(hook.event).toBe("question.waiting");
      expect(hook.signature).toBe(signature("s3cret-signing-key", hook.body));
      const payload = JSON.parse(hook.body);
      expect(payload).toMatchObject({ event: "question.waiting", request: { question: "Release?", options: ["yes", "no"] }, task: { id: task.id, title: "needs ok" } });
      expect(payload.url).toBe(`https://vine.example.com/inbox#request-${payload.request.id}`);
    } finally {
      receiver.stop(true);
    }
  });
});
