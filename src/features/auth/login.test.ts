// Registration, bootstrap and sign-in over real HTTP: the first account is admin, registration then
// closes, wrong credentials all look alike, failures throttle then lock, the auth endpoints are rate limited.
import { afterEach, describe, expect, test } from "bun:test";
import { bearer, errorOf, expectOk, login, PASSWORD, registerAdmin } from "../../../test/auth.ts";
import { cleanup, json, startTestApp } from "../../../test/helpers.ts";

afterEach(cleanup);

/** A clock the test moves by hand. */
function manualClock(start = Date.parse("2030-01-01T00:00:00Z")) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const rows = (server: Awaited<ReturnType<typeof startTestApp>>, sql: string, ...params: Array<string | number>) =>
  server.db.sqlite.query<Record<string, unknown>, Array<string | number>>(sql).all(...params);

describe("POST /auth/register", () => {
  test("the first account becomes admin and is signed in; after that registration is closed", async () => {
    const server = await startTestApp({ admin: false, workers: 0 });
    const first = await registerAdmin(server, "Alice");
    expect(first).toMatchObject({ token_type: "bearer", expires_in: 900, user: { username: "alice", role: "admin", is_active: true } });
    expect(first.refresh_token).toStartWith("avr_");
    expect(await expectOk(await server.api("/users/me", bearer(first.access_token)))).toMatchObject({ username: "alice", role: "admin" });

    const second = await server.api("/auth/register", json({ username: "mallory", password: PASSWORD }));
    expect(await errorOf(second)).toMatchObject({ status: 403, code: "forbidden", message: "Registration is closed: ask an admin to create your account" });
    expect(rows(server, "SELECT username, role FROM users")).toEqual([{ username: "alice", role: "admin" }]);
    // The password is stored as an argon2id hash with the chosen cost, never as itself.
    const [stored] = rows(server, "SELECT password_hash FROM users");
    expect(String(stored!.password_hash)).toStartWith("$argon2id$v=19$m=19456,t=2,p=1$");
    expect(JSON.stringify(rows(server, "SELECT * FROM users"))).not.toContain(PASSWORD);
  });

  test("with open registration, later accounts are viewers", async () => {
    const server = await startTestApp({ admin: false, workers: 0, openRegistration: true });
    await registerAdmin(server);
    const viewer = await expectOk(await server.api("/auth/register", json({ username: "vic", password: PASSWORD, email: "Vic@Example.com" })), 201);
    expect(viewer.user).toMatchObject({ username: "vic", role: "viewer", email: "vic@example.com" });
    const taken = await server.api("/auth/register", json({ username: "VIC", password: PASSWORD }));
    expect(await errorOf(taken)).toMatchObject({ status: 409, code: "conflict", message: "That username is already taken" });
  });

  test("a weak password is refused with every reason named", async () => {
    const server = await startTestApp({ admin: false, workers: 0 });
    const cases: Array<[string, string[]]> = [
      ["short", ["too_short"]],
      ["password1234", ["too_common"]],
      ["Monkey2024!!!", ["too_common"]],
      ["qwertyuiop123", ["too_common"]],
      ["aaaaaaaaaaaaaaa", ["too_repetitive"]],
      ["admin-is-my-password-x", ["contains_username"]],
    ];
    for (const [password, codes] of cases) {
      const res = await server.api("/auth/register", json({ username: "admin", password }));
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string; details: Array<{ field: string; code: string }> } };
      expect(body.error.code).toBe("validation_failed");
      expect(body.error.details.map((d) => d.code)).toEqual(codes);
      expect(body.error.details.every((d) => d.field === "password")).toBe(true);
    }
    expect((await server.api("/auth/register", json({ username: "admin", password: "short" })).then((r) => r.json()) as any).error.message).toContain(
      "at least 12 characters",
    );
    expect(rows(server, "SELECT id FROM users")).toEqual([]);
  });
});

describe("POST /auth/login", () => {
  test("by username or email, any case; records the sign-in and last_login_at", async () => {
    const clock = manualClock();
    const server = await startTestApp({ admin: false, workers: 0, clock: clock.now });
    await expectOk(await server.api("/auth/register", json({ username: "alice", password: PASSWORD, email: "alice@example.com" })), 201);
    clock.advance(60_000);
    const byName = await login(server, "ALICE");
    expect(byName.user.last_login_at).toBe(new Date(clock.now()).toISOString());
    const byEmail = await login(server, "Alice@Example.com");
    expect(byEmail.user.id).toBe(byName.user.id);
    expect(byEmail.refresh_token).not.toBe(byName.refresh_token);
    const audit = rows(server, "SELECT actor, action, resource_id FROM audit_events WHERE action = 'auth.login'");
    expect(audit).toEqual([
      { actor: byName.user.id, action: "auth.login", resource_id: byName.user.id },
      { actor: byName.user.id, action: "auth.login", resource_id: byName.user.id },
    ]);
  });

  test("a wrong password and an unknown user get the same answer, and take as long", async () => {
    const server = await startTestApp({ admin: false, workers: 0, authSettings: { lockout: { throttleAfter: 100, firstDelaySeconds: 1, lockAfter: 100, lockSeconds: 900 } } });
    await registerAdmin(server, "alice");
    const wrong = await server.api("/auth/login", json({ username: "alice", password: "not the password at all" }));
    const unknown = await server.api("/auth/login", json({ username: "nobody", password: "not the password at all" }));
    const [a, b] = [await errorOf(wrong), await errorOf(unknown)];
    expect(a).toEqual({ status: 401, code: "unauthorized", message: "Invalid username or password", retryAfter: null });
    expect(b).toEqual(a);

    // Timing: an unknown user is checked against a dummy hash of the same cost, so both cost one argon2id.
    const time = async (username: string) => {
      const t0 = performance.now();
      await server.api("/auth/login", json({ username, password: "still not the password" }));
      return performance.now() - t0;
    };
    const known: number[] = [];
    const missing: number[] = [];
    for (let i = 0; i < 4; i++) {
      known.push(await time("alice"));
      missing.push(await time(`ghost${i}`));
    }
    const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const ratio = median(missing) / median(known);
    // Without the dummy hash an unknown name answers ~50x faster; noise stays well inside 2x.
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
    const failed = rows(server, "SELECT actor_type, json_extract(details, '$.username') AS username FROM audit_events WHERE action = 'auth.login_failed' LIMIT 2");
    expect(failed).toEqual([
      { actor_type: "anonymous", username: "alice" },
      { actor_type: "anonymous", username: "nobody" },
    ]);
  });

  test("failures throttle (1 s, 2 s, 4 s …), the 10th locks for 15 minutes, a success resets — the same for an unknown name", async () => {
    const clock = manualClock();
    const server = await startTestApp({ admin: false, workers: 0, clock: clock.now, authRateLimit: 0 });
    await registerAdmin(server, "alice");
    const attempt = async (username: string, password = "wrong password, again") => errorOf(await server.api("/auth/login", json({ username, password })));

    for (const username of ["alice", "ghost"]) {
      const start = clock.now();
      // Two free failures.
      expect((await attempt(username)).status).toBe(401);
      expect((await attempt(username)).status).toBe(401);
      // From the 3rd failure on, each one makes the next wait: 1 s after the 3rd, doubling.
      for (let failure = 3; failure <= 9; failure++) {
        expect((await attempt(username)).status).toBe(401);
        const wait = 2 ** (failure - 3);
        const locked = await attempt(username, PASSWORD); // even the right password waits, unchecked
        expect(locked).toEqual({
          status: 429,
          code: "rate_limited",
          message: `Too many failed sign-in attempts for this account: try again in ${wait >= 120 ? `${Math.ceil(wait / 60)} minutes` : `${wait} seconds`}`,
          retryAfter: String(wait),
        });
        clock.advance(wait * 1000);
      }
      // The 10th failure locks for 15 minutes.
      expect((await attempt(username)).status).toBe(401);
      expect(await attempt(username, PASSWORD)).toMatchObject({ status: 429, retryAfter: "900", message: expect.stringContaining("15 minutes") });
      clock.advance(15 * 60_000 - 1000);
      expect(await attempt(username, PASSWORD)).toMatchObject({ status: 429, retryAfter: "1" });
      clock.advance(1000);
      if (username === "alice") {
        // Lock over: the right password gets in and clears the count.
        const ok = await login(server, "alice");
        expect(ok.user.username).toBe("alice");
        expect(rows(server, "SELECT failed_logins, locked_until FROM users")).toEqual([{ failed_logins: 0, locked_until: null }]);
        expect((await attempt("alice")).status).toBe(401);
        expect((await attempt("alice")).status).toBe(401); // two free failures again
      } else {
        expect((await attempt(username)).status).toBe(401);
      }
      expect(clock.now() - start).toBeGreaterThan(15 * 60_000);
    }
  });

  test("parallel guesses at one account are refused while one is being checked", async () => {
    const server = await startTestApp({ admin: false, workers: 0, authRateLimit: 0 });
    await registerAdmin(server, "alice");
    const answers = await Promise.all(Array.from({ length: 6 }, () => server.api("/auth/login", json({ username: "alice", password: "guess guess guess" }))));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThanOrEqual(1);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(1);
    const stored = rows(server, "SELECT failed_logins FROM users")[0]!.failed_logins as number;
    expect(stored).toBe(statuses.filter((s) => s === 401).length);
  });

  test("a deactivated account cannot sign in", async () => {
    const server = await startTestApp({ admin: false, workers: 0 });
    const admin = await registerAdmin(server);
    const bob = await expectOk(await server.api("/users", bearer(admin.access_token, json({ username: "bob", password: PASSWORD, role: "operator" }))), 201);
    await expectOk(await server.api(`/users/${bob.id}`, bearer(admin.access_token, { method: "PATCH", body: JSON.stringify({ is_active: false }) })));
    expect(await errorOf(await server.api("/auth/login", json({ username: "bob", password: PASSWORD })))).toMatchObject({
      status: 401,
      message: "This account has been deactivated: ask an admin",
    });
  });
});

describe("rate limit of /auth/*", () => {
  test("per client address: 429 rate_limited with Retry-After once the burst is spent, refilled over time", async () => {
    const clock = manualClock();
    const server = await startTestApp({ admin: false, workers: 0, clock: clock.now, authRateLimit: 3 });
    const hit = () => server.api("/auth/refresh", json({ refresh_token: "avr_nothing" }));
    for (let i = 0; i < 3; i++) expect((await hit()).status).toBe(401);
    const limited = await hit();
    expect(await errorOf(limited)).toMatchObject({ status: 429, code: "rate_limited", retryAfter: "20" }); // 3 a minute: one every 20 s
    clock.advance(20_000);
    expect((await hit()).status).toBe(401);
    expect((await hit()).status).toBe(429);
    // Other endpoints are not touched by the auth limit.
    expect((await server.api("/health")).status).toBe(200);
  });
});
