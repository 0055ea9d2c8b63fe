// The enforcement wiring of createApp: public paths stay open, everything else needs credentials, and
// the per-address and per-account limits answer 429. (Every route × role: test/authorization.test.ts.)
import { afterEach, describe, expect, test } from "bun:test";
import { bearer, errorOf, expectOk, registerAdmin } from "../../../test/auth.ts";
import { cleanup, json, startTestApp } from "../../../test/helpers.ts";
import { createApp } from "../../app.ts";
import { SYSTEM_ACTOR } from "../audit/service.ts";
import { createApiKey } from "./api-keys.ts";

afterEach(cleanup);

describe("enforcement wiring", () => {
  test("public paths open, the rest 401 without credentials and 200 with an access token or an API key", async () => {
    const server = await startTestApp({ admin: false, workers: 0 });
    const admin = await registerAdmin(server);
    const key = await expectOk(await server.api("/api-keys", bearer(admin.access_token, json({ name: "k", scope: "api" }))), 201);
    const app = createApp(server.services);
    const get = (path: string, init: RequestInit = {}) => app.request(`http://localhost/api/v1${path}`, init);

    expect((await get("/health")).status).toBe(200);
    expect((await get("/openapi.json")).status).toBe(200);
    expect((await app.request("http://localhost/api/v1/auth/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "admin", password: "wrong one, twelve" }) })).status).toBe(401);
    for (const path of ["/tasks", "/plans", "/executions", "/queue/status", "/about"]) {
      expect({ path, ...(await errorOf(await get(path))) }).toMatchObject({ path, status: 401, code: "unauthorized" });
      expect({ path, status: (await get(path, bearer(admin.access_token))).status }).toEqual({ path, status: 200 });
      expect({ path, status: (await get(path, bearer(key.key))).status }).toEqual({ path, status: 200 });
    }
    // No route: the JSON 404, whoever asks (the route list is public in the OpenAPI document anyway).
    expect(await errorOf(await get("/healthz"))).toMatchObject({ status: 404, code: "not_found" });
  });

  test("per address and per account: 429 with Retry-After; the account limit follows a key across addresses", async () => {
    let now = Date.parse("2030-01-01T00:00:00Z");
    const server = await startTestApp({ admin: false, workers: 0, clock: () => now, rateLimit: 3, trustProxy: true });
    const admin = await registerAdmin(server);
    const app = createApp(server.services);
    const from = (ip: string, token?: string) =>
      app.request("http://localhost/api/v1/tasks", { headers: { "x-forwarded-for": `203.0.113.9, ${ip}`, ...(token ? { authorization: `Bearer ${token}` } : {}) } });

    // One address: 3 requests, then 429 (even anonymous ones count).
    for (let i = 0; i < 3; i++) expect((await from("198.51.100.1")).status).toBe(401);
    expect(await errorOf(await from("198.51.100.1"))).toMatchObject({ status: 429, code: "rate_limited", retryAfter: "20", message: expect.stringContaining("this address") });
    // One account from many addresses: its own bucket empties.
    for (let i = 0; i < 3; i++) expect((await from(`198.51.100.${10 + i}`, admin.access_token)).status).toBe(200);
    expect(await errorOf(await from("198.51.100.20", admin.access_token))).toMatchObject({ status: 429, message: expect.stringContaining("this account") });
    // Time refills it.
    now += 20_000;
    expect((await from("198.51.100.30", admin.access_token)).status).toBe(200);

    // A worker key is not limited (a fleet shares one and makes several requests per task), even from
    // the address whose anonymous allowance is spent.
    const adminId = server.services.auth.db.sqlite.query<{ id: string }, []>("SELECT id FROM users WHERE role = 'admin'").get()!.id;
    const worker = createApiKey(server.services.auth, { name: "fleet", scope: "worker" }, { userId: adminId, actor: SYSTEM_ACTOR });
    for (let i = 0; i < 10; i++) {
      const res = await app.request("http://localhost/api/v1/health", { headers: { "x-forwarded-for": "203.0.113.9, 198.51.100.1", authorization: `Bearer ${worker.key}` } });
      expect(res.status).toBe(200);
    }
  });
});
