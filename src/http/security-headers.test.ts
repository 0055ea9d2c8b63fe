// Security headers on every kind of response a real server gives: pages, fragments, JSON, assets, errors,
// redirects, event streams; and markup the strict CSP does not break (no inline script or style).
import { afterEach, describe, expect, test } from "bun:test";
import { cleanup, json, startTestServer, type TestServer, startTestApp } from "../../test/helpers.ts";
import { createPlan, helloStep } from "../../test/plans.ts";
import { openSse } from "../../test/sse.ts";
import { ASSETS } from "./assets.ts";

afterEach(cleanup);

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

function expectSecurityHeaders(res: Response, what: string) {
  const h = (name: string) => [what, name, res.headers.get(name)];
  expect(h("content-security-policy")).toEqual([what, "content-security-policy", CSP]);
  expect(h("x-content-type-options")).toEqual([what, "x-content-type-options", "nosniff"]);
  expect(h("referrer-policy")).toEqual([what, "referrer-policy", "same-origin"]);
  expect(h("x-frame-options")).toEqual([what, "x-frame-options", "DENY"]);
  expect(h("cross-origin-opener-policy")).toEqual([what, "cross-origin-opener-policy", "same-origin"]);
  expect(h("permissions-policy")).toEqual([what, "permissions-policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"]);
  // Plain HTTP: pinning the host to HTTPS would lock browsers out of this server.
  expect(h("strict-transport-security")).toEqual([what, "strict-transport-security", null]);
}

async function queuedTask(server: TestServer): Promise<string> {
  const res = await server.api("/tasks", json({ title: "t", task_type: "hello", params: { name: "x" } }));
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

describe("security headers", () => {
  test("on pages, fragments, JSON, assets, 304s, redirects and every kind of error", async () => {
    const server = await startTestServer({ workers: 0 });
    const responses: Array<[string, Response, number]> = [
      ["dashboard page", await server.get("/"), 200],
      ["htmx fragment", await server.get("/tasks", { headers: { "hx-request": "true" } }), 200],
      ["API JSON", await server.api("/tasks"), 200],
      ["gzipped asset", await server.get(ASSETS.css.url, { headers: { "accept-encoding": "gzip" } }), 200],
      ["favicon", await server.get("/favicon.svg"), 200],
      ["asset 304", await server.get(ASSETS.htmx.url, { headers: { "if-none-match": ASSETS.htmx.etag } }), 304],
      ["unknown page", await server.get("/no-such-page"), 404],
      ["unknown API route", await server.api("/no-such-thing"), 404],
      ["API validation error", await server.api("/tasks", json({ title: "" })), 400],
      ["signed-out page redirect", await fetch(`${server.url}/tasks`, { redirect: "manual" }), 302],
      ["signed-out API call", await fetch(`${server.url}/api/v1/tasks`), 401],
      ["cross-site form post", await fetch(`${server.url}/tasks`, { method: "POST", headers: { origin: "https://evil.example" } }), 403],
      ["metrics", await server.get("/metrics"), 200],
    ];
    for (const [what, res, status] of responses) {
      expect([what, res.status]).toEqual([what, status]);
      expectSecurityHeaders(res, what);
      await res.body?.cancel();
    }
  });

  test("on the UI's event stream and the API's task stream, without disturbing the stream", async () => {
    const server = await startTestServer({ workers: 0 });
    const id = await queuedTask(server);
    const ui = await openSse(`${server.url}/events?topics=dashboard`, { token: server.token });
    expectSecurityHeaders(ui.res, "UI event stream");
    expect(ui.res.headers.get("content-type")).toStartWith("text/event-stream");
    await ui.sse.close();
    const api = await openSse(`${server.url}/api/v1/tasks/${id}/events`, { token: server.token });
    expectSecurityHeaders(api.res, "task event stream");
    expect((await api.sse.next())?.event).toBe("task"); // the stream still delivers
    await api.sse.close();
  });

  test("HSTS when a trusted proxy says the client came over HTTPS, not when an untrusted client claims it", async () => {
    const trusted = await startTestApp({ workers: 0, trustProxy: true });
    const viaProxy = await trusted.get("/", { headers: { "x-forwarded-proto": "https" } });
    expect(viaProxy.headers.get("strict-transport-security")).toBe("max-age=31536000");
    expect((await trusted.get("/", { headers: { "x-forwarded-proto": "http" } })).headers.get("strict-transport-security")).toBeNull();
    const direct = await startTestApp({ workers: 0 });
    expect((await direct.get("/", { headers: { "x-forwarded-proto": "https" } })).headers.get("strict-transport-security")).toBeNull();
  });

  test("pages carry no inline script, inline style or event-handler attribute the CSP would block", async () => {
    const server = await startTestApp({ workers: 0 });
    const plan = await createPlan(server, { name: "release", steps: [helloStep("build"), helloStep("ship", { depends_on: ["build"] })] });
    const id = await queuedTask(server);
    for (const path of ["/", "/tasks", `/tasks/${id}`, "/plans", `/plans/${plan.id}`, "/plans/new", "/no-such-page"]) {
      const html = await (await server.get(path)).text();
      expect([path, html]).toEqual([path, expect.stringContaining("<html")]);
      expect([path, html.match(/<script(?![^>]*\ssrc=)[^>]*>/g)]).toEqual([path, null]);
      expect([path, html.match(/<style[\s>]/g)]).toEqual([path, null]);
      expect([path, html.match(/\sstyle="[^"]*"/g)]).toEqual([path, null]);
      expect([path, html.match(/\son[a-z]+="[^"]*"/g)]).toEqual([path, null]);
    }
    // The steps graph used to size itself with a style attribute; its classes do it now.
    expect(await (await server.get(`/plans/${plan.id}`)).text()).toMatch(/<svg [^>]*class="h-auto max-w-full"[^>]*data-dag=""/);
  });
});
