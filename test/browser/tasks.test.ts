// Tasks in a real browser: a failing shell task submitted from the "New task" dialog fails live on its
// page (status, error and log lines arrive without a reload), and the tasks list follows a task from
// submission to failure by itself. A gate holds each task, so "running" is seen before "failed".
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AWAIT_GATE, gate } from "../gate.ts";
import { cleanup, startTestServer } from "../helpers.ts";
import { click, markPage, openPage, pageWasKept, useBrowser, waitForSettled } from "./browser.ts";

const { browser } = useBrowser();
let server: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  server = await startTestServer({ workers: 2 });
});
afterAll(cleanup);

const FAILING_SCRIPT = `echo "waiting for the gate"; ${AWAIT_GATE}; echo "about to fail"; echo "bad news" >&2; exit 3`;

describe("tasks in the browser", () => {
  test("a failing shell task made in the New task dialog fails live on its page, with its log", async () => {
    const g = gate();
    const opened = await openPage(browser(), server.url, "/tasks");
    const { page } = opened;
    try {
      await page.waitForSelector("#task-list");
      await click(page, 'a[data-dialog-open="new-task"]');
      await page.waitForSelector("#new-task[open]");
      await page.type("#f-title", "Will fail on purpose");
      // The param fields follow the type: swapped in from /tasks/new/fields.
      await page.select("#f-task_type", "shell");
      await waitForSettled(page, "#f-params-command");
      await page.type("#f-params-command", FAILING_SCRIPT);
      await click(page, "#f-params-shell");
      await page.$eval("#f-params-env", (el, text) => ((el as HTMLTextAreaElement).value = text), `GATE=${g.env.GATE}`);

      await Promise.all([page.waitForNavigation({ waitUntil: "load" }), click(page, '#new-task-form button[type="submit"]')]);
      expect(page.url()).toMatch(/\/tasks\/[^/]+$/);
      const taskId = page.url().split("/").at(-1)!;
      await opened.waitForLiveStream();
      await markPage(page);

      // Running, held at the gate; its first log line is on the page.
      await page.waitForSelector('#task-main [data-status="running"]');
      await page.waitForFunction(() => document.querySelector(".logs")?.textContent?.includes("waiting for the gate"));
      expect(await page.$eval("#task-main", (el) => el.textContent)).not.toContain("exited with code");

      g.open();
      await page.waitForSelector('#task-main [data-status="failed"]');
      await page.waitForFunction(() => document.querySelector("#task-main")?.textContent?.includes("command exited with code 3"));
      await page.waitForFunction(() => {
        const text = document.querySelector(".logs")?.textContent ?? "";
        return text.includes("about to fail") && text.includes("bad news");
      });
      expect(await pageWasKept(page)).toBe(true);
      // The row in the list says so too.
      await opened.goto("/tasks");
      await page.waitForSelector(`#task-list tr[data-task-id="${taskId}"] [data-status="failed"]`);
      opened.expectNoProblems();
    } finally {
      g.open();
      await opened.close();
    }
  });

  test("the tasks list shows a submitted task appear, run and fail without a reload", async () => {
    const g = gate();
    const opened = await openPage(browser(), server.url, "/tasks");
    const { page } = opened;
    try {
      await opened.waitForLiveStream();
      await markPage(page);
      const res = await server.api("/tasks", {
        method: "POST",
        body: JSON.stringify({ title: "Appears by itself", task_type: "shell", params: { command: FAILING_SCRIPT, shell: true, env: g.env } }),
      });
      expect(res.status).toBe(201);
      const { id } = (await res.json()) as { id: string };
      const row = `#task-list tr[data-task-id="${id}"]`;
      await page.waitForSelector(`${row} [data-status="running"]`);
      g.open();
      await page.waitForSelector(`${row} [data-status="failed"]`);
      expect(await page.$eval(row, (el) => el.textContent)).toContain("Appears by itself");
      expect(await pageWasKept(page)).toBe(true);
      opened.expectNoProblems();
    } finally {
      g.open();
      await opened.close();
    }
  });
});
