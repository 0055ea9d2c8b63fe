// The main pages on a phone (375 px) and in the dark theme: they load without console errors, need no
// horizontal scrolling (document.documentElement.scrollWidth <= innerWidth), and the dark theme is
// really dark — whether it comes from the system setting or from the theme toggle's cookie.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Page } from "puppeteer-core";
import { cleanup, startTestServer } from "../helpers.ts";
import { click, fitsWidth, openPage, useBrowser, waitForSettled, type PageOptions } from "./browser.ts";
import { mainPages, seed, type Seeded } from "./seed.ts";

const { browser } = useBrowser();
let server: Awaited<ReturnType<typeof startTestServer>>;
let seeded: Seeded;
beforeAll(async () => {
  server = await startTestServer({ workers: 2 });
  seeded = await seed(server.api);
}, 60_000);
afterAll(cleanup);

/** Relative luminance (0 black … 1 white) of the page background. */
async function backgroundLuminance(page: Page): Promise<number> {
  return page.evaluate(() => {
    const pick = (el: Element) => getComputedStyle(el).backgroundColor;
    let color = pick(document.body);
    if (/rgba\(0, 0, 0, 0\)|transparent/.test(color)) color = pick(document.documentElement);
    const [r, g, b] = (color.match(/[\d.]+/g) ?? ["255", "255", "255"]).map(Number).map((v) => {
      const c = v / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  });
}

const VARIANTS: Array<{ name: string; options: PageOptions; dark: boolean }> = [
  { name: "phone, light", options: { width: 375, height: 740 }, dark: false },
  { name: "phone, dark (system setting)", options: { width: 375, height: 740, dark: true }, dark: true },
  { name: "desktop, dark (theme cookie)", options: { width: 1280, height: 800, cookies: { theme: "dark" } }, dark: true },
];

describe("layout on a phone and in the dark theme", () => {
  for (const variant of VARIANTS) {
    test(`${variant.name}: every main page loads clean and needs no horizontal scrolling`, async () => {
      const failures: string[] = [];
      for (const { name, path } of mainPages(seeded)) {
        const opened = await openPage(browser(), server.url, path, variant.options);
        try {
          await waitForSettled(opened.page, "main");
          const fit = await fitsWidth(opened.page);
          if (!fit.fits) failures.push(`${name} (${path}): scrollWidth ${fit.scrollWidth} > innerWidth ${fit.innerWidth}; sticking out: ${fit.widest.join(", ")}`);
          const luminance = await backgroundLuminance(opened.page);
          if (variant.dark ? luminance > 0.1 : luminance < 0.5) failures.push(`${name}: background luminance ${luminance.toFixed(2)} in a ${variant.dark ? "dark" : "light"} theme`);
          if (opened.problems.length) failures.push(`${name}: ${opened.problems.join("; ")}`);
        } finally {
          await opened.close();
        }
      }
      expect(failures).toEqual([]);
    });
  }

  test("the theme toggle cycles system → light → dark, and the server renders the choice on the next page", async () => {
    const opened = await openPage(browser(), server.url, "/", { width: 375, height: 740 });
    const { page } = opened;
    try {
      await waitForSettled(page, "[data-theme-toggle]");
      const theme = () => page.evaluate(() => document.documentElement.getAttribute("data-theme"));
      expect(await theme()).toBeNull();
      await click(page, "[data-theme-toggle]");
      expect(await theme()).toBe("light");
      await click(page, "[data-theme-toggle]");
      expect(await theme()).toBe("dark");
      expect(await backgroundLuminance(page)).toBeLessThan(0.1);
      await opened.goto("/tasks");
      expect(await theme()).toBe("dark");
      expect(await backgroundLuminance(page)).toBeLessThan(0.1);
      opened.expectNoProblems();
    } finally {
      await opened.close();
    }
  });
});
