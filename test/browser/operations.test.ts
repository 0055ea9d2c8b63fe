// The operations pages in a real browser: Schedules (a schedule made in the form, disabled and run now),
// Alerts with the banner on every page, Notifications and their settings, the Email page, /docs and
// "forgot my password" — each without a console error, on a desktop, on a 375 px phone and in the dark.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cleanup, json, startTestServer } from "../helpers.ts";
import { axeProblems, describeFindings } from "./axe.ts";
import { BROWSER_TEST_TIMEOUT_MS, click, fitsWidth, openPage, toastMark, useBrowser, waitForSettled, waitForToast, type PageOptions } from "./browser.ts";

const { browser } = useBrowser();
let server: Awaited<ReturnType<typeof startTestServer>>;
let scheduleId = "";

beforeAll(async () => {
  server = await startTestServer({ workers: 1, opsIntervalMs: 0 });
  const res = await server.api("/schedules", json({ name: "nightly-hello", cron: "0 2 * * *", timezone: "Europe/Berlin", task: { title: "greet", task_type: "hello", params: { name: "night" } } }));
  scheduleId = ((await res.json()) as { id: string }).id;
  await server.api("/alerts/rules", { ...json({ disk_space: { min_free_percent: 100 } }), method: "PUT" });
  server.services.alerts.runOnce(Date.now());
}, 60_000);
afterAll(cleanup);

const PAGES = () => [
  { path: "/schedules", ready: "[data-schedule]" },
  { path: `/schedules/${scheduleId}`, ready: "[data-next-runs]" },
  { path: "/schedules/new", ready: "#schedule-form" },
  { path: "/alerts", ready: "[data-alert=disk_space]" },
  { path: "/notifications", ready: "[data-notification]" },
  { path: "/settings", ready: "form#notification-settings" },
  { path: "/settings/email", ready: "#smtp-form" },
  { path: "/docs", ready: "[data-operation]" },
];

const VARIANTS: Array<{ name: string; options: PageOptions }> = [
  { name: "desktop", options: {} },
  { name: "phone", options: { width: 375, height: 740 } },
  { name: "phone, dark", options: { width: 375, height: 740, dark: true } },
];

describe("operations pages", () => {
  for (const v of VARIANTS) {
    test(`${v.name}: each loads clean, shows the alert banner, fits the width, and axe finds nothing serious`, async () => {
      const failures: string[] = [];
      for (const { path, ready } of PAGES()) {
        const opened = await openPage(browser(), server.url, path, v.options);
        try {
          await waitForSettled(opened.page, ready);
          if (!(await opened.page.$("[data-alert-banner]"))) failures.push(`${path}: no alert banner`);
          const fit = await fitsWidth(opened.page);
          if (!fit.fits) failures.push(`${path}: scrollWidth ${fit.scrollWidth} > ${fit.innerWidth}: ${fit.widest.join(", ")}`);
          failures.push(...describeFindings(`${path} (${v.name})`, await axeProblems(opened.page)));
          if (opened.problems.length) failures.push(`${path}: ${opened.problems.join("; ")}`);
        } finally {
          await opened.close();
        }
      }
      expect(failures).toEqual([]);
    }, BROWSER_TEST_TIMEOUT_MS);
  }

  test("a schedule made in the form; disabled and run now in place, with toasts", async () => {
    const opened = await openPage(browser(), server.url, "/schedules/new", { allow: [/422/] }); // the bad cron is refused: expected
    const { page } = opened;
    try {
      await waitForSettled(page, "#schedule-form");
      await page.type("#sf-name", "from-the-form");
      await page.type("#sf-cron", "bad cron");
      await click(page, "#schedule-form button[type=submit]");
      await page.waitForSelector("#sf-cron-error");
      // The page focuses the first field in error once the swap settled: type only after that, or the
      // focus would jump back to the cron field in the middle of typing the title.
      await page.waitForFunction(() => document.activeElement?.id === "sf-cron");
      expect(await page.$eval("#sf-cron-error", (e) => e.textContent)).toContain("five fields");
      await page.$eval("#sf-cron", (e) => ((e as HTMLInputElement).value = ""));
      await page.type("#sf-cron", "*/30 * * * *");
      await page.type("#sf-title", "half-hourly hello");
      await page.$eval("#sf-params", (e) => ((e as HTMLTextAreaElement).value = '{"name": "form"}'));
      const [saved] = await Promise.all([page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/schedules"), click(page, "#schedule-form button[type=submit]")]);
      if (saved.status() !== 200) throw new Error(`the schedule was refused (${saved.status()}): ${(await saved.text()).replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").slice(0, 600)}`);
      await waitForSettled(page, "[data-next-runs]");
      expect(await page.$$eval("[data-next-runs] li", (l) => l.length)).toBe(5);
      let mark = await toastMark(page);
      await click(page, "[data-toggle-schedule=disable]");
      await page.waitForSelector("[data-toggle-schedule=enable]");
      expect(await waitForToast(page, "info", "from-the-form disabled", mark)).toBeTruthy();
      mark = await toastMark(page);
      await click(page, "[data-run-now]");
      expect(await waitForToast(page, "success", "Run started", mark)).toBeTruthy();
      await page.waitForSelector('[data-run="started"]');
      opened.expectNoProblems();
    } finally {
      await opened.close();
    }
  }, BROWSER_TEST_TIMEOUT_MS);

  test("signed out: forgot my password, and the API docs", async () => {
    for (const path of ["/forgot-password", "/docs"]) {
      const opened = await openPage(browser(), server.url, path, { signIn: false, width: 375, height: 740 });
      try {
        await waitForSettled(opened.page, path === "/docs" ? "[data-curl]" : "#forgot-form");
        expect((await fitsWidth(opened.page)).fits).toBe(true);
        expect(describeFindings(path, await axeProblems(opened.page))).toEqual([]);
        opened.expectNoProblems();
      } finally {
        await opened.close();
      }
    }
  }, BROWSER_TEST_TIMEOUT_MS);
});
