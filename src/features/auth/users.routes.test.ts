// The /users admin page over real HTTP: the table and its filters, "New user" with inline errors, role
// changes, deactivate / reactivate, the last-admin guard as a toast, and that only admins get in.
import { afterEach, describe, expect, test } from "bun:test";
import { act, flashOf, visit } from "../../../test/admin-pages.ts";
import { bearer, PASSWORD, userWithRole } from "../../../test/auth.ts";
import { cleanup, json, startTestApp, type TestServer } from "../../../test/helpers.ts";
import { HOSTILE, HOSTILE_ESCAPED } from "../../../test/html.ts";
import { findUserByLogin } from "./users.ts";

afterEach(cleanup);

const userRow = (server: TestServer, username: string) => findUserByLogin(server.services.auth, username)!;
const auditActions = (server: TestServer) => server.db.sqlite.query<{ action: string }, []>("SELECT action FROM audit_events ORDER BY id").all().map((r) => r.action);
const rowOf = (html: string, id: string) => {
  const at = html.indexOf(`id="user-${id}"`);
  return at < 0 ? "" : html.slice(at, html.indexOf("</tr>", at));
};

describe("GET /users", () => {
  test("the table of users (username, name, email, role, status, last login), the filters and the New user dialog", async () => {
    const server = await startTestApp({ workers: 0 });
    await userWithRole(server, server.token, "olivia", "operator");
    const res = await visit(server, "/users");
    expect(res.status).toBe(200);
    expect(res.text).toStartWith("<!doctype html>");
    expect(res.text).toContain("<title>Users · AgentVine</title>");
    const admin = userRow(server, "admin");
    const olivia = userRow(server, "olivia");
    expect(rowOf(res.text, admin.id)).toContain("(you)");
    expect(rowOf(res.text, olivia.id)).toContain('data-role="operator"');
    expect(rowOf(res.text, olivia.id)).toContain("badge tone-ok\">active");
    expect(rowOf(res.text, olivia.id)).toMatch(/<time datetime="[^"]+"/); // she signed in: a last-login time
    expect(rowOf(res.text, admin.id)).toContain(">never<");
    expect(res.text).toContain('id="new-user"');
    expect(res.text).toContain('name="password"');
    expect(res.text).toContain("At least 12 characters");
  });

  test("filters by role and by active; an htmx request for the list gets the list alone; nothing matching shows the empty state", async () => {
    const server = await startTestApp({ workers: 0 });
    await userWithRole(server, server.token, "olivia", "operator");
    await userWithRole(server, server.token, "victor", "viewer");
    const ids = (html: string) => [...html.matchAll(/data-user-id="([^"]+)"/g)].map((m) => m[1]);
    expect(ids((await visit(server, "/users?role=operator")).text)).toEqual([userRow(server, "olivia").id]);
    expect(ids((await visit(server, "/users?active=true")).text)).toHaveLength(3);
    expect(ids((await visit(server, "/users?role=bogus&active=maybe")).text)).toHaveLength(3);

    const fragment = await visit(server, "/users?role=viewer", { htmx: "user-list" });
    expect(fragment.text).toStartWith('<div id="user-list"');
    expect(ids(fragment.text)).toEqual([userRow(server, "victor").id]);

    const none = await visit(server, "/users?active=false");
    expect(none.text).toContain("No user matches these filters");
    expect(none.text).toContain('data-state="empty"');
  });

  test("names and emails people typed are escaped", async () => {
    const server = await startTestApp({ workers: 0 });
    const res = await server.api("/users", json({ username: "mallory", password: PASSWORD, role: "viewer", full_name: HOSTILE }));
    expect(res.status).toBe(201);
    const page = await visit(server, "/users");
    expect(page.text).not.toContain(HOSTILE);
    expect(page.text).toContain(HOSTILE_ESCAPED);
  });
});

describe("New user", () => {
  test("creates the user with the role: toast, dialog closed, list refreshed, audited", async () => {
    const server = await startTestApp({ workers: 0 });
    const res = await act(server, "/users", { _dialog: "1", username: "Nora", full_name: "Nora N", email: "nora@example.com", role: "operator", password: PASSWORD });
    expect(res.status).toBe(200);
    expect(res.toast).toEqual({ level: "success", message: "User “nora” created" });
    expect(res.trigger["dialog:close"]).toBe("new-user");
    expect(res.trigger["users:changed"]).toBe(true);
    expect(res.text).toContain('id="new-user-form"'); // a fresh form for the next one
    expect(res.text).not.toContain("nora@example.com");
    const nora = userRow(server, "nora");
    expect(nora.role).toBe("operator");
    expect(nora.email).toBe("nora@example.com");
    expect(auditActions(server)).toContain("user.created");
    expect((await visit(server, "/users")).text).toContain(`data-user-id="${nora.id}"`);
  });

  test("bad fields come back inline (422) with what was typed, never the password; every password rule at once", async () => {
    const server = await startTestApp({ workers: 0 });
    const res = await act(server, "/users", { _dialog: "1", username: "x", email: "not-an-email", full_name: "Kept Name", role: "viewer", password: "xyzw" });
    expect(res.status).toBe(422);
    expect(res.text).toStartWith('<form id="new-user-form"');
    expect(res.text).toContain('id="nu-username-error"');
    expect(res.text).toContain("3 to 64 characters");
    expect(res.text).toContain('id="nu-email-error"');
    expect(res.text).toMatch(/id="nu-password-error"[^>]*>[^<]*at least 12 characters[^<]*fewer than 5 different characters/);
    expect(res.text).toContain('value="Kept Name"');
    expect(res.text).not.toContain("xyzw");
    expect(res.text).toContain('name="_dialog"'); // still the dialog's form
    // Said aloud too: an error toast (an alert) besides the inline messages.
    expect(res.toast).toEqual({ level: "error", message: "Not saved: please fix the fields marked in the form" });
    expect(findUserByLogin(server.services.auth, "x")).toBeNull();
  });

  test("a common password and a taken username are the service's errors, shown by their fields", async () => {
    const server = await startTestApp({ workers: 0 });
    const common = await act(server, "/users", { username: "nora", role: "viewer", password: "password1234" });
    expect(common.status).toBe(422);
    expect(common.text).toMatch(/id="nu-password-error"[^>]*>[^<]*most common passwords/);
    const taken = await act(server, "/users", { username: "admin", role: "viewer", password: PASSWORD });
    expect(taken.status).toBe(422);
    expect(taken.text).toMatch(/id="nu-username-error"[^>]*>already taken/);
  });

  test("without JS: /users/new is a page, a good post redirects with a flash toast, a bad one is the page again", async () => {
    const server = await startTestApp({ workers: 0 });
    const form = await visit(server, "/users/new");
    expect(form.status).toBe(200);
    expect(form.text).toContain('<form id="new-user-form"');
    const ok = await visit(server, "/users", { form: { username: "nora", role: "viewer", password: PASSWORD } });
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe("/users");
    expect(flashOf(ok)).toEqual([{ level: "success", message: "User “nora” created" }]);
    const bad = await visit(server, "/users", { form: { username: "", role: "viewer", password: "" } });
    expect(bad.status).toBe(422);
    expect(bad.text).toStartWith("<!doctype html>");
    expect(bad.text).toContain("Please fix the fields marked below.");
  });
});

describe("per user: role, deactivate, reactivate", () => {
  test("changing the role answers the row with the new role and a toast; the user's next request has it", async () => {
    const server = await startTestApp({ workers: 0 });
    const olivia = await userWithRole(server, server.token, "olivia", "viewer");
    const id = olivia.user.id;
    expect((await server.api("/secrets", bearer(olivia.access_token))).status).toBe(403);
    const res = await act(server, `/users/${id}/role`, { role: "admin" });
    expect(res.status).toBe(200);
    expect(res.toast).toEqual({ level: "success", message: "olivia is now an admin" });
    expect(res.text).toStartWith(`<tr id="user-${id}"`);
    expect(res.text).toContain('data-role="admin"');
    expect(res.text).toMatch(/<option value="admin" selected="">/);
    expect(userRow(server, "olivia").role).toBe("admin");
    expect((await server.api("/secrets", bearer(olivia.access_token))).status).toBe(200);
    expect((await act(server, `/users/${id}/role`, { role: "operator" })).toast?.message).toBe("olivia is now an operator");
  });

  test("deactivate (behind a confirm) signs the user out at once; reactivate lets them back", async () => {
    const server = await startTestApp({ workers: 0 });
    const olivia = await userWithRole(server, server.token, "olivia", "operator");
    const id = olivia.user.id;
    const page = await visit(server, "/users");
    expect(rowOf(page.text, id)).toContain(`hx-post="/users/${id}/deactivate"`);
    expect(rowOf(page.text, id)).toContain('hx-confirm="Deactivate olivia?');

    const off = await act(server, `/users/${id}/deactivate`);
    expect(off.status).toBe(200);
    expect(off.toast).toEqual({ level: "success", message: "olivia deactivated: their sessions have ended" });
    expect(off.text).toContain('data-active="false"');
    expect(off.text).toContain('hx-confirm="Reactivate olivia?');
    expect((await server.api("/users/me", bearer(olivia.access_token))).status).toBe(401);
    expect(auditActions(server)).toContain("user.deactivated");

    const on = await act(server, `/users/${id}/reactivate`);
    expect(on.toast).toEqual({ level: "success", message: "olivia reactivated" });
    expect(on.text).toContain('data-active="true"');
    expect(userRow(server, "olivia").is_active).toBe(1);
  });

  test("the only admin cannot demote or deactivate themselves: the service's message as an error toast, the row unchanged", async () => {
    const server = await startTestApp({ workers: 0 });
    const admin = userRow(server, "admin");
    const demote = await act(server, `/users/${admin.id}/role`, { role: "viewer" });
    expect(demote.status).toBe(422);
    expect(demote.toast).toEqual({ level: "error", message: "This is the only active admin: make another user admin first" });
    expect(demote.text).toContain('data-role="admin"'); // the select goes back to the real role
    const off = await act(server, `/users/${admin.id}/deactivate`);
    expect(off.status).toBe(422);
    expect(off.toast?.level).toBe("error");
    expect(off.text).toContain('data-active="true"');
    expect(userRow(server, "admin")).toMatchObject({ role: "admin", is_active: 1 });

    // Without JS: back to the list with the message as a flash.
    const plain = await visit(server, `/users/${admin.id}/role`, { form: { role: "viewer" } });
    expect(plain.status).toBe(303);
    expect(flashOf(plain)[0]).toMatchObject({ level: "error" });
  });

  test("the only admin's row offers neither Deactivate nor another role; with a second admin, both rows do", async () => {
    const server = await startTestApp({ workers: 0 });
    await userWithRole(server, server.token, "olivia", "operator");
    const admin = userRow(server, "admin");
    const olivia = userRow(server, "olivia");
    const page = await visit(server, "/users");
    expect(rowOf(page.text, admin.id)).not.toContain("Deactivate");
    expect(rowOf(page.text, admin.id)).toContain("the only admin");
    expect(rowOf(page.text, admin.id)).toMatch(/<select[^>]*disabled/);
    expect(rowOf(page.text, olivia.id)).toContain("Deactivate");
    expect(rowOf(page.text, olivia.id)).not.toMatch(/<select[^>]*disabled/);

    const promoted = await act(server, `/users/${olivia.id}/role`, { role: "admin" });
    expect(promoted.status).toBe(200);
    const after = await visit(server, "/users");
    expect(rowOf(after.text, admin.id)).toContain("Deactivate");
    expect(rowOf(after.text, admin.id)).not.toContain("the only admin");
  });

  test("an unknown user or role is an error toast", async () => {
    const server = await startTestApp({ workers: 0 });
    const missing = await act(server, "/users/no-such-id/deactivate");
    expect(missing.status).toBe(404);
    expect(missing.toast?.level).toBe("error");
    const badRole = await act(server, `/users/${userRow(server, "admin").id}/role`, { role: "emperor" });
    expect(badRole.status).toBe(400);
    expect(badRole.toast?.message).toContain("Unknown role");
  });
});

describe("access", () => {
  test("a viewer and an operator get 403 on the page and the actions; signed out is sent to sign in", async () => {
    const server = await startTestApp({ workers: 0 });
    const viewer = await userWithRole(server, server.token, "victor", "viewer");
    const operator = await userWithRole(server, server.token, "olivia", "operator");
    for (const who of [viewer, operator]) {
      expect((await visit(server, "/users", { token: who.access_token })).status).toBe(403);
      expect((await visit(server, "/users/new", { token: who.access_token })).status).toBe(403);
      const post = await act(server, "/users", { username: "sneaky", role: "admin", password: PASSWORD }, { token: who.access_token });
      expect(post.status).toBe(403);
      expect((await act(server, `/users/${who.user.id}/role`, { role: "admin" }, { token: who.access_token })).status).toBe(403);
    }
    expect(findUserByLogin(server.services.auth, "sneaky")).toBeNull();
    expect(userRow(server, "victor").role).toBe("viewer");
    const anonymous = await server.request(`/users`, { redirect: "manual" });
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get("location")).toBe("/login?next=%2Fusers");
  });
});
