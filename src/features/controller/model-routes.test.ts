// Settings → Models through the app in process: admins only; where each value comes from; saving the model
// (checked as the controller will call it, errors by field); the API key and the webhook's secret are
// write-only (stored in the secrets store, never rendered); "Test the model" through callModel against
// the fake provider, reserved against the daily budget first; budgets; the webhook; the cost view.
import { afterEach, describe, expect, test } from "bun:test";
import { act, visit } from "../../../test/admin-pages.ts";
import { startFakeLlm, type FakeLlm } from "../../../test/fake-llm/server.ts";
import { cleanup, json, startTestApp, type TestServer } from "../../../test/helpers.ts";
import { isFullPage } from "../../../test/html.ts";
import { tokenOf } from "../../../test/questions.ts";
import { readSetting } from "../settings/store.ts";
import { reserve, settle } from "./budgets.ts";
import { effectiveBudgets, effectiveWebhook, LLM_API_KEY_SECRET, WEBHOOK_SECRET_SECRET } from "./controller-settings.ts";

afterEach(cleanup);

const KEY = "sk-test-0123456789abcdef-secret";
const settingsDeps = (server: TestServer) => ({ db: server.db, config: server.services.controllerConfig, secrets: server.services.secrets });
const audits = (server: TestServer, action: string) =>
  server.db.sqlite.query<{ n: number }, [string]>("SELECT count(*) AS n FROM audit_events WHERE action = ?").get(action)!.n;
const ledger = (server: TestServer) => server.db.sqlite.query<{ purpose: string; status: string; input_tokens: number | null }, []>("SELECT purpose, status, input_tokens FROM llm_ledger").all();

const modelForm = (fields: Record<string, string> = {}) => ({
  provider: "",
  model: "",
  base_url: "",
  api_key: "",
  max_tokens: "",
  temperature: "",
  price_input: "",
  price_output: "",
  timeout_seconds: "",
  ...fields,
});

describe("GET /settings/models", () => {
  test("admins only; each value says where it comes from; no key is set, and the page says so", async () => {
    const server = await startTestApp({ llmProvider: "openai-compatible", llmBaseUrl: "http://127.0.0.1:9/v1", llmModel: "qwen-coder", llmPriceInput: 0.5 });
    const res = await visit(server, "/settings/models");
    expect(res.status).toBe(200);
    expect(isFullPage(res.text)).toBe(true);
    expect(res.text).toContain("<title>Models · AgentVine</title>");
    expect(res.text).toContain('data-model-ready="true"');
    expect(res.text).toContain("<code>qwen-coder</code>");
    expect(res.text).toMatch(/id="m-model-hint"><span data-source="configuration">.*qwen-coder.*AGENTVINE_LLM_MODEL/);
    expect(res.text).toMatch(/id="m-temperature-hint"><span data-source="unset">/);
    expect(res.text).toContain('placeholder="qwen-coder"');
    expect(res.text).toContain('data-secret-state="none"');
    expect(res.text).toContain('id="budgets"');
    expect(res.text).toContain('id="webhook"');
    expect(res.text).toContain('id="costs"');
    expect(res.text).toContain("No calls yet.");
    for (const role of ["viewer", "operator"] as const) {
      expect((await visit(server, "/settings/models", { token: await tokenOf(server, `someone-${role}`, role) })).status).toBe(403);
    }
    // Admins find it under Settings (the user menu, and the Settings page); others are not shown it.
    expect((await visit(server, "/")).text).toContain('<a href="/settings/models" role="menuitem"');
    expect((await visit(server, "/settings")).text).toContain('data-settings-models=""');
    const viewer = await tokenOf(server, "vic", "viewer");
    expect((await visit(server, "/settings", { token: viewer })).text).not.toContain("/settings/models");
  });

  test("with nothing configured: no model, and questions for it go to a person", async () => {
    const server = await startTestApp();
    const res = await visit(server, "/settings/models");
    expect(res.text).toContain('data-model-ready="none"');
    const test = await act(server, "/settings/models/test");
    expect(test.text).toContain('data-test-result="error"');
    expect(test.text).toContain("No model to test: no model is configured");
  });
});

describe("saving the model", () => {
  test("saved values win over the configuration; the key goes to the secrets store and is never shown; it can be removed", async () => {
    const server = await startTestApp({ llmProvider: "openai-compatible", llmBaseUrl: "http://127.0.0.1:9/v1", llmModel: "qwen-coder" });
    const res = await act(server, "/settings/models", modelForm({ provider: "anthropic", model: "claude-sonnet-4-5", api_key: KEY, max_tokens: "2048", price_input: "3", price_output: "15" }));
    expect(res.status).toBe(200);
    expect(res.toast).toEqual({ level: "success", message: "Model settings saved: questions for the model go to claude-sonnet-4-5 (API key stored)" });
    expect(res.text.startsWith('<section id="model"')).toBe(true);
    expect(res.text).not.toContain(KEY);
    expect(res.text).toContain('data-secret-state="secrets"');
    expect(res.text).toMatch(/id="m-model-hint"><span data-source="saved">/);
    expect(readSetting(settingsDeps(server), "llm")).toEqual({ provider: "anthropic", model: "claude-sonnet-4-5", maxTokens: 2048, priceInputPerMTok: 3, priceOutputPerMTok: 15 });
    expect(server.services.secrets.reveal(LLM_API_KEY_SECRET)).toBe(KEY);
    expect(audits(server, "settings.updated")).toBe(1);
    expect(audits(server, "secret.created")).toBe(1);
    const page = await visit(server, "/settings/models");
    expect(page.text).not.toContain(KEY);
    expect(page.text).toContain("data-remove-key");

    // An empty key field keeps the key; a new one replaces it.
    expect((await act(server, "/settings/models", modelForm({ provider: "anthropic", model: "claude-sonnet-4-5" }))).status).toBe(200);
    expect(server.services.secrets.reveal(LLM_API_KEY_SECRET)).toBe(KEY);

    const removed = await act(server, "/settings/models/key/delete");
    expect(removed.toast?.message).toBe("API key removed");
    expect(server.services.secrets.reveal(LLM_API_KEY_SECRET)).toBeUndefined();
    // Without its key the saved anthropic model cannot be called: the page says what is missing.
    expect(removed.text).toContain('data-model-ready="false"');
    expect(removed.text).toContain("is required for provider anthropic");
  });

  test("a setting that could never make a call is refused, each field named, nothing saved (422)", async () => {
    const server = await startTestApp();
    const noKey = await act(server, "/settings/models", modelForm({ provider: "openai", model: "gpt-5" }));
    expect(noKey.status).toBe(422);
    expect(noKey.text).toContain("Nothing was saved. Please fix: api_key.");
    expect(noKey.text).toMatch(/id="m-api_key-error"[^>]*>is required for provider openai</);
    const compatible = await act(server, "/settings/models", modelForm({ provider: "openai-compatible", model: "llama3" }));
    expect(compatible.text).toMatch(/id="m-base_url-error"[^>]*>is required for provider openai-compatible/);
    const numbers = await act(server, "/settings/models", modelForm({ provider: "openai-compatible", model: "llama3", base_url: "ftp://x", temperature: "3", max_tokens: "0", price_input: "-1", api_key: "ab" }));
    expect(numbers.status).toBe(422);
    expect(numbers.text).toMatch(/id="m-base_url-error"[^>]*>must be an http\(s\) URL/);
    expect(numbers.text).toMatch(/id="m-temperature-error"[^>]*>must be between 0 and 2</);
    expect(numbers.text).toMatch(/id="m-max_tokens-error"[^>]*>must be at least 1</);
    expect(numbers.text).toMatch(/id="m-price_input-error"[^>]*>must be 0 or more</);
    expect(numbers.text).toMatch(/id="m-api_key-error"[^>]*>at least 4 characters</);
    expect(numbers.text).toContain('value="llama3"'); // what was typed stays
    expect(readSetting(settingsDeps(server), "llm")).toBeUndefined();
    expect(server.services.secrets.reveal(LLM_API_KEY_SECRET)).toBeUndefined();
  });
});

describe("Test the model", () => {
  let fake: FakeLlm;
  const withFake = (overrides: Record<string, unknown> = {}) =>
    startTestApp({ llmProvider: "openai-compatible", llmBaseUrl: fake.openaiBaseUrl, llmModel: "fake-model", llmPriceInput: 3, llmPriceOutput: 15, ...overrides });

  test("asks the configured model through callModel; the call is reserved, then settled in the ledger", async () => {
    fake = startFakeLlm();
    try {
      fake.script({ text: "I am fake-model, and the connection works.", usage: { inputTokens: 40, outputTokens: 9 } });
      const server = await withFake();
      const res = await act(server, "/settings/models/test");
      expect(res.status).toBe(200);
      expect(res.toast?.level).toBe("success");
      expect(res.text).toContain('data-test-result="ok"');
      expect(res.text).toContain("“I am fake-model, and the connection works.”");
      expect(res.text).toContain("40 tokens in, 9 out");
      expect(fake.requests).toHaveLength(1);
      expect(fake.requests[0]!.body.max_tokens).toBe(64);
      expect(ledger(server)).toEqual([{ purpose: "model-test", status: "settled", input_tokens: 40 }]);
      // It shows in the cost view, by day.
      expect((await visit(server, "/settings/models")).text).toMatch(/data-costs="By day"[\s\S]*?<td class="td text-right tabular-nums">1<\/td>/);
    } finally {
      await fake.stop();
    }
  });

  test("refused before the call when the daily budget would be overspent; a provider error is shown, nothing spent", async () => {
    fake = startFakeLlm();
    try {
      const server = await withFake({ budgetDailyTokens: 50 });
      const refused = await act(server, "/settings/models/test");
      expect(refused.toast?.level).toBe("error");
      expect(refused.text).toContain('data-test-result="error"');
      expect(refused.text).toContain("Not asked: the daily budget of 50 tokens would be exceeded");
      expect(fake.requests).toHaveLength(0);
      expect(ledger(server)).toEqual([]);

      const open = await withFake();
      fake.script({ error: { status: 401, message: "invalid api key" } });
      const failed = await act(open, "/settings/models/test");
      expect(failed.text).toContain('data-test-result="error"');
      expect(failed.text).toMatch(/openai-compatible said no \(auth 401\)/);
      expect(ledger(open)).toEqual([{ purpose: "model-test", status: "released", input_tokens: null }]);
    } finally {
      await fake.stop();
    }
  });
});

describe("budgets, the webhook, the cost view", () => {
  test("budgets save over the configuration (0 = none) and are refused when not numbers", async () => {
    const server = await startTestApp({ budgetDailyUsd: 5 });
    const page = await visit(server, "/settings/models");
    expect(page.text).toMatch(/id="b-daily_usd-hint"><span data-source="configuration">/);
    const bad = await act(server, "/settings/models/budgets", { task_usd: "-1", task_tokens: "1.5", run_usd: "", run_tokens: "", daily_usd: "", daily_tokens: "" });
    expect(bad.status).toBe(422);
    expect(bad.text).toMatch(/id="b-task_usd-error"[^>]*>must be 0 or more US dollars</);
    expect(bad.text).toMatch(/id="b-task_tokens-error"[^>]*>must be a whole number of tokens</);
    const ok = await act(server, "/settings/models/budgets", { task_usd: "0.25", task_tokens: "", run_usd: "", run_tokens: "100000", daily_usd: "0", daily_tokens: "" });
    expect(ok.status).toBe(200);
    expect(ok.toast?.message).toBe("Budgets saved");
    expect(effectiveBudgets(settingsDeps(server))).toMatchObject({ taskUsd: 0.25, runTokens: 100000, dailyUsd: 0 });
    expect(ok.text).toMatch(/id="b-daily_usd-hint"><span data-source="saved">/);
  });

  test("the webhook URL and its signing secret (write-only); an empty URL turns it off; reset brings the configuration's back", async () => {
    const server = await startTestApp({ webhookUrl: "https://hooks.example.com/from-env" });
    const secret = "whsec-never-shown-again";
    expect((await act(server, "/settings/models/webhook", { url: "not a url", secret: "" })).text).toMatch(/id="w-url-error"[^>]*>must be an http\(s\) URL</);
    const saved = await act(server, "/settings/models/webhook", { url: "https://chat.example.com/hook", secret });
    expect(saved.toast?.message).toBe("Webhook saved: questions for a person are announced to https://chat.example.com/hook (signing secret stored)");
    expect(saved.text).not.toContain(secret);
    expect(effectiveWebhook(settingsDeps(server))).toEqual({ url: "https://chat.example.com/hook", secret });
    expect(server.services.secrets.reveal(WEBHOOK_SECRET_SECRET)).toBe(secret);
    const off = await act(server, "/settings/models/webhook", { url: "", secret: "" });
    expect(off.toast?.message).toBe("Webhook turned off");
    expect(effectiveWebhook(settingsDeps(server))).toBeNull();
    await act(server, "/settings/models/webhook/reset");
    expect(effectiveWebhook(settingsDeps(server))?.url).toBe("https://hooks.example.com/from-env");
    const removed = await act(server, "/settings/models/webhook/secret/delete");
    expect(removed.toast?.message).toBe("Webhook signing secret removed");
    expect(effectiveWebhook(settingsDeps(server))?.secret).toBeNull();
  });

  test("the cost view: tokens and dollars per day, task (with its title), plan run and repository", async () => {
    const server = await startTestApp();
    const res = await server.api("/tasks", json({ title: "Refactor the loader", task_type: "hello", params: { name: "x" }, repository_url: "https://github.com/acme/api" }));
    const task = (await res.json()) as { id: string };
    const now = Date.now();
    for (const [input, output, cost] of [[1000, 200, 0.006], [500, 100, 0.003]] as const) {
      const id = reserve(server.db, {}, { taskId: task.id, runId: null, purpose: "question", model: "m", usd: 1, tokens: 5000 }, now);
      settle(server.db, id, { inputTokens: input, outputTokens: output, costUsd: cost }, now);
    }
    const page = await visit(server, "/settings/models");
    expect(page.text).toContain(`<a class="link" href="/tasks/${task.id}" title="${task.id}">Refactor the loader</a>`);
    const byTask = /data-costs="By task"[\s\S]*?<\/table>/.exec(page.text)![0];
    expect(byTask).toContain(">2</td>");
    expect(byTask).toContain(">1,500</td>");
    expect(byTask).toContain(">300</td>");
    expect(byTask).toContain(">$0.0090</td>");
    expect(/data-costs="By repository"[\s\S]*?<\/table>/.exec(page.text)![0]).toContain("https://github.com/acme/api");
    expect(page.text).toContain("Today (UTC) so far: <strong>$0.0090</strong>");
  });
});
