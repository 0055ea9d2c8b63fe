// Email against a real SMTP server on loopback (smtp-server, with AUTH): a password reset mailed on request
// whose link works once, a new address's verification link that works once, and a notification mailed to
// a verified address. The SMTP password is set over the API and kept in the encrypted secrets store.
import { afterEach, expect, test } from "bun:test";
import { cleanup, json, startTestServer, TEST_PASSWORD, type TestServer } from "../../../test/helpers.ts";
import { startSmtpServer } from "../../../test/smtp.ts";

afterEach(cleanup);

async function setup() {
  const smtp = await startSmtpServer({ user: "vine", pass: "smtp-pass-123" });
  const server = await startTestServer({ workers: 1, opsIntervalMs: 0, smtpHost: "127.0.0.1", smtpPort: smtp.port, smtpSecure: "none", smtpUser: "vine", smtpFrom: "AgentVine <vine@example.test>" });
  // The password goes in over the API, into the secrets store (never answered back).
  const put = await server.api("/email/settings", { ...json({ password: "smtp-pass-123" }), method: "PUT" });
  expect(put.status).toBe(200);
  expect(await put.json()).toMatchObject({ host: "127.0.0.1", user: "vine", has_password: true, secure: "none" });
  const secrets = (await (await server.api("/secrets")).json()) as { items: Array<{ name: string }> };
  expect(secrets.items.map((s) => s.name)).toContain("AGENTVINE_SMTP_PASSWORD");
  return { smtp, server };
}

const createUserWithEmail = (server: TestServer, username: string, email: string) =>
  server.api("/users", json({ username, password: TEST_PASSWORD, role: "operator", email }));

test("a password reset by email: the mail arrives, its link works once", async () => {
  const { smtp, server } = await setup();
  try {
    expect((await createUserWithEmail(server, "erin", "erin@example.test")).status).toBe(201);
    const asked = await server.api("/auth/forgot-password", { ...json({ login: "erin" }), headers: { authorization: "" } });
    expect(asked.status).toBe(202);
    const mail = await smtp.waitFor((m) => m.to.includes("erin@example.test") && m.subject.includes("Reset"));
    expect(smtp.logins).toContain("vine"); // it signed in to the SMTP server with the stored password
    const link = smtp.linkIn(mail, "/reset-password");
    expect(link.startsWith(server.url)).toBe(true);
    const token = new URL(link).searchParams.get("token")!;
    expect((await server.request(new URL(link).pathname + new URL(link).search)).status).toBe(200);

    const reset = () => server.request("/api/v1/auth/reset-password", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token, new_password: "a brand new passphrase 7" }) });
    expect((await reset()).status).toBe(204);
    const again = await reset();
    expect(again.status).toBe(400);
    expect(((await again.json()) as { error: { details: Array<{ field: string }> } }).error.details[0]!.field).toBe("token");
    const login = await server.request("/api/v1/auth/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "erin", password: "a brand new passphrase 7" }) });
    expect(login.status).toBe(200);

    // An unknown account gets the same answer, and no mail.
    const before = smtp.mails.length;
    expect((await server.request("/api/v1/auth/forgot-password", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ login: "nobody" }) })).status).toBe(202);
    expect((await server.request("/api/v1/auth/forgot-password", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ login: "" }) })).status).toBe(400);
    expect(smtp.mails.length).toBe(before);
  } finally {
    await smtp.stop();
  }
});

test("a new address gets a verification link that works once (the page asks before it spends it)", async () => {
  const { smtp, server } = await setup();
  try {
    await createUserWithEmail(server, "fay", "fay@example.test");
    const mail = await smtp.waitFor((m) => m.to.includes("fay@example.test") && m.subject.includes("Confirm"));
    const link = new URL(smtp.linkIn(mail, "/verify-email"));
    const opened = await server.request(link.pathname + link.search);
    expect(opened.status).toBe(200);
    expect(await opened.text()).toContain('id="verify-form"'); // opening the link changes nothing
    const verified = () => server.db.sqlite.query<{ is_verified: number }, []>("SELECT is_verified FROM users WHERE username = 'fay'").get()!.is_verified;
    expect(verified()).toBe(0);
    const confirm = () =>
      server.request("/verify-email", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: server.url }, body: `token=${link.searchParams.get("token")}` });
    const first = await confirm();
    expect(first.status).toBe(200);
    expect(await first.text()).toContain("data-verified");
    expect(verified()).toBe(1);
    expect((await confirm()).status).toBe(400);
  } finally {
    await smtp.stop();
  }
});

test("a failed task of mine is mailed to my verified address when I asked for it", async () => {
  const { smtp, server } = await setup();
  try {
    expect((await server.api("/users/me", { ...json({ email: "admin@example.test" }), method: "PATCH" })).status).toBe(200);
    const verify = await smtp.waitFor((m) => m.to.includes("admin@example.test") && m.subject.includes("Confirm"));
    const token = new URL(smtp.linkIn(verify, "/verify-email")).searchParams.get("token");
    expect((await server.request("/api/v1/auth/verify-email", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token }) })).status).toBe(200);

    const bad = await server.api("/users/me/notifications", { ...json({ alert: { webhook: true } }), method: "PUT" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { details: Array<{ field: string }> } }).error.details[0]!.field).toBe("webhook_url");
    const prefs = await server.api("/users/me/notifications", { ...json({ task_failed: { email: true } }), method: "PUT" });
    expect(await prefs.json()).toMatchObject({ task_failed: { in_app: true, email: true, webhook: false }, email_verified: true });

    const task = (await (await server.api("/tasks", json({ title: "doomed", task_type: "shell", params: { command: "false" } }))).json()) as { id: string };
    const mail = await smtp.waitFor((m) => m.to.includes("admin@example.test") && m.subject.includes("Task failed: doomed"));
    expect(mail.text).toContain(`/tasks/${task.id}`);
  } finally {
    await smtp.stop();
  }
});
