// The account pages over real HTTP, sent the way a browser sends them (Origin and Sec-Fetch-Site on every
// form post, the session cookie carried by hand): sign in and back to where you were, the open-redirect
// and cross-site (CSRF) refusals, register, sign out, settings and the password-reset link.
import { afterEach, describe, expect, test } from "bun:test";
import { cleanup, json, startTestApp, TEST_PASSWORD } from "../../../test/helpers.ts";
import { bearer, userWithRole } from "../../../test/auth.ts";
import { SYSTEM_ACTOR } from "../audit/service.ts";
import { createPasswordReset } from "./password-resets.ts";
import { findUserByLogin } from "./users.ts";

afterEach(cleanup);

type Server = Awaited<ReturnType<typeof startTestApp>>;

const SESSION = "agentvine_session";
const EVIL = { origin: "https://evil.example", "sec-fetch-site": "cross-site" };

/** What a browser sends with a form post from one of our own pages. */
const sameOrigin = (server: Server) => ({ origin: server.url, "sec-fetch-site": "same-origin" });

/** A form post as a browser makes it: no Authorization, the cookie if given, no redirect following. */
function post(server: Server, path: string, fields: Record<string, string>, opts: { cookie?: string; headers?: Record<string, string> } = {}) {
  const headers = new Headers({ "content-type": "application/x-www-form-urlencoded", ...(opts.headers ?? sameOrigin(server)) });
  if (opts.cookie) headers.set("cookie", opts.cookie);
  return server.request(`${path}`, { method: "POST", body: new URLSearchParams(fields).toString(), headers, redirect: "manual" });
}

/** A page as a browser gets it: cookie only (no test token), no redirect following. */
function get(server: Server, path: string, cookie?: string) {
  return server.request(`${path}`, { headers: cookie ? { cookie } : {}, redirect: "manual" });
}

/** The `name=value` of the session cookie a response sets, and its attributes. */
function sessionCookieOf(res: Response): { pair: string; attrs: string } | null {
  const line = res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION}=`));
  if (!line) return null;
  const [pair, ...attrs] = line.split(";");
  return { pair: pair!.trim(), attrs: attrs.join(";") };
}

async function signIn(server: Server, username = "admin", password = TEST_PASSWORD): Promise<string> {
  const res = await post(server, "/login", { username, password });
  if (res.status !== 303) throw new Error(`sign-in as ${username} answered ${res.status}: ${await res.text()}`);
  return sessionCookieOf(res)!.pair;
}

const taskCount = (server: Server) => server.db.sqlite.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM tasks").get()!.n;

describe("sign in", () => {
  test("sets an HttpOnly SameSite=Lax session cookie and returns to next; the pages then know the user", async () => {
    const server = await startTestApp({ workers: 0 });
    const res = await post(server, "/login", { username: "admin", password: TEST_PASSWORD, next: "/tasks?status=failed" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/tasks?status=failed");
    const cookie = sessionCookieOf(res)!;
    expect(cookie).not.toBeNull();
    expect(cookie.attrs).toMatch(/HttpOnly/i);
    expect(cookie.attrs).toMatch(/SameSite=Lax/i);
    expect(cookie.attrs).toMatch(/Path=\//);

    const page = await get(server, "/tasks", cookie.pair);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('data-username="">admin</span>');
    expect(html).toContain('data-role="admin"');
    expect(html).toContain('action="/logout"');
    // Admins get the admin pages in the menu.
    expect(html).toContain('href="/users"');
    expect(html).toContain('href="/audit"');
  });

  test("signs in with the email too", async () => {
    const server = await startTestApp({ workers: 0 });
    await server.api("/users", json({ username: "erin", email: "erin@example.com", password: TEST_PASSWORD, role: "viewer" }));
    const res = await post(server, "/login", { username: "Erin@Example.com", password: TEST_PASSWORD });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/");
  });

  test("next= pointing off the site (//host, https://host, /\\host) goes to / instead", async () => {
    const server = await startTestApp({ workers: 0 });
    // A browser drops tabs and newlines from a Location header: "/\t/evil.example" would be "//evil.example".
    for (const next of ["//evil.example", "https://evil.example", "/\\evil.example", "javascript:alert(1)", "/\t/evil.example", "/\n/evil.example", "/\r/x"]) {
      const res = await post(server, "/login", { username: "admin", password: TEST_PASSWORD, next });
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe("/");
    }
    // A signed-in visit to /login with a hostile next= is sent home too.
    const cookie = await signIn(server);
    for (const next of ["%2F%2Fevil.example", "/%09/evil.example", "/%0a/x", "/%0d/x"]) {
      const res = await get(server, `/login?next=${next}`, cookie);
      expect({ next, status: res.status, location: res.headers.get("location") }).toEqual({ next, status: 303, location: "/" });
    }
    // A path of this server survives, query included.
    const back = await get(server, `/login?next=${encodeURIComponent("/tasks?status=failed")}`, cookie);
    expect(back.headers.get("location")).toBe("/tasks?status=failed");
  });

  test("a signed-out page visit goes to /login?next=… and the form carries next back", async () => {
    const server = await startTestApp({ workers: 0 });
    const res = await get(server, "/tasks?q=x");
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/login?next=%2Ftasks%3Fq%3Dx");
    const page = await get(server, res.headers.get("location")!);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('name="next" value="/tasks?q=x"');
    // Signed out: the minimal header, no navigation and no user menu.
    expect(html).not.toContain('aria-label="Main"');
    expect(html).not.toContain('action="/logout"');
  });

  test("a wrong password and an unknown user get the same 401 message; no cookie; the name is kept", async () => {
    const server = await startTestApp({ workers: 0 });
    const wrong = await post(server, "/login", { username: "admin", password: "not the password at all" });
    const unknown = await post(server, "/login", { username: "nobody-here", password: "not the password at all" });
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(sessionCookieOf(res)).toBeNull();
      expect(await res.text()).toContain("Invalid username or password");
    }
    const html = await (await post(server, "/login", { username: "admin", password: "still wrong, sorry" })).text();
    expect(html).toContain('value="admin"');
  });

  test("repeated failures are throttled: 429 with Retry-After and the wait in words", async () => {
    const server = await startTestApp({ workers: 0 });
    for (let i = 0; i < 3; i++) expect((await post(server, "/login", { username: "admin", password: `wrong guess ${i}` })).status).toBe(401);
    const res = await post(server, "/login", { username: "admin", password: TEST_PASSWORD });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await res.text()).toMatch(/try again in \d+ seconds/);
  });

  test("the per-address limit of sign-in attempts applies to the form: the form again, 429, Retry-After", async () => {
    const server = await startTestApp({ workers: 0, authRateLimit: 2 });
    for (let i = 0; i < 2; i++) expect((await post(server, "/login", { username: "admin", password: `wrong guess ${i}` })).status).toBe(401);
    const res = await post(server, "/login", { username: "admin", password: TEST_PASSWORD, next: "/plans" });
    expect(res.status).toBe(429);
    expect(sessionCookieOf(res)).toBeNull();
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    const html = await res.text();
    expect(html).toContain("Too many sign-in requests from this address");
    expect(html).toContain('id="login-form"');
    expect(html).toContain('name="next" value="/plans"');
  });

  test("empty fields are named inline (422) without a sign-in attempt", async () => {
    const server = await startTestApp({ workers: 0 });
    const res = await post(server, "/login", { username: "", password: "" });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toContain("Enter your username or email");
    expect(html).toContain("Enter your password");
  });

  test("the register link shows only while registration is open or no account exists", async () => {
    const closed = await startTestApp({ workers: 0 });
    expect(await (await get(closed, "/login")).text()).not.toContain('href="/register"');
    const empty = await startTestApp({ workers: 0, admin: false });
    const html = await (await get(empty, "/login")).text();
    expect(html).toContain('href="/register"');
    expect(html).toContain("becomes the admin");
  });
});

describe("cross-site form posts (CSRF) are refused", () => {
  test("POST /login from another site: 403, no session", async () => {
    const server = await startTestApp({ workers: 0 });
    const res = await post(server, "/login", { username: "admin", password: TEST_PASSWORD }, { headers: EVIL });
    expect(res.status).toBe(403);
    expect(sessionCookieOf(res)).toBeNull();
    expect(await res.text()).toContain("Cross-site request refused");
  });

  test("POST /logout from another site: 403, the session lives on", async () => {
    const server = await startTestApp({ workers: 0 });
    const cookie = await signIn(server);
    const res = await post(server, "/logout", {}, { cookie, headers: EVIL });
    expect(res.status).toBe(403);
    expect((await get(server, "/tasks", cookie)).status).toBe(200);
  });

  test("POST /tasks with a valid session cookie: refused from another site, accepted from our page", async () => {
    const server = await startTestApp({ workers: 0 });
    const cookie = await signIn(server);
    const fields = { title: "Made by a form", task_type: "hello", "params.name": "csrf", priority: "default" };

    const evil = await post(server, "/tasks", fields, { cookie, headers: EVIL });
    expect(evil.status).toBe(403);
    // Only the Origin, or only Sec-Fetch-Site, is enough to refuse; and saying nothing with a cookie is refused too.
    expect((await post(server, "/tasks", fields, { cookie, headers: { origin: "https://evil.example" } })).status).toBe(403);
    expect((await post(server, "/tasks", fields, { cookie, headers: { "sec-fetch-site": "same-site" } })).status).toBe(403);
    expect((await post(server, "/tasks", fields, { cookie, headers: {} })).status).toBe(403);
    expect(taskCount(server)).toBe(0);

    const ok = await post(server, "/tasks", fields, { cookie });
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toMatch(/^\/tasks\/[\w-]+$/);
    expect(taskCount(server)).toBe(1);
  });
});

describe("sign out", () => {
  test("ends the session: 303 to /login with a toast, the cookie cleared, the old cookie dead", async () => {
    const server = await startTestApp({ workers: 0 });
    const cookie = await signIn(server);
    const res = await post(server, "/logout", {}, { cookie });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/login");
    const cleared = res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION}=`))!;
    expect(cleared).toMatch(/Max-Age=0/i);
    const flash = res.headers.getSetCookie().find((c) => c.startsWith("flash="))!;
    const page = await get(server, "/login", flash.split(";")[0]);
    expect(await page.text()).toContain("You are signed out");
    // The cookie a thief may have copied no longer works.
    const after = await get(server, "/tasks", cookie);
    expect(after.status).toBe(302);
    expect(after.headers.get("location")).toBe("/login?next=%2Ftasks");
  });
});

describe("register", () => {
  test("with no account yet, the first visitor is sent to register (not to a sign-in that cannot succeed)", async () => {
    const server = await startTestApp({ workers: 0, admin: false });
    for (const path of ["/", "/tasks", "/plans/new"]) {
      const res = await get(server, path);
      expect(res.status).toBe(302);
      expect(res.headers.get("location")).toBe("/register");
    }
    // Once an account exists, the signed-out visitor signs in.
    const ok = await post(server, "/register", { username: "ada", password: TEST_PASSWORD, confirm: TEST_PASSWORD });
    expect(ok.status).toBe(303);
    const after = await get(server, "/tasks");
    expect(after.status).toBe(302);
    expect(after.headers.get("location")).toBe("/login?next=%2Ftasks");
  });

  test("the form states every rule the server enforces, and a password containing the username is refused by it", async () => {
    const server = await startTestApp({ workers: 0, admin: false });
    const html = await (await get(server, "/register")).text();
    for (const rule of ["At least 12 characters", "at least 5 of them different", "most common passwords", "not containing your username"]) expect(html).toContain(rule);
    const res = await post(server, "/register", { username: "marguerite", password: "marguerite-likes-tea", confirm: "marguerite-likes-tea" });
    expect(res.status).toBe(422);
    expect(await res.text()).toContain("must not contain the username");
    const repetitive = await post(server, "/register", { username: "bob", password: "abababababababab", confirm: "abababababababab" });
    expect(repetitive.status).toBe(422);
    expect(await repetitive.text()).toContain("fewer than 5 different characters");
  });

  test("the first account becomes the admin; weak passwords are explained inline; then registration closes", async () => {
    const server = await startTestApp({ workers: 0, admin: false });
    const form = await get(server, "/register");
    expect(form.status).toBe(200);
    const html = await form.text();
    expect(html).toContain("becomes the <strong>admin</strong>");
    expect(html).toContain("At least 12 characters");

    const weak = await post(server, "/register", { username: "ada", password: "password123", confirm: "password123" });
    expect(weak.status).toBe(422);
    const weakHtml = await weak.text();
    expect(weakHtml).toContain("must be at least 12 characters");
    expect(weakHtml).toContain("most common passwords");
    expect(weakHtml).toContain('value="ada"');

    const mismatch = await post(server, "/register", { username: "ada", password: TEST_PASSWORD, confirm: "something else entirely" });
    expect(mismatch.status).toBe(422);
    expect(await mismatch.text()).toContain("The two passwords are not the same");

    const badName = await post(server, "/register", { username: "a", password: TEST_PASSWORD, confirm: TEST_PASSWORD });
    expect(badName.status).toBe(422);
    expect(await badName.text()).toContain("3 to 64 characters");

    const ok = await post(server, "/register", { username: "ada", email: "ada@example.com", password: TEST_PASSWORD, confirm: TEST_PASSWORD });
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe("/");
    const cookie = sessionCookieOf(ok)!.pair;
    expect(findUserByLogin(server.services.auth, "ada")!.role).toBe("admin");
    expect(await (await get(server, "/", cookie)).text()).toContain('data-role="admin"');

    const closed = await get(server, "/register");
    expect(closed.status).toBe(403);
    const closedHtml = await closed.text();
    expect(closedHtml).toContain("Registration is closed");
    expect(closedHtml).not.toContain('id="register-form"');
    expect((await post(server, "/register", { username: "eve", password: TEST_PASSWORD, confirm: TEST_PASSWORD })).status).toBe(403);
    expect(findUserByLogin(server.services.auth, "eve")).toBeNull();
  });
});

describe("settings", () => {
  test("lists the sessions with this browser marked; a wrong current password is named inline", async () => {
    const server = await startTestApp({ workers: 0 });
    await signIn(server); // another browser
    const cookie = await signIn(server);
    const page = await get(server, "/settings", cookie);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html.match(/data-session="/g)?.length).toBe(2);
    expect(html.match(/This browser/g)?.length).toBe(1);
    expect(html).toContain("Sign out everywhere");

    const wrong = await post(server, "/settings/password", { current_password: "not my password", new_password: "a brand new passphrase 7", confirm: "a brand new passphrase 7" }, { cookie });
    expect(wrong.status).toBe(422);
    expect(await wrong.text()).toContain("does not match");
  });

  test("a password change keeps this session and ends the other; the new password signs in", async () => {
    const server = await startTestApp({ workers: 0 });
    const other = await signIn(server);
    const cookie = await signIn(server);
    const NEW = "a brand new passphrase 7";
    const res = await post(server, "/settings/password", { current_password: TEST_PASSWORD, new_password: NEW, confirm: NEW }, { cookie, headers: { ...sameOrigin(server), "hx-request": "true" } });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.headers.get("hx-trigger")!).toast.message).toContain("Password changed");
    expect((await get(server, "/settings", cookie)).status).toBe(200);
    expect((await get(server, "/settings", other)).status).toBe(302);
    expect((await post(server, "/login", { username: "admin", password: NEW })).status).toBe(303);
  });

  test("the theme is saved in the cookie and the account, and follows the user to a new browser", async () => {
    const server = await startTestApp({ workers: 0 });
    const cookie = await signIn(server);
    const res = await post(server, "/settings/theme", { theme: "dark" }, { cookie });
    expect(res.status).toBe(303);
    expect(res.headers.getSetCookie().find((c) => c.startsWith("theme="))).toMatch(/^theme=dark;/);
    const fresh = await post(server, "/login", { username: "admin", password: TEST_PASSWORD });
    expect(fresh.headers.getSetCookie().find((c) => c.startsWith("theme="))).toMatch(/^theme=dark;/);
    expect((await post(server, "/settings/theme", { theme: "purple" }, { cookie })).status).toBe(400);
  });

  test("revoking another session ends it; sign out everywhere ends them all, this one too", async () => {
    const server = await startTestApp({ workers: 0 });
    const other = await signIn(server);
    const third = await signIn(server);
    const cookie = await signIn(server);
    const html = await (await get(server, "/settings", cookie)).text();
    const ids = [...html.matchAll(/data-session="([^"]+)"(?! data-current)/g)].map((m) => m[1]!);
    expect(ids.length).toBe(2);
    const revoked = await post(server, `/settings/sessions/${ids[0]}/revoke`, {}, { cookie });
    expect(revoked.status).toBe(303);
    const alive = [(await get(server, "/tasks", other)).status, (await get(server, "/tasks", third)).status].sort();
    expect(alive).toEqual([200, 302]);
    // Someone else's (or a made-up) session id: not found.
    expect((await post(server, "/settings/sessions/no-such-session/revoke", {}, { cookie })).status).toBe(404);

    const all = await post(server, "/settings/sessions/revoke-all", {}, { cookie });
    expect(all.status).toBe(303);
    expect(all.headers.get("location")).toBe("/login");
    for (const c of [other, third, cookie]) expect((await get(server, "/tasks", c)).status).toBe(302);
  });

  test("a viewer sees no New task / action buttons and is refused a write with a clear 403", async () => {
    const server = await startTestApp({ workers: 0 });
    await userWithRole(server, server.token, "vic", "viewer");
    const cookie = await signIn(server, "vic");
    const html = await (await get(server, "/tasks", cookie)).text();
    expect(html).toContain('data-role="viewer"');
    expect(html).toContain("[&amp;[data-role=viewer]_[data-dialog-open=new-task]]:!hidden");
    expect(html).not.toContain('href="/users"');
    const res = await post(server, "/tasks", { title: "nope", task_type: "hello", "params.name": "x" }, { cookie, headers: { ...sameOrigin(server), "hx-request": "true" } });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.headers.get("hx-trigger")!).toast.message).toBe("This needs the operator role; vic is a viewer");
    expect(taskCount(server)).toBe(0);
  });
});

describe("reset password", () => {
  test("the link's page sets a new password once, then sends to sign-in with a toast", async () => {
    const server = await startTestApp({ workers: 0 });
    const admin = findUserByLogin(server.services.auth, "admin")!;
    const { token } = createPasswordReset(server.services.auth, admin.id, SYSTEM_ACTOR);
    const form = await get(server, `/reset-password?token=${token}`);
    expect(form.status).toBe(200);
    expect(await form.text()).toContain(`name="token" value="${token}"`);

    const weak = await post(server, "/reset-password", { token, new_password: "short", confirm: "short" });
    expect(weak.status).toBe(422);
    expect(await weak.text()).toContain("must be at least 12 characters");
    const NEW = "lantern orchard pebble 9";
    expect(await (await post(server, "/reset-password", { token, new_password: NEW, confirm: "lantern orchard pebble 8" })).text()).toContain("not the same");

    const ok = await post(server, "/reset-password", { token, new_password: NEW, confirm: NEW });
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe("/login");
    const flash = ok.headers.getSetCookie().find((c) => c.startsWith("flash="))!.split(";")[0];
    expect(await (await get(server, "/login", flash)).text()).toContain("Your password is changed");
    expect((await post(server, "/login", { username: "admin", password: NEW })).status).toBe(303);

    const again = await post(server, "/reset-password", { token, new_password: "another fine passphrase", confirm: "another fine passphrase" });
    expect(again.status).toBe(400);
    expect(await again.text()).toContain("invalid, expired or already used");
  });

  test("a link without a token says so", async () => {
    const server = await startTestApp({ workers: 0 });
    const res = await get(server, "/reset-password");
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("This reset link is incomplete");
  });
});

// Bearer-authenticated clients are not at risk of CSRF and keep working without Origin headers.
test("a Bearer request to a page form needs no Origin", async () => {
  const server = await startTestApp({ workers: 0 });
  const body = new URLSearchParams({ title: "bearer", task_type: "hello", "params.name": "x" }).toString();
  const res = await server.request(`/tasks`, {
    ...bearer(server.token, { method: "POST", body, headers: { "content-type": "application/x-www-form-urlencoded" } }),
    redirect: "manual",
  });
  expect(res.status).toBe(303);
  expect(taskCount(server)).toBe(1);
});
