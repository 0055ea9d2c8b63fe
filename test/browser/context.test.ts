// The Context page in a real browser: searching shows ranked results with the words marked; a document is
// created in the dialog; edited with a live preview (and the problems a save would have shown inline);
// its history lists both versions, an old one is viewed and restored; it is deleted after a confirmation.
// No console errors anywhere.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cleanup, json, startTestServer } from "../helpers.ts";
import { click, openPage, useBrowser, waitForSettled } from "./browser.ts";

const { browser } = useBrowser();
let server: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  server = await startTestServer({ workers: 0 });
  for (const [title, document_type, content] of [
    ["Idempotent payment retries", "design", "Retries use idempotency keys so a charge never happens twice."],
    ["Webhook spec", "spec", "Receivers must handle idempotency on their side."],
    ["Lunch", "note", "Noon, every day."],
  ] as const) {
    const res = await server.api("/context/documents", json({ title, document_type, content, tags: [document_type] }));
    if (res.status !== 201) throw new Error(await res.text());
  }
});
afterAll(cleanup);

describe("the Context page", () => {
  test("search as you type: ranked results with the words marked; filters; create in the dialog", async () => {
    // The empty title is answered 422 with the form and its inline error: expected, not a fault.
    const opened = await openPage(browser(), server.url, "/context", { allow: [/HTTP 422: POST .*\/context$/, /status of 422 .*\/context:/] });
    const { page } = opened;
    try {
      await page.waitForSelector("#context-list [data-document]");
      await opened.waitForLiveStream();
      await page.type("#context-q", "idempotency");
      await page.waitForFunction(() => document.querySelectorAll("#context-list [data-document]").length === 2);
      await waitForSettled(page, "#context-list");
      const titles = await page.$$eval("#context-list [data-document-title]", (els) => els.map((e) => e.textContent));
      expect(titles).toEqual(["Idempotent payment retries", "Webhook spec"]); // a title match ranks first
      expect(await page.$$eval("#context-list [data-snippet] mark", (els) => els.map((e) => e.textContent?.toLowerCase()))).toContain("idempotency");
      expect(new URL(page.url()).searchParams.get("q")).toBe("idempotency");
      await page.select("select[name=document_type]", "spec");
      await page.waitForFunction(() => document.querySelectorAll("#context-list [data-document]").length === 1);

      // The create dialog: an empty title is refused inline; then created, and the page shows it.
      await page.goto(`${server.url}/context`);
      await click(page, "[data-dialog-open=new-document]");
      await page.waitForSelector("#new-document[open] #newdoc-title");
      await click(page, '#new-document button[type="submit"]');
      await page.waitForSelector("#new-document #newdoc-title-error");
      expect(await page.$eval("#new-document #newdoc-title-error", (el) => el.textContent)).toContain("title");
      await page.type("#newdoc-title", "Deploy runbook");
      await page.select("#newdoc-document_type", "runbook");
      await page.type("#newdoc-tags", "ops, deploy");
      await page.type("#newdoc-content", "# Deploy\n\nRun `make deploy`.");
      await page.waitForFunction(() => document.querySelector("#newdoc-preview h1")?.textContent === "Deploy");
      await Promise.all([page.waitForNavigation(), click(page, '#new-document button[type="submit"]')]);
      expect(await page.$eval("[data-document-body] h1", (el) => el.textContent)).toBe("Deploy");
      expect(await page.$eval("#toasts", (el) => el.textContent)).toContain("created");
      opened.expectNoProblems();
    } finally {
      await opened.close();
    }
  });

  test("edit with a live preview, history with both versions, view and restore the old one, delete after confirming", async () => {
    const res = await server.api("/context/documents", json({ title: "Cache policy", document_type: "decision", content: "We use **memcached**." }));
    const doc = (await res.json()) as { id: string };
    const opened = await openPage(browser(), server.url, `/context/${doc.id}/edit`);
    const { page } = opened;
    try {
      await page.waitForSelector("#doc-content");
      await page.$eval("#doc-content", (el) => ((el as HTMLTextAreaElement).value = ""));
      await page.type("#doc-content", "We use **redis** now.");
      await page.waitForFunction(() => document.querySelector("#doc-preview strong")?.textContent === "redis");
      // A problem shows in the preview before saving.
      await page.$eval("#doc-title", (el) => ((el as HTMLInputElement).value = ""));
      await page.type("#doc-content", " ");
      await page.waitForSelector("#doc-preview [data-preview-problems]");
      await page.type("#doc-title", "Cache policy");
      await Promise.all([page.waitForNavigation(), click(page, '[data-document-form] button[type="submit"]')]);
      expect(await page.$eval("[data-document-body]", (el) => el.textContent)).toContain("redis");
      expect(await page.$eval("#toasts", (el) => el.textContent)).toContain("version 2");

      await page.goto(`${server.url}/context/${doc.id}/history`);
      expect(await page.$$eval("[data-version]", (els) => els.map((e) => e.getAttribute("data-version")))).toEqual(["2", "1"]);
      await page.goto(`${server.url}/context/${doc.id}/versions/1`);
      expect(await page.$eval("[data-version-body] strong", (el) => el.textContent)).toBe("memcached");
      await click(page, "button[data-action=restore]");
      await page.waitForSelector("#confirm-dialog[open]");
      await Promise.all([page.waitForNavigation(), click(page, "#confirm-dialog [data-confirm-ok]")]);
      expect(new URL(page.url()).pathname).toBe(`/context/${doc.id}`);
      expect(await page.$eval("[data-document-body] strong", (el) => el.textContent)).toBe("memcached");
      expect(await page.$eval("main", (el) => el.textContent)).toContain("version 3");

      // Delete: "Keep it" keeps it; Confirm deletes it.
      await click(page, "button[data-action=delete]");
      await page.waitForSelector("#confirm-dialog[open]");
      await click(page, '#confirm-dialog button[value="cancel"]');
      expect((await server.api(`/context/documents/${doc.id}`)).status).toBe(200);
      await click(page, "button[data-action=delete]");
      await page.waitForSelector("#confirm-dialog[open]");
      await Promise.all([page.waitForNavigation(), click(page, "#confirm-dialog [data-confirm-ok]")]);
      expect(new URL(page.url()).pathname).toBe("/context");
      expect((await server.api(`/context/documents/${doc.id}`)).status).toBe(404);
      expect(await page.$eval("#toasts", (el) => el.textContent)).toContain("deleted");
      opened.expectNoProblems();
    } finally {
      await opened.close();
    }
  });
});
