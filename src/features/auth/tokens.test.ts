// Access and refresh tokens over real HTTP: expiry on an injected clock, tampering, `alg: none`, a wrong
// secret, refresh rotation, reuse revoking the family, logout, and deactivation cutting tokens at once.
import { afterEach, describe, expect, test } from "bun:test";
import { sign } from "hono/jwt";
import { bearer, errorOf, expectOk, login, registerAdmin, send, userWithRole } from "../../../test/auth.ts";
import { cleanup, json, startTestApp } from "../../../test/helpers.ts";

afterEach(cleanup);

function manualClock(start = Date.parse("2030-01-01T00:00:00Z")) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const partsOf = (token: string) => {
  const [header, payload, signature] = token.split(".");
  return { header: JSON.parse(Buffer.from(header!, "base64url").toString()), payload: JSON.parse(Buffer.from(payload!, "base64url").toString()), signature: signature! };
};

describe("access tokens", () => {
  test("work until they expire (15 minutes on the server's clock), then 401 says to refresh", async () => {
    const clock = manualClock();
    const server = await startTestApp({ admin: false, workers: 0, clock: clock.now });
    const admin = await registerAdmin(server);
    const { header, payload } = partsOf(admin.access_token);
    expect(header).toEqual({ alg: "HS256", typ: "JWT" });
    expect(payload.exp - payload.iat).toBe(900);
    expect(payload).toMatchObject({ sub: admin.user.id, kind: "access" });

    clock.advance(899_000);
    expect((await server.api("/users/me", bearer(admin.access_token))).status).toBe(200);
    clock.advance(1_000);
    const expired = await server.api("/users/me", bearer(admin.access_token));
    expect(await errorOf(expired)).toMatchObject({ status: 401, code: "unauthorized", message: expect.stringContaining("expired") });
    expect(expired.headers.get("www-authenticate")).toBe('Bearer realm="agentvine"');
  });

  test("the lifetime follows the configuration", async () => {
    const server = await startTestApp({ admin: false, workers: 0, accessTokenTtlSeconds: 120 });
    const admin = await registerAdmin(server);
    expect(admin.expires_in).toBe(120);
    const { payload } = partsOf(admin.access_token);
    expect(payload.exp - payload.iat).toBe(120);
  });

  test("a tampered token, alg none, another secret, a session token as Bearer and garbage are all 401", async () => {
    const server = await startTestApp({ admin: false, workers: 0 });
    const admin = await registerAdmin(server);
    const viewer = await userWithRole(server, admin.access_token, "vera", "viewer");
    const { header, payload, signature } = partsOf(viewer.access_token);
    const now = Math.floor(Date.now() / 1000);

    const forged = {
      // The viewer's token claiming to be the admin, with the viewer's signature.
      "tampered payload": `${b64url(header)}.${b64url({ ...payload, sub: admin.user.id })}.${signature}`,
      "alg none": `${b64url({ alg: "none", typ: "JWT" })}.${b64url({ ...payload, sub: admin.user.id })}.`,
      "alg none with a signature": `${b64url({ alg: "none", typ: "JWT" })}.${b64url(payload)}.${signature}`,
      "HS512 header": `${b64url({ alg: "HS512", typ: "JWT" })}.${b64url(payload)}.${signature}`,
      "another secret": await sign({ sub: admin.user.id, sid: payload.sid, kind: "access", iat: now, exp: now + 600 }, "a".repeat(64), "HS256"),
      "truncated signature": viewer.access_token.slice(0, -4),
      // Properly signed, but a cookie's session token is not an access token.
      "session token": await server.services.auth.tokens.sign({ sub: viewer.user.id, sid: payload.sid, kind: "session" }, Date.now(), 600),
      garbage: "not-a-jwt",
    };
    for (const [name, token] of Object.entries(forged)) {
      const res = await server.api("/users/me", bearer(token));
      expect({ name, ...(await errorOf(res)) }).toMatchObject({ name, status: 401, code: "unauthorized", message: "Invalid access token" });
    }
    const malformed = await server.api("/users/me", { headers: { authorization: `Basic ${btoa("admin:pw")}` } });
    expect(await errorOf(malformed)).toMatchObject({ status: 401, message: expect.stringContaining("Bearer") });
    const anonymous = await server.api("/users/me");
    expect(await errorOf(anonymous)).toMatchObject({ status: 401, message: expect.stringContaining("Sign in first") });
    // The real ones still work.
    expect((await expectOk(await server.api("/users/me", bearer(viewer.access_token)))).username).toBe("vera");
  });

  test("the signing secret is generated once into the data dir (mode 600) and survives a restart", async () => {
    const { statSync, readFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const first = await startTestApp({ admin: false, workers: 0 });
    const admin = await registerAdmin(first);
    const path = join(first.services.config.dataDir, "jwt-secret.key");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(path, "utf8").trim(), "base64url").length).toBe(64);
    await first.stop(0);
    const again = await startTestApp({ admin: false, workers: 0, dataDir: first.services.config.dataDir });
    expect((await again.api("/users/me", bearer(admin.access_token))).status).toBe(200);
  });

  test("AGENTVINE_JWT_SECRET replaces the file's secret: tokens signed with the other one stop working", async () => {
    const first = await startTestApp({ admin: false, workers: 0 });
    const admin = await registerAdmin(first);
    await first.stop(0);
    const configured = await startTestApp({ admin: false, workers: 0, dataDir: first.services.config.dataDir, jwtSecret: "s".repeat(48) });
    expect((await configured.api("/users/me", bearer(admin.access_token))).status).toBe(401);
    const fresh = await login(configured, "admin");
    expect((await configured.api("/users/me", bearer(fresh.access_token))).status).toBe(200);
    expect(await sign(partsOf(fresh.access_token).payload, "s".repeat(48), "HS256")).toBe(fresh.access_token);
  });
});

describe("refresh tokens", () => {
  test("each refresh rotates: new pair, old refresh token spent; the stored value is a SHA-256 hash", async () => {
    const server = await startTestApp({ admin: false, workers: 0 });
    const admin = await registerAdmin(server);
    const next = await expectOk(await server.api("/auth/refresh", json({ refresh_token: admin.refresh_token })));
    expect(next.refresh_token).not.toBe(admin.refresh_token);
    expect(partsOf(next.access_token).payload.sid).toBe(partsOf(admin.access_token).payload.sid); // same session
    expect((await server.api("/users/me", bearer(next.access_token))).status).toBe(200);

    const stored = server.db.sqlite.query<{ token_hash: string; used_at: number | null }, []>("SELECT token_hash, used_at FROM refresh_tokens ORDER BY created_at, id").all();
    expect(stored.length).toBe(2);
    expect(stored[0]!.token_hash).toBe(new Bun.CryptoHasher("sha256").update(admin.refresh_token).digest("hex"));
    expect(stored[0]!.used_at).not.toBeNull();
    expect(JSON.stringify(stored)).not.toContain(admin.refresh_token.slice(4));
  });

  test("reusing a rotated refresh token ends the whole family: every token of that sign-in stops working", async () => {
    const server = await startTestApp({ admin: false, workers: 0 });
    const admin = await registerAdmin(server);
    const other = await login(server, "admin"); // a second, unrelated session
    const second = await expectOk(await server.api("/auth/refresh", json({ refresh_token: admin.refresh_token })));

    // The stolen first token is replayed.
    const replay = await server.api("/auth/refresh", json({ refresh_token: admin.refresh_token }));
    expect(await errorOf(replay)).toMatchObject({ status: 401, message: expect.stringContaining("already used") });
    // The family's newest refresh token and its access tokens are dead too …
    expect((await server.api("/auth/refresh", json({ refresh_token: second.refresh_token }))).status).toBe(401);
    expect((await server.api("/users/me", bearer(second.access_token))).status).toBe(401);
    expect((await server.api("/users/me", bearer(admin.access_token))).status).toBe(401);
    // … the other session is not.
    expect((await server.api("/users/me", bearer(other.access_token))).status).toBe(200);
    const audit = server.db.sqlite.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'auth.refresh_reused'").get()!;
    expect(audit.n).toBe(1);
  });

  test("an expired refresh token is refused", async () => {
    const clock = manualClock();
    const server = await startTestApp({ admin: false, workers: 0, clock: clock.now, authSettings: { refreshTokenTtlSeconds: 3600 } });
    const admin = await registerAdmin(server);
    clock.advance(3600_000);
    expect(await errorOf(await server.api("/auth/refresh", json({ refresh_token: admin.refresh_token })))).toMatchObject({ status: 401, message: expect.stringContaining("expired") });
  });
});

describe("POST /auth/logout", () => {
  test("with the access token: the session's access and refresh tokens stop working at once", async () => {
    const server = await startTestApp({ admin: false, workers: 0 });
    const admin = await registerAdmin(server);
    const other = await login(server, "admin");
    expect((await server.api("/auth/logout", bearer(admin.access_token, { method: "POST" }))).status).toBe(204);
    expect((await server.api("/users/me", bearer(admin.access_token))).status).toBe(401);
    expect((await server.api("/auth/refresh", json({ refresh_token: admin.refresh_token }))).status).toBe(401);
    expect((await server.api("/users/me", bearer(other.access_token))).status).toBe(200);
  });

  test("with the refresh token in the body, and everywhere: every session ends", async () => {
    const server = await startTestApp({ admin: false, workers: 0 });
    const admin = await registerAdmin(server);
    const laptop = await login(server, "admin");
    const phone = await login(server, "admin");
    expect((await server.api("/auth/logout", json({ refresh_token: laptop.refresh_token }))).status).toBe(204);
    expect((await server.api("/users/me", bearer(laptop.access_token))).status).toBe(401);
    expect((await server.api("/users/me", bearer(phone.access_token))).status).toBe(200);

    expect((await server.api("/auth/logout", bearer(phone.access_token, json({ everywhere: true })))).status).toBe(204);
    for (const s of [admin, phone]) {
      expect((await server.api("/users/me", bearer(s.access_token))).status).toBe(401);
      expect((await server.api("/auth/refresh", json({ refresh_token: s.refresh_token }))).status).toBe(401);
    }
    expect((await server.api("/auth/logout", { method: "POST" })).status).toBe(401); // nothing to sign out of
  });
});

describe("account changes apply to the very next request", () => {
  test("deactivating a user cuts their access token, refresh token and API keys at once; a role change applies at once", async () => {
    const server = await startTestApp({ admin: false, workers: 0 });
    const admin = await registerAdmin(server);
    const bob = await userWithRole(server, admin.access_token, "bob", "admin");
    const key = await expectOk(await server.api("/api-keys", bearer(bob.access_token, json({ name: "bob's script", scope: "api" }))), 201);
    // Warm the caches: these must not let the next requests through.
    expect((await server.api("/users", bearer(bob.access_token))).status).toBe(200);
    expect((await server.api("/users/me", bearer(key.key))).status).toBe(200);

    await expectOk(await server.api(`/users/${bob.user.id}`, bearer(admin.access_token, send("PATCH", { role: "viewer" }))));
    expect((await server.api("/users", bearer(bob.access_token))).status).toBe(403);
    expect((await server.api("/users", bearer(key.key))).status).toBe(403);

    await expectOk(await server.api(`/users/${bob.user.id}`, bearer(admin.access_token, send("PATCH", { is_active: false }))));
    for (const token of [bob.access_token, key.key]) {
      expect(await errorOf(await server.api("/users/me", bearer(token)))).toMatchObject({ status: 401, message: expect.stringContaining("deactivated") });
    }
    expect((await server.api("/auth/refresh", json({ refresh_token: bob.refresh_token }))).status).toBe(401);

    // Reactivated, the old session stays ended (deactivation revoked it); a new sign-in works.
    await expectOk(await server.api(`/users/${bob.user.id}`, bearer(admin.access_token, send("PATCH", { is_active: true }))));
    expect((await server.api("/users/me", bearer(bob.access_token))).status).toBe(401);
    expect((await server.api("/users/me", bearer((await login(server, "bob")).access_token))).status).toBe(200);
  });
});
