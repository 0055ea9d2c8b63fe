// The controller's pages in a real browser: a running `ask` task's question reaches two open Inboxes
// live; a person answers in one by clicking an option; the card leaves both without a reload, the nav
// badge follows, and the task succeeds with that answer. A free-text question is answered on the task's
// own page. Policies: add a rule in the dialog, dry-run a question it takes, reorder with the keyboard,
// delete after confirming. Models: save a model and test it against the fake provider. A question for the
// model: its answer streams into the Inbox, and a person may answer instead. No console errors.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startFakeLlm, type FakeLlm } from "../fake-llm/server.ts";
import { cleanup, json, startTestServer, TEST_PASSWORD } from "../helpers.ts";
import { saveModelSettings } from "../../src/features/controller/controller-settings.ts";
import { tokenOf } from "../questions.ts";
import { click, markPage, openPage, pageWasKept, useBrowser, waitForSettled, waitForToast } from "./browser.ts";

const { browser } = useBrowser();
let server: Awaited<ReturnType<typeof startTestServer>>;
let fake: FakeLlm;
beforeAll(async () => {
  fake = startFakeLlm();
  server = await startTestServer({ workers: 2 });
  await tokenOf(server, "olga", "operator");
});
afterAll(async () => {
  await cleanup();
  await fake.stop();
});

async function ask(params: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await server.api("/tasks", json({ title: "Gate before deploy", task_type: "ask", params, ...extra }));
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

const badge = (page: import("puppeteer-core").Page) => page.$eval("[data-inbox-badge]", (el) => ((el as HTMLElement).hidden ? "hidden" : el.textContent));

describe("the Inbox in the browser", () => {
  test("a question reaches two open Inboxes live; answered by a click in one, it leaves both; the task succeeds with the answer", async () => {
    const mine = await openPage(browser(), server.url, "/inbox");
    const theirs = await openPage(browser(), server.url, "/inbox", { signIn: { username: "olga", password: TEST_PASSWORD } });
    try {
      for (const o of [mine, theirs]) {
        await o.page.waitForSelector("#inbox-human [data-state=empty]");
        await o.waitForLiveStream();
        await markPage(o.page);
        expect(await badge(o.page)).toBe("hidden");
      }
      const taskId = await ask({ question: "Deploy release 0.4.2 to production?", options: ["approve", "reject"] }, { repository_url: "https://github.com/acme/api" });
      const card = "#inbox-human article[data-handler=human]";
      for (const o of [mine, theirs]) {
        await o.page.waitForSelector(card);
        expect(await o.page.$eval(card, (el) => el.textContent)).toContain("Deploy release 0.4.2 to production?");
        await o.page.waitForFunction(() => document.querySelector("[data-inbox-badge]")?.textContent === "1" && !(document.querySelector("[data-inbox-badge]") as HTMLElement).hidden);
      }
      // The deadline counts down by itself.
      const before = await mine.page.$eval(`${card} time[data-countdown]`, (el) => el.textContent);
      expect(before).toMatch(/^in 2[34] h/);
      expect(await mine.page.$eval(`${card} [data-repository]`, (el) => el.textContent)).toBe("https://github.com/acme/api");

      await waitForSettled(mine.page, card);
      await click(mine.page, `${card} button[data-answer="approve"]`);
      expect(await waitForToast(mine.page, "success", "Answered “approve”")).toContain("Answered “approve”");
      for (const o of [mine, theirs]) {
        await o.page.waitForFunction((sel) => document.querySelector(sel) === null, {}, card);
        await o.page.waitForSelector("#inbox-human [data-state=empty]");
        await o.page.waitForFunction(() => (document.querySelector("[data-inbox-badge]") as HTMLElement | null)?.hidden === true);
        // The resolved list says who answered.
        await o.page.waitForFunction(() => document.querySelector("#inbox-resolved")?.textContent?.includes("— by admin"));
        expect(await pageWasKept(o.page)).toBe(true);
      }
      const done = (await (await server.api(`/tasks/${taskId}/wait?timeout=20`)).json()) as { status: string; result: { answer: string; answered_by: { type: string } } };
      expect(done.status).toBe("succeeded");
      expect(done.result).toMatchObject({ answer: "approve", answered_by: { type: "human" } });
      mine.expectNoProblems();
      theirs.expectNoProblems();
    } finally {
      await mine.close();
      await theirs.close();
    }
  });

  test("a free-text question answered on the task's own page: the panel shows it answered, the task succeeds", async () => {
    const taskId = await ask({ question: "Which name should the new module get?", category: "naming" }, { permission_level: "read" });
    const opened = await openPage(browser(), server.url, `/tasks/${taskId}`);
    const { page } = opened;
    try {
      await page.waitForSelector("#task-questions article[data-handler=human]");
      expect(await page.$eval("[data-permission-level]", (el) => el.textContent)).toBe("read");
      await page.type("#task-questions textarea[name=answer]", "config-loader");
      await click(page, "#task-questions [data-answer-send]");
      await waitForToast(page, "success", "");
      await page.waitForFunction(() => document.querySelector("#task-questions")?.textContent?.includes("Earlier questions"));
      expect(await page.$eval("#task-questions [data-answer-text]", (el) => el.textContent)).toBe("config-loader");
      await page.waitForSelector('#task-main [data-status="succeeded"]');
      opened.expectNoProblems();
    } finally {
      await opened.close();
    }
  });
});

describe("the Policies page in the browser", () => {
  test("add a rule in the dialog, dry-run a question it takes, move it up with the keyboard, delete it after confirming", async () => {
    // The bad pattern is answered 422 on purpose (the form comes back with the error): the browser logs it.
    const opened = await openPage(browser(), server.url, "/policies", { allow: [/HTTP 422: POST \S+\/policies$/, /status of 422 \(Unprocessable Entity\) \(\S+\/policies:/] });
    const { page } = opened;
    try {
      await waitForSettled(page, "#policy-list");
      await click(page, '[data-action="new-rule"]');
      await page.waitForSelector("#policy-dialog[open] #policy-form");
      expect(await page.$eval("#policy-dialog-title", (el) => el.textContent)).toBe("New rule");
      await page.type('#policy-form [name="name"]', "database questions to a person");
      // A bad pattern first: the dialog stays open with the field's error.
      await page.type('#policy-form [name="match.pattern"]', "schema(");
      await click(page, '#policy-form button[type="submit"]');
      await page.waitForFunction(() => document.querySelector("#policy-form .error-text")?.textContent?.includes("not a valid regular expression"));
      await waitForSettled(page, "#policy-form .error-text");
      await page.$eval('#policy-form [name="match.pattern"]', (el) => ((el as HTMLInputElement).value = "\\bschema\\b"));
      await page.type('#policy-form [name="timeout_seconds"]', "900");
      await click(page, '#policy-form button[type="submit"]');
      await page.waitForSelector('[data-policy="database questions to a person"]');
      await page.waitForFunction(() => !(document.getElementById("policy-dialog") as HTMLDialogElement).open);
      const order = () => page.$$eval("#policy-list [data-policy]", (els) => els.map((e) => e.getAttribute("data-policy")));
      expect((await order()).slice(-2)).toEqual(["database questions to a person", "default"]);

      await page.type("#dry-run-form textarea[name=question]", "May I change the schema of the users table?");
      await click(page, "#dry-run-form [data-dry-run]");
      await page.waitForSelector('[data-dry-run-match="database questions to a person"]');
      expect(await page.$eval("#dry-run-result", (el) => el.textContent)).toContain("the question matches /\\bschema\\b/i");

      // Up with the keyboard: focus the button, press Enter; the focus stays on it after the list refreshes.
      const id = await page.$eval('[data-policy="database questions to a person"]', (el) => el.id.replace("policy-", ""));
      await page.focus(`#move-up-${id}`);
      await page.keyboard.press("Enter");
      await page.waitForFunction(() => {
        const names = [...document.querySelectorAll("#policy-list [data-policy]")].map((e) => e.getAttribute("data-policy"));
        return names.at(-3) === "database questions to a person";
      });
      await page.waitForFunction((sel) => document.activeElement?.id === sel, {}, `move-up-${id}`);
      await page.keyboard.press("Enter");
      await page.waitForFunction(() => [...document.querySelectorAll("#policy-list [data-policy]")].map((e) => e.getAttribute("data-policy")).at(-4) === "database questions to a person");

      await click(page, `#policy-${id} [data-action="delete"]`);
      await page.waitForSelector("#confirm-dialog[open]");
      expect(await page.$eval("#confirm-title", (el) => el.textContent)).toBe("Delete this rule?");
      await click(page, "[data-confirm-ok]");
      await page.waitForFunction(() => !document.querySelector('[data-policy="database questions to a person"]'));
      await page.waitForFunction(() => document.getElementById("toasts")?.textContent?.includes("deleted"));
      opened.expectNoProblems();
    } finally {
      await opened.close();
    }
  });
});

describe("Settings → Models in the browser", () => {
  test("save a model (the key write-only), then test it against the fake provider", async () => {
    fake.respond(() => ({ text: "I am the fake model; the connection works." }));
    const opened = await openPage(browser(), server.url, "/settings/models");
    const { page } = opened;
    try {
      await page.waitForSelector('[data-model-ready="none"]');
      await page.select("#m-provider", "openai-compatible");
      await page.type("#m-base_url", fake.openaiBaseUrl);
      await page.type("#m-model", "fake-model");
      await page.type("#m-api_key", "sk-local-not-needed");
      await click(page, '#model-form button[type="submit"]');
      await page.waitForSelector('[data-model-ready="true"]');
      await waitForToast(page, "success", "");
      expect(await page.content()).not.toContain("sk-local-not-needed");
      expect(await page.$eval('[data-secret-state="secrets"]', (el) => el.textContent)).toContain("AGENTVINE_LLM_API_KEY");
      await click(page, "[data-test-model]");
      await page.waitForSelector('[data-test-result="ok"]');
      expect(await page.$eval("#model-test-result", (el) => el.textContent)).toContain("I am the fake model; the connection works.");
      opened.expectNoProblems();
    } finally {
      fake.respond(null);
      await opened.close();
    }
  });
});

describe("a question for the model in the browser", () => {
  test("its answer streams into the Inbox; a person opens “Answer it yourself instead” and answers; the task gets that answer", async () => {
    const deps = { db: server.db, config: server.services.controllerConfig, secrets: server.services.secrets };
    saveModelSettings(deps, { provider: "openai-compatible", baseUrl: fake.openaiBaseUrl, model: "fake-model" });
    // The model writes its first words, then stalls: the draft is what arrived.
    fake.respond(() => ({ text: "Return 422 for empty input.", chunkSize: 6, hang: "mid-stream" }));
    const opened = await openPage(browser(), server.url, "/inbox");
    const { page } = opened;
    try {
      await opened.waitForLiveStream();
      await markPage(page);
      const taskId = await ask({ question: "400 or 422 for empty input?", options: ["400", "422"], category: "clarification" });
      const card = "#inbox-automated article[data-handler=automated]";
      await page.waitForFunction((sel) => document.querySelector(`${sel} [data-draft] pre`)?.textContent === "Return", {}, card);
      expect(await page.$eval(card, (el) => el.textContent)).toContain("clarifications go to the LLM");
      await click(page, `${card} details summary`);
      await click(page, `${card} button[data-answer="422"]`);
      await page.waitForFunction((sel) => document.querySelector(sel) === null, {}, card);
      await page.waitForFunction(() => document.querySelector("#inbox-resolved")?.textContent?.includes("— by admin"));
      const done = (await (await server.api(`/tasks/${taskId}/wait?timeout=20`)).json()) as { status: string; result: { answer: string; answered_by: { type: string } } };
      expect(done).toMatchObject({ status: "succeeded", result: { answer: "422", answered_by: { type: "human" } } });
      expect(await pageWasKept(page)).toBe(true);
      opened.expectNoProblems();
    } finally {
      fake.respond(null);
      saveModelSettings(deps, null);
      await opened.close();
    }
  });
});
