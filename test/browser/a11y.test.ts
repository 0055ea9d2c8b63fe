// Accessibility in a real browser, checked by axe-core on every page — signed out and signed in, light
// and dark, with each dialog open — with no serious or critical finding; and what axe cannot see:
// everything reachable by keyboard with a visible focus, dialogs that keep focus inside and give it back,
// toasts in a live region.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Page } from "puppeteer-core";
import { cleanup, startTestServer } from "../helpers.ts";
import { axeProblems, describeFindings } from "./axe.ts";
import { click, openPage, useBrowser, waitForSettled, type PageOptions } from "./browser.ts";
import { mainPages, seed, type Seeded } from "./seed.ts";

const { browser } = useBrowser();
let server: Awaited<ReturnType<typeof startTestServer>>;
let seeded: Seeded;
let workerId: string;
beforeAll(async () => {
  server = await startTestServer({ workers: 2 });
  seeded = await seed(server.api);
  // A second version, so the compare page has something to compare.
  const plan = (await (await server.api(`/plans/${seeded.planId}`)).json()) as { name: string; description: string; steps: Array<Record<string, unknown>> };
  const res = await server.api(`/plans/${seeded.planId}`, { method: "PUT", body: JSON.stringify({ name: plan.name, steps: plan.steps, description: `${plan.description} Now with notes.` }) });
  if (!res.ok) throw new Error(`PUT plan: ${res.status} ${await res.text()}`);
  workerId = ((await (await server.api("/workers")).json()) as { items: Array<{ id: string }> }).items[0]!.id;
}, 90_000);
afterAll(cleanup);

const THEMES: Array<{ name: string; options: PageOptions }> = [
  { name: "light", options: {} },
  { name: "dark", options: { cookies: { theme: "dark" } } },
];

function signedInPages() {
  return [
    ...mainPages(seeded),
    { name: "plan-compare", path: `/plans/${seeded.planId}/compare` },
    { name: "new-task", path: "/tasks/new" },
    { name: "clone-task", path: `/tasks/new?from=${seeded.succeededTaskId}` },
    { name: "new-plan", path: "/plans/new" },
    { name: "worker", path: `/workers/${workerId}` },
    { name: "users", path: "/users" },
    { name: "api-keys", path: "/api-keys" },
    { name: "audit", path: "/audit" },
    { name: "secrets", path: "/secrets" },
    { name: "not-found", path: "/no-such-page" },
  ];
}

async function check(page: Page, where: string, failures: string[]) {
  failures.push(...describeFindings(where, await axeProblems(page)));
}

describe("axe-core: no serious or critical finding", () => {
  for (const theme of THEMES) {
    test(`signed out, ${theme.name}: sign in, register, reset password`, async () => {
      const failures: string[] = [];
      for (const path of ["/login", "/register", "/reset-password?token=abc", "/login?next=%2Ftasks"]) {
        const opened = await openPage(browser(), server.url, path, { ...theme.options, signIn: false, allow: [/HTTP 403: GET .*\/register$/] });
        try {
          await opened.page.waitForSelector("main");
          await check(opened.page, `${path} (${theme.name})`, failures);
        } finally {
          await opened.close();
        }
      }
      expect(failures).toEqual([]);
    });

    test(`signed in, ${theme.name}: every page`, async () => {
      const failures: string[] = [];
      for (const { name, path } of signedInPages()) {
        const opened = await openPage(browser(), server.url, path, { ...theme.options, allow: [/HTTP 404: GET .*\/no-such-page$/, /status of 404 .*no-such-page/, /navigation to \/no-such-page answered 404/] });
        try {
          await waitForSettled(opened.page, "main");
          await check(opened.page, `${name} (${theme.name})`, failures);
          if (opened.problems.length) failures.push(`${name}: ${opened.problems.join("; ")}`);
        } finally {
          await opened.close();
        }
      }
      expect(failures).toEqual([]);
    });

    test(`dialogs open, ${theme.name}: New task, a confirmation, New user, New key, the user menu`, async () => {
      const failures: string[] = [];
      const cases: Array<{ path: string; open: string; ready: string }> = [
        { path: "/tasks", open: '[data-dialog-open="new-task"]', ready: "#new-task[open]" },
        { path: `/tasks/${seeded.failedTaskId}`, open: 'button[data-action="delete"]', ready: "#confirm-dialog[open]" },
        { path: "/users", open: '[data-dialog-open="new-user"]', ready: "#new-user[open]" },
        { path: "/api-keys", open: '[data-dialog-open="new-key"]', ready: "#new-key[open]" },
        { path: "/", open: "[data-user-menu]", ready: "details[data-menu][open]" },
      ];
      for (const c of cases) {
        const opened = await openPage(browser(), server.url, c.path, theme.options);
        try {
          await waitForSettled(opened.page, "main");
          await click(opened.page, c.open);
          await opened.page.waitForSelector(c.ready);
          await check(opened.page, `${c.path} with ${c.ready} (${theme.name})`, failures);
        } finally {
          await opened.close();
        }
      }
      expect(failures).toEqual([]);
    });
  }
});

describe("keyboard and screen readers", () => {
  test("the New task dialog opens from the keyboard, keeps Tab inside, closes on Escape and gives focus back to its opener", async () => {
    const opened = await openPage(browser(), server.url, "/tasks");
    const { page } = opened;
    try {
      await waitForSettled(page, "main");
      await page.focus('[data-dialog-open="new-task"]');
      await page.keyboard.press("Enter");
      await page.waitForSelector("#new-task[open]");
      expect(await page.evaluate(() => document.activeElement?.id)).toBe("f-title");
      // Forty presses of Tab never leave the dialog (showModal makes the rest of the page inert).
      for (let i = 0; i < 40; i++) {
        await page.keyboard.press("Tab");
        expect(await page.evaluate(() => document.activeElement?.closest("dialog")?.id ?? document.activeElement?.tagName)).toBe("new-task");
      }
      await page.keyboard.press("Escape");
      await page.waitForSelector("#new-task:not([open])");
      expect(await page.evaluate(() => document.activeElement?.getAttribute("data-dialog-open"))).toBe("new-task");
      opened.expectNoProblems();
    } finally {
      await opened.close();
    }
  });

  test("a confirmation is answered from the keyboard: focus on 'Keep it', Escape keeps, focus returns to the button", async () => {
    const opened = await openPage(browser(), server.url, `/tasks/${seeded.failedTaskId}`);
    const { page } = opened;
    try {
      await waitForSettled(page, "#task-actions");
      await page.focus('button[data-action="delete"]');
      await page.keyboard.press("Enter");
      await page.waitForSelector("#confirm-dialog[open]");
      expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe("Keep it");
      await page.keyboard.press("Escape");
      await page.waitForSelector("#confirm-dialog:not([open])");
      expect(await page.evaluate(() => document.activeElement?.getAttribute("data-action"))).toBe("delete");
      expect((await (await server.api(`/tasks/${seeded.failedTaskId}`)).json()).status).toBe("failed"); // still there
      opened.expectNoProblems();
    } finally {
      await opened.close();
    }
  });

  test("every link, button and field of the main pages is reachable with Tab, and the focused one is visibly outlined", async () => {
    const failures: string[] = [];
    for (const { name, path } of mainPages(seeded)) {
      const opened = await openPage(browser(), server.url, path);
      const { page } = opened;
      try {
        await waitForSettled(page, "main");
        // What a pointer can use, a keyboard can reach: no visible control is taken out of the tab order.
        const unreachable = await page.evaluate(() =>
          [...document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]")]
            .filter((el) => (el as HTMLElement).getClientRects().length > 0 && !(el as HTMLButtonElement).disabled && !el.closest("dialog:not([open]), [inert], details:not([open]) > :not(summary)"))
            .filter((el) => (el as HTMLElement).tabIndex < 0)
            .map((el) => el.outerHTML.slice(0, 100)),
        );
        if (unreachable.length) failures.push(`${name}: not reachable by Tab: ${unreachable.join(" | ")}`);
        // Tab through the first controls: each shows a focus ring (an outline or a box-shadow).
        for (let i = 0; i < 8; i++) {
          await page.keyboard.press("Tab");
          const ring = await page.evaluate(() => {
            const el = document.activeElement as HTMLElement | null;
            if (!el || el === document.body) return "none";
            const s = getComputedStyle(el);
            const visible = (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || (s.boxShadow !== "none" && s.boxShadow !== "");
            return visible ? "ok" : el.outerHTML.slice(0, 100);
          });
          if (ring !== "ok" && ring !== "none") failures.push(`${name}: no visible focus on ${ring}`);
        }
      } finally {
        await opened.close();
      }
    }
    expect(failures).toEqual([]);
  });

  test("toasts are announced: the toast area is a live region, an error toast is an alert", async () => {
    const opened = await openPage(browser(), server.url, "/tasks", { allow: [/HTTP 422: POST .*\/tasks$/, /status of 422 .*\/tasks:/] });
    const { page } = opened;
    try {
      expect(await page.$eval("#toasts", (el) => el.getAttribute("aria-live"))).toBe("polite");
      await click(page, '[data-dialog-open="new-task"]');
      await page.waitForSelector("#f-title", { visible: true });
      await click(page, '#new-task-form button[type="submit"]');
      const role = await page.waitForSelector('#toasts [data-toast="error"]');
      expect(await role!.evaluate((el) => el.getAttribute("role"))).toBe("alert");
      opened.expectNoProblems();
    } finally {
      await opened.close();
    }
  });
});
