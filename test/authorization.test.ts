// The authorization matrix: every route the app mounts × every kind of caller, against the table below.
// The table is written here, apart from the rules in the code, so it states what each route should
// allow; a route added without a line here fails the first test, and a rule that lets the wrong caller
// in (or keeps the right one out) fails the second.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createApp } from "../src/app.ts";
import { SYSTEM_ACTOR } from "../src/features/audit/service.ts";
import { createApiKey } from "../src/features/auth/api-keys.ts";
import { createUser } from "../src/features/auth/users.ts";
import { cleanup, startTestApp, TEST_PASSWORD, type TestServer } from "./helpers.ts";

/** Who may call: nobody needs to sign in (public), at least this role, or a `worker` key (or an admin). */
type Rule = "public" | "viewer" | "operator" | "admin" | "worker" | "viewer_or_worker";

const EXPECTED: Record<string, Rule> = {
  // JSON API
  "GET /api/v1/health": "public",
  "GET /api/v1/openapi.json": "public",
  "GET /api/v1/about": "viewer",
  "GET /api/v1/task-types": "viewer",
  "POST /api/v1/auth/register": "public",
  "POST /api/v1/auth/login": "public",
  "POST /api/v1/auth/refresh": "public",
  "POST /api/v1/auth/logout": "public",
  "POST /api/v1/auth/reset-password": "public",
  "GET /api/v1/tasks": "viewer",
  "POST /api/v1/tasks/bulk": "operator",
  "POST /api/v1/tasks": "operator",
  "GET /api/v1/tasks/:id": "viewer",
  "PATCH /api/v1/tasks/:id": "operator",
  "DELETE /api/v1/tasks/:id": "operator",
  "POST /api/v1/tasks/:id/cancel": "operator",
  "POST /api/v1/tasks/:id/retry": "operator",
  "GET /api/v1/tasks/:id/wait": "viewer",
  "GET /api/v1/tasks/:id/events": "viewer",
  "GET /api/v1/executions": "viewer",
  "GET /api/v1/executions/:id": "viewer",
  "GET /api/v1/executions/:id/logs": "viewer",
  "GET /api/v1/queue/status": "viewer",
  "POST /api/v1/queue/enqueue": "operator",
  "POST /api/v1/queue/pause": "admin",
  "POST /api/v1/queue/resume": "admin",
  "POST /api/v1/queue/purge": "admin",
  "POST /api/v1/queue/claim": "worker",
  "POST /api/v1/queue/complete": "worker",
  "POST /api/v1/queue/fail": "worker",
  "POST /api/v1/queue/logs": "worker",
  "POST /api/v1/queue/report": "worker",
  "POST /api/v1/queue/messages": "worker",
  "POST /api/v1/queue/call": "worker",
  "POST /api/v1/workers": "worker",
  "GET /api/v1/workers": "viewer",
  "GET /api/v1/workers/:id": "viewer",
  "POST /api/v1/workers/:id/heartbeat": "worker",
  "POST /api/v1/workers/:id/offline": "worker",
  "DELETE /api/v1/workers/:id": "admin",
  "POST /api/v1/requests": "worker",
  "GET /api/v1/requests": "viewer",
  "GET /api/v1/requests/:id": "viewer_or_worker",
  "GET /api/v1/requests/:id/wait": "viewer_or_worker",
  "POST /api/v1/requests/:id/respond": "operator",
  "POST /api/v1/requests/:id/cancel": "admin",
  "GET /api/v1/policies": "viewer",
  "POST /api/v1/policies": "admin",
  "GET /api/v1/policies/:id": "viewer",
  "PUT /api/v1/policies/:id": "admin",
  "DELETE /api/v1/policies/:id": "admin",
  "POST /api/v1/policies/reorder": "admin",
  "POST /api/v1/policies/dry-run": "viewer",
  "GET /api/v1/tasks/:id/steps": "viewer",
  "POST /api/v1/tasks/:id/pause": "operator",
  "POST /api/v1/tasks/:id/resume": "operator",
  "GET /api/v1/plans": "viewer",
  "POST /api/v1/plans": "operator",
  "GET /api/v1/plans/:id": "viewer",
  "PUT /api/v1/plans/:id": "operator",
  "DELETE /api/v1/plans/:id": "operator",
  "POST /api/v1/plans/:id/run": "operator",
  "GET /api/v1/plans/:id/runs": "viewer",
  "GET /api/v1/users/me": "viewer",
  "PATCH /api/v1/users/me": "viewer",
  "GET /api/v1/users": "admin",
  "POST /api/v1/users": "admin",
  "GET /api/v1/users/:id": "admin",
  "PATCH /api/v1/users/:id": "admin",
  "GET /api/v1/api-keys": "admin",
  "POST /api/v1/api-keys": "admin",
  "DELETE /api/v1/api-keys/:id": "admin",
  "GET /api/v1/audit": "admin",
  "GET /api/v1/secrets": "admin",
  "POST /api/v1/secrets": "admin",
  "PUT /api/v1/secrets/:name": "admin",
  "DELETE /api/v1/secrets/:name": "admin",
  "GET /api/v1/chat/conversations": "viewer",
  "POST /api/v1/chat/conversations": "operator",
  "GET /api/v1/chat/conversations/:id": "viewer",
  "GET /api/v1/chat/conversations/:id/messages": "viewer",
  "POST /api/v1/chat/conversations/:id/messages": "operator",
  "PATCH /api/v1/chat/conversations/:id/messages/:messageId": "operator",
  "POST /api/v1/chat/conversations/:id/attachments": "operator",
  "GET /api/v1/chat/attachments/:id": "viewer",
  "GET /api/v1/chat/conversations/:id/events": "viewer",
  "GET /api/v1/chat/ws/:id": "viewer",
  "POST /api/v1/context/documents": "operator",
  "GET /api/v1/context/documents": "viewer",
  "GET /api/v1/context/documents/:id": "viewer",
  "PATCH /api/v1/context/documents/:id": "operator",
  "DELETE /api/v1/context/documents/:id": "operator",
  "GET /api/v1/context/documents/:id/versions": "viewer",
  "GET /api/v1/context/documents/:id/versions/:version": "viewer",
  "POST /api/v1/context/documents/:id/versions/:version/restore": "operator",
  // Operations: schedules
  "GET /api/v1/schedules": "viewer",
  "POST /api/v1/schedules": "operator",
  "GET /api/v1/schedules/:id": "viewer",
  "PATCH /api/v1/schedules/:id": "operator",
  "DELETE /api/v1/schedules/:id": "operator",
  "POST /api/v1/schedules/:id/run": "operator",
  "GET /api/v1/schedules/:id/runs": "viewer",
  "GET /api/v1/alerts": "viewer",
  "GET /api/v1/alerts/rules": "viewer",
  "PUT /api/v1/alerts/rules": "admin",
  "GET /api/v1/alerts/webhooks": "admin",
  "POST /api/v1/alerts/webhooks": "admin",
  "PATCH /api/v1/alerts/webhooks/:id": "admin",
  "DELETE /api/v1/alerts/webhooks/:id": "admin",
  "POST /api/v1/alerts/webhooks/:id/test": "admin",
  "GET /api/v1/alerts/:id": "viewer",
  // Operations: email, notifications
  "POST /api/v1/auth/forgot-password": "public",
  "POST /api/v1/auth/verify-email": "public",
  "POST /api/v1/users/me/verify-email": "viewer",
  "GET /api/v1/email/settings": "admin",
  "PUT /api/v1/email/settings": "admin",
  "POST /api/v1/email/test": "admin",
  "GET /api/v1/notifications": "viewer",
  "POST /api/v1/notifications/read": "viewer",
  "GET /api/v1/users/me/notifications": "viewer",
  "PUT /api/v1/users/me/notifications": "viewer",
  // Outside the API
  "GET /metrics": "viewer",
  "GET /assets/:file": "public",
  "GET /favicon.svg": "public",
  "GET /favicon.ico": "public",
  "GET /events": "viewer",
  // Pages
  "GET /": "viewer",
  "GET /tasks": "viewer",
  "GET /tasks/new": "viewer",
  "GET /tasks/new/fields": "viewer",
  "POST /tasks": "operator",
  "GET /tasks/:id": "viewer",
  "GET /tasks/:id/live": "viewer",
  "GET /tasks/:id/log.txt": "viewer",
  "POST /tasks/:id/cancel": "operator",
  "POST /tasks/:id/retry": "operator",
  "POST /tasks/:id/delete": "operator",
  "GET /tasks/:id/questions": "viewer",
  "GET /tasks/:id/agent": "viewer",
  "POST /tasks/:id/agent/pause": "operator",
  "POST /tasks/:id/agent/resume": "operator",
  "POST /tasks/bulk": "operator",
  "POST /queue/pause": "admin",
  "POST /queue/resume": "admin",
  "POST /queue/purge": "admin",
  "GET /plans": "viewer",
  "GET /plans/new": "viewer",
  "POST /plans/editor": "operator",
  "POST /plans": "operator",
  "GET /plans/:id": "viewer",
  "GET /plans/:id/edit": "viewer",
  "GET /plans/:id/compare": "viewer",
  "POST /plans/:id": "operator",
  "POST /plans/:id/delete": "operator",
  "POST /plans/:id/run": "operator",
  "GET /plans/:id/runs/:runId": "viewer",
  "GET /plans/:id/runs/:runId/live": "viewer",
  "POST /plans/:id/runs/:runId/cancel": "operator",
  "GET /workers": "viewer",
  "GET /workers/:id": "viewer",
  "POST /workers/:id/drain": "admin",
  "POST /workers/:id/remove": "admin",
  "GET /chat": "viewer",
  "GET /chat/list": "viewer",
  "GET /chat/new": "viewer",
  "POST /chat": "operator",
  "GET /chat/:id": "viewer",
  "GET /chat/:id/messages": "viewer",
  "GET /chat/:id/context": "viewer",
  "POST /chat/:id/messages": "operator",
  "GET /context": "viewer",
  "GET /context/new": "viewer",
  "POST /context/preview": "operator",
  "POST /context": "operator",
  "GET /context/:id": "viewer",
  "GET /context/:id/edit": "viewer",
  "POST /context/:id": "operator",
  "POST /context/:id/delete": "operator",
  "GET /context/:id/history": "viewer",
  "GET /context/:id/versions/:version": "viewer",
  "POST /context/:id/versions/:version/restore": "operator",
  // The controller's pages: the Inbox (viewers read, operators answer), the policies (everyone reads and
  // dry-runs, admins change), the model settings (admins)
  "GET /inbox": "viewer",
  "GET /inbox/badge": "viewer",
  "POST /inbox/:id/respond": "operator",
  "GET /policies": "viewer",
  "GET /policies/new": "admin",
  "POST /policies": "admin",
  "POST /policies/dry-run": "viewer",
  "GET /policies/:id/edit": "admin",
  "POST /policies/:id": "admin",
  "POST /policies/:id/enabled": "admin",
  "POST /policies/:id/move": "admin",
  "POST /policies/:id/delete": "admin",
  "GET /settings/models": "admin",
  "POST /settings/models": "admin",
  "POST /settings/models/key/delete": "admin",
  "POST /settings/models/test": "admin",
  "POST /settings/models/budgets": "admin",
  "POST /settings/models/webhook": "admin",
  "POST /settings/models/webhook/reset": "admin",
  "POST /settings/models/webhook/secret/delete": "admin",
  "GET /schedules": "viewer",
  "GET /schedules/new": "viewer",
  "POST /schedules": "operator",
  "GET /schedules/:id": "viewer",
  "GET /schedules/:id/runs": "viewer",
  "GET /schedules/:id/edit": "viewer",
  "POST /schedules/:id": "operator",
  "POST /schedules/:id/enable": "operator",
  "POST /schedules/:id/disable": "operator",
  "POST /schedules/:id/run": "operator",
  "POST /schedules/:id/delete": "operator",
  "GET /alerts": "viewer",
  "GET /alerts/list": "viewer",
  "GET /alerts/banner": "viewer",
  "POST /alerts/rules": "admin",
  "POST /alerts/webhooks": "admin",
  "POST /alerts/webhooks/:id/test": "admin",
  "POST /alerts/webhooks/:id/delete": "admin",
  "GET /notifications": "viewer",
  "POST /notifications/read": "viewer",
  "GET /settings/notifications": "viewer",
  "POST /settings/notifications": "viewer",
  "POST /settings/verify-email": "viewer",
  "GET /forgot-password": "public",
  "POST /forgot-password": "public",
  "GET /verify-email": "public",
  "POST /verify-email": "public",
  "GET /settings/email": "admin",
  "POST /settings/email": "admin",
  "POST /settings/email/test": "admin",
  "GET /docs": "public",
  // Signing in and out, and one's own settings
  "GET /login": "public",
  "POST /login": "public",
  "POST /logout": "public",
  "GET /register": "public",
  "POST /register": "public",
  "GET /reset-password": "public",
  "POST /reset-password": "public",
  "GET /settings": "viewer",
  "POST /settings/profile": "viewer",
  "POST /settings/password": "viewer",
  "POST /settings/theme": "viewer",
  "GET /settings/sessions": "viewer",
  "POST /settings/sessions/:id/revoke": "viewer",
  "POST /settings/sessions/revoke-all": "viewer",
  // Admin pages
  "GET /users": "admin",
  "GET /users/new": "admin",
  "POST /users": "admin",
  "POST /users/:id/role": "admin",
  "POST /users/:id/deactivate": "admin",
  "POST /users/:id/reactivate": "admin",
  "GET /api-keys": "admin",
  "GET /api-keys/new": "admin",
  "POST /api-keys": "admin",
  "POST /api-keys/:id/revoke": "admin",
  "GET /audit": "admin",
  "GET /secrets": "admin",
  "GET /secrets/new": "admin",
  "POST /secrets": "admin",
  "POST /secrets/:name/value": "admin",
  "POST /secrets/:name/allow": "admin",
  "POST /secrets/:name/delete": "admin",
};

type Caller = "anonymous" | "viewer" | "operator" | "admin" | "worker key";
const CALLERS: Caller[] = ["anonymous", "viewer", "operator", "admin", "worker key"];

/** Whether `caller` should get through `rule` (anything but 401/403 then; 401/403 otherwise). */
function allowed(rule: Rule, caller: Caller): boolean {
  if (rule === "public") return true;
  if (caller === "anonymous") return false;
  if (rule === "worker") return caller === "worker key" || caller === "admin";
  if (rule === "viewer_or_worker") return true;
  if (caller === "worker key") return false;
  const rank = { viewer: 1, operator: 2, admin: 3 };
  return rank[caller] >= rank[rule];
}

let server: TestServer;
const tokens: Partial<Record<Caller, string>> = {};
let mounted: string[] = [];

beforeAll(async () => {
  server = await startTestApp({ workers: 0, rateLimit: 0 });
  const auth = server.services.auth;
  tokens.admin = server.token;
  for (const role of ["viewer", "operator"] as const) {
    const user = await createUser(auth, { username: `matrix-${role}`, password: TEST_PASSWORD, role }, SYSTEM_ACTOR);
    tokens[role] = createApiKey(auth, { name: role, scope: "api" }, { userId: user.id, actor: SYSTEM_ACTOR }).key;
  }
  const admin = server.services.auth.db.sqlite.query<{ id: string }, []>("SELECT id FROM users WHERE username = 'admin'").get()!;
  tokens["worker key"] = createApiKey(auth, { name: "worker", scope: "worker" }, { userId: admin.id, actor: SYSTEM_ACTOR }).key;
  const seen = new Set<string>();
  for (const r of createApp(server.services).routes) {
    if (r.method === "ALL") continue;
    seen.add(`${r.method} ${r.path}`);
  }
  mounted = [...seen].sort();
});
afterAll(cleanup);

/** A request for `route` with placeholder ids and an empty body: enough to pass or fail the gate. */
function requestFor(route: string, caller: Caller): Promise<Response> {
  const [method, pattern] = route.split(" ") as [string, string];
  const path = pattern.replace(/:file\b/, "no-such-asset.css").replace(/:(\w+)/g, "no-such-$1");
  const headers = new Headers();
  const token = tokens[caller];
  if (token) headers.set("authorization", `Bearer ${token}`);
  let body: string | undefined;
  if (method !== "GET" && method !== "DELETE") {
    const api = path.startsWith("/api/");
    headers.set("content-type", api ? "application/json" : "application/x-www-form-urlencoded");
    body = api ? "{}" : "";
  }
  // Long-polls and streams answer at once for an unknown id; `timeout=0` keeps a wait short regardless.
  const query = path.endsWith("/wait") ? "?timeout=0" : path === "/events" ? "?topics=dashboard" : "";
  return server.request(`${path}${query}`, { method, headers, body, redirect: "manual" });
}

describe("authorization matrix", () => {
  test("every mounted route has a line in the table, and every line a route", () => {
    const missing = mounted.filter((r) => !(r in EXPECTED));
    const stale = Object.keys(EXPECTED).filter((r) => !mounted.includes(r));
    expect({ missing, stale }).toEqual({ missing: [], stale: [] });
  });

  test("each route × anonymous, viewer, operator, admin and a worker key", async () => {
    const wrong: string[] = [];
    let checked = 0;
    for (const route of mounted) {
      const rule = EXPECTED[route];
      if (!rule) continue; // reported by the test above
      for (const caller of CALLERS) {
        const res = await requestFor(route, caller);
        const ok = allowed(rule, caller);
        const status = res.status;
        const location = res.headers.get("location") ?? "";
        const text = rule === "public" ? await res.text() : (await res.body?.cancel(), "");
        checked++;
        const path = route.split(" ")[1]!;
        const page = !path.startsWith("/api/") && path !== "/metrics";
        // The gate sends signed-out browsers to /login with a 302 (a 303 to /login is a sign-out answering).
        const toLogin = status === 302 && location.startsWith("/login");
        let right: boolean;
        // A public route may refuse on its own terms (logout with nothing to end is a 401), never for want of a sign-in.
        if (rule === "public") right = !text.includes("Sign in first") && !toLogin;
        else if (ok) right = status !== 401 && status !== 403 && !toLogin;
        else if (caller === "anonymous") right = page && route.startsWith("GET ") ? toLogin : status === 401;
        else right = status === 403;
        if (!right) wrong.push(`${route} as ${caller}: ${status}${location ? ` → ${location}` : ""} (rule: ${rule})`);
      }
    }
    expect(wrong).toEqual([]);
    expect(checked).toBe(mounted.length * CALLERS.length);
  }, 60_000);
});
