// The /api-keys admin page over real HTTP: the list with owner and last use, "New key" showing the key
// once (and never again), inline errors, revoke behind a confirm, and that only admins get in.
import { afterEach, describe, expect, test } from "bun:test";
import { act, visit } from "../../../test/admin-pages.ts";
import { bearer, login, userWithRole } from "../../../test/auth.ts";
import { cleanup, json, startTestApp, type TestServer } from "../../../test/helpers.ts";
import { HOSTILE, HOSTILE_ESCAPED } from "../../../test/html.ts";

afterEach(cleanup);

type KeyRow = { id: string; name: string; prefix: string; scope: string; revoked_at: number | null };
const keys = (server: TestServer) => server.db.sqlite.query<KeyRow, []>("SELECT id, name, prefix, scope, revoked_at FROM api_keys ORDER BY created_at").all();
const keyIds = (html: string) => [...html.matchAll(/data-key-id="([^"]+)"/g)].map((m) => m[1]);
const shownKey = (html: string) => /id="new-key-value"[^>]*value="(avk_[^"]+)"/.exec(html)?.[1];

describe("GET /api-keys", () => {
  test("lists keys with name, prefix, scope, owner, last use and status, and the New key dialog explaining each scope", async () => {
    const server = await startTestApp({ workers: 0 });
    const res = await visit(server, "/api-keys");
    expect(res.status).toBe(200);
    expect(res.text).toContain("<title>API keys · AgentVine</title>");
    const [tests] = keys(server);
    expect(keyIds(res.text)).toEqual([tests!.id]);
    expect(res.text).toContain(`${tests!.prefix}…`);
    expect(res.text).toContain('<span class="badge tone-violet">api</span>');
    expect(res.text).toMatch(/md:table-cell">admin<\/td>/); // the owner
    expect(res.text).toContain('id="new-key"');
    expect(res.text).toContain("claim work from the queue");
    expect(res.text).toContain("acting as you");
  });

  test("revoked keys are listed as revoked, or hidden by the filter; no active key shows the empty state", async () => {
    const server = await startTestApp({ workers: 0 });
    const admin = await login(server, "admin"); // the test key is about to be revoked: go on as the admin's session
    const [tests] = keys(server);
    const revoked = await act(server, `/api-keys/${tests!.id}/revoke`, {}, { token: admin.access_token });
    expect(revoked.status).toBe(200);
    const all = await visit(server, "/api-keys", { token: admin.access_token });
    expect(all.text).toContain('data-revoked="true"');
    expect(all.text).toContain("revoked <time");
    expect(all.text).not.toContain(`hx-post="/api-keys/${tests!.id}/revoke"`);
    const active = await visit(server, "/api-keys?status=active", { token: admin.access_token, htmx: "key-list" });
    expect(active.text).toStartWith('<div id="key-list"');
    expect(active.text).toContain("No active API keys");
    expect(active.text).toContain('data-state="empty"');
  });

  test("key names are escaped", async () => {
    const server = await startTestApp({ workers: 0 });
    expect((await server.api("/api-keys", json({ name: HOSTILE, scope: "worker" }))).status).toBe(201);
    const page = await visit(server, "/api-keys");
    expect(page.text).not.toContain(HOSTILE);
    expect(page.text).toContain(HOSTILE_ESCAPED);
    expect(page.text).toContain(`hx-confirm="Revoke the key “${HOSTILE_ESCAPED}”?`);
  });
});

describe("New key", () => {
  test("shows the full key once, with the warning, in a field to copy; the list refreshes; the key works and is never shown again", async () => {
    const server = await startTestApp({ workers: 0 });
    const res = await act(server, "/api-keys", { _dialog: "1", name: "ci script", scope: "api" });
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.toast).toEqual({ level: "success", message: "API key “ci script” created: copy it now, it is not shown again" });
    expect(res.trigger["api-keys:changed"]).toBe(true);
    expect(res.text).toContain("this is the only time it is shown");
    expect(res.text).toMatch(/<input id="new-key-value"[^>]*readonly=""/);
    // Flag and variable names never break across lines (a `--token` once wrapped as "-" / "-token").
    for (const name of ["AGENTVINE_TOKEN", "--token-file", "--token"]) expect(res.text).toContain(`<code class="whitespace-nowrap">${name}</code>`);
    const key = shownKey(res.text)!;
    expect(key).toMatch(/^avk_/);
    const row = keys(server).find((k) => k.name === "ci script")!;
    expect(row.scope).toBe("api");
    expect(key.startsWith(row.prefix)).toBe(true);
    expect((await server.api("/users/me", bearer(key))).status).toBe(200);

    const later = await visit(server, "/api-keys");
    expect(later.text).toContain(`data-key-id="${row.id}"`);
    expect(later.text).not.toContain(key);
  });

  test("a worker key; without JS the page itself shows the key", async () => {
    const server = await startTestApp({ workers: 0 });
    const res = await visit(server, "/api-keys", { form: { name: "builder", scope: "worker" } });
    expect(res.status).toBe(201);
    expect(res.text).toStartWith("<!doctype html>");
    const key = shownKey(res.text)!;
    expect(key).toMatch(/^avk_/);
    expect(keys(server).find((k) => k.name === "builder")!.scope).toBe("worker");
    expect((await server.api("/users/me", bearer(key))).status).toBe(403); // a worker key is for the queue only
  });

  test("a missing name or an unknown scope comes back inline (422), nothing created", async () => {
    const server = await startTestApp({ workers: 0 });
    const res = await act(server, "/api-keys", { _dialog: "1", name: "   ", scope: "root" });
    expect(res.status).toBe(422);
    expect(res.text).toStartWith('<form id="new-key-form"');
    expect(res.text).toMatch(/id="nk-name-error"[^>]*>must not be empty/);
    expect(res.text).toContain("Invalid option");
    expect(shownKey(res.text)).toBeUndefined();
    expect(keys(server)).toHaveLength(1);
    const page = await visit(server, "/api-keys/new");
    expect(page.text).toContain('<form id="new-key-form"');
  });
});

describe("revoke", () => {
  test("behind a confirm; the key is refused from its next request; toast and list refresh; twice is harmless", async () => {
    const server = await startTestApp({ workers: 0 });
    const created = await act(server, "/api-keys", { name: "temp", scope: "api" });
    const key = shownKey(created.text)!;
    const row = keys(server).find((k) => k.name === "temp")!;
    const page = await visit(server, "/api-keys");
    expect(page.text).toContain(`hx-post="/api-keys/${row.id}/revoke"`);
    expect(page.text).toContain('hx-confirm="Revoke the key “temp”?');

    const res = await act(server, `/api-keys/${row.id}/revoke`);
    expect(res.status).toBe(200);
    expect(res.toast).toEqual({ level: "success", message: "API key “temp” revoked" });
    expect(res.trigger["api-keys:changed"]).toBe(true);
    expect((await server.api("/users/me", bearer(key))).status).toBe(401);
    expect(server.db.sqlite.query("SELECT 1 FROM audit_events WHERE action = 'api_key.revoked' AND resource_id = ?").get(row.id)).not.toBeNull();

    const again = await act(server, `/api-keys/${row.id}/revoke`);
    expect(again.toast).toEqual({ level: "info", message: "API key “temp” was already revoked" });
    const missing = await act(server, "/api-keys/nope/revoke");
    expect(missing.status).toBe(404);
    expect(missing.toast?.level).toBe("error");
  });
});

describe("access", () => {
  test("a viewer and an operator get 403 on the page, the create and the revoke", async () => {
    const server = await startTestApp({ workers: 0 });
    const viewer = await userWithRole(server, server.token, "victor", "viewer");
    const operator = await userWithRole(server, server.token, "olivia", "operator");
    const [tests] = keys(server);
    for (const who of [viewer, operator]) {
      expect((await visit(server, "/api-keys", { token: who.access_token })).status).toBe(403);
      expect((await act(server, "/api-keys", { name: "mine", scope: "api" }, { token: who.access_token })).status).toBe(403);
      expect((await act(server, `/api-keys/${tests!.id}/revoke`, {}, { token: who.access_token })).status).toBe(403);
    }
    expect(keys(server)).toHaveLength(1);
    expect(keys(server)[0]!.revoked_at).toBeNull();
  });
});
