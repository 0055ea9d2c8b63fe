// The /audit admin page over real HTTP: events newest first with actors by name, the filters (action,
// actor, resource, time range), pagination, no way to change anything, and that only admins get in.
import { afterEach, describe, expect, test } from "bun:test";
import { act, visit } from "../../../test/admin-pages.ts";
import { login, PASSWORD, userWithRole } from "../../../test/auth.ts";
import { cleanup, json, startTestApp } from "../../../test/helpers.ts";
import { HOSTILE, HOSTILE_ESCAPED } from "../../../test/html.ts";
import { findUserByLogin } from "../auth/users.ts";
import { recordAudit, SYSTEM_ACTOR } from "./service.ts";

afterEach(cleanup);

const actions = (html: string) => [...html.matchAll(/title="Only this action"><span class="badge [a-z-]+">([^<]+)<\/span>/g)].map((m) => m[1]);
const mainOf = (html: string) => html.slice(html.indexOf("<main"), html.indexOf("</main>"));
const rows = (html: string) => [...html.matchAll(/data-audit-id="(\d+)"/g)].map((m) => Number(m[1]));

/** Starts on 2030-01-01 and moves a second per reading, so every event has its own time. */
async function server() {
  let now = Date.parse("2030-01-01T00:00:00Z");
  return startTestApp({ workers: 0, clock: () => (now += 1000) });
}

describe("GET /audit", () => {
  test("rows name their resource and link to it: a task by its title, a plan by its name; a deleted one by the name it had", async () => {
    const s = await server();
    const task = (await (await s.api("/tasks", json({ title: `Deploy ${HOSTILE}`, task_type: "hello", params: { name: "x" }, requires: ["gpu"] }))).json()) as { id: string };
    const plan = (await (await s.api("/plans", json({ name: "release", steps: [{ name: "a", task_type: "hello", params: { name: "a" } }] }))).json()) as { id: string };
    const gone = (await (await s.api("/tasks", json({ title: "Short-lived", task_type: "hello", params: { name: "x" }, requires: ["gpu"] }))).json()) as { id: string };
    await s.api(`/tasks/${gone.id}`, { method: "DELETE" });
    const res = await visit(s, "/audit");
    const main = mainOf(res.text);
    expect(main).toContain(`<a class="link font-medium" href="/tasks/${task.id}" data-resource-link="">Deploy ${HOSTILE_ESCAPED}</a>`);
    expect(main).toContain(`<a class="link font-medium" href="/plans/${plan.id}" data-resource-link="">release</a>`);
    expect(main).not.toContain(`href="/tasks/${gone.id}"`);
    expect(main).toMatch(/<span class="font-medium">Short-lived<span class="ml-1 text-xs font-normal text-muted">\(deleted\)<\/span>/);
    expect(main).not.toContain(HOSTILE);
  });

  test("newest first, with action, actor by name, resource, IP and time", async () => {
    const s = await server();
    await s.api("/users", json({ username: "bob", password: PASSWORD, role: "viewer" }));
    await login(s, "bob");
    const res = await visit(s, "/audit");
    expect(res.status).toBe(200);
    expect(res.text).toContain("<title>Audit log · AgentVine</title>");
    expect(actions(res.text)).toEqual(["auth.login", "user.created", "api_key.created", "user.created"]);
    const bob = findUserByLogin(s.services.auth, "bob")!;
    expect(res.text).toContain(`title="Only this actor (user ${bob.id})">bob</a>`);
    expect(res.text).toContain("key “tests”"); // the test key created bob
    expect(res.text).toContain("of admin");
    expect(res.text).toContain("<code class=\"text-xs\">127.0.0.1</code>");
    expect(res.text).toContain(`<code class="block text-xs text-muted">${bob.id}</code>`);
    expect(res.text).toContain("2030-01-01 00:00:");
    expect(res.text).toContain("<summary"); // the details, folded
  });

  test("filters by action (exact or prefix), actor (username or id), resource and time range; nothing matching shows the empty state", async () => {
    const s = await server();
    await s.api("/users", json({ username: "bob", password: PASSWORD, role: "viewer" }));
    await login(s, "bob");
    const bob = findUserByLogin(s.services.auth, "bob")!;
    const first = s.db.sqlite.query<{ at: number }, []>("SELECT MIN(at) AS at FROM audit_events").get()!.at;

    expect(actions((await visit(s, "/audit?action=auth.*")).text)).toEqual(["auth.login"]);
    expect(actions((await visit(s, "/audit?action=user.created")).text)).toEqual(["user.created", "user.created"]);
    expect(actions((await visit(s, "/audit?actor=bob")).text)).toEqual(["auth.login"]);
    expect(actions((await visit(s, `/audit?actor=${bob.id}`)).text)).toEqual(["auth.login"]);
    expect(actions((await visit(s, "/audit?actor=system")).text)).toEqual(["api_key.created", "user.created"]);
    expect(actions((await visit(s, `/audit?resource=user:${bob.id}`)).text)).toEqual(["auth.login", "user.created"]);
    expect(actions((await visit(s, "/audit?resource=api_key")).text)).toEqual(["api_key.created"]);
    // A datetime-local value is UTC: from the third event on, and before the fourth.
    const at = (ms: number) => new Date(ms).toISOString().slice(0, 19);
    const times = s.db.sqlite.query<{ at: number }, []>("SELECT at FROM audit_events ORDER BY at").all().map((r) => r.at);
    expect(times[0]).toBe(first);
    const range = await visit(s, `/audit?since=${at(times[2]!)}&until=${at(times[3]!)}`);
    expect(actions(range.text)).toEqual(["user.created"]);
    expect(range.text).toContain(`value="${at(times[2]!)}"`);
    // A time that does not parse is ignored, not an error page.
    expect(rows((await visit(s, "/audit?since=yesterday")).text)).toHaveLength(4);

    const fragment = await visit(s, "/audit?action=auth.*", { htmx: "audit-list" });
    expect(fragment.text).toStartWith('<div id="audit-list"');
    const none = await visit(s, "/audit?action=secret.*");
    expect(none.text).toContain("No event matches these filters");
    expect(none.text).toContain('data-state="empty"');
  });

  test("50 a page, newest first, with prev / next keeping the filters", async () => {
    const s = await server();
    for (let i = 0; i < 60; i++) recordAudit({ db: s.db, clock: s.services.auth.clock }, { actor: SYSTEM_ACTOR, action: "test.tick", details: { i } });
    const one = await visit(s, "/audit?action=test.tick");
    expect(rows(one.text)).toHaveLength(50);
    expect(one.text).toContain("1–50 of 60");
    expect(one.text).toContain('href="/audit?action=test.tick&amp;page=2"');
    const two = await visit(s, "/audit?action=test.tick&page=2");
    expect(rows(two.text)).toHaveLength(10);
    expect(two.text).toContain("51–60 of 60");
    expect(Math.min(...rows(one.text))).toBeGreaterThan(Math.max(...rows(two.text)));
  });

  test("read-only: no form posts anywhere, and no route takes a write", async () => {
    const s = await server();
    const res = await visit(s, "/audit");
    expect(mainOf(res.text)).toContain('id="audit-list"');
    expect(mainOf(res.text)).not.toContain("hx-post");
    expect(mainOf(res.text)).not.toContain('method="post"');
    const count = () => s.db.sqlite.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM audit_events").get()!.n;
    const before = count();
    expect((await act(s, "/audit", {})).status).toBe(404);
    expect((await act(s, "/audit/1/delete", {})).status).toBe(404);
    expect(count()).toBe(before);
  });

  test("actions, actors and details people or scripts wrote are escaped", async () => {
    const s = await server();
    recordAudit({ db: s.db }, { actor: { type: "anonymous", id: HOSTILE }, action: HOSTILE, resource: { type: HOSTILE, id: HOSTILE }, details: { note: HOSTILE } });
    const res = await visit(s, "/audit");
    expect(res.text).not.toContain(HOSTILE);
    expect(res.text).toContain(HOSTILE_ESCAPED);
  });
});

describe("access", () => {
  test("a viewer and an operator get 403", async () => {
    const s = await server();
    const viewer = await userWithRole(s, s.token, "victor", "viewer");
    const operator = await userWithRole(s, s.token, "olivia", "operator");
    for (const who of [viewer, operator]) {
      expect((await visit(s, "/audit", { token: who.access_token })).status).toBe(403);
      expect((await visit(s, "/audit", { token: who.access_token, htmx: "audit-list" })).status).toBe(403);
    }
  });
});

