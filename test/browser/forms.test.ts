// Forms in a real browser: a failed save brings the first field in error into view, focuses it and says
// so (an error toast, an alert); failing again and again writes nothing to the console (htmx's settle
// step must not set style attributes the CSP refuses); the plan editor's steps have the New task form's
// fields, which follow the step's type, and "Runs after" follows a rename.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Page } from "puppeteer-core";
import type { PlanJson } from "../../src/features/plans/service.ts";
import { cleanup, startTestServer } from "../helpers.ts";
import { click, openPage, useBrowser, waitForSettled, waitForToast } from "./browser.ts";

const { browser } = useBrowser();
let server: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  server = await startTestServer({ workers: 1 });
});
afterAll(cleanup);

/** The one console line Chromium writes for any refused request: expected for the form under test, nothing else. */
const refused = (path: string) => [new RegExp(`HTTP 422: POST .*${path}$`), new RegExp(`status of 422 .*${path}:`)];

/** Where focus is: the element's id (or its fieldset's), and whether it is inside the viewport. */
function focusOf(page: Page) {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el || el === document.body) return { id: null, fieldset: null, inView: false };
    const box = el.getBoundingClientRect();
    return {
      id: el.id || null,
      fieldset: el.closest("fieldset")?.id ?? null,
      inView: box.top >= 0 && box.bottom <= window.innerHeight,
    };
  });
}

/** Resolves once an error toast is shown; its text. */
async function errorToast(page: Page): Promise<string> {
  const toast = await page.waitForSelector('#toasts [data-toast="error"]', { visible: true });
  return (await toast!.evaluate((el) => el.textContent ?? "")).trim();
}

describe("forms in the browser", () => {
  test("a plan with a cycle: the save fails loudly — toast, the step's 'Runs after' focused in view — and failing again logs nothing", async () => {
    const opened = await openPage(browser(), server.url, "/plans/new", { height: 700, allow: refused("/plans") });
    const { page } = opened;
    try {
      await page.waitForSelector("#plan-editor");
      await page.type("#plan-name", "Goes round in circles");
      for (const index of [1, 2]) {
        await click(page, '#plan-editor button[name="op"][value="add"]');
        await waitForSettled(page, `#plan-editor li[data-step-index="${index}"]`);
      }
      // step-2 runs after step-1, step-3 after step-2 (added that way); step-1 after step-3 closes the circle.
      await click(page, '#plan-editor li[data-step-index="0"] input[name="steps[0].depends_on"]:last-of-type');
      // A user resized a textarea: the old element carries a style attribute into the swap.
      await page.evaluate(() => document.querySelectorAll("#plan-editor textarea").forEach((t) => ((t as HTMLElement).style.height = "140px")));
      await page.evaluate(() => window.scrollTo(0, 0));

      for (let attempt = 1; attempt <= 2; attempt++) {
        await page.evaluate(() => document.querySelectorAll("#toasts [data-toast]").forEach((t) => t.remove()));
        const answered = page.waitForResponse((r) => r.url().endsWith("/plans") && r.request().method() === "POST");
        await click(page, '#plan-editor button[type="submit"]:not([name])');
        expect((await answered).status()).toBe(422);
        expect(await errorToast(page)).toContain("The plan was not saved: steps[0].depends_on: cycle:");
        await page.waitForFunction(() => document.activeElement?.closest("fieldset[data-invalid]") !== null);
        const focus = await focusOf(page);
        expect(focus.fieldset).toMatch(/^deps-/);
        expect(focus.inView).toBe(true);
        // The message is in an alert next to the fieldset, for screen readers as well.
        expect(await page.$eval("fieldset[data-invalid] [role=alert]", (el) => el.textContent)).toContain("cycle:");
      }
      opened.expectNoProblems();
    } finally {
      await opened.close();
    }
  });

  test("the New task dialog: a missing param below the fold is focused (not Title), with a toast", async () => {
    const opened = await openPage(browser(), server.url, "/tasks", { width: 375, height: 640, allow: refused("/tasks") });
    const { page } = opened;
    try {
      await click(page, '[data-dialog-open="new-task"]');
      await page.waitForSelector("#f-title", { visible: true });
      expect((await focusOf(page)).id).toBe("f-title");
      await page.type("#f-title", "Needs a command");
      await page.select("#f-task_type", "shell");
      await page.waitForSelector("#f-params-command", { visible: true });
      await waitForSettled(page, "#param-fields");
      await click(page, '#new-task-form button[type="submit"]');
      expect(await errorToast(page)).toContain("The task was not created: params.command: required");
      await page.waitForFunction(() => document.activeElement?.id === "f-params-command");
      expect((await focusOf(page)).inView).toBe(true);
      expect(await page.$eval("#f-params-command", (el) => el.getAttribute("aria-invalid"))).toBe("true");
      expect(await page.$eval("#f-title", (el) => (el as HTMLInputElement).value)).toBe("Needs a command");
      opened.expectNoProblems();
    } finally {
      await opened.close();
    }
  });

  test("plan steps have the New task form's fields: they follow the type, and 'Runs after' follows a rename", async () => {
    const opened = await openPage(browser(), server.url, "/plans/new");
    const { page } = opened;
    try {
      await page.waitForSelector("#plan-editor");
      await page.type("#plan-name", "Fields not JSON");
      const nameInput = '#plan-editor input[name="steps[0].name"]';
      await page.click(nameInput, { count: 3 });
      await page.type(nameInput, "build");
      await click(page, '#plan-editor button[name="op"][value="add"]');
      await waitForSettled(page, '#plan-editor li[data-step-index="1"]');
      const runsAfter = () => page.$$eval('#plan-editor li[data-step-index="1"] fieldset[id^="deps-"] label', (ls) => ls.map((l) => l.textContent?.trim()));
      expect(await runsAfter()).toEqual(["build"]);

      // Rename the first step: the second step's "Runs after" says the new name, without a reload.
      await page.click(nameInput, { count: 3 });
      await page.type(nameInput, "compile");
      expect(await runsAfter()).toEqual(["compile"]);
      // Ticked at once after the rename: nothing comes back later to untick it.
      await page.click('#plan-editor li[data-step-index="1"] fieldset[id^="deps-"] input[type=checkbox]');
      expect(await page.$eval('#plan-editor li[data-step-index="1"] fieldset[id^="deps-"] input[type=checkbox]', (el) => (el as HTMLInputElement).checked)).toBe(false);
      await page.click('#plan-editor li[data-step-index="1"] fieldset[id^="deps-"] input[type=checkbox]');

      // Step 2 becomes a shell step: the shell fields replace hello's `name`.
      const step = '#plan-editor li[data-step-index="1"]';
      await page.select(`${step} select[name="steps[1].task_type"]`, "shell");
      await page.waitForSelector(`${step} textarea[name="steps[1].params.command"]`);
      await waitForSettled(page, step);
      expect(await page.$(`${step} [name="steps[1].params.name"]`)).toBeNull();
      expect(await page.$eval(`${step} [name="steps[1].params.args"]`, (el) => el.closest("div")?.textContent)).toContain("Arguments, passed as-is (no interpolation). One per line.");
      await page.type(`${step} textarea[name="steps[1].params.command"]`, "echo");
      await page.type(`${step} textarea[name="steps[1].params.args"]`, "{{steps.compile.result.message}}");
      await page.$eval(`${step} input[type=checkbox][name="steps[1].params.shell"]`, (el) => (el as HTMLInputElement).click());
      const saved = page.waitForNavigation({ waitUntil: "load" });
      await click(page, '#plan-editor button[type="submit"]:not([name])');
      await saved;
      await waitForToast(page, "success", "");
      const plan = (await (await server.api("/plans/Fields%20not%20JSON")).json()) as PlanJson;
      expect(plan.steps.map((s) => [s.name, s.task_type, s.params, s.depends_on])).toEqual([
        ["compile", "hello", { name: "world" }, []],
        ["step-2", "shell", { command: "echo", args: ["{{steps.compile.result.message}}"], shell: true }, ["compile"]],
      ]);
      opened.expectNoProblems();
    } finally {
      await opened.close();
    }
  });
});
