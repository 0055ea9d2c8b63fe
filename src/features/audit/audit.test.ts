// The audit log over real HTTP: events written by the auth routes, filters and pages, and no way to edit
// a row — neither through the API nor with an UPDATE on the database.
import { afterEach, describe, expect, test } from "bun:test";
import { bearer, expectOk, login, PASSWORD, registerAdmin, send } from "../../../test/auth.ts";
import { cleanup, json, startTestApp } from "../../../test/helpers.ts";
import { recordAudit, SYSTEM_ACTOR } from "./service.ts";

afterEach(cleanup);

type Page = { items: Array<{ id: number; at: string; actor: string; actor_type: string; action: string; resource_type: string | null; resource_id: string | null; ip: string | null; details: Record<string, unknown> | null }>; total: number; page: number; per_page: number };

async function scenario() {
  let now = Date.parse("2030-01-01T00:00:00Z");
  const server = await startTestApp({ admin: false, workers: 0, clock: () => (now += 1000) });
  const admin = await registerAdmin(server, "root");
  await server.api("/auth/login", json({ username: "root", password: "wrong wrong wrong" }));
  const bob = await expectOk(await server.api("/users", bearer(admin.access_token, json({ username: "bob", password: PASSWORD, role: "viewer" }))), 201);
  await expectOk(await server.api(`/users/${bob.id}`, bearer(admin.access_token, send("PATCH", { role: "operator" }))));
  await login(server, "bob");
  const audit = (query = "") => server.api(`/audit${query}`, bearer(admin.access_token)).then((r) => expectOk(r) as Promise<Page>);
  return { server, admin, bob, audit };
}

describe("GET /audit", () => {
  test("sign-ins (success and failure) and user changes are recorded with actor, resource, IP and time, newest first", async () => {
    const { admin, bob, audit } = await scenario();
    const page = await audit();
    expect(page.total).toBe(5);
    expect(page.items.map((e) => e.action)).toEqual(["auth.login", "user.role_changed", "user.created", "auth.login_failed", "user.registered"]);
    const [bobLogin, roleChange, , failed] = page.items;
    expect(bobLogin).toMatchObject({ actor: bob.id, actor_type: "user", resource_type: "user", resource_id: bob.id, ip: "127.0.0.1" });
    expect(roleChange).toMatchObject({ actor: admin.user.id, resource_id: bob.id, details: { username: "bob", changes: { role: { from: "viewer", to: "operator" } } } });
    expect(failed).toMatchObject({ actor: "anonymous", actor_type: "anonymous", details: { username: "root", reason: "bad_credentials", failures: 1 } });
    expect(Date.parse(page.items[0]!.at)).toBeGreaterThan(Date.parse(page.items[4]!.at));
    expect(JSON.stringify(page)).not.toContain("wrong wrong wrong"); // a failed password is never recorded
  });

  test("filters: actor, action (exact or prefix*), resource (type or type:id), time range; pages", async () => {
    const { server, admin, bob, audit } = await scenario();
    const actions = (p: Page) => p.items.map((e) => e.action);
    expect(actions(await audit(`?actor=${admin.user.id}`))).toEqual(["user.role_changed", "user.created", "user.registered"]);
    expect(actions(await audit("?action=auth.login"))).toEqual(["auth.login"]);
    expect(actions(await audit("?action=auth.*"))).toEqual(["auth.login", "auth.login_failed"]);
    expect(actions(await audit(`?resource=user:${bob.id}`))).toEqual(["auth.login", "user.role_changed", "user.created"]);
    expect((await audit("?resource=user")).total).toBe(5);
    expect((await audit("?resource=api_key")).total).toBe(0);
    const all = await audit();
    const middle = all.items[2]!.at;
    expect(actions(await audit(`?since=${middle}`))).toEqual(["auth.login", "user.role_changed", "user.created"]);
    expect(actions(await audit(`?until=${middle}`))).toEqual(["auth.login_failed", "user.registered"]);
    const second = await audit("?per_page=2&page=2");
    expect(second).toMatchObject({ total: 5, page: 2, per_page: 2 });
    expect(second.items.map((e) => e.id)).toEqual(all.items.slice(2, 4).map((e) => e.id));
    // Hostile filter values are just values.
    for (const q of ["?actor=' OR 1=1 --", "?action=%25", "?resource=user:' OR ''='"]) expect((await audit(q)).total).toBe(0);
    expect((await server.api("/audit?per_page=1000", bearer(admin.access_token))).status).toBe(400);
    expect((await server.api("/audit?since=yesterday", bearer(admin.access_token))).status).toBe(400);
  });

  test("entries cannot be edited: no route changes them, and the database refuses an UPDATE or a DELETE", async () => {
    const { server, admin, audit } = await scenario();
    const before = await audit();
    const id = before.items[0]!.id;
    for (const [method, path] of [
      ["PATCH", `/audit/${id}`],
      ["PUT", `/audit/${id}`],
      ["DELETE", `/audit/${id}`],
      ["DELETE", "/audit"],
      ["POST", "/audit"],
    ] as const) {
      const res = await server.api(path, bearer(admin.access_token, send(method, method === "DELETE" ? undefined : { action: "forged" })));
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
    }
    expect(() => server.db.sqlite.run("UPDATE audit_events SET action = 'forged' WHERE id = ?", [id])).toThrow("audit events are append-only");
    expect(() => server.db.sqlite.run("DELETE FROM audit_events WHERE id = ?", [id])).toThrow("audit events are append-only");
    expect(await audit()).toEqual(before);
  });

  test("recordAudit is what the lead calls from other routes (system actor here)", async () => {
    const { server, audit } = await scenario();
    recordAudit(server.services.auth, { actor: SYSTEM_ACTOR, action: "task.created", resource: { type: "task", id: "t-1" }, details: { task_type: "hello" } });
    const page = await audit("?resource=task:t-1");
    expect(page.items).toEqual([expect.objectContaining({ actor: "system", actor_type: "system", action: "task.created", ip: null, details: { task_type: "hello" } })]);
  });
});

describe("tasks and plans in the audit log", () => {
  test("task created, cancelled, retried, deleted and plan created, saved, run, deleted: each by its actor, with created_by", async () => {
    const server = await startTestApp({ admin: false, workers: 0 });
    const admin = await registerAdmin(server, "root");
    const ops = await expectOk(await server.api("/users", bearer(admin.access_token, json({ username: "olga", password: PASSWORD, role: "operator" }))), 201);
    const olga = (await login(server, "olga")).access_token;

    const task = await expectOk(await server.api("/tasks", bearer(olga, json({ title: "audited", task_type: "hello", params: { name: "a" } }))), 201);
    expect(task.created_by).toBe(ops.id);
    await expectOk(await server.api(`/tasks/${task.id}/cancel`, bearer(olga, { method: "POST" })));
    await expectOk(await server.api(`/tasks/${task.id}/retry`, bearer(olga, { method: "POST" })));
    await expectOk(await server.api(`/tasks/${task.id}/cancel`, bearer(olga, { method: "POST" })));
    expect((await server.api(`/tasks/${task.id}`, bearer(olga, { method: "DELETE" }))).status).toBe(204);
    // A refused change leaves no record: its audit row was in the transaction that rolled back.
    expect((await server.api(`/tasks/${task.id}/cancel`, bearer(olga, { method: "POST" }))).status).toBe(404);

    const plan = await expectOk(await server.api("/plans", bearer(olga, json({ name: "p", steps: [{ name: "s", task_type: "hello", params: { name: "x" } }] }))), 201);
    await expectOk(await server.api(`/plans/${plan.id}`, bearer(olga, send("PUT", { name: "p", description: "v2", steps: [{ name: "s", task_type: "hello", params: { name: "y" } }] }))));
    const run = await expectOk(await server.api(`/plans/${plan.id}/run`, bearer(olga, { method: "POST" })), 201);
    expect(run.created_by).toBe(ops.id);
    expect((await server.api(`/plans/${plan.id}`, bearer(olga, { method: "DELETE" }))).status).toBe(204);

    const page = await expectOk(await server.api(`/audit?actor=${ops.id}&action=${encodeURIComponent("task.*")}`, bearer(admin.access_token)));
    expect(page.items.map((e: { action: string }) => e.action).reverse()).toEqual(["task.created", "task.cancelled", "task.retried", "task.cancelled", "task.deleted"]);
    for (const e of page.items) expect(e).toMatchObject({ actor_type: "user", resource_type: "task", resource_id: task.id, ip: "127.0.0.1" });
    const plans = await expectOk(await server.api(`/audit?resource=plan:${plan.id}`, bearer(admin.access_token)));
    expect(plans.items.map((e: { action: string }) => e.action).reverse()).toEqual(["plan.created", "plan.updated", "plan.run", "plan.deleted"]);
    expect(plans.items.find((e: { action: string }) => e.action === "plan.run").details).toMatchObject({ run_id: run.id, version: 2 });

    // An API key acts as its user for created_by; the audit names the key.
    const key = await expectOk(await server.api("/api-keys", bearer(admin.access_token, json({ name: "ci", scope: "api" }))), 201);
    const byKey = await expectOk(await server.api("/tasks", bearer(key.key, json({ title: "by key", task_type: "hello", params: { name: "k" } }))), 201);
    const keyEvents = await expectOk(await server.api(`/audit?resource=task:${byKey.id}`, bearer(admin.access_token)));
    expect(keyEvents.items).toEqual([expect.objectContaining({ action: "task.created", actor_type: "api_key", actor: key.id })]);
    expect(byKey.created_by).toBe(admin.user.id);
  });
});
