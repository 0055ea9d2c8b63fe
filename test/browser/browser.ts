// A real headless Chromium for the UI tests: found or unpacked, launched once per test file, and pages
// that record every console error, page error and failed request so a test can insist on none.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, setDefaultTimeout } from "bun:test";
import chromium, { inflate } from "@sparticuz/chromium";
import puppeteer, { type Browser, type BrowserContext, type Cookie, type HTTPRequest, type HTTPResponse, type Page } from "puppeteer-core";
import { TEST_PASSWORD } from "../helpers.ts";

/** Flags of a quiet, sandbox-less headless browser that never talks to the internet. */
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--no-zygote",
  "--disable-dev-shm-usage",
  "--font-render-hinting=none",
];

/** Generous for a 2-core machine running the server, the browser and the test at once; still bounded. */
export const PAGE_TIMEOUT_MS = 20_000;
/** Per test: a browser test walks several pages (bunfig's `[test] timeout` is not a setting bun reads). */
export const BROWSER_TEST_TIMEOUT_MS = 90_000;

export interface BrowserInfo {
  executable: string;
  source: "AGENTVINE_CHROMIUM" | "system" | "@sparticuz/chromium";
  version: string;
  /** Time to find (and on a fresh machine unpack) the executable. */
  findMs: number;
  launchMs: number;
}

interface Executable {
  path: string;
  source: BrowserInfo["source"];
  env: Record<string, string>;
}

const SYSTEM_CHROMIUMS = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome-stable", "/usr/bin/google-chrome"];

/**
 * The browser to drive: $AGENTVINE_CHROMIUM, else a system Chromium (Debian's `chromium`), else the one
 * inside the @sparticuz/chromium npm package — which is what makes `npm ci && npm test` work on a
 * machine with nothing installed by hand.
 */
async function findExecutable(): Promise<Executable> {
  const fromEnv = process.env.AGENTVINE_CHROMIUM;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`AGENTVINE_CHROMIUM=${fromEnv} does not exist`);
    return { path: fromEnv, source: "AGENTVINE_CHROMIUM", env: {} };
  }
  const system = SYSTEM_CHROMIUMS.find((p) => existsSync(p));
  if (system) return { path: system, source: "system", env: {} };
  return unpackSparticuz();
}

/**
 * Unpacks the packaged Chromium into a directory of its own, named by package version. The package's
 * own cache (/tmp/chromium) is shared by whatever else on the machine uses it and another test process
 * may be half-way through writing it, so this unpacks into a private staging dir and renames it into
 * place: a reader sees a complete browser or none.
 */
async function unpackSparticuz(): Promise<Executable> {
  const base = tmpdir();
  const { version } = JSON.parse(readFileSync(join(sparticuzBin(), "../package.json"), "utf8")) as { version: string };
  const dir = join(base, `agentvine-chromium-${version}`);
  const env: Record<string, string> = {};
  if (!existsSync(join(dir, "chromium"))) {
    const staging = mkdtempSync(join(base, "agentvine-chromium-staging-"));
    const savedTmp = process.env.TMPDIR;
    try {
      // The package unpacks into os.tmpdir(); point that at the staging dir for the duration.
      process.env.TMPDIR = staging;
      await chromium.executablePath();
      if (!hasNss()) await inflate(join(sparticuzBin(), "al2023.tar.br"));
    } finally {
      if (savedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmp;
    }
    try {
      renameSync(staging, dir);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // another process got there first: use its copy
    }
  }
  // The binary links NSS dynamically; the package carries a copy for systems without it (unpacked above).
  if (existsSync(join(dir, "al2023", "lib"))) env.LD_LIBRARY_PATH = [join(dir, "al2023", "lib"), process.env.LD_LIBRARY_PATH].filter(Boolean).join(":");
  // Without a system fontconfig the page would render in no font at all; the package ships Open Sans.
  if (!existsSync("/etc/fonts/fonts.conf")) env.FONTCONFIG_PATH = join(dir, "fonts");
  return { path: join(dir, "chromium"), source: "@sparticuz/chromium", env };
}

/** The package's folder of brotli archives (its main module is build/index.js). */
function sparticuzBin(): string {
  return join(Bun.resolveSync("@sparticuz/chromium", import.meta.dir), "../../bin");
}

function hasNss(): boolean {
  return ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/lib64"].some((d) => existsSync(join(d, "libnss3.so")));
}

/** Finds (or unpacks) a Chromium and launches it headless. */
export async function launchBrowser(): Promise<{ browser: Browser; info: BrowserInfo }> {
  const t0 = performance.now();
  const exe = await findExecutable();
  const t1 = performance.now();
  const browser = await puppeteer.launch({
    executablePath: exe.path,
    headless: true,
    args: FLAGS,
    env: { ...process.env, ...exe.env },
    timeout: 30_000,
    protocolTimeout: 60_000,
    // The test runner owns signals; the browser is closed in afterAll.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  const info: BrowserInfo = {
    executable: exe.path,
    source: exe.source,
    version: await browser.version(),
    findMs: t1 - t0,
    launchMs: performance.now() - t1,
  };
  return { browser, info };
}

/**
 * One browser for the calling test file: launched in beforeAll, closed in afterAll.
 * Returns a getter, since the browser exists only once beforeAll ran.
 */
export function useBrowser(): { browser: () => Browser; info: () => BrowserInfo } {
  let launched: { browser: Browser; info: BrowserInfo } | undefined;
  setDefaultTimeout(BROWSER_TEST_TIMEOUT_MS);
  beforeAll(async () => {
    launched = await launchBrowser();
  }, 90_000);
  afterAll(async () => {
    await launched?.browser.close();
  });
  return {
    browser: () => {
      if (!launched) throw new Error("the browser is not launched (useBrowser() must be called at the top of the test file)");
      return launched.browser;
    },
    info: () => launched!.info,
  };
}

export interface PageOptions {
  /** Viewport width in CSS px (default 1280). */
  width?: number;
  height?: number;
  /** Emulate `prefers-color-scheme: dark`. */
  dark?: boolean;
  /** Cookies for the server's host, set before the first request (e.g. `{ theme: "dark" }`). */
  cookies?: Record<string, string>;
  /** Problems matching any of these are expected by the test and not recorded. */
  allow?: RegExp[];
  /**
   * Who to be: signed in through the real /login form (default: the test server's `admin`), or `false`
   * to stay signed out. The session cookie is kept per server and user, so later pages reuse it.
   */
  signIn?: { username: string; password?: string } | false;
}

/** The account startTestServer() creates. */
export const ADMIN = { username: "admin", password: TEST_PASSWORD };

export const SESSION_COOKIE = "agentvine_session";

/** Session cookies by `<server url> <username>`: one sign-in through the form per server and user. */
const sessions = new Map<string, Cookie>();

/**
 * Signs in through the /login form like a person: types the name and password and submits. Resolves with
 * the answer of the page it lands on (`next`, when the sign-in worked).
 */
export async function signIn(page: Page, baseUrl: string, username = ADMIN.username, password = ADMIN.password, next = "/"): Promise<HTTPResponse | null> {
  await page.goto(new URL(`/login?next=${encodeURIComponent(next)}`, baseUrl).href, { waitUntil: "load" });
  await page.waitForSelector("#login-form");
  await page.type("#f-username", username);
  await page.type("#f-password", password);
  const [res] = await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.click('#login-form button[type="submit"]')]);
  return res;
}

/** The browser session cookie a context holds, if any. */
export async function sessionCookie(context: BrowserContext): Promise<Cookie | undefined> {
  return (await context.cookies()).find((c) => c.name === SESSION_COOKIE);
}

export interface OpenedPage {
  page: Page;
  /** Console errors, uncaught page errors, failed requests and HTTP error responses seen so far. */
  problems: string[];
  /** Fails (throws) if any problem was recorded. */
  expectNoProblems(): void;
  /** Resolves once a problem matching `match` is recorded (used to prove the recording works). */
  waitForProblem(match: RegExp, timeoutMs?: number): Promise<string>;
  /** Navigates and waits for the load event (not for network idle: live streams never go idle). */
  goto(path: string): Promise<HTTPResponse | null>;
  /** Resolves once a live event stream (EventSource) of the page is open. */
  waitForLiveStream(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Counts every EventSource the page opens, so a test can wait until the page listens before it makes
 * something happen (an event published before the stream opens would never reach the page).
 */
const TRACK_EVENT_SOURCES = `(() => {
  const Native = window.EventSource;
  if (!Native || window.__liveStreams) return;
  const sources = [];
  window.__liveStreams = sources;
  window.EventSource = class extends Native {
    constructor(url, init) { super(url, init); sources.push(this); }
  };
})();`;

/**
 * Every toast the page shows, kept after it is dismissed: a test waits for the toast an action caused
 * without racing its auto-dismissal (4.5 s) on a busy machine.
 */
const RECORD_TOASTS = `(() => {
  if (window.__toasts) return;
  const seen = [];
  window.__toasts = seen;
  const note = (node) => {
    if (node.nodeType !== 1) return;
    if (node.hasAttribute("data-toast")) seen.push(node);
    node.querySelectorAll("[data-toast]").forEach((el) => seen.push(el));
  };
  new MutationObserver((records) => records.forEach((r) => r.addedNodes.forEach(note))).observe(document, { childList: true, subtree: true });
})();`;

/** How many toasts the page has shown so far: pass it to waitForToast to wait for a newer one. */
export const toastMark = (page: Page): Promise<number> => page.evaluate(() => ((window as unknown as { __toasts?: Element[] }).__toasts ?? []).length);

/** Waits for a toast of `level` containing `text`, shown after `since` (a toastMark) — even one already dismissed. */
export async function waitForToast(page: Page, level: "success" | "info" | "error", text: string, since = 0): Promise<string> {
  const handle = await page.waitForFunction(
    (lvl, txt, from) => {
      const all = ((window as unknown as { __toasts?: Element[] }).__toasts ?? []).slice(from);
      const hit = all.find((el) => el.getAttribute("data-toast") === lvl && (el.textContent ?? "").includes(txt));
      return hit ? hit.textContent : null;
    },
    { timeout: PAGE_TIMEOUT_MS },
    level,
    text,
    since,
  );
  return (await handle.jsonValue()) as string;
}

/**
 * Opens a new page at `baseUrl + path`, in a context of its own, signed in (see PageOptions.signIn), with
 * problem recording on.
 */
export async function openPage(browser: Browser, baseUrl: string, path = "/", options: PageOptions = {}): Promise<OpenedPage> {
  const context = await browser.createBrowserContext();
  const host = new URL(baseUrl).hostname;
  for (const [name, value] of Object.entries(options.cookies ?? {})) await context.setCookie({ name, value, domain: host, path: "/" });
  const page = await context.newPage();
  page.setDefaultTimeout(PAGE_TIMEOUT_MS);
  page.setDefaultNavigationTimeout(PAGE_TIMEOUT_MS);
  await page.setViewport({ width: options.width ?? 1280, height: options.height ?? 800, deviceScaleFactor: 1 });
  if (options.dark) await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "dark" }]);
  await page.evaluateOnNewDocument(TRACK_EVENT_SOURCES);
  await page.evaluateOnNewDocument(RECORD_TOASTS);

  const problems: string[] = [];
  const watchers = new Set<(problem: string) => void>();
  let recording = true;
  const record = (problem: string) => {
    if (!recording) return;
    if (options.allow?.some((re) => re.test(problem))) return;
    problems.push(problem);
    for (const w of watchers) w(problem);
  };
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const where = msg.location()?.url ? ` (${msg.location().url}:${msg.location().lineNumber ?? "?"})` : "";
    record(`console error: ${msg.text()}${where}`);
  });
  page.on("pageerror", (err) => record(`page error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`));
  page.on("requestfailed", (req: HTTPRequest) => {
    const reason = req.failure()?.errorText ?? "failed";
    // A live stream is cut when the page navigates away; that is the browser's doing, not a fault.
    if (req.resourceType() === "eventsource" && reason === "net::ERR_ABORTED") return;
    record(`request failed: ${req.method()} ${req.url()} — ${reason}`);
  });
  page.on("response", (res: HTTPResponse) => {
    if (res.status() >= 400) record(`HTTP ${res.status()}: ${res.request().method()} ${res.url()}`);
  });

  const opened: OpenedPage = {
    page,
    problems,
    expectNoProblems() {
      if (problems.length) throw new Error(`the page reported ${problems.length} problem(s):\n  ${problems.join("\n  ")}`);
    },
    waitForProblem(match, timeoutMs = PAGE_TIMEOUT_MS) {
      const seen = problems.find((p) => match.test(p));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          watchers.delete(watch);
          reject(new Error(`no problem matching ${match} within ${timeoutMs} ms; recorded: ${JSON.stringify(problems)}`));
        }, timeoutMs);
        const watch = (p: string) => {
          if (!match.test(p)) return;
          clearTimeout(timer);
          watchers.delete(watch);
          resolve(p);
        };
        watchers.add(watch);
      });
    },
    goto: (p) => page.goto(new URL(p, baseUrl).href, { waitUntil: "load" }),
    async waitForLiveStream() {
      await page.waitForFunction(
        () => ((window as unknown as { __liveStreams?: EventSource[] }).__liveStreams ?? []).some((s) => s.readyState === 1),
        { timeout: PAGE_TIMEOUT_MS },
      );
    },
    async close() {
      recording = false;
      await context.close().catch(() => {});
    },
  };
  const who = options.signIn === undefined ? ADMIN : options.signIn;
  let res: HTTPResponse | null;
  if (who) {
    const key = `${baseUrl} ${who.username}`;
    const kept = sessions.get(key);
    if (kept) await context.setCookie(kept);
    res = kept ? await opened.goto(path) : null;
    // No session yet, or the kept one is dead (a server that reused the port, a test that signed out):
    // sign in through the form, which then brings the page to `path`.
    if (!kept || (new URL(page.url()).pathname === "/login" && !path.startsWith("/login"))) {
      sessions.delete(key);
      res = await signIn(page, baseUrl, who.username, who.password ?? ADMIN.password, path);
      const cookie = await sessionCookie(context);
      if (!cookie) throw new Error(`signing in as ${who.username} set no session cookie (landed on ${page.url()})`);
      sessions.set(key, cookie);
    }
  } else {
    res = await opened.goto(path);
  }
  if (!res || !res.ok()) record(`navigation to ${path} answered ${res?.status() ?? "nothing"}`);
  return opened;
}

/** True when the page needs no horizontal scrolling at its current viewport width. */
export async function fitsWidth(page: Page): Promise<{ fits: boolean; scrollWidth: number; innerWidth: number; widest: string[] }> {
  return page.evaluate(() => {
    const innerWidth = window.innerWidth;
    const scrollWidth = document.documentElement.scrollWidth;
    // Name the elements that stick out, so a failure says where to look.
    const widest = [...document.querySelectorAll("body *")]
      .filter((el) => el.getBoundingClientRect().right > innerWidth + 0.5)
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}${el.className && typeof el.className === "string" ? `.${el.className.trim().split(/\s+/).slice(0, 3).join(".")}` : ""} (right ${Math.round(el.getBoundingClientRect().right)})`);
    return { fits: scrollWidth <= innerWidth, scrollWidth, innerWidth, widest };
  });
}

/**
 * Saves a PNG under docs/screenshots/ (the README shows them). A full-page shot grows the viewport to
 * the page's height first: captured beyond the viewport, sticky bars would sit mid-page.
 */
export async function screenshot(page: Page, name: string, fullPage = true): Promise<string> {
  const dir = join(import.meta.dir, "../../docs/screenshots");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`) as `${string}.png`;
  const viewport = page.viewport();
  if (fullPage && viewport) {
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    if (height > viewport.height) {
      await page.setViewport({ ...viewport, height });
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    }
  }
  await page.screenshot({ path, type: "png" });
  if (viewport) await page.setViewport(viewport);
  return path;
}

/** Marks the current document; `pageWasKept` is true only while no reload or navigation replaced it. */
export async function markPage(page: Page): Promise<void> {
  await page.evaluate(() => {
    (window as unknown as { __kept?: boolean }).__kept = true;
  });
}

export async function pageWasKept(page: Page): Promise<boolean> {
  return page.evaluate(() => (window as unknown as { __kept?: boolean }).__kept === true);
}

/**
 * Clicks `selector` like a user would: scrolled to the middle of the viewport first (sticky bars cover
 * the edges), and refuses if something else would receive the click.
 */
export async function click(page: Page, selector: string): Promise<void> {
  const handle = await page.waitForSelector(selector, { visible: true });
  if (!handle) throw new Error(`no element ${selector}`);
  const hit = await handle.evaluate((el) => {
    el.scrollIntoView({ block: "center", inline: "center" });
    const box = el.getBoundingClientRect();
    const top = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
    return top && (top === el || el.contains(top)) ? null : (top?.outerHTML.slice(0, 120) ?? "nothing");
  });
  if (hit) throw new Error(`${selector} is covered by ${hit}`);
  await handle.click();
  await handle.dispose();
}

/**
 * Waits until `selector` is on the page and htmx has finished swapping and settling it: an element is
 * in the DOM a moment before htmx binds its attributes, and a change made then would go unnoticed.
 */
export async function waitForSettled(page: Page, selector: string): Promise<void> {
  await page.waitForFunction(
    (sel) => document.querySelector(sel) !== null && document.querySelector(".htmx-swapping, .htmx-settling, .htmx-added") === null,
    { timeout: PAGE_TIMEOUT_MS },
    selector,
  );
}
