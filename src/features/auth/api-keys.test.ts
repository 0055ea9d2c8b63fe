// API keys over real HTTP: the key is answered once and stored as SHA-256, last use is recorded (at most
// once a minute), revocation takes effect on the next request, and scopes gate what a key may do.
import { afterEach, describe, expect, test } from "bun:test";
import { bearer, errorOf, expectOk, registerAdmin } from "../../../test/auth.ts";
import { cleanup, json, startTestApp } from "../../../test/helpers.ts";

afterEach(cleanup);

describe("/api-keys", () => {
  test("POST answers the key once; only its hash and a display prefix are stored; GET lists without it", async () => {
    let now = Date.parse("2030-01-01T00:00:00Z");
    const server = await startTestApp({ admin: false, workers: 0, clock: () => now });
    const admin = await registerAdmin(server);
    const res = await server.api("/api-keys", bearer(admin.access_token, json({ name: "ci runner", scope: "worker" })));
    expect(res.headers.get("cache-control")).toBe("no-store");
    const created = await expectOk(res, 201);
    expect(created).toMatchObject({ name: "ci runner", scope: "worker", user_id: admin.user.id, last_used_at: null, revoked_at: null });
    // A worker key without grants: its workers may declare no capability and hold 8 tasks at once, all together.
    expect(created.grants).toEqual({ capabilities: [], max_concurrent_tasks: 8 });
    expect(created.key).toMatch(/^avk_[A-Za-z0-9_-]{43}$/);
    expect(created.prefix).toBe(created.key.slice(0, 12));

    const row = server.db.sqlite.query<Record<string, unknown>, []>("SELECT * FROM api_keys").get()!;
    expect(row.key_hash).toBe(new Bun.CryptoHasher("sha256").update(created.key).digest("hex"));
    expect(JSON.stringify(row)).not.toContain(created.key.slice(12));

    const listed = await expectOk(await server.api("/api-keys", bearer(admin.access_token)));
    expect(listed.total).toBe(1);
    const { key: _shownOnce, ...withoutKey } = created;
    expect(listed.items).toEqual([withoutKey]);
    expect(JSON.stringify(listed)).not.toContain(created.key);

    const audit = server.db.sqlite.query<{ actor: string; resource_id: string; details: string }, []>("SELECT actor, resource_id, details FROM audit_events WHERE action = 'api_key.created'").all();
    expect(audit).toEqual([{ actor: admin.user.id, resource_id: created.id, details: JSON.stringify({ name: "ci runner", scope: "worker", grants: created.grants }) }]);
    expect(JSON.stringify(server.db.sqlite.query("SELECT * FROM audit_events").all())).not.toContain(created.key);
  });

  test("last_used_at is set by use (written at most once a minute); DELETE revokes at once", async () => {
    const start = Date.parse("2030-01-01T00:00:00Z");
    let now = start;
    const server = await startTestApp({ admin: false, workers: 0, clock: () => now });
    const admin = await registerAdmin(server);
    const key = await expectOk(await server.api("/api-keys", bearer(admin.access_token, json({ name: "script", scope: "api" }))), 201);
    const lastUsed = async () => (await expectOk(await server.api("/api-keys", bearer(admin.access_token)))).items[0].last_used_at;

    now += 1000;
    expect((await expectOk(await server.api("/users/me", bearer(key.key)))).username).toBe("admin"); // acts as its creator
    expect(await lastUsed()).toBe(new Date(start + 1000).toISOString());
    now += 30_000;
    await expectOk(await server.api("/users/me", bearer(key.key)));
    expect(await lastUsed()).toBe(new Date(start + 1000).toISOString()); // not rewritten within the minute
    now += 31_000;
    await expectOk(await server.api("/users/me", bearer(key.key)));
    expect(await lastUsed()).toBe(new Date(start + 62_000).toISOString());

    expect((await server.api(`/api-keys/${key.id}`, bearer(admin.access_token, { method: "DELETE" }))).status).toBe(204);
    expect(await errorOf(await server.api("/users/me", bearer(key.key)))).toMatchObject({ status: 401, message: "Invalid or revoked API key" });
    expect((await expectOk(await server.api("/api-keys", bearer(admin.access_token)))).total).toBe(0);
    const all = await expectOk(await server.api("/api-keys?include_revoked=true", bearer(admin.access_token)));
    expect(all.items[0].revoked_at).toBe(new Date(now).toISOString());
    expect((await server.api(`/api-keys/${key.id}`, bearer(admin.access_token, { method: "DELETE" }))).status).toBe(204); // idempotent
    expect((await server.api("/api-keys/unknown", bearer(admin.access_token, { method: "DELETE" }))).status).toBe(404);
    const revocations = server.db.sqlite.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'api_key.revoked'").get()!.n;
    expect(revocations).toBe(1);
  });

  test("an unknown key is 401, and validation names bad fields", async () => {
    const server = await startTestApp({ admin: false, workers: 0 });
    const admin = await registerAdmin(server);
    expect((await server.api("/users/me", bearer(`avk_${"x".repeat(43)}`))).status).toBe(401);
    const bad = await server.api("/api-keys", bearer(admin.access_token, json({ name: "", scope: "root" })));
    const body = (await bad.json()) as { error: { details: Array<{ field: string }> } };
    expect(bad.status).toBe(400);
    expect(body.error.details.map((d) => d.field).sort()).toEqual(["name", "scope"]);
  });
});

describe("scopes", () => {
  test("a worker key reaches the worker endpoints and nothing else; an api key acts with its creator's role", async () => {
    const server = await startTestApp({ admin: false, workers: 0 });
    const admin = await registerAdmin(server);
    const worker = await expectOk(await server.api("/api-keys", bearer(admin.access_token, json({ name: "w", scope: "worker" }))), 201);
    const api = await expectOk(await server.api("/api-keys", bearer(admin.access_token, json({ name: "a", scope: "api" }))), 201);

    // The worker key registers a worker (the `worker` rule) but reads nothing else, not even as its admin creator.
    await expectOk(await server.api("/workers", bearer(worker.key, json({ name: "w1" }))), 201);
    expect(await errorOf(await server.api("/tasks", bearer(worker.key)))).toMatchObject({ status: 403, message: expect.stringContaining("'worker' scope") });
    expect((await server.api("/workers", bearer(worker.key))).status).toBe(403);

    // The api key is its creator (an admin): it reads, creates, and passes the `worker` rule too.
    expect((await server.api("/tasks", bearer(api.key))).status).toBe(200);
    expect((await server.api("/api-keys", bearer(api.key))).status).toBe(200);
    await expectOk(await server.api("/workers", bearer(api.key, json({ name: "w2" }))), 201);
    const me = await expectOk(await server.api("/users/me", bearer(api.key)));
    expect(me.id).toBe(admin.user.id);
    expect((await server.api("/tasks")).status).toBe(401);
  });
});
