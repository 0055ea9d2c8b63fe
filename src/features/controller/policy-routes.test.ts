// The Policies page through the app in process: the rules in order (the default last, not deletable),
// admins' controls only for admins, the rule form in its dialog with errors by field (a bad pattern, an
// automatic answer missing), add / edit / reorder / enable / disable / delete — each audited — and the
// dry run for everyone: which rule takes a question, why, and why each earlier one was passed over.
import { afterEach, describe, expect, test } from "bun:test";
import { act, visit } from "../../../test/admin-pages.ts";
import { cleanup, json, startTestApp, type TestServer } from "../../../test/helpers.ts";
import { HOSTILE, HOSTILE_ESCAPED, isFullPage } from "../../../test/html.ts";
import { tokenOf } from "../../../test/questions.ts";
import { listPolicies } from "./policies.ts";

afterEach(cleanup);

const names = (server: TestServer) => listPolicies(server.services.deps).map((p) => p.name);
const byName = (server: TestServer, name: string) => listPolicies(server.services.deps).find((p) => p.name === name)!;
const audits = (server: TestServer, action: string) =>
  server.db.sqlite.query<{ n: number }, [string]>("SELECT count(*) AS n FROM audit_events WHERE action = ?").get(action)!.n;

const SEEDED = ["approvals go to a human", "destructive actions go to a human", "pushing tasks ask a human", "clarifications go to the LLM", "default"];

const rule = (fields: Record<string, string> = {}) => ({
  name: "deploys need a person",
  action: "human",
  "match.task_type": "",
  "match.permission_level": "",
  "match.category": "",
  "match.pattern": "\\bdeploy\\b",
  "match.repository_url": "",
  timeout_seconds: "3600",
  on_timeout: "deny",
  on_timeout_answer: "",
  enabled: "true",
  _dialog: "1",
  ...fields,
});

describe("GET /policies", () => {
  test("everyone reads the rules in order, the default last; only admins get the controls", async () => {
    const server = await startTestApp();
    const admin = await visit(server, "/policies");
    expect(admin.status).toBe(200);
    expect(isFullPage(admin.text)).toBe(true);
    expect([...admin.text.matchAll(/data-policy="([^"]+)"/g)].map((m) => m[1])).toEqual(SEEDED);
    expect(admin.text).toContain('data-action="new-rule"');
    expect(admin.text).toContain("question matches /\\b(delete|drop|deploy");
    expect(admin.text).toContain("When </span>no other rule matched");
    const defaultRow = /<li id="policy-[^"]+"[^>]*data-default="true">[\s\S]*?<\/li>/.exec(admin.text)![0];
    expect(defaultRow).toContain('data-action="edit"');
    expect(defaultRow).not.toContain('data-action="delete"');
    expect(defaultRow).not.toContain('data-action="move-up"');
    expect(defaultRow).not.toContain('data-action="toggle"');
    // The first rule cannot move up, the last (before the default) cannot move down.
    expect(admin.text).toMatch(/id="move-up-[^"]+" class="btn btn-sm" disabled=""/);
    expect(admin.text).toContain('aria-label="Move “approvals go to a human” down"');
    expect(admin.text).toContain('id="dry-run-form"');

    const viewer = await visit(server, "/policies", { token: await tokenOf(server, "vera", "viewer") });
    expect(viewer.status).toBe(200);
    expect([...viewer.text.matchAll(/data-policy="([^"]+)"/g)].map((m) => m[1])).toEqual(SEEDED);
    expect(viewer.text).not.toContain("data-action=");
    expect(viewer.text).not.toContain('id="policy-dialog"');
    expect(viewer.text).toContain('id="dry-run-form"');
    expect(viewer.text).toContain("Admins change the rules");
  });

  test("a viewer or an operator may not change a rule (403), nor open the form", async () => {
    const server = await startTestApp();
    const operator = await tokenOf(server, "olga", "operator");
    expect((await act(server, "/policies", rule(), { token: operator })).status).toBe(403);
    expect((await visit(server, "/policies/new", { token: operator })).status).toBe(403);
    const first = byName(server, SEEDED[0]!);
    expect((await act(server, `/policies/${first.id}/delete`, {}, { token: operator })).status).toBe(403);
    expect(names(server)).toEqual(SEEDED);
  });
});

describe("the rule form", () => {
  test("opens in the dialog: the form, the dialog's title out of band, and the trigger that shows it", async () => {
    const server = await startTestApp();
    const res = await visit(server, "/policies/new", { htmx: "policy-dialog-body" });
    expect(res.status).toBe(200);
    expect(res.trigger["dialog:open"]).toBe("policy-dialog");
    expect(res.text.startsWith('<form id="policy-form"')).toBe(true);
    expect(res.text).toContain('<h2 id="policy-dialog-title" class="text-lg font-semibold" hx-swap-oob="true">New rule</h2>');
    // Without JS it is a page of its own.
    const page = await visit(server, "/policies/new");
    expect(isFullPage(page.text)).toBe(true);
    expect(page.text).toContain('action="/policies"');
  });

  test("a bad pattern and an automatic answer missing come back together, each by its field, the values kept (422)", async () => {
    const server = await startTestApp();
    const res = await act(server, "/policies", rule({ name: `bad ${HOSTILE}`, "match.pattern": "deploy(", on_timeout: "auto_answer", on_timeout_answer: "" }));
    expect(res.status).toBe(422);
    expect(res.text.startsWith('<form id="policy-form"')).toBe(true);
    expect(res.text).toContain("Please fix: Pattern, Automatic answer.");
    expect(res.text).toMatch(/id="pf-match.pattern-error"[^>]*>not a valid regular expression: [^<]+</);
    expect(res.text).toMatch(/id="pf-on_timeout_answer-error"[^>]*>required when the deadline answers automatically</);
    expect(res.text).toContain(`value="bad ${HOSTILE_ESCAPED}"`);
    expect(res.text).toContain('value="deploy("');
    expect(res.text).not.toContain(HOSTILE);
    expect(res.trigger["dialog:open"]).toBeUndefined();
    expect(names(server)).toEqual(SEEDED);
  });

  test("a name that is taken and a deadline that is not a number are named too", async () => {
    const server = await startTestApp();
    const taken = await act(server, "/policies", rule({ name: "default" }));
    expect(taken.status).toBe(422);
    expect(taken.text).toMatch(/id="pf-name-error"[^>]*>already taken</);
    const seconds = await act(server, "/policies", rule({ timeout_seconds: "soon" }));
    expect(seconds.status).toBe(422);
    expect(seconds.text).toMatch(/id="pf-timeout_seconds-error"[^>]*>must be a whole number of seconds/);
  });

  test("a good rule is added before the default, audited; the dialog closes and the list refreshes", async () => {
    const server = await startTestApp();
    const res = await act(server, "/policies", rule());
    expect(res.status).toBe(200);
    expect(res.toast).toEqual({ level: "success", message: "Rule “deploys need a person” added, tried before the default" });
    expect(res.trigger["dialog:close"]).toBe("policy-dialog");
    expect(res.trigger["policies:changed"]).toBe(true);
    expect(names(server)).toEqual([...SEEDED.slice(0, -1), "deploys need a person", "default"]);
    expect(byName(server, "deploys need a person")).toMatchObject({ match: { pattern: "\\bdeploy\\b" }, action: "human", timeout_seconds: 3600, on_timeout: "deny", enabled: true });
    expect(audits(server, "policy.created")).toBe(1);
  });

  test("editing: the form comes with the rule's values; saving makes a new version; the default rule takes no conditions", async () => {
    const server = await startTestApp();
    const first = byName(server, SEEDED[0]!);
    const form = await visit(server, `/policies/${first.id}/edit`, { htmx: "policy-dialog-body" });
    expect(form.text).toContain(`hx-post="/policies/${first.id}"`);
    expect(form.text).toContain('value="approval"');
    expect(form.text).toContain("Edit “approvals go to a human”");
    const saved = await act(server, `/policies/${first.id}`, rule({ name: "approvals go to a person", "match.category": "approval", "match.pattern": "", on_timeout: "fail_task" }));
    expect(saved.status).toBe(200);
    expect(saved.toast?.message).toBe("Rule “approvals go to a person” saved (version 2)");
    expect(byName(server, "approvals go to a person")).toMatchObject({ version: 2, position: first.position, match: { category: "approval" } });
    expect(audits(server, "policy.updated")).toBe(1);

    const fallback = byName(server, "default");
    const defaultForm = await visit(server, `/policies/${fallback.id}/edit`, { htmx: "policy-dialog-body" });
    expect(defaultForm.text).toContain("The default rule answers every question no other rule matched");
    expect(defaultForm.text).not.toContain('name="match.pattern"');
    const changed = await act(server, `/policies/${fallback.id}`, rule({ name: "default", action: "automated", "match.pattern": "ignored", on_timeout: "escalate", enabled: "false" }));
    expect(changed.status).toBe(200);
    expect(byName(server, "default")).toMatchObject({ action: "automated", match: {}, enabled: true, is_default: true });
  });
});

describe("changing the order and the state of rules", () => {
  test("up and down reorder (audited); the first cannot go up; disable and enable; delete, but never the default", async () => {
    const server = await startTestApp();
    const second = byName(server, SEEDED[1]!);
    const up = await act(server, `/policies/${second.id}/move`, { direction: "up" });
    expect(up.status).toBe(200);
    expect(up.toast?.message).toBe("Rule “destructive actions go to a human” moved up: now tried 1st");
    expect(up.text.startsWith('<div id="policy-list"')).toBe(true);
    expect(names(server).slice(0, 2)).toEqual(SEEDED.slice(0, 2).reverse());
    expect(audits(server, "policy.reordered")).toBe(1);
    const again = await act(server, `/policies/${second.id}/move`, { direction: "up" });
    expect(again.toast).toEqual({ level: "info", message: "Rule “destructive actions go to a human” is already first" });
    expect((await act(server, `/policies/${second.id}/move`, { direction: "down" })).status).toBe(200);
    expect(names(server)).toEqual(SEEDED);

    const off = await act(server, `/policies/${second.id}/enabled`, { enabled: "false" });
    expect(off.toast?.message).toBe("Rule “destructive actions go to a human” disabled: questions skip it");
    expect(off.text).toMatch(/data-policy="destructive actions go to a human" data-enabled="false"/);
    expect(byName(server, SEEDED[1]!).enabled).toBe(false);
    expect((await act(server, `/policies/${second.id}/enabled`, { enabled: "true" })).status).toBe(200);
    expect(byName(server, SEEDED[1]!).enabled).toBe(true);

    const gone = await act(server, `/policies/${second.id}/delete`);
    expect(gone.toast?.message).toBe("Rule “destructive actions go to a human” deleted");
    expect(names(server)).not.toContain(SEEDED[1]);
    expect(audits(server, "policy.deleted")).toBe(1);
    const fallback = byName(server, "default");
    const refused = await act(server, `/policies/${fallback.id}/delete`);
    expect(refused.status).toBe(409);
    expect(refused.toast?.message).toContain("the default rule cannot be deleted");
    expect(names(server)).toContain("default");
  });
});

describe("the dry run", () => {
  test("names the rule that takes a question and why, and why each earlier rule was passed over — for a viewer too", async () => {
    const server = await startTestApp();
    await server.api("/policies", json({ name: "deploys need a person", match: { pattern: "\\bdeploy\\b", task_type: "shell" }, action: "human", timeout_seconds: 600, on_timeout: "deny" }));
    const first = byName(server, SEEDED[0]!);
    await act(server, `/policies/${first.id}/enabled`, { enabled: "false" });
    const viewer = await tokenOf(server, "vera", "viewer");
    const res = await act(server, "/policies/dry-run", { question: `May I deploy ${HOSTILE} now?`, category: "", task_type: "shell", permission_level: "write", repository_url: "" }, { token: viewer });
    expect(res.status).toBe(200);
    expect(res.text.startsWith('<div id="dry-run-result"')).toBe(true);
    // The seeded "destructive actions" rule comes first and matches `deploy`.
    expect(res.text).toContain('data-dry-run-match="destructive actions go to a human"');
    expect(res.text).toContain("the question matches /");
    expect(res.text).toContain('data-skipped="approvals go to a human"');
    expect(res.text).toContain("it is disabled");
    expect(res.text).not.toContain(HOSTILE);

    const later = await act(server, "/policies/dry-run", { question: "Can I run the deploy script?", task_type: "test", permission_level: "push", repository_url: "https://github.com/acme/api" });
    // "deploy" (a word) still matches the destructive rule first; with another word the push rule takes it.
    expect(later.text).toContain('data-dry-run-match="destructive actions go to a human"');
    const push = await act(server, "/policies/dry-run", { question: "May I open the pull request?", task_type: "test", permission_level: "push" });
    expect(push.text).toContain('data-dry-run-match="pushing tasks ask a human"');
    expect(push.text).toContain("permission level is push");
    expect(push.text).toMatch(/data-skipped="destructive actions go to a human"[^>]*><strong>[^<]+<\/strong>: <span class="text-muted">the question does not match \//);
    const nothing = await act(server, "/policies/dry-run", { question: "Which colour?", task_type: "shell", permission_level: "write" });
    expect(nothing.text).toContain('data-dry-run-match="default"');
    expect(nothing.text).toMatch(/data-skipped="deploys need a person"[^>]*><strong>[^<]+<\/strong>: <span class="text-muted">the question does not match \/\\bdeploy\\b\/i/);

    const empty = await act(server, "/policies/dry-run", { question: "  " });
    expect(empty.status).toBe(422);
    expect(empty.text).toContain("Fix the question above");
  });
});
