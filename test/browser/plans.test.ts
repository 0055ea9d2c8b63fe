// Plans in a real browser: the list loads clean; a three-step plan built in the editor is saved, run,
// and its run view shows every step reach `succeeded` live — each step held by a gate, so the page
// must show "running" first and then change without a reload.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { gate, AWAIT_GATE } from "../gate.ts";
import { cleanup, startTestServer } from "../helpers.ts";
import { click, markPage, openPage, pageWasKept, useBrowser, waitForSettled, waitForToast } from "./browser.ts";

const { browser } = useBrowser();
let server: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  server = await startTestServer({ workers: 2 });
});
afterAll(cleanup);

describe("plans in the browser", () => {
  test("the plans page loads without console errors, empty and with a plan", async () => {
    const empty = await openPage(browser(), server.url, "/plans");
    try {
      await empty.page.waitForSelector("#plan-list");
      expect(await empty.page.$eval("#plan-list", (el) => el.textContent)).toContain("No plans");
      await empty.waitForLiveStream();
      empty.expectNoProblems();
    } finally {
      await empty.close();
    }
    const res = await server.api("/plans", {
      method: "POST",
      body: JSON.stringify({ name: "Listed plan", steps: [{ name: "only", task_type: "hello", params: { name: "x" } }] }),
    });
    expect(res.status).toBe(201);
    const listed = await openPage(browser(), server.url, "/plans");
    try {
      await listed.page.waitForSelector('[data-plan="Listed plan"]');
      listed.expectNoProblems();
    } finally {
      await listed.close();
    }
  });

  test("a three-step plan made in the editor runs, and the run view shows each step succeed live", async () => {
    const gates = [gate(), gate(), gate()];
    const opened = await openPage(browser(), server.url, "/plans/new");
    const { page } = opened;
    try {
      await page.waitForSelector("#plan-editor");
      await page.type("#plan-name", "Three gated steps");

      // Two more steps: each click posts the whole form and gets the editor back with one more step.
      for (const index of [1, 2]) {
        await click(page, '#plan-editor button[name="op"][value="add"]');
        await waitForSettled(page, `#plan-editor li[data-step-index="${index}"]`);
      }
      expect(await page.$eval("#plan-name", (el) => (el as HTMLInputElement).value)).toBe("Three gated steps");

      for (const index of [0, 1, 2]) {
        const step = `#plan-editor li[data-step-index="${index}"]`;
        // Changing the type re-renders the editor with the type's fields: wait for them.
        await page.select(`${step} select[name="steps[${index}].task_type"]`, "shell");
        await page.waitForSelector(`${step} textarea[name="steps[${index}].params.command"]`);
        await waitForSettled(page, step);
        const set = (field: string, value: string) =>
          page.$eval(`${step} [name="steps[${index}].params.${field}"]:not([type=hidden])`, (el, v) => ((el as HTMLTextAreaElement).value = v), value);
        await set("command", `${AWAIT_GATE}; echo "step ${index + 1} passed its gate"`);
        await set("env", `GATE=${gates[index]!.env.GATE}`);
        await page.$eval(`${step} input[type=checkbox][name="steps[${index}].params.shell"]`, (el) => (el as HTMLInputElement).click());
      }

      // Saving redirects (HX-Redirect) to the plan's page.
      await Promise.all([page.waitForNavigation({ waitUntil: "load" }), click(page, '#plan-editor button[type="submit"]:not([name])')]);
      expect(page.url()).toMatch(/\/plans\/[^/]+$/);
      await waitForToast(page, "success", "");
      expect(await page.$$eval("[data-dag] g[data-step]", (gs) => gs.map((g) => g.getAttribute("data-step")))).toEqual(["step-1", "step-2", "step-3"]);

      // Running it redirects to the run view.
      await Promise.all([page.waitForNavigation({ waitUntil: "load" }), click(page, 'button[data-action="run"]')]);
      expect(page.url()).toMatch(/\/plans\/[^/]+\/runs\/[^/]+$/);
      await opened.waitForLiveStream();
      await markPage(page);

      const statusOf = (name: string) => `[data-dag] g[data-step="${name}"]`;
      await page.waitForSelector(`${statusOf("step-1")}[data-status="running"]`);
      expect(await page.$eval(statusOf("step-3"), (g) => g.getAttribute("data-status"))).toBe("pending");

      // Each gate lets one step finish; the page follows without being reloaded.
      for (const [i, name] of ["step-1", "step-2", "step-3"].entries()) {
        gates[i]!.open();
        await page.waitForSelector(`${statusOf(name)}[data-status="succeeded"]`);
        const next = ["step-1", "step-2", "step-3"][i + 1];
        if (next) await page.waitForSelector(`${statusOf(next)}[data-status="running"]`);
      }
      await page.waitForFunction(() => document.querySelector("#run-main")?.textContent?.includes("3 of 3 steps done"));
      expect(await page.$$eval("[data-dag] g[data-step]", (gs) => gs.map((g) => g.getAttribute("data-status")))).toEqual(["succeeded", "succeeded", "succeeded"]);
      expect(await page.$eval("#run-main [data-status]", (el) => el.getAttribute("data-status"))).toBe("succeeded");
      expect(await pageWasKept(page)).toBe(true);
      opened.expectNoProblems();
    } finally {
      for (const g of gates) g.open();
      await opened.close();
    }
  });
});
