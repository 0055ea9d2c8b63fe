// Saves the README's screenshots of the web UI to docs/screenshots/ — a real server with a seeded data
// set, the real task types, a real browser. Run by hand after a visible UI change:
//
//   bun test/browser/screenshots.ts
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { embeddedServerOptions, startServer } from "../../src/server.ts";
import { launchBrowser, openPage, screenshot, waitForSettled, type PageOptions } from "./browser.ts";
import { mainPages, seed } from "./seed.ts";

const dataDir = mkdtempSync(join(tmpdir(), "agentvine-screenshots-"));
const server = await startServer(
  embeddedServerOptions(dataDir, {
    workers: 2,
    shutdownGraceSeconds: 1,
  }),
);
const api = (path: string, init: RequestInit = {}) =>
  fetch(`${server.url}/api/v1${path}`, { ...init, headers: { "content-type": "application/json", ...(init.headers as Record<string, string>) } });
const { browser, info } = await launchBrowser();
console.log(`${info.version} (${info.source})`);

try {
  const seeded = await seed(api);
  const pages = mainPages(seeded);
  const shots: Array<{ file: string; name: string; options: PageOptions }> = [
    ...pages.map((p) => ({ file: p.name, name: p.name, options: { width: 1280, height: 800 } })),
    ...["dashboard", "task-detail", "plan-run"].map((name) => ({ file: `${name}-dark`, name, options: { width: 1280, height: 800, dark: true } })),
    ...["dashboard", "tasks", "plan-run"].map((name) => ({ file: `${name}-phone`, name, options: { width: 375, height: 740 } })),
    { file: "task-detail-phone-dark", name: "task-detail", options: { width: 375, height: 740, dark: true } },
  ];
  for (const shot of shots) {
    const path = pages.find((p) => p.name === shot.name)!.path;
    const opened = await openPage(browser, server.url, path, shot.options);
    try {
      await waitForSettled(opened.page, "main");
      await opened.page.evaluate(() => document.fonts.ready);
      const file = await screenshot(opened.page, shot.file);
      console.log(`${file}${opened.problems.length ? `  PROBLEMS: ${opened.problems.join("; ")}` : ""}`);
    } finally {
      await opened.close();
    }
  }
} finally {
  await browser.close();
  await server.stop(1);
  rmSync(dataDir, { recursive: true, force: true });
}
