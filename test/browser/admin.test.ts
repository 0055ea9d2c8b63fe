// The admin pages in a real browser: an API key is created in the dialog, shown once with a working
// Copy button, works at once, and is revoked after a confirmation — after which it is refused.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cleanup, startTestServer } from "../helpers.ts";
import { click, openPage, useBrowser, waitForSettled } from "./browser.ts";

const { browser } = useBrowser();
let server: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  server = await startTestServer({ workers: 0 });
});
afterAll(cleanup);

describe("API keys in the browser", () => {
  test("create in the dialog, copy the key shown once, use it, revoke it after confirming", async () => {
    const opened = await openPage(browser(), server.url, "/api-keys");
    const { page } = opened;
    try {
      await waitForSettled(page, "#key-list");
      await click(page, 'a.btn-primary[data-dialog-open="new-key"]');
      await page.waitForSelector("dialog[open] #new-key-form");
      await page.type('#new-key-form input[name="name"]', "ci <runner>");
      await click(page, '#new-key-form input[name="scope"][value="api"]');
      await click(page, '#new-key-form button[type="submit"]');
      await page.waitForSelector("#new-key-value");
      const key = await page.$eval("#new-key-value", (el) => (el as HTMLInputElement).value);
      expect(key).toStartWith("avk_");

      await click(page, "[data-copy]");
      // The creation toast is there already; the copy adds its own.
      await page.waitForFunction(() => /Copied to the clipboard|Selected: press Ctrl\+C/.test(document.getElementById("toasts")?.textContent ?? ""));
      expect(await page.evaluate(() => window.getSelection()?.toString() || (document.activeElement as HTMLInputElement | null)?.value)).toBe(key);

      // The key works at once, as the admin who made it.
      expect((await fetch(`${server.url}/api/v1/users/me`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);

      // Leaving the panel reloads the page: the key is gone from it for good; its name is shown as text.
      await Promise.all([page.waitForNavigation({ waitUntil: "load" }), click(page, 'a.btn-primary[href="/api-keys"]')]);
      expect(await page.content()).not.toContain(key);
      const row = await page.waitForSelector('xpath///tr[.//*[contains(text(), "ci <runner>")]]');
      expect(row).not.toBeNull();

      await row!.$eval('button[type="submit"]', (b) => (b as HTMLButtonElement).click());
      await page.waitForSelector("#confirm-dialog[open]");
      expect(await page.$eval("#confirm-title", (el) => el.textContent)).toBe("Revoke this key?");
      await click(page, "[data-confirm-ok]");
      await page.waitForSelector('xpath///tr[.//*[contains(text(), "ci <runner>")]]//*[contains(text(), "revoked")]');
      expect((await fetch(`${server.url}/api/v1/users/me`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(401);
      opened.expectNoProblems();
    } finally {
      await opened.close();
    }
  }, 90_000);
});
