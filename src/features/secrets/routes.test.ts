// The /secrets admin page over real HTTP: names with when and by whom they were set, create, replace,
// delete behind a confirm, inline errors — and no answer ever holding a value. Only admins get in.
import { afterEach, describe, expect, test } from "bun:test";
import { act, flashOf, visit } from "../../../test/admin-pages.ts";
import { bearer, userWithRole } from "../../../test/auth.ts";
import { cleanup, json, startTestApp, type TestServer } from "../../../test/helpers.ts";
import { HOSTILE, HOSTILE_ESCAPED } from "../../../test/html.ts";

afterEach(cleanup);

const VALUE = "hunter2-correct-horse";
const names = (html: string) => [...html.matchAll(/data-secret="([^"]+)"/g)].map((m) => m[1]);
const resolve = (server: TestServer, name: string) => server.services.secrets.resolveSecretTemplates({ v: `{{secrets.${name}}}` }).v;

describe("GET /secrets", () => {
  test("no secrets: the empty state and the New secret dialog with a password field", async () => {
    const server = await startTestApp({ workers: 0 });
    const res = await visit(server, "/secrets");
    expect(res.status).toBe(200);
    expect(res.text).toContain("<title>Secrets · AgentVine</title>");
    expect(res.text).toContain("No secrets yet");
    expect(res.text).toContain('data-state="empty"');
    expect(res.text).toContain('id="new-secret"');
    expect(res.text).toMatch(/<input id="ns-value" name="value" type="password"/);
  });

  test("lists names with created / updated and who set them, never a value", async () => {
    const server = await startTestApp({ workers: 0 });
    expect((await server.api("/secrets", json({ name: "GITHUB_TOKEN", value: VALUE }))).status).toBe(201);
    expect((await server.api("/secrets", json({ name: "DB_PASSWORD", value: "another-value-123" }))).status).toBe(201);
    const res = await visit(server, "/secrets");
    expect(names(res.text)).toEqual(["DB_PASSWORD", "GITHUB_TOKEN"]);
    expect(res.text).toContain("{{secrets.GITHUB_TOKEN}}");
    expect(res.text).toContain("by key “tests”");
    expect(res.text).not.toContain(VALUE);
    expect(res.text).not.toContain("another-value-123");
    const fragment = await visit(server, "/secrets", { htmx: "secret-list" });
    expect(fragment.text).toStartWith('<div id="secret-list"');
  });

  test("who set a secret is escaped (an API key's name)", async () => {
    const server = await startTestApp({ workers: 0 });
    const key = (await (await server.api("/api-keys", json({ name: HOSTILE, scope: "api" }))).json()) as { key: string };
    expect((await server.api("/secrets", bearer(key.key, json({ name: "X_TOKEN", value: VALUE })))).status).toBe(201);
    const res = await visit(server, "/secrets");
    expect(res.text).not.toContain(HOSTILE);
    expect(res.text).toContain(`by key “${HOSTILE_ESCAPED}”`);
  });
});

describe("create", () => {
  test("stores it: toast, dialog closed, list refreshed, audited; the answer holds no value", async () => {
    const server = await startTestApp({ workers: 0 });
    const res = await act(server, "/secrets", { _dialog: "1", name: "GITHUB_TOKEN", value: VALUE });
    expect(res.status).toBe(200);
    expect(res.toast).toEqual({ level: "success", message: "Secret GITHUB_TOKEN stored" });
    expect(res.trigger["dialog:close"]).toBe("new-secret");
    expect(res.trigger["secrets:changed"]).toBe(true);
    expect(res.text).not.toContain(VALUE);
    expect(resolve(server, "GITHUB_TOKEN")).toBe(VALUE);
    expect(server.db.sqlite.query("SELECT 1 FROM audit_events WHERE action = 'secret.created' AND resource_id = 'GITHUB_TOKEN'").get()).not.toBeNull();
    expect(names((await visit(server, "/secrets")).text)).toEqual(["GITHUB_TOKEN"]);
  });

  test("a bad name, a short value, a taken name: inline errors (422), the value not sent back", async () => {
    const server = await startTestApp({ workers: 0 });
    const bad = await act(server, "/secrets", { _dialog: "1", name: "1-bad name", value: "abc" });
    expect(bad.status).toBe(422);
    expect(bad.text).toStartWith('<form id="new-secret-form"');
    expect(bad.text).toMatch(/id="ns-name-error"[^>]*>letters, digits and _/);
    expect(bad.text).toMatch(/id="ns-value-error"[^>]*>at least 4 characters/);
    expect(bad.text).toContain('value="1-bad name"');
    expect(bad.text).not.toContain('value="abc"');

    await act(server, "/secrets", { name: "TAKEN", value: VALUE });
    const taken = await act(server, "/secrets", { name: "TAKEN", value: "a-different-value" });
    expect(taken.status).toBe(422);
    expect(taken.text).toMatch(/id="ns-name-error"[^>]*>a secret named TAKEN exists/);
    expect(taken.text).not.toContain("a-different-value");
    expect(resolve(server, "TAKEN")).toBe(VALUE);
  });

  test("without JS: /secrets/new is a page, a good post redirects with a flash toast", async () => {
    const server = await startTestApp({ workers: 0 });
    expect((await visit(server, "/secrets/new")).text).toContain('<form id="new-secret-form"');
    const res = await visit(server, "/secrets", { form: { name: "PLAIN", value: VALUE } });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/secrets");
    expect(flashOf(res)).toEqual([{ level: "success", message: "Secret PLAIN stored" }]);
  });
});

describe("replace and delete", () => {
  test("replacing a value: toast and list refresh; a short value is an inline error and keeps the old one", async () => {
    const server = await startTestApp({ workers: 0 });
    await act(server, "/secrets", { name: "API_TOKEN", value: VALUE });
    const page = await visit(server, "/secrets");
    expect(page.text).toContain('hx-post="/secrets/API_TOKEN/value"');
    expect(page.text).toMatch(/<input id="replace-API_TOKEN-value" name="value" type="password"/);

    const res = await act(server, "/secrets/API_TOKEN/value", { value: "the-new-value-456" });
    expect(res.status).toBe(200);
    expect(res.toast).toEqual({ level: "success", message: "Secret API_TOKEN replaced" });
    expect(res.trigger["secrets:changed"]).toBe(true);
    expect(res.text).not.toContain("the-new-value-456");
    expect(resolve(server, "API_TOKEN")).toBe("the-new-value-456");

    const short = await act(server, "/secrets/API_TOKEN/value", { value: "ab" });
    expect(short.status).toBe(422);
    expect(short.text).toStartWith('<details id="replace-API_TOKEN" open=""');
    expect(short.text).toContain("at least 4 characters");
    expect(resolve(server, "API_TOKEN")).toBe("the-new-value-456");

    const missing = await act(server, "/secrets/NOPE/value", { value: VALUE });
    expect(missing.status).toBe(404);
    expect(missing.toast?.level).toBe("error");
  });

  test("delete is behind a confirm; it removes the secret with a toast; an unknown one is an error toast", async () => {
    const server = await startTestApp({ workers: 0 });
    await act(server, "/secrets", { name: "OLD_TOKEN", value: VALUE });
    const page = await visit(server, "/secrets");
    expect(page.text).toContain('hx-post="/secrets/OLD_TOKEN/delete"');
    expect(page.text).toContain('hx-confirm="Delete the secret OLD_TOKEN?');

    const res = await act(server, "/secrets/OLD_TOKEN/delete");
    expect(res.status).toBe(200);
    expect(res.toast).toEqual({ level: "success", message: "Secret OLD_TOKEN deleted" });
    expect(res.trigger["secrets:changed"]).toBe(true);
    expect(server.services.secrets.list()).toEqual([]);
    expect((await visit(server, "/secrets")).text).toContain("No secrets yet");

    const again = await act(server, "/secrets/OLD_TOKEN/delete");
    expect(again.status).toBe(404);
    expect(again.toast?.message).toContain("OLD_TOKEN");
  });
});

describe("access", () => {
  test("a viewer and an operator get 403 on the page and every action", async () => {
    const server = await startTestApp({ workers: 0 });
    await act(server, "/secrets", { name: "KEEP", value: VALUE });
    const viewer = await userWithRole(server, server.token, "victor", "viewer");
    const operator = await userWithRole(server, server.token, "olivia", "operator");
    for (const who of [viewer, operator]) {
      const opts = { token: who.access_token };
      expect((await visit(server, "/secrets", opts)).status).toBe(403);
      expect((await act(server, "/secrets", { name: "MINE", value: VALUE }, opts)).status).toBe(403);
      expect((await act(server, "/secrets/KEEP/value", { value: "stolen-value" }, opts)).status).toBe(403);
      expect((await act(server, "/secrets/KEEP/delete", {}, opts)).status).toBe(403);
    }
    expect(server.services.secrets.list().map((s) => s.name)).toEqual(["KEEP"]);
    expect(resolve(server, "KEEP")).toBe(VALUE);
  });
});
