// The Inbox and the questions on a task's page, through the app in process: what a question shows (user
// text escaped), who may answer (viewers read: no form, 403), answering in place with a toast, a lost race
// (409) that says what happened and takes the card away, inline validation, the nav badge and the
// dashboard's count, and the model's answer as it streams.
import { afterEach, describe, expect, test } from "bun:test";
import { act, visit } from "../../../test/admin-pages.ts";
import { startFakeLlm } from "../../../test/fake-llm/server.ts";
import { cleanup, json, startTestApp, waitFor } from "../../../test/helpers.ts";
import { HOSTILE, HOSTILE_ESCAPED, isFullPage } from "../../../test/html.ts";
import { askingTask, requestRow, taskStatus, tokenOf } from "../../../test/questions.ts";

afterEach(cleanup);

const approval = (question = "Deploy release 0.4.2 to production?") => ({ question, category: "approval", options: ["approve", "reject"] });
const badgeOf = (html: string) => /<span[^>]*data-inbox-badge=""[^>]*>(\d+)<\/span>/.exec(html)?.[0] ?? "";

describe("GET /inbox", () => {
  test("with nothing waiting: the empty states, the live stream, the nav entry current, the badge hidden", async () => {
    const server = await startTestApp();
    const res = await visit(server, "/inbox");
    expect(res.status).toBe(200);
    expect(isFullPage(res.text)).toBe(true);
    expect(res.text).toContain("<title>Inbox · AgentVine</title>");
    expect(res.text).toMatch(/<a href="\/inbox"[^>]*aria-current="page"/);
    expect(res.text).toContain("Nothing is waiting for you");
    expect(res.text).toContain("The model is answering nothing right now");
    expect(res.text).toContain("No question has been resolved yet");
    expect(res.text).toMatch(/sse-connect="\/events\?topics=requests,answers&amp;v=\d+"/);
    expect(res.text).toMatch(/<section id="inbox-human" [^>]*hx-get="\/inbox" hx-trigger="sse:requests" hx-swap="innerHTML">/);
    expect(res.text).toContain('data-inbox-slot="" data-v="');
    expect(badgeOf(res.text)).toContain("hidden");
  });

  test("a question for a person: its task, repository, route, options as buttons and a live countdown — user text escaped", async () => {
    const server = await startTestApp();
    const { task, request } = await askingTask(server, approval(`Ship ${HOSTILE}?`), { title: `Release ${HOSTILE}`, repository_url: "https://github.com/acme/api", permission_level: "push" });
    const res = await visit(server, "/inbox");
    expect(res.text).not.toContain(HOSTILE);
    expect(res.text).toContain(`Ship ${HOSTILE_ESCAPED}?`);
    expect(res.text).toContain(`Release ${HOSTILE_ESCAPED}`);
    expect(res.text).toContain(`id="request-${request.id}"`);
    expect(res.text).toContain(`href="/tasks/${task.id}"`);
    expect(res.text).toContain("https://github.com/acme/api");
    expect(res.text).toContain("permission: push");
    expect(res.text).toContain("approvals go to a human"); // the seeded rule that took it
    expect(res.text).toContain("category is approval"); // why it matched
    expect(res.text).toContain('data-answer="approve"');
    expect(res.text).toContain('data-answer="reject"');
    expect(res.text).toMatch(/<time datetime="[^"]+" data-countdown="" [^>]*>in (24 h 0|23 h 59) min<\/time>/);
    expect(res.text).not.toContain('name="answer" rows'); // options: buttons, no free text
    expect(badgeOf(res.text)).toMatch(/>1<\/span>$/);
    expect(badgeOf(res.text)).not.toContain("hidden");
  });

  test("the badge counts questions waiting for a person on every page, and the dashboard's waiting card leads to the Inbox", async () => {
    const server = await startTestApp();
    await askingTask(server, approval());
    await askingTask(server, { question: "Which name?", category: "naming" });
    for (const path of ["/", "/tasks", "/workers", "/policies", "/settings"]) {
      expect({ path, badge: badgeOf((await visit(server, path)).text) }).toEqual({ path, badge: expect.stringMatching(/>2<\/span>$/) });
    }
    const badge = await visit(server, "/inbox/badge", { htmx: true });
    expect(badge.text).toMatch(/^<span[^>]*data-inbox-badge=""[^>]*>2<\/span>$/);
    const dashboard = await visit(server, "/");
    expect(dashboard.text).toMatch(/<a href="\/inbox"[^>]*data-count="waiting_input">/);
    expect(dashboard.text).toMatch(/data-waiting-for-you="2">2 wait for you</);
  });

  test("a free-text question gets a text box; a viewer sees the question without any form and is refused an answer (403)", async () => {
    const server = await startTestApp();
    const { request } = await askingTask(server, { question: "Which name should the module get?" });
    const admin = await visit(server, "/inbox");
    expect(admin.text).toContain(`id="answer-${request.id}"`);
    expect(admin.text).toContain('hx-preserve="true"');
    const viewer = await tokenOf(server, "vera", "viewer");
    const seen = await visit(server, "/inbox", { token: viewer });
    expect(seen.status).toBe(200);
    expect(seen.text).toContain("Which name should the module get?");
    expect(seen.text).not.toContain("data-answer-form");
    expect(seen.text).toContain("data-read-only");
    const refused = await act(server, `/inbox/${request.id}/respond`, { answer: "config-loader", from: "inbox" }, { token: viewer });
    expect(refused.status).toBe(403);
    expect(refused.toast?.level).toBe("error");
    expect(requestRow(server, request.id).status).toBe("open");
  });
});

describe("POST /inbox/:id/respond", () => {
  test("an option answers in place: a toast, the card goes, the task runs again, and the answer is listed as resolved by its person", async () => {
    const server = await startTestApp();
    const { task, request } = await askingTask(server, approval(), { title: "Deploy" });
    expect(taskStatus(server, task.id)).toBe("waiting_input");
    const res = await act(server, `/inbox/${request.id}/respond`, { answer: "approve", from: "inbox" });
    expect(res.status).toBe(200);
    expect(res.text).toBe("");
    expect(res.toast).toEqual({ level: "success", message: "Answered “approve”: “Deploy” carries on" });
    const row = requestRow(server, request.id);
    expect(row).toMatchObject({ status: "answered", answer: "approve", answered_by_type: "human" });
    expect(taskStatus(server, task.id)).toBe("running");
    const resolved = await visit(server, "/inbox", { htmx: "inbox-resolved" });
    expect(resolved.text).toContain('id="inbox-resolved-title"');
    expect(resolved.text).not.toContain('<section id="inbox-resolved"'); // the content only: the section stays
    expect(resolved.text).toContain(`data-request-id="${request.id}"`);
    expect(resolved.text).toMatch(/<strong data-answer-text="">approve<\/strong><span class="text-muted"> — by admin<\/span>/);
    const human = await visit(server, "/inbox", { htmx: "inbox-human" });
    expect(human.text).not.toContain(request.id);
    expect(badgeOf((await visit(server, "/")).text)).toContain("hidden");
  });

  test("someone else was first: the second answer says what happened and removes the card (no second answer is recorded)", async () => {
    const server = await startTestApp();
    const { request } = await askingTask(server, approval());
    expect((await act(server, `/inbox/${request.id}/respond`, { answer: "reject", from: "inbox" })).status).toBe(200);
    const late = await act(server, `/inbox/${request.id}/respond`, { answer: "approve", from: "inbox" });
    expect(late.status).toBe(200);
    expect(late.text).toBe("");
    expect(late.headers.get("x-request-status")).toBe("answered");
    expect(late.toast?.level).toBe("error");
    expect(late.toast?.message).toMatch(/is no longer open: it was answered by a person at .* \("reject"\)/);
    expect(requestRow(server, request.id).answer).toBe("reject");
    // The JSON API keeps the real status.
    expect((await server.api(`/requests/${request.id}/respond`, json({ answer: "approve" }))).status).toBe(409);
  });

  test("an empty free-text answer or an answer that is not an option comes back inline (422), the question still open", async () => {
    const server = await startTestApp();
    const free = await askingTask(server, { question: "Which name?" });
    const empty = await act(server, `/inbox/${free.request.id}/respond`, { answer: "   ", from: "inbox" });
    expect(empty.status).toBe(422);
    expect(empty.text.startsWith(`<article id="request-${free.request.id}"`)).toBe(true);
    expect(empty.text).toContain("The answer must not be empty.");
    expect(empty.toast).toEqual({ level: "error", message: "The answer must not be empty." });
    expect(empty.text).toContain('aria-invalid="true"');
    const options = await askingTask(server, approval());
    const wrong = await act(server, `/inbox/${options.request.id}/respond`, { answer: "maybe", from: "inbox" });
    expect(wrong.status).toBe(422);
    expect(wrong.text).toContain("The answer must be one of approve, reject.");
    expect(requestRow(server, free.request.id).status).toBe("open");
    expect(requestRow(server, options.request.id).status).toBe("open");
    expect((await act(server, "/inbox/no-such-request/respond", { answer: "x" })).status).toBe(404);
  });

  test("without JavaScript a plain form post answers and redirects back with a flash", async () => {
    const server = await startTestApp();
    const { request } = await askingTask(server, approval());
    const res = await visit(server, `/inbox/${request.id}/respond`, { form: { answer: "approve", from: "inbox" } });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/inbox");
    expect(requestRow(server, request.id).status).toBe("answered");
  });
});

describe("a task's page", () => {
  test("shows its open question with the same answer box, its permission level; answered there, the panel lists it as an earlier question", async () => {
    const server = await startTestApp();
    const { task, request } = await askingTask(server, approval(`Proceed ${HOSTILE}?`), { permission_level: "read" });
    const page = await visit(server, `/tasks/${task.id}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('data-permission-level="read"');
    expect(page.text).toContain('id="task-questions"');
    expect(page.text).toContain(`Proceed ${HOSTILE_ESCAPED}?`);
    expect(page.text).not.toContain(HOSTILE);
    expect(page.text).toContain("This task is waiting for an answer");
    expect(page.text).toContain('<input type="hidden" name="from" value="task"/>');
    expect(page.text).toContain('hx-target="#task-questions" hx-swap="innerHTML"');
    expect(page.text).toMatch(new RegExp(`topics=task:${task.id},exec:${task.id},questions:${task.id}&amp;v=`));

    const res = await act(server, `/inbox/${request.id}/respond`, { answer: "approve", from: "task" });
    expect(res.status).toBe(200);
    expect(res.toast?.level).toBe("success");
    expect(res.text.startsWith('<details class="card min-w-0" open="">')).toBe(true);
    expect(res.text).toContain("Earlier questions");
    expect(res.text).toMatch(/<strong data-answer-text="">approve<\/strong><span class="text-muted"> — by admin<\/span>/);
    expect(res.text).not.toContain("data-answer-form");

    const panel = await visit(server, `/tasks/${task.id}/questions`, { htmx: "task-questions" });
    expect(panel.text).toBe(res.text);
    expect((await visit(server, "/tasks/no-such-task/questions", { htmx: "task-questions" })).status).toBe(404);
  });

  test("a task that asked nothing has the panel, hidden, ready for its first question", async () => {
    const server = await startTestApp();
    const res = await server.api("/tasks", json({ title: "quiet", task_type: "hello", params: { name: "q" } }));
    const task = (await res.json()) as { id: string };
    const page = await visit(server, `/tasks/${task.id}`);
    // Empty (and so hidden by `empty:hidden`), but there for the live refresh.
    expect(page.text).toContain(`<section id="task-questions" class="flex min-w-0 flex-col gap-3 empty:hidden" aria-label="Questions this task asked" hx-get="/tasks/${task.id}/questions" hx-trigger="sse:questions" hx-swap="innerHTML"></section>`);
    expect(page.text).toContain('data-permission-level="write"');
  });

  test("a viewer sees the open question without an answer box", async () => {
    const server = await startTestApp();
    const { task } = await askingTask(server, approval());
    const page = await visit(server, `/tasks/${task.id}`, { token: await tokenOf(server, "vic", "viewer") });
    expect(page.text).toContain("Deploy release 0.4.2 to production?");
    expect(page.text).not.toContain("data-answer-form");
  });
});

describe("questions with the model", () => {
  test("listed under “With the model now” with its answer streaming in; a person may still answer instead", async () => {
    const fake = startFakeLlm();
    fake.respond(() => ({ text: "Return 422 for empty input.", chunkSize: 6, hang: "mid-stream" }));
    const server = await startTestApp({ llmProvider: "openai-compatible", llmBaseUrl: fake.openaiBaseUrl, llmModel: "fake-model" });
    try {
      const { request } = await askingTask(server, { question: "400 or 422 for empty input?", category: "clarification" });
      expect(request.handler).toBe("automated");
      // The fake sends the first piece of its answer, then stalls: the draft is that piece.
      await waitFor(server.services.deps.bus, "request:delta", (e) => e.requestId === request.id);
      const res = await visit(server, "/inbox", { htmx: "inbox-automated" });
      expect(res.text).toContain('id="inbox-automated-title"');
      expect(res.text).toContain(`id="request-${request.id}"`);
      expect(res.text).toContain("The model&#39;s answer so far:");
      expect(res.text).toMatch(/<pre[^>]*>Return<\/pre>/);
      expect(res.text).toContain("Answer it yourself instead");
      expect((await visit(server, "/inbox")).text).toContain('hx-trigger="sse:requests, sse:answers" hx-swap="innerHTML"');
      const mine = await act(server, `/inbox/${request.id}/respond`, { answer: "422", from: "inbox" });
      expect(mine.status).toBe(200);
      expect(requestRow(server, request.id)).toMatchObject({ status: "answered", answer: "422", answered_by_type: "human" });
    } finally {
      await server.stop(0);
      await fake.stop();
    }
  });
});
