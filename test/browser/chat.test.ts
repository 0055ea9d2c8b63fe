// The Chat page in a real browser: a message sent with Enter (Shift+Enter is a newline) shows rendered in
// the sender's page and arrives live in a second person's page without a reload; switching conversations
// keeps the page; the context sidebar shows the task, its plan run and its documents, and collapses; a
// question is answered with its option button; a viewer's page has no composer; the phone layout fits.
// No console errors anywhere.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Page } from "puppeteer-core";
import { SYSTEM_ACTOR } from "../../src/features/audit/service.ts";
import { createUser } from "../../src/features/auth/users.ts";
import { cleanup, json, startTestServer, TEST_PASSWORD, until } from "../helpers.ts";
import { click, fitsWidth, markPage, openPage, pageWasKept, useBrowser, waitForSettled } from "./browser.ts";

const { browser } = useBrowser();
let server: Awaited<ReturnType<typeof startTestServer>>;
const REPO = "https://git.example.com/acme/shop";

async function created(path: string, body: unknown): Promise<any> {
  const res = await server.api(path, json(body));
  const text = await res.text();
  if (res.status !== 201) throw new Error(`${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

beforeAll(async () => {
  server = await startTestServer({ workers: 2 });
  await createUser(server.services.auth, { username: "olga", password: TEST_PASSWORD, role: "operator" }, SYSTEM_ACTOR);
  await createUser(server.services.auth, { username: "vic", password: TEST_PASSWORD, role: "viewer" }, SYSTEM_ACTOR);
});
afterAll(cleanup);

/** Waits until the page's conversation socket is open (its status says Live). */
async function socketLive(page: Page) {
  await page.waitForFunction(() => document.querySelector("[data-socket-text]")?.textContent === "Live");
}

async function bodies(page: Page): Promise<string[]> {
  return page.$$eval("#msg-list .msg[data-message-type=text] [data-message-body]", (els) => els.map((e) => (e as HTMLElement).innerText.trim()));
}

describe("the Chat page", () => {
  test("Enter sends (rendered as markdown), Shift+Enter is a newline; the message arrives live in another person's page", async () => {
    const conv = await created("/chat/conversations", { title: "Release 2.3" });
    const alice = await openPage(browser(), server.url, `/chat/${conv.id}`);
    const olga = await openPage(browser(), server.url, `/chat/${conv.id}`, { signIn: { username: "olga" } });
    try {
      await socketLive(alice.page);
      await socketLive(olga.page);
      await markPage(olga.page);
      expect(await olga.page.$eval("#msg-list", (el) => el.textContent)).toContain("No messages yet");

      await alice.page.focus("#chat-message");
      await alice.page.keyboard.type("first line **bold**");
      await alice.page.keyboard.down("Shift");
      await alice.page.keyboard.press("Enter");
      await alice.page.keyboard.up("Shift");
      await alice.page.keyboard.type("second line");
      expect(await alice.page.$eval("#chat-message", (el) => (el as HTMLTextAreaElement).value)).toBe("first line **bold**\nsecond line");
      await alice.page.keyboard.press("Enter");

      // The sender's page: shown, rendered, marked as theirs; the composer emptied.
      await alice.page.waitForSelector("#msg-list .msg.msg-mine strong");
      expect(await alice.page.$eval("#msg-list .msg.msg-mine strong", (el) => el.textContent)).toBe("bold");
      await alice.page.waitForFunction(() => (document.querySelector("#chat-message") as HTMLTextAreaElement).value === "");

      // The other page: the same message, live, no reload, not marked as hers.
      await olga.page.waitForSelector("#msg-list .msg strong");
      expect(await bodies(olga.page)).toEqual(["first line bold\nsecond line"]);
      expect(await olga.page.$$eval("#msg-list .msg.msg-mine", (els) => els.length)).toBe(0);
      expect(await pageWasKept(olga.page)).toBe(true);

      // Olga answers; Alice sees it; both see both in the same order.
      await olga.page.focus("#chat-message");
      await olga.page.keyboard.type("ack from olga");
      await olga.page.keyboard.press("Enter");
      // Both pages have it once the server acknowledged it (the sender's page may see the other's copy first).
      const hasAck = () => [...document.querySelectorAll("#msg-list .msg[data-message-type=text] [data-message-body]")].some((e) => (e as HTMLElement).innerText.includes("ack from olga"));
      await alice.page.waitForFunction(hasAck);
      await olga.page.waitForFunction(hasAck);
      expect(await bodies(alice.page)).toEqual(await bodies(olga.page));

      // Editing one's own message: the edit shows in both pages.
      await click(alice.page, "#msg-list .msg.msg-mine [data-action=edit]");
      await alice.page.waitForSelector("[data-edit-box]");
      await alice.page.$eval("[data-edit-box]", (el) => ((el as HTMLTextAreaElement).value = "edited text"));
      await click(alice.page, "[data-edit-save]");
      await olga.page.waitForFunction(() => document.querySelector("#msg-list")?.textContent?.includes("edited text"));
      expect(await olga.page.$eval("#msg-list [data-edited]", (el) => el.textContent)).toContain("edited");
      alice.expectNoProblems();
      olga.expectNoProblems();
    } finally {
      await alice.close();
      await olga.close();
    }
  });

  test("switching conversations keeps the page; the context sidebar shows the task, its plan run and its documents, and collapses", async () => {
    await created("/context/documents", { title: "Checkout design", document_type: "design", content: "How checkout works.", repository_url: REPO });
    const plan = await created("/plans", {
      name: "ship-shop",
      steps: [
        { name: "build", task_type: "hello", params: { name: "a" } },
        { name: "approve", task_type: "ask", params: { question: "Ship the shop?", options: ["approve", "reject"] }, depends_on: ["build"] },
      ],
    });
    const run = await created(`/plans/${plan.id}/run`, {});
    // The approval step asks its question: it is waiting for the answer.
    const approve = await until(server.services.deps.bus, ["task:changed"], () =>
      server.db.sqlite.query<{ id: string }, [string]>("SELECT id FROM tasks WHERE parent_task_id = ? AND title LIKE '%approve%' AND status = 'waiting_input'").get(run.id),
    );
    await server.api(`/tasks/${approve.id}`, { method: "PATCH", body: JSON.stringify({ repository_url: REPO }) });
    const other = await created("/chat/conversations", { title: "Other topic" });

    const opened = await openPage(browser(), server.url, `/chat/${other.id}`);
    const { page } = opened;
    try {
      await socketLive(page);
      await markPage(page);
      // Switch to the approval step's conversation from the list (found by search).
      await page.type("#chat-q", "approve");
      await page.waitForSelector(`[data-conversation-link]`);
      const approveConv = ((await (await server.api(`/tasks/${approve.id}`)).json()) as any).conversation_id;
      await page.waitForSelector(`[data-conversation-link="${approveConv}"]`);
      await click(page, `[data-conversation-link="${approveConv}"]`);
      await page.waitForSelector(`[data-chat-pane][data-conversation-id="${approveConv}"]`);
      await waitForSettled(page, "#chat-pane");
      expect(await pageWasKept(page)).toBe(true);
      expect(new URL(page.url()).pathname).toBe(`/chat/${approveConv}`);
      await socketLive(page);

      // The sidebar: the task, the plan run with both steps, the repository's document.
      await page.waitForSelector("[data-context-sidebar] [data-context-section=plan]");
      const sidebar = await page.$eval("[data-context-sidebar]", (el) => (el as HTMLElement).innerText);
      expect(sidebar).toContain("approve");
      expect(sidebar).toContain("Plan run: ship-shop");
      expect(sidebar).toContain("build");
      expect(sidebar).toContain("Checkout design");
      expect(sidebar).toContain(REPO);

      // The question, with its options: answering with a button resolves it; the task goes on.
      await page.waitForSelector("[data-answer-options] [data-answer=approve]");
      await click(page, "[data-answer-options] [data-answer=approve]");
      await page.waitForFunction(() => !document.querySelector("[data-answer-options]"));
      await page.waitForFunction(() => [...document.querySelectorAll("#msg-list .msg[data-message-type=answer]")].some((e) => e.textContent?.includes("approve")));
      const done = (await (await server.api(`/tasks/${run.id}/wait?timeout=20`)).json()) as any;
      expect(done.status).toBe("succeeded");

      // The sidebar collapses and comes back.
      await click(page, "[data-context-toggle]");
      expect(await page.$eval("#chat-context", (el) => getComputedStyle(el).display)).toBe("none");
      await click(page, "[data-context-toggle]");
      expect(await page.$eval("#chat-context", (el) => getComputedStyle(el).display)).not.toBe("none");
      opened.expectNoProblems();
    } finally {
      await opened.close();
    }
  });

  test("a viewer reads without a composer; on a phone, in dark mode, the page fits", async () => {
    const conv = await created("/chat/conversations", { title: "Read only" });
    await created(`/chat/conversations/${conv.id}/messages`, { message: "for your eyes" });
    const viewer = await openPage(browser(), server.url, `/chat/${conv.id}`, { signIn: { username: "vic" }, width: 375, height: 740, dark: true });
    try {
      await socketLive(viewer.page);
      expect(await viewer.page.$("#chat-form")).toBeNull();
      expect(await viewer.page.$eval("[data-read-only]", (el) => el.textContent)).toContain("operator");
      expect(await bodies(viewer.page)).toEqual(["for your eyes"]);
      const fit = await fitsWidth(viewer.page);
      expect(fit).toMatchObject({ fits: true });
      await created(`/chat/conversations/${conv.id}/messages`, { message: "a second one" });
      await viewer.page.waitForFunction(() => document.querySelector("#msg-list")?.textContent?.includes("a second one"));
      viewer.expectNoProblems();
    } finally {
      await viewer.close();
    }
  });

  test("the list follows new messages at the end, and stops while the reader is scrolled up", async () => {
    const conv = await created("/chat/conversations", { title: "Long thread" });
    for (let i = 0; i < 55; i++) await created(`/chat/conversations/${conv.id}/messages`, { message: `line ${i}\n\nwith a second paragraph` });
    // Olga reads; the admin posts (one's own messages always scroll into view).
    const opened = await openPage(browser(), server.url, `/chat/${conv.id}`, { signIn: { username: "olga" } });
    const { page } = opened;
    const atEnd = () =>
      page
        .waitForFunction(() => {
          const el = document.querySelector("#msg-list")!;
          return el.scrollHeight - el.scrollTop - el.clientHeight < 60;
        }, { timeout: 5000 })
        .then(() => true, () => false);
    try {
      await socketLive(page);
      expect(await atEnd()).toBe(true);
      // At the end: a new message scrolls into view.
      await created(`/chat/conversations/${conv.id}/messages`, { message: "arrives at the end" });
      await page.waitForFunction(() => document.querySelector("#msg-list")?.textContent?.includes("arrives at the end"));
      expect(await atEnd()).toBe(true);
      // Scrolled up to read: the list stays put and says there is more below.
      await page.$eval("#msg-list", (el) => (el.scrollTop = 0));
      await created(`/chat/conversations/${conv.id}/messages`, { message: "arrives while reading" });
      await page.waitForFunction(() => document.querySelector("#msg-list")?.textContent?.includes("arrives while reading"));
      expect(await page.$eval("#msg-list", (el) => el.scrollTop)).toBe(0);
      await page.waitForSelector("[data-new-messages]:not([hidden])");
      await click(page, "[data-new-messages]");
      expect(await atEnd()).toBe(true);
      // Older messages load on demand at the top.
      await page.$eval("#msg-list", (el) => (el.scrollTop = 0));
      await click(page, "[data-load-older]");
      await page.waitForFunction(() => document.querySelector("#msg-list")?.textContent?.includes("line 0"));
      expect(await page.$$eval("#msg-list .msg[data-message-type=text]", (els) => els.length)).toBe(57);
      opened.expectNoProblems();
    } finally {
      await opened.close();
    }
  });
});
