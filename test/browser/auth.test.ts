// Accounts in a real browser: a signed-out visit lands on the sign-in page and signing in returns to it;
// a wrong password is explained; the user menu signs out; Settings changes the theme and "Sign out
// everywhere" ends every session, the copied cookie included; a viewer is not offered what they may not do.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { userWithRole } from "../auth.ts";
import { cleanup, startTestServer, TEST_PASSWORD } from "../helpers.ts";
import { click, fitsWidth, openPage, SESSION_COOKIE, sessionCookie, signIn, useBrowser, waitForSettled, waitForToast } from "./browser.ts";

const { browser } = useBrowser();
let server: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  server = await startTestServer({ workers: 0 });
  await userWithRole(server, server.token, "sam", "operator");
  await userWithRole(server, server.token, "olga", "operator");
  await userWithRole(server, server.token, "vic", "viewer");
});
afterAll(cleanup);

const path = (url: string) => {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
};

describe("signing in and out in the browser", () => {
  test("visiting /tasks signed out lands on the sign-in page; signing in returns to /tasks", async () => {
    const opened = await openPage(browser(), server.url, "/tasks", { signIn: false });
    const { page } = opened;
    try {
      expect(path(page.url())).toBe("/login?next=%2Ftasks");
      expect(await page.$("nav[aria-label=Main]")).toBeNull(); // the signed-out header has no navigation
      const res = await signIn(page, server.url, "sam", TEST_PASSWORD, "/tasks");
      expect(res?.status()).toBe(200);
      expect(path(page.url())).toBe("/tasks");
      await page.waitForSelector("#task-list");
      expect(await page.$eval("[data-username]", (el) => el.textContent)).toBe("sam");
      expect(await page.$eval("[data-user-menu] [data-role-badge]", (el) => el.textContent)).toBe("operator");
      opened.expectNoProblems();
    } finally {
      await opened.close();
    }
  });

  test("a wrong password shows the error, keeps the name and signs nobody in", async () => {
    const opened = await openPage(browser(), server.url, "/login", { signIn: false, allow: [/HTTP 401: POST .*\/login$/, /status of 401 .*\/login:/] });
    const { page } = opened;
    try {
      await page.type("#f-username", "sam");
      await page.type("#f-password", "not the right password");
      await Promise.all([page.waitForNavigation({ waitUntil: "load" }), click(page, '#login-form button[type="submit"]')]);
      expect(await page.$eval("[data-form-error]", (el) => el.textContent)).toBe("Invalid username or password");
      expect(await page.$eval("#f-username", (el) => (el as HTMLInputElement).value)).toBe("sam");
      expect(await page.$eval("#f-password", (el) => (el as HTMLInputElement).value)).toBe("");
      expect(await sessionCookie(page.browserContext())).toBeUndefined();
      opened.expectNoProblems();
    } finally {
      await opened.close();
    }
  });

  test("the sign-in page fits a phone, in the dark theme too", async () => {
    for (const dark of [false, true]) {
      const opened = await openPage(browser(), server.url, "/login", { signIn: false, width: 375, height: 740, dark });
      try {
        const fit = await fitsWidth(opened.page);
        expect(fit.widest).toEqual([]);
        expect(fit.fits).toBe(true);
        opened.expectNoProblems();
      } finally {
        await opened.close();
      }
    }
  });

  test("Sign out in the user menu ends the session and lands on the sign-in page with a toast", async () => {
    const opened = await openPage(browser(), server.url, "/", { signIn: { username: "olga" }, width: 375, height: 740 });
    const { page } = opened;
    try {
      await waitForSettled(page, "[data-user-menu]");
      const visible = () => page.$eval("[data-sign-out]", (el) => el.checkVisibility());
      expect(await visible()).toBe(false); // the menu is closed
      await click(page, "[data-user-menu]");
      expect(await visible()).toBe(true);
      // A click elsewhere closes it again (public/app.js), and the summary opens it once more.
      await click(page, "main");
      expect(await visible()).toBe(false);
      await click(page, "[data-user-menu]");
      await Promise.all([page.waitForNavigation({ waitUntil: "load" }), click(page, "[data-sign-out]")]);
      expect(path(page.url())).toBe("/login");
      expect(await waitForToast(page, "info", "You are signed out")).toContain("You are signed out");
      expect(await sessionCookie(page.browserContext())).toBeUndefined();
      await opened.goto("/tasks");
      expect(path(page.url())).toBe("/login?next=%2Ftasks");
      opened.expectNoProblems();
    } finally {
      await opened.close();
    }
  });
});

describe("settings in the browser", () => {
  test("change the theme, then sign out everywhere: every session ends and the old cookie stops working", async () => {
    // Two browsers signed in as sam: this one, and another whose cookie must stop working too.
    const other = await openPage(browser(), server.url, "/login", { signIn: false });
    await signIn(other.page, server.url, "sam", TEST_PASSWORD, "/tasks");
    const opened = await openPage(browser(), server.url, "/settings", { signIn: { username: "sam" } });
    const { page } = opened;
    try {
      await page.waitForSelector("#theme-form");
      expect(await page.$$eval("[data-session]", (els) => els.length)).toBeGreaterThanOrEqual(2);
      expect(await page.$$eval('[data-session][data-current="true"]', (els) => els.length)).toBe(1);

      // Theme: dark, rendered by the server on the next page.
      await click(page, "#theme-dark");
      await Promise.all([page.waitForNavigation({ waitUntil: "load" }), click(page, '#theme-form button[type="submit"]')]);
      expect(await page.evaluate(() => document.documentElement.getAttribute("data-theme"))).toBe("dark");
      expect(await page.$eval("#theme-dark", (el) => (el as HTMLInputElement).checked)).toBe(true);
      expect(await waitForToast(page, "success", "Theme: dark")).toContain("Theme: dark");

      const old = (await sessionCookie(page.browserContext()))!;
      expect(old).toBeDefined();

      // Sign out everywhere asks first; keeping it changes nothing.
      await click(page, "[data-sign-out-everywhere]");
      await page.waitForSelector("#confirm-dialog[open]");
      expect(await page.$eval("#confirm-title", (el) => el.textContent)).toBe("Sign out everywhere?");
      await click(page, '#confirm-dialog button[value="cancel"]');
      await page.waitForSelector("#confirm-dialog:not([open])");
      expect(path(page.url())).toBe("/settings");

      await click(page, "[data-sign-out-everywhere]");
      await page.waitForSelector("#confirm-dialog[open]");
      await Promise.all([page.waitForNavigation({ waitUntil: "load" }), click(page, "[data-confirm-ok]")]);
      expect(path(page.url())).toBe("/login");
      expect(await waitForToast(page, "success", "Signed out everywhere")).toContain("Signed out everywhere");

      // The copied cookie is refused: a browser that still holds it is sent to sign in.
      const thief = await openPage(browser(), server.url, "/settings", { signIn: false, cookies: { [SESSION_COOKIE]: old.value } });
      try {
        expect(path(thief.page.url())).toBe("/login?next=%2Fsettings");
        thief.expectNoProblems();
      } finally {
        await thief.close();
      }
      // And so is the other browser's session.
      await other.goto("/tasks");
      expect(path(other.page.url())).toBe("/login?next=%2Ftasks");
      other.expectNoProblems();
      opened.expectNoProblems();
    } finally {
      await other.close();
      await opened.close();
    }
  });

  test("a wrong current password is named next to the field, in place", async () => {
    const opened = await openPage(browser(), server.url, "/settings", {
      signIn: { username: "olga" },
      allow: [/HTTP 422: POST .*\/settings\/password$/, /status of 422 .*\/settings\/password:/],
    });
    const { page } = opened;
    try {
      await waitForSettled(page, "#password-form");
      await page.type("#password-current_password", "this is not it at all");
      await page.type("#password-new_password", "granite meadow lantern 5");
      await page.type("#password-confirm", "granite meadow lantern 5");
      await click(page, '#password-form button[type="submit"]');
      await page.waitForSelector("#password-current_password-error");
      expect(await page.$eval("#password-current_password-error", (el) => el.textContent)).toBe("does not match");
      opened.expectNoProblems();
    } finally {
      await opened.close();
    }
  });
});

describe("roles in the browser", () => {
  test("a viewer is not offered New task; an admin sees the admin links", async () => {
    const viewer = await openPage(browser(), server.url, "/tasks", { signIn: { username: "vic" } });
    try {
      await viewer.page.waitForSelector("#task-list");
      const shown = await viewer.page.$$eval('[data-dialog-open="new-task"]', (els) => els.map((el) => getComputedStyle(el).display));
      expect(shown.length).toBeGreaterThan(0);
      expect(shown.every((d) => d === "none")).toBe(true);
      expect(await viewer.page.$('a[href="/users"]')).toBeNull();
      viewer.expectNoProblems();
    } finally {
      await viewer.close();
    }
    const admin = await openPage(browser(), server.url, "/tasks");
    try {
      await admin.page.waitForSelector("#task-list");
      expect(await admin.page.$eval('[data-dialog-open="new-task"]', (el) => getComputedStyle(el).display)).not.toBe("none");
      expect(await admin.page.$$eval('a[href="/users"]', (els) => els.length)).toBeGreaterThan(0);
      admin.expectNoProblems();
    } finally {
      await admin.close();
    }
  });
});
