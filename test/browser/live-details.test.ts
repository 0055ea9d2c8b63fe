// Details that only a live page shows, in a real browser: picking tasks for a bulk action (kept while the
// list refreshes by itself, confirmed, answered with a toast); a running task's duration that counts up,
// its log count that follows the stream, searching the log; the admin pausing the queue.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TaskJson } from "../../src/engine/task-record.ts";
import { gate, AWAIT_GATE } from "../gate.ts";
import { cleanup, startTestServer } from "../helpers.ts";
import { click, openPage, useBrowser, waitForSettled, waitForToast } from "./browser.ts";

const { browser } = useBrowser();
let server: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  server = await startTestServer({ workers: 1 });
});
afterAll(cleanup);

async function submit(body: Record<string, unknown>): Promise<TaskJson> {
  const res = await server.api("/tasks", { method: "POST", body: JSON.stringify(body) });
  if (res.status !== 201) throw new Error(`POST /tasks: ${res.status} ${await res.text()}`);
  return (await res.json()) as TaskJson;
}
const parked = (title: string) => submit({ title, task_type: "hello", params: { name: "x" }, requires: ["gpu"] });

describe("live details in the browser", () => {
  test("bulk cancel: the selection survives a live refresh, the action asks first, a toast says how many", async () => {
    const a = await parked("bulk a");
    const b = await parked("bulk b");
    const opened = await openPage(browser(), server.url, "/tasks");
    const { page } = opened;
    try {
      await opened.waitForLiveStream();
      await waitForSettled(page, "#task-list");
      await page.click(`input[data-select="task"][value="${a.id}"]`);
      await page.click(`input[data-select="task"][value="${b.id}"]`);
      expect(await page.$eval("[data-selected-count]", (el) => el.textContent)).toBe("2 selected");
      expect(await page.$eval('button[data-action="bulk-cancel"]', (el) => (el as HTMLButtonElement).disabled)).toBe(false);

      // Another task appears: the list refreshes itself and the two boxes stay ticked.
      const refreshed = page.waitForResponse((r) => r.url().endsWith("/tasks") && r.request().headers()["hx-target"] === "task-list");
      const c = await parked("bulk c");
      await refreshed;
      await page.waitForSelector(`tr[data-task-id="${c.id}"]`);
      await waitForSettled(page, "#task-list");
      const checked = await page.$$eval('input[data-select="task"]:checked', (els) => els.map((e) => (e as HTMLInputElement).value).sort());
      expect(checked).toEqual([a.id, b.id].sort());

      await click(page, 'button[data-action="bulk-cancel"]');
      await page.waitForSelector("#confirm-dialog[open]");
      expect(await page.$eval("#confirm-title", (el) => el.textContent)).toBe("Cancel the selected tasks?");
      await click(page, "#confirm-dialog [data-confirm-ok]");
      expect(await waitForToast(page, "success", "2 tasks cancelled")).toContain("2 tasks cancelled");
      await page.waitForSelector(`tr[data-task-id="${a.id}"] [data-status="cancelled"]`);
      await page.waitForSelector(`tr[data-task-id="${b.id}"] [data-status="cancelled"]`);
      expect(await page.$eval(`tr[data-task-id="${c.id}"] [data-status]`, (el) => el.getAttribute("data-status"))).toBe("queued");
      expect(await page.$eval("[data-selected-count]", (el) => el.textContent)).toBe("None selected");
      opened.expectNoProblems();
    } finally {
      await opened.close();
    }
  });

  test("a running task: its duration counts up, the log count follows the lines as they stream, the log can be searched", async () => {
    const g = gate();
    const task = await submit({
      title: "talkative",
      task_type: "shell",
      params: { command: `echo first line; echo needle here; ${AWAIT_GATE}; echo after the gate`, shell: true, env: g.env },
    });
    const opened = await openPage(browser(), server.url, `/tasks/${task.id}`);
    const { page } = opened;
    try {
      await page.waitForSelector("[data-execution-id] time[data-since]");
      await opened.waitForLiveStream();
      const first = await page.$eval("[data-execution-id] time[data-since]", (el) => el.textContent);
      // The app ticks it each second: wait for the text to change, not for a fixed time.
      await page.waitForFunction((was) => document.querySelector("[data-execution-id] time[data-since]")?.textContent !== was, { timeout: 5000 }, first);

      await page.waitForFunction(() => document.querySelectorAll("#log-lines li[data-seq]").length >= 2);
      g.open();
      await page.waitForFunction(() => [...document.querySelectorAll("#log-lines li")].some((li) => li.textContent?.includes("after the gate")));
      const lines = await page.$$eval("#log-lines li[data-seq]", (lis) => lis.length);
      // The count in the attempts table followed, or the page was re-rendered with the final count: either way, right.
      await page.waitForFunction((n) => document.querySelector("[data-log-count]")?.textContent === String(n), {}, lines);

      await page.type("#log-search", "needle");
      const visible = await page.$$eval("#log-lines li[data-seq]", (lis) => lis.filter((li) => !(li as HTMLElement).hidden).map((li) => li.textContent));
      expect(visible.length).toBe(1);
      expect(visible[0]).toContain("needle here");
      expect(await page.$eval("[data-log-matches]", (el) => el.textContent)).toContain(`1 of ${lines} lines`);
      opened.expectNoProblems();
    } finally {
      g.open();
      await opened.close();
    }
  });

  test("an admin pauses the queue from the Tasks page (asked first); a new task then waits, and runs on resume", async () => {
    const opened = await openPage(browser(), server.url, "/tasks");
    const { page } = opened;
    try {
      await click(page, 'button[data-action="queue-pause"]');
      await page.waitForSelector("#confirm-dialog[open]");
      await click(page, "#confirm-dialog [data-confirm-ok]");
      await page.waitForSelector('#queue-controls[data-queue-paused="true"]');
      const task = await submit({ title: "waits for resume", task_type: "hello", params: { name: "p" } });
      expect(((await (await server.api(`/tasks/${task.id}`)).json()) as TaskJson).status).toBe("queued");
      await click(page, 'button[data-action="queue-resume"]');
      await page.waitForSelector('#queue-controls[data-queue-paused="false"]');
      const done = (await (await server.api(`/tasks/${task.id}/wait?timeout=20`)).json()) as TaskJson;
      expect(done.status).toBe("succeeded");
      opened.expectNoProblems();
    } finally {
      await opened.close();
    }
  });
});
