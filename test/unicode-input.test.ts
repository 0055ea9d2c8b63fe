// Issue 10, item 12: direction controls in user text render inert in the pages (no visual spoofing), and a
// JSON string holding a lone surrogate is refused like invalid UTF-8 instead of silently becoming U+FFFD.
import { afterEach, describe, expect, test } from "bun:test";
import { expectOk } from "./auth.ts";
import { cleanup, json, startTestApp } from "./helpers.ts";
import { uiClient } from "./html.ts";

afterEach(cleanup);

const RLO = "\u202E";

describe("text the pages show", () => {
  test("a right-to-left override in a title is shown as [U+202E], in the list, the page, its <title> and the confirm dialogs; the API keeps it", async () => {
    const server = await startTestApp();
    const title = `invoice${RLO}fdp.exe`; // shows as "invoiceexe.pdf" when the override is live
    const task = await expectOk(await server.api("/tasks", json({ title, task_type: "hello", params: { name: "x" } })), 201);
    expect(task.title).toBe(title);
    const ui = uiClient(server);
    for (const path of ["/tasks", `/tasks/${task.id}`]) {
      const page = await ui(path);
      expect(page.status).toBe(200);
      expect(page.text).not.toContain(RLO);
      expect(page.text).toContain("invoice[U+202E]fdp.exe");
    }
    // Fragments too (htmx), and isolates.
    await expectOk(await server.api("/tasks", json({ title: "a\u2067b\u2069c", task_type: "hello", params: { name: "x" } })), 201);
    const list = await ui("/tasks", { htmx: "task-list" });
    expect(list.text).toContain("a[U+2067]b[U+2069]c");
    expect(list.text).not.toMatch(/[\u202A-\u202E\u2066-\u2069]/);
  });
});

describe("JSON bodies", () => {
  test("a lone surrogate in a string or a key is a 400 naming where, and nothing is stored", async () => {
    const server = await startTestApp();
    const raw = (body: string) => server.api("/tasks", { method: "POST", body, headers: { "content-type": "application/json" } });
    for (const body of [
      '{"title":"a\\ud800b","task_type":"hello","params":{"name":"x"}}',
      '{"title":"a","task_type":"hello","params":{"name":"\\udfff"}}',
      '{"title":"a","task_type":"hello","params":{"\\ud83d":"x"}}',
    ]) {
      const res = await raw(body);
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe("validation_failed");
      expect(error.message).toContain("lone surrogate");
    }
    expect((await expectOk(await server.api("/tasks"))).total).toBe(0);
    // A pair is fine: 😀 written as two escapes.
    const ok = await expectOk(await raw('{"title":"smile \\ud83d\\ude00","task_type":"hello","params":{"name":"x"}}'), 201);
    expect(ok.title).toBe("smile 😀");
  });
});
