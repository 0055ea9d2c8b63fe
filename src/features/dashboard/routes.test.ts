// The dashboard, the layout it shares with every page, the static assets and the HTML error pages.
import { afterEach, describe, expect, test } from "bun:test";
import { createApp } from "../../app.ts";
import type { TaskJson } from "../../engine/task-record.ts";
import { ASSETS } from "../../http/assets.ts";
import { cleanup, json, startTestServer, startTestApp } from "../../../test/helpers.ts";
import { HOSTILE, HOSTILE_ESCAPED, hxTrigger, isFullPage, uiClient } from "../../../test/html.ts";
import { reserve, settle } from "../controller/budgets.ts";
import { DashboardStats } from "./stats.ts";

afterEach(cleanup);

type Server = Awaited<ReturnType<typeof startTestServer>>;

async function create(server: Server, body: Record<string, unknown>): Promise<TaskJson> {
  const res = await server.api("/tasks", json(body));
  if (res.status !== 201) throw new Error(`POST /tasks answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as TaskJson;
}
const waitDone = async (server: Server, id: string) => (await server.api(`/tasks/${id}/wait?timeout=20`)).json();

describe("GET /", () => {
  test("on a fresh server: zero counts, empty activity, quick actions, the live stream", async () => {
    const server = await startTestServer();
    const res = await uiClient(server)("/");
    expect(res.status).toBe(200);
    expect(isFullPage(res.text)).toBe(true);
    expect(res.text).toContain("<title>Dashboard · AgentVine</title>");
    for (const s of ["pending", "queued", "running", "succeeded", "failed"]) expect(res.text).toContain(`data-count="${s}"`);
    expect(res.text).toContain("Nothing has happened yet");
    expect(res.text).toContain('data-dialog-open="new-task"');
    expect(res.text).toContain('href="/plans"');
    expect(res.text).toMatch(/sse-connect="\/events\?topics=dashboard&amp;v=\d+"/);
    expect(res.text).toContain('hx-trigger="sse:dashboard, every 60s"');
    // Three queues, each with its SVG sparkline of the last hour.
    expect(res.text.match(/<svg viewBox="0 0 240 48"[^>]*role="img"/g)?.length).toBe(4);
  });

  test("shows the data dir's size by part and the free space of its disk", async () => {
    const server = await startTestApp();
    const figures = await server.services.dataDirUsage.measure();
    expect(figures.bytes.database).toBeGreaterThan(0);
    const res = await uiClient(server)("/");
    expect(res.text).toContain("data-storage");
    expect(res.text).toMatch(/Data dir <strong[^>]*>\d+(\.\d)? (KB|MB)<\/strong> \(database \d+(\.\d)? (KB|MB)/);
    expect(res.text).toContain("free on its disk");
  });

  test("says what models cost today against the daily budget; the figure leads admins to the cost view", async () => {
    const server = await startTestApp({ budgetDailyUsd: 0.5 });
    const ui = uiClient(server);
    expect((await ui("/")).text).toMatch(/Models today <strong[^>]*>\$0\.00<\/strong> · 0 tokens · daily budget \$0\.50/);
    const id = reserve(server.db, {}, { taskId: null, runId: null, purpose: "question", model: "m", usd: 1, tokens: 5000 }, Date.now());
    settle(server.db, id, { inputTokens: 1200, outputTokens: 300, costUsd: 0.6 }, Date.now());
    const res = await ui("/");
    expect(res.text).toContain('href="/settings/models#costs"');
    expect(res.text).toMatch(/Models today <strong class="font-semibold text-err"[^>]*>\$0\.60<\/strong> · 1,500 tokens · daily budget \$0\.50 reached: calls go to a person/);
  });

  test("counts tasks by status, shows queue depth, throughput and the recent activity (escaped)", async () => {
    const server = await startTestServer();
    const ui = uiClient(server); // its figures come from the events it sees from now on
    const ok = await create(server, { title: HOSTILE, task_type: "hello", params: { name: "x" } });
    const bad = await create(server, { title: "fails", task_type: "shell", params: { command: "false" } });
    await create(server, { title: "parked", task_type: "hello", params: { name: "p" }, requires: ["gpu"], priority: "high" });
    await waitDone(server, ok.id);
    await waitDone(server, bad.id);
    const res = await ui("/");
    const count = (s: string) => new RegExp(`data-count="${s}"[^]*?tabular-nums[^"]*">(\\d+)<`).exec(res.text)?.[1];
    expect(count("succeeded")).toBe("1");
    expect(count("failed")).toBe("1");
    expect(count("queued")).toBe("1");
    expect(res.text).toMatch(/data-depth="high_priority">1</);
    expect(res.text).toMatch(/data-metric="failure-rate">50 %</);
    expect(res.text).toContain(HOSTILE_ESCAPED);
    expect(res.text).not.toContain(HOSTILE);
    expect(res.text).toContain(`href="/tasks/${ok.id}"`);
  });

  test("the live region alone for htmx", async () => {
    const server = await startTestServer();
    const res = await uiClient(server)("/", { htmx: "dash-live" });
    expect(res.status).toBe(200);
    expect(res.text.startsWith('<div id="dash-live"')).toBe(true);
    expect(res.text).not.toContain("<html");
  });

  test("pages are gzipped for a browser that accepts it", async () => {
    const server = await startTestApp();
    const res = await server.get("/", { headers: { "accept-encoding": "gzip" }, decompress: false } as RequestInit);
    expect(res.headers.get("content-encoding")).toBe("gzip");
    expect(new TextDecoder().decode(Bun.gunzipSync(new Uint8Array(await res.arrayBuffer())))).toContain("<title>Dashboard");
  });
});

describe("the layout", () => {
  test("links same-origin, content-hashed assets only, with no inline script or event handler", async () => {
    const server = await startTestApp();
    const { text } = await uiClient(server)("/");
    for (const a of [ASSETS.css, ASSETS.htmx, ASSETS.sse, ASSETS.app]) expect(text).toContain(a.url);
    expect(text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // every script has a src
    expect(text).not.toMatch(/\son[a-z]+=/i);
    expect(text).not.toContain("https://");
  });

  test("renders the theme from its cookie, following the system without one", async () => {
    const server = await startTestApp();
    const ui = uiClient(server);
    // The <html> tag also carries the signed-in user's role: look at its theme alone.
    const htmlTag = async (cookie?: string) => /^<!doctype html><html [^>]*>/.exec((await ui("/", cookie ? { headers: { cookie } } : {})).text)![0];
    const system = await htmlTag();
    expect(system).toContain('lang="en"');
    expect(system).not.toContain("data-theme");
    expect(await htmlTag("theme=dark")).toContain(' data-theme="dark"');
    expect(await htmlTag("theme=<x>")).not.toContain("data-theme");
  });
});

// A browser with no session cookie and no token: plain fetch, nothing from the test admin.
describe("signed out", () => {
  test("a page sends the browser to sign in and back; htmx gets a 401 that redirects the whole window", async () => {
    const server = await startTestServer();
    const task = await create(server, { title: "private", task_type: "hello", params: { name: "x" }, requires: ["gpu"] });
    for (const path of ["/tasks?status=queued&q=private", `/tasks/${task.id}`, "/plans"]) {
      const res = await fetch(`${server.url}${path}`, { redirect: "manual" });
      expect(res.status).toBe(302);
      expect(res.headers.get("location")).toBe(`/login?next=${encodeURIComponent(path)}`);
      expect(await res.text()).not.toContain("private");
    }
    const home = await fetch(`${server.url}/`, { redirect: "manual" });
    expect(home.status).toBe(302);
    expect(home.headers.get("location")).toBe("/login");
    await home.body?.cancel();

    // htmx follows no redirect of a fragment request: HX-Redirect sends the page it was on to /login.
    const frag = await fetch(`${server.url}/tasks?status=queued`, {
      headers: { "hx-request": "true", "hx-target": "task-list", "hx-current-url": `${server.url}/tasks?q=private` },
      redirect: "manual",
    });
    expect(frag.status).toBe(401);
    expect(frag.headers.get("hx-redirect")).toBe(`/login?next=${encodeURIComponent("/tasks?q=private")}`);
    expect(await frag.text()).not.toContain("private");
  });

  test("a POST to /tasks without a session or a token is refused and creates nothing", async () => {
    const server = await startTestServer({ workers: 0 });
    const tasks = () => server.db.sqlite.query<{ n: number }, []>("SELECT count(*) AS n FROM tasks").get()!.n;
    // What a signed-out browser sends from our own page: a same-origin form post.
    const browser = { origin: server.url, "sec-fetch-site": "same-origin", "content-type": "application/x-www-form-urlencoded" };
    const body = new URLSearchParams({ title: "sneaky", task_type: "hello", "params.name": "x" }).toString();
    const form = await fetch(`${server.url}/tasks`, { method: "POST", headers: browser, body, redirect: "manual" });
    expect(form.status).toBe(401);
    await form.body?.cancel();
    const htmx = await fetch(`${server.url}/tasks`, { method: "POST", headers: { ...browser, "hx-request": "true", "hx-current-url": `${server.url}/tasks/new` }, body, redirect: "manual" });
    expect(htmx.status).toBe(401);
    expect(htmx.headers.get("hx-redirect")).toBe(`/login?next=${encodeURIComponent("/tasks/new")}`);
    await htmx.body?.cancel();
    // The JSON API the same: a script with no token.
    const api = await fetch(`${server.url}/api/v1/tasks`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ title: "sneaky", task_type: "hello", params: { name: "x" } }) });
    expect(api.status).toBe(401);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    expect(tasks()).toBe(0);
    // The same form with the admin's token goes through: the refusals above were about the credentials.
    const signedIn = await server.get("/tasks", { method: "POST", headers: browser, body, redirect: "manual" });
    expect(signedIn.status).toBe(303);
    expect(tasks()).toBe(1);
  });
});

describe("static assets", () => {
  test("/favicon.ico (browsers ask for it on their own): an ICO, to anyone, cached for a day", async () => {
    const server = await startTestApp();
    const res = await server.request("/favicon.ico");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/x-icon");
    expect(res.headers.get("cache-control")).toBe("public, max-age=86400");
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([...bytes.subarray(0, 4)]).toEqual([0, 0, 1, 0]); // ICONDIR: reserved 0, type 1 (icon)
    expect(bytes[4]).toBe(3); // 16, 32 and 48 px
  });

  // Anonymous on purpose: the sign-in page needs its styles and scripts before anyone is signed in.
  test("served at their hashed URL, immutable, gzipped when accepted, 304 on a matching ETag", async () => {
    const server = await startTestServer();
    for (const a of Object.values(ASSETS)) expect(a.url).toMatch(/^\/assets\/[a-z-]+\.[0-9a-f]{12}\.(js|css|svg)$/);
    const css = await fetch(`${server.url}${ASSETS.css.url}`);
    expect(css.status).toBe(200);
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect(css.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(await css.text()).toContain("--accent");
    const js = await fetch(`${server.url}${ASSETS.htmx.url}`, { headers: { "accept-encoding": "gzip" }, decompress: false } as RequestInit);
    expect(js.headers.get("content-encoding")).toBe("gzip");
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    const again = await fetch(`${server.url}${ASSETS.app.url}`, { headers: { "if-none-match": ASSETS.app.etag } });
    expect(again.status).toBe(304);
    expect((await fetch(`${server.url}/assets/app.000000000000.css`)).status).toBe(404);
    expect((await fetch(`${server.url}/favicon.svg`)).headers.get("content-type")).toBe("image/svg+xml");
  });
});

describe("HTML errors", () => {
  test("an unknown page is the 404 page; for htmx a fragment and an error toast; the API keeps JSON", async () => {
    const server = await startTestApp();
    const ui = uiClient(server);
    const page = await ui(`/no/such/${encodeURIComponent(HOSTILE)}`);
    expect(page.status).toBe(404);
    expect(isFullPage(page.text)).toBe(true);
    expect(page.text).toContain('data-page="not-found"');
    expect(page.text).not.toContain(HOSTILE);
    const frag = await ui("/nope", { htmx: true });
    expect(frag.status).toBe(404);
    expect(frag.text).not.toContain("<html");
    expect(hxTrigger(frag).toast.level).toBe("error");
    const api = await ui("/api/v1/nope");
    expect(api.status).toBe(404);
    expect(JSON.parse(api.text).error.code).toBe("not_found");
  });

  test("an unexpected failure is the error page with a request id, not the exception", async () => {
    const server = await startTestApp();
    const app = createApp(server.services);
    app.get("/boom", () => {
      throw new Error("secret internals");
    });
    const admin = { authorization: `Bearer ${server.token}` };
    const res = await app.request("/boom", { headers: admin });
    expect(res.status).toBe(500);
    const html = await res.text();
    expect(html).toContain('data-page="error"');
    expect(html).toContain(res.headers.get("x-request-id")!);
    expect(html).not.toContain("secret internals");
    const frag = await app.request("/boom", { headers: { ...admin, "hx-request": "true", "hx-target": "task-list" } });
    expect(frag.status).toBe(500);
    const body = await frag.text();
    expect(body).toContain('id="task-list"'); // the error state takes the list's place, with a retry
    expect(body).toContain('hx-get="/boom"');
  });
});

describe("DashboardStats", () => {
  test("counts finished and failed tasks per minute from the bus, and samples queue depth", async () => {
    const server = await startTestApp({ workers: 0 });
    let now = Date.UTC(2030, 0, 1, 12, 0, 30);
    const stats = new DashboardStats(server.services.deps, () => now);
    const bus = server.services.deps.bus;
    const changed = (status: "succeeded" | "failed" | "timed_out") => bus.emit("task:changed", { taskId: crypto.randomUUID(), status, taskType: "hello", parentTaskId: null, at: now });
    changed("succeeded");
    changed("failed");
    now += 60_000;
    changed("succeeded");
    changed("timed_out");
    await create(server, { title: "queued", task_type: "hello", params: { name: "q" } });
    const snap = stats.snapshot();
    expect(snap.series).toHaveLength(60);
    expect(snap.series.at(-2)).toMatchObject({ succeeded: 1, failed: 1 });
    expect(snap.series.at(-1)).toMatchObject({ succeeded: 1, failed: 1 });
    expect(snap.finishedLastHour).toBe(4);
    expect(snap.failureRate).toBe(0.5);
    expect(snap.queues.default.queued).toBe(1);
    expect(snap.series.at(-1)!.depth.default).toBe(1);
    expect(stats.snapshot()).toBe(snap); // cached until the next change
    changed("succeeded");
    expect(stats.snapshot()).not.toBe(snap);
    stats.close();
  });
});
