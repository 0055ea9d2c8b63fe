// Script payloads in a real browser: a task, its log and a plan full of `<script>`, `onerror=` and
// `javascript:` text are shown as text on every page — no dialog opens, no injected handler runs, no
// console error, no request for an injected `<img src>`.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cleanup, json, startTestServer } from "../helpers.ts";
import { openPage, useBrowser } from "./browser.ts";

const { browser } = useBrowser();
let server: Awaited<ReturnType<typeof startTestServer>>;

const XSS = [
  "<script>alert(1)</script>",
  `"><img src=x onerror="alert(2);window.__xss=2">`,
  "<svg/onload=alert(3)>",
  "'-alert(4)-'",
  "{{7*7}}",
  "</textarea><script>alert(5)</script>",
].join(" ");
const JS_URL = "javascript:alert(6)";

let taskId: string;
let shellId: string;
let planId: string;
let runId: string;
let conversationId: string;
let documentId: string;

beforeAll(async () => {
  server = await startTestServer({ workers: 2 });
  const post = async (path: string, body: unknown) => {
    const res = await server.api(path, json(body));
    const text = await res.text();
    if (res.status !== 201) throw new Error(`${path}: ${res.status} ${text}`);
    return (JSON.parse(text) as { id: string }).id;
  };
  shellId = await post("/tasks", { title: XSS, task_type: "shell", params: { command: "printf", args: ["%s\\n", XSS, JS_URL] }, description: XSS });
  await server.api(`/tasks/${shellId}/wait?timeout=30`);
  taskId = await post("/tasks", {
    title: XSS,
    description: XSS,
    task_type: "hello",
    params: { name: XSS },
    repository_url: JS_URL,
    branch_name: XSS,
    assigned_to: XSS,
    metadata: { [XSS]: XSS, url: JS_URL },
    context: { html: XSS },
    depends_on: [shellId],
    parent_task_id: shellId,
  });
  planId = await post("/plans", {
    name: `plan <script>alert(7)</script> <img src=x onerror=alert(8)>`,
    description: XSS,
    steps: [{ name: "a", task_type: "hello", params: { name: XSS } }],
  });
  runId = await post(`/plans/${planId}/run`, { inputs: { [XSS]: XSS } });
  await server.api(`/tasks/${runId}/wait?timeout=30`);
  // Chat and context documents: markdown with every way in (raw HTML, script links, images, autolinks).
  const MARKDOWN = `${XSS}\n\n[click](${JS_URL}) [c2](JaVaScRiPt:alert(9)) <${JS_URL}> ![i](x" onerror="alert(10)) ![j](${JS_URL})\n\n<a href="${JS_URL}">a</a> <iframe src=//evil.example></iframe>\n\n\`\`\`html\n<script>alert(11)</script>\n\`\`\``;
  conversationId = await post("/chat/conversations", { title: XSS });
  await post(`/chat/conversations/${conversationId}/messages`, { message: MARKDOWN });
  await post(`/chat/conversations/${taskId}/messages`, { message: MARKDOWN });
  documentId = await post("/context/documents", { title: XSS, document_type: "note", content: MARKDOWN, tags: ["<script>alert(12)</script>"], repository_url: JS_URL });
});
afterAll(cleanup);

describe("script payloads in the browser", () => {
  const pages: Array<[string, () => string]> = [
    ["dashboard", () => "/"],
    ["tasks list", () => "/tasks"],
    ["tasks list searched for the payload", () => `/tasks?q=${encodeURIComponent("<script>")}`],
    ["task detail", () => `/tasks/${taskId}`],
    ["shell task detail with its log", () => `/tasks/${shellId}`],
    ["plans list", () => "/plans"],
    ["plan detail", () => `/plans/${planId}`],
    ["plan editor", () => `/plans/${planId}/edit`],
    ["run view", () => `/plans/${planId}/runs/${runId}`],
    ["chat: a general conversation", () => `/chat/${conversationId}`],
    ["chat: the task's conversation", () => `/chat/${taskId}`],
    ["chat list searched for the payload", () => `/chat?q=${encodeURIComponent("<script>")}`],
    ["context list", () => "/context"],
    ["context search for the payload", () => `/context?q=${encodeURIComponent("script alert")}`],
    ["context document", () => `/context/${documentId}`],
    ["context document editor", () => `/context/${documentId}/edit`],
    ["context history", () => `/context/${documentId}/history`],
  ];

  test.each(pages)("%s: shown as text, nothing runs", async (_name, path) => {
    // Start on a page with no user text, so the dialog listener is in place before the payloads load. An SVG
    // document has no <link rel=icon>, so Chromium asks for /favicon.ico, which is not there (404): expected.
    const opened = await openPage(browser(), server.url, "/favicon.svg", { allow: [/favicon\.ico/] });
    const { page } = opened;
    const dialogs: string[] = [];
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    try {
      await opened.goto(path());
      const state = await page.evaluate(() => ({
        xss: (window as unknown as { __xss?: number }).__xss ?? null,
        injected: document.querySelectorAll('img[src="x"], svg[onload], script:not([src])').length,
        jsLinks: [...document.querySelectorAll("a[href], [src], form[action]")].filter((el) =>
          /^\s*javascript:/i.test(el.getAttribute("href") ?? el.getAttribute("src") ?? el.getAttribute("action") ?? ""),
        ).length,
        text: document.body.innerText,
      }));
      expect(dialogs).toEqual([]);
      expect(state.xss).toBeNull();
      expect(state.injected).toBe(0);
      expect(state.jsLinks).toBe(0);
      // The payload is there, as text (the page did render the user's input).
      expect(state.text).toMatch(/<script>alert\(\d\)<\/script>|<img src=x onerror/);
      opened.expectNoProblems();
    } finally {
      await opened.close();
    }
  });
});
