// /users over real HTTP (profile, password change, admin management, roles) and the browser session
// cookie through app.request() (its attributes, renewal on an injected clock, logout).
import { Hono } from "hono";
import { afterEach, describe, expect, test } from "bun:test";
import { bearer, errorOf, expectOk, login, PASSWORD, registerAdmin, send, userWithRole } from "../../../test/auth.ts";
import { cleanup, json, startTestApp } from "../../../test/helpers.ts";
import { createApp } from "../../app.ts";
import { authenticateCredentials } from "./login.ts";
import { startBrowserSession, SESSION_COOKIE } from "./middleware.ts";

afterEach(cleanup);

describe("GET/PATCH /users/me", () => {
  test("edits the profile and merges settings (null removes a key)", async () => {
    const server = await startTestApp({ admin: false, workers: 0 });
    const admin = await registerAdmin(server);
    const patched = await expectOk(
      await server.api("/users/me", bearer(admin.access_token, send("PATCH", { full_name: "Ada Admin", email: "Ada@Example.com", settings: { theme: "dark", density: "compact" } }))),
    );
    expect(patched).toMatchObject({ full_name: "Ada Admin", email: "ada@example.com", settings: { theme: "dark", density: "compact" } });
    const again = await expectOk(await server.api("/users/me", bearer(admin.access_token, send("PATCH", { settings: { density: null, lang: "en" } }))));
    expect(again.settings).toEqual({ theme: "dark", lang: "en" });
    expect(await expectOk(await server.api("/users/me", bearer(admin.access_token)))).toEqual(again);
    expect(await errorOf(await server.api("/users/me", bearer(admin.access_token, send("PATCH", { role: "admin" }))))).toMatchObject({ status: 400, code: "validation_failed" });
  });

  test("a password change needs the current password and ends the other sessions, not this one", async () => {
    const server = await startTestApp({ admin: false, workers: 0 });
    const admin = await registerAdmin(server);
    const other = await login(server, "admin");
    const noCurrent = await server.api("/users/me", bearer(admin.access_token, send("PATCH", { new_password: "a brand new passphrase" })));
    expect(await errorOf(noCurrent)).toMatchObject({ status: 400, message: "Changing the password needs the current password" });
    const wrong = await server.api("/users/me", bearer(admin.access_token, send("PATCH", { current_password: "not it at all", new_password: "a brand new passphrase" })));
    expect(await errorOf(wrong)).toMatchObject({ status: 400, message: "The current password is not correct" });
    const weak = await server.api("/users/me", bearer(admin.access_token, send("PATCH", { current_password: PASSWORD, new_password: "password1234" })));
    expect(await errorOf(weak)).toMatchObject({ status: 400, message: expect.stringContaining("most common passwords") });

    await expectOk(await server.api("/users/me", bearer(admin.access_token, send("PATCH", { current_password: PASSWORD, new_password: "a brand new passphrase" }))));
    expect((await server.api("/users/me", bearer(admin.access_token))).status).toBe(200);
    expect((await server.api("/users/me", bearer(other.access_token))).status).toBe(401);
    expect((await server.api("/auth/login", json({ username: "admin", password: PASSWORD }))).status).toBe(401);
    expect((await login(server, "admin", "a brand new passphrase")).user.username).toBe("admin");
    const audit = server.db.sqlite.query<{ details: string }, []>("SELECT details FROM audit_events WHERE action = 'user.password_changed'").all();
    expect(audit.map((a) => JSON.parse(a.details))).toEqual([{ other_sessions_ended: 1 }]);
  });
});

describe("admin user management", () => {
  test("POST /users creates with a role, GET /users lists and filters, PATCH changes role; each change audited", async () => {
    const server = await startTestApp({ admin: false, workers: 0 });
    const admin = await registerAdmin(server);
    const op = await expectOk(await server.api("/users", bearer(admin.access_token, json({ username: "Olga", password: PASSWORD, role: "operator", full_name: "Olga O" }))), 201);
    expect(op).toMatchObject({ username: "olga", role: "operator", full_name: "Olga O", is_active: true });
    await expectOk(await server.api("/users", bearer(admin.access_token, json({ username: "vic", password: PASSWORD, role: "viewer" }))), 201);
    const dup = await server.api("/users", bearer(admin.access_token, json({ username: "olga", password: PASSWORD, role: "viewer" })));
    expect(await errorOf(dup)).toMatchObject({ status: 409, code: "conflict" });

    const all = await expectOk(await server.api("/users?per_page=2", bearer(admin.access_token)));
    expect(all).toMatchObject({ total: 3, page: 1, per_page: 2 });
    expect(all.items.map((u: { username: string }) => u.username)).toEqual(["admin", "olga"]);
    expect(all.items[0]).not.toHaveProperty("password_hash");
    const viewers = await expectOk(await server.api("/users?role=viewer", bearer(admin.access_token)));
    expect(viewers.items.map((u: { username: string }) => u.username)).toEqual(["vic"]);

    const promoted = await expectOk(await server.api(`/users/${op.id}`, bearer(admin.access_token, send("PATCH", { role: "admin" }))));
    expect(promoted.role).toBe("admin");
    expect(await expectOk(await server.api(`/users/${op.id}`, bearer(admin.access_token)))).toEqual(promoted);
    expect((await server.api("/users/nope", bearer(admin.access_token, send("PATCH", { role: "admin" })))).status).toBe(404);

    const actions = server.db.sqlite.query<{ action: string; actor: string; resource_id: string }, []>("SELECT action, actor, resource_id FROM audit_events WHERE action LIKE 'user.%' ORDER BY id").all();
    expect(actions.map((a) => a.action)).toEqual(["user.registered", "user.created", "user.created", "user.role_changed"]);
    expect(actions.at(-1)).toMatchObject({ actor: admin.user.id, resource_id: op.id });
  });

  test("the last active admin cannot be demoted or deactivated", async () => {
    const server = await startTestApp({ admin: false, workers: 0 });
    const admin = await registerAdmin(server);
    for (const patch of [{ role: "operator" }, { is_active: false }]) {
      const res = await server.api(`/users/${admin.user.id}`, bearer(admin.access_token, send("PATCH", patch)));
      expect(await errorOf(res)).toMatchObject({ status: 409, message: "This is the only active admin: make another user admin first" });
    }
  });

  test("operators and viewers get 403 on admin routes, anonymous 401", async () => {
    const server = await startTestApp({ admin: false, workers: 0 });
    const admin = await registerAdmin(server);
    const op = await userWithRole(server, admin.access_token, "olga", "operator");
    const viewer = await userWithRole(server, admin.access_token, "vera", "viewer");
    const routes: Array<[string, RequestInit]> = [
      ["/users", {}],
      ["/users", json({ username: "x-user", password: PASSWORD, role: "admin" })],
      [`/users/${op.user.id}`, send("PATCH", { role: "admin" })],
      ["/api-keys", {}],
      ["/api-keys", json({ name: "k", scope: "api" })],
      ["/api-keys/some-id", { method: "DELETE" }],
      ["/audit", {}],
      ["/secrets", {}],
    ];
    for (const [path, init] of routes) {
      const forbidden = await server.api(path, bearer(op.access_token, init));
      expect({ path, ...(await errorOf(forbidden)) }).toMatchObject({ path, status: 403, code: "forbidden", message: "This needs the admin role; olga is an operator" });
      const asViewer = await server.api(path, bearer(viewer.access_token, init));
      expect({ path, ...(await errorOf(asViewer)) }).toMatchObject({ path, status: 403, message: "This needs the admin role; vera is a viewer" });
      expect({ path, status: (await server.api(path, init)).status }).toEqual({ path, status: 401 });
    }
    // Nothing was created by the refused requests.
    expect(server.db.sqlite.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM users").get()!.n).toBe(3);
    expect(server.db.sqlite.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM api_keys").get()!.n).toBe(0);
  });
});

describe("browser session cookie", () => {
  test("HttpOnly, SameSite=Lax, Secure only over HTTPS; renewed past half its life; ends at logout", async () => {
    let now = Date.parse("2030-01-01T00:00:00Z");
    const server = await startTestApp({ admin: false, workers: 0, clock: () => now });
    await registerAdmin(server);
    // What the login page's form handler will do.
    const app = new Hono();
    app.post("/test-login", async (c) => {
      c.set("auth", server.services.auth);
      const user = await authenticateCredentials(c.get("auth"), { username: "admin", password: PASSWORD });
      await startBrowserSession(c, user.id, { ip: "127.0.0.1", userAgent: c.req.header("user-agent") });
      return c.text("ok");
    });
    app.route("/", createApp(server.services));

    const plain = await app.request("http://localhost/test-login", { method: "POST" });
    const setCookie = plain.headers.get("set-cookie")!;
    expect(setCookie).toStartWith(`${SESSION_COOKIE}=`);
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("SameSite=Lax");
    expect(setCookie).toContain("Path=/");
    expect(setCookie).toContain("Max-Age=43200");
    expect(setCookie).not.toContain("Secure");
    const secure = await app.request("https://agentvine.example/test-login", { method: "POST" });
    expect(secure.headers.get("set-cookie")).toContain("Secure");

    const cookie = setCookie.split(";")[0]!;
    const me = await app.request("http://localhost/api/v1/users/me", { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(me.headers.get("set-cookie")).toBeNull(); // fresh: not renewed
    // A cookie token does not work as a Bearer token.
    expect((await app.request("http://localhost/api/v1/users/me", { headers: { authorization: `Bearer ${cookie.split("=")[1]}` } })).status).toBe(401);

    now += 7 * 3600_000; // past half of 12 h: the next request renews it
    const renewed = await app.request("http://localhost/api/v1/users/me", { headers: { cookie } });
    expect(renewed.status).toBe(200);
    const fresh = renewed.headers.get("set-cookie")!.split(";")[0]!;
    expect(fresh).not.toBe(cookie);
    now += 6 * 3600_000; // the old cookie's 12 h are over; the renewed one still has 5 h
    expect((await app.request("http://localhost/api/v1/users/me", { headers: { cookie } })).status).toBe(401);
    expect((await app.request("http://localhost/api/v1/users/me", { headers: { cookie: fresh } })).status).toBe(200);

    // A cookie-borne write must say it came from our own page (CSRF): without Origin it is refused.
    const bare = await app.request("http://localhost/api/v1/auth/logout", { method: "POST", headers: { cookie: fresh } });
    expect(await errorOf(bare)).toMatchObject({ status: 403, message: expect.stringContaining("Cross-site request refused") });
    const out = await app.request("http://localhost/api/v1/auth/logout", { method: "POST", headers: { cookie: fresh, origin: "http://localhost" } });
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie")).toContain("Max-Age=0");
    const after = await app.request("http://localhost/api/v1/users/me", { headers: { cookie: fresh } });
    expect(await errorOf(after)).toMatchObject({ status: 401, message: "The session has ended: sign in again" });
    expect(after.headers.get("set-cookie")).toContain("Max-Age=0"); // the dead cookie is cleared
  });
});
