// The browser harness itself, proven on the page at `/`: it launches, loads a real server's page,
// runs its JavaScript, and reports console errors, page errors and failed requests.
import { afterEach, describe, expect, test } from "bun:test";
import { cleanup, startTestServer } from "../helpers.ts";
import { openPage, useBrowser } from "./browser.ts";

const { browser, info } = useBrowser();
afterEach(cleanup);

describe("browser harness", () => {
  test("launches a headless Chromium", async () => {
    expect(info().version).toMatch(/Chrome\/\d+/);
    expect(await browser().pages()).toBeDefined();
  });

  test("the page at / loads with no console errors, page errors or failed requests", async () => {
    const server = await startTestServer({ workers: 0 });
    const opened = await openPage(browser(), server.url, "/");
    try {
      expect(await opened.page.title()).toContain("AgentVine");
      // The page's own JavaScript has run and its content is on screen.
      await opened.page.waitForSelector("body a[href]");
      opened.expectNoProblems();
    } finally {
      await opened.close();
    }
  });

  test("records the problems a broken page causes, so a clean result means something", async () => {
    const server = await startTestServer({ workers: 0 });
    const opened = await openPage(browser(), server.url, "/");
    try {
      await opened.page.evaluate(() => {
        console.error("deliberate console error");
        setTimeout(() => {
          throw new Error("deliberate page error");
        });
      });
      await opened.page.evaluate(() => fetch("/no-such-page").then((r) => r.status));
      await opened.waitForProblem(/page error: .*deliberate page error/);
      await opened.waitForProblem(/console error: deliberate console error/);
      await opened.waitForProblem(/HTTP 404: GET .*\/no-such-page/);
      expect(() => opened.expectNoProblems()).toThrow(/problem/);
    } finally {
      await opened.close();
    }
  });

  test("a navigation to a missing page counts as a problem", async () => {
    const server = await startTestServer({ workers: 0 });
    const opened = await openPage(browser(), server.url, "/definitely-missing");
    try {
      expect(opened.problems.some((p) => p.includes("answered 404"))).toBe(true);
    } finally {
      await opened.close();
    }
  });
});
