// CORS on a real server: off by default; with --cors-origins, only a listed origin may call /api/v1 from a
// browser — with a Bearer token, never the session cookie.
import { afterEach, describe, expect, test } from "bun:test";
import { errorOf } from "../../test/auth.ts";
import { cleanup, json, startTestApp } from "../../test/helpers.ts";

afterEach(cleanup);

const LISTED = "https://app.example";
const OTHER = "https://evil.example";

/** What a browser sends before a cross-origin POST with a JSON body and a token. */
const preflight = (origin: string, method = "POST"): RequestInit => ({
  method: "OPTIONS",
  headers: { origin, "access-control-request-method": method, "access-control-request-headers": "authorization, content-type" },
});

const corsHeadersOf = (res: Response) => [...res.headers.keys()].filter((k) => k.startsWith("access-control-"));

describe("CORS", () => {
  test("off by default: no Access-Control-* header on any answer, and a preflight is not granted", async () => {
    const server = await startTestApp({ workers: 0 });
    const get = await server.api("/tasks", { headers: { origin: LISTED } });
    expect(get.status).toBe(200);
    expect(corsHeadersOf(get)).toEqual([]);
    const pre = await server.request(`/api/v1/tasks`, preflight(LISTED));
    expect(pre.ok).toBe(false);
    expect(corsHeadersOf(pre)).toEqual([]);
  });

  test("a listed origin: its preflight is granted and its Bearer calls are readable, without credentials", async () => {
    const server = await startTestApp({ workers: 0, corsOrigins: [LISTED, "http://localhost:5173"] });
    const pre = await server.request(`/api/v1/tasks`, preflight(LISTED));
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe(LISTED);
    expect(pre.headers.get("access-control-allow-methods")).toBe("GET,POST,PUT,PATCH,DELETE");
    expect(pre.headers.get("access-control-allow-headers")).toBe("Authorization,Content-Type,Last-Event-ID");
    expect(pre.headers.get("access-control-max-age")).toBe("600");
    expect(pre.headers.get("access-control-allow-credentials")).toBeNull();
    expect(pre.headers.get("vary")).toContain("Origin");

    // The CSRF guard lets a Bearer write from another origin through: the token is the credential.
    const created = await server.api("/tasks", { ...json({ title: "from the app", task_type: "hello", params: { name: "x" } }), headers: { origin: LISTED } });
    expect(created.status).toBe(201);
    expect(created.headers.get("access-control-allow-origin")).toBe(LISTED);
    expect(created.headers.get("access-control-allow-credentials")).toBeNull();
    expect(created.headers.get("access-control-expose-headers")).toBe("Location,Retry-After,WWW-Authenticate,X-Request-Id");
    expect(created.headers.get("vary")).toContain("Origin");

    // Errors are readable too, so the app can show why (here: no token).
    const refused = await server.request(`/api/v1/tasks`, { headers: { origin: LISTED } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBe(LISTED);

    // The second listed origin is echoed as itself, never as a list or `*`.
    const other = await server.api("/tasks", { headers: { origin: "http://localhost:5173" } });
    expect(other.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
  });

  test("an origin not on the list gets nothing: no allow headers on its preflight or its calls", async () => {
    const server = await startTestApp({ workers: 0, corsOrigins: [LISTED] });
    for (const origin of [OTHER, `${LISTED}:444`, "http://app.example", "null"]) {
      const pre = await server.request(`/api/v1/tasks`, preflight(origin));
      expect([origin, pre.ok, corsHeadersOf(pre)]).toEqual([origin, false, []]);
      const get = await server.api("/tasks", { headers: { origin } });
      expect([origin, get.status, corsHeadersOf(get)]).toEqual([origin, 200, []]);
      // The answer still varies by Origin, so no cache hands it to a listed origin.
      expect(get.headers.get("vary")).toContain("Origin");
    }
  });

  test("only the API: pages answer a listed origin without CORS headers", async () => {
    const server = await startTestApp({ workers: 0, corsOrigins: [LISTED] });
    const page = await server.get("/", { headers: { origin: LISTED } });
    expect(page.status).toBe(200);
    expect(corsHeadersOf(page)).toEqual([]);
    const pre = await server.request(`/tasks`, preflight(LISTED));
    expect(corsHeadersOf(pre)).toEqual([]);
  });

  test("the session cookie does not make a cross-origin write from a listed origin: Bearer only", async () => {
    const server = await startTestApp({ workers: 0, corsOrigins: [LISTED] });
    // A browser page on the listed origin, with a session cookie (credentials: "include"), no token.
    const res = await server.request(`/api/v1/tasks`, {
      ...json({ title: "x", task_type: "hello", params: {} }),
      headers: { origin: LISTED, "sec-fetch-site": "cross-site", "content-type": "application/json", cookie: "agentvine_session=whatever" },
    });
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    expect(await errorOf(res)).toMatchObject({ status: 403, message: expect.stringContaining("Cross-site request refused") });
    expect(((await (await server.api("/tasks")).json()) as { total: number }).total).toBe(0); // nothing was created
  });
});
