// `agentvine user …` and `agentvine apikey …` on a temp data dir: what they print, their exit codes, what
// they store — and a reset link consumed over HTTP by a real server on the same data dir.
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { bearer, errorOf, expectOk, login, PASSWORD } from "../../test/auth.ts";
import { cleanup, json, startTestApp, tempDir } from "../../test/helpers.ts";
import { openDatabase } from "../db/client.ts";
import { apikeyCommand } from "./apikey.ts";
import type { PasswordInput } from "./offline.ts";
import { userCommand } from "./user.ts";

afterEach(cleanup);

/** stdin as a pipe holding `line`, or a terminal answering the hidden prompts in turn. */
function piped(line: string | null): PasswordInput {
  return { isTTY: false, readLine: async () => line, readHidden: async () => { throw new Error("no prompt on a pipe"); } };
}
function terminal(...answers: string[]): PasswordInput & { prompts: string[] } {
  const prompts: string[] = [];
  return {
    prompts,
    isTTY: true,
    readLine: async () => { throw new Error("no plain read on a terminal"); },
    readHidden: async (prompt) => { prompts.push(prompt); return answers.shift()!; },
  };
}

async function capture(fn: (out: { log: (s: string) => void; error: (s: string) => void }) => Promise<number>) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await fn({ log: (s) => stdout.push(s), error: (s) => stderr.push(s) });
  return { code, out: stdout.join("\n"), err: stderr.join("\n") };
}

const user = (dir: string, input: PasswordInput, ...argv: string[]) => capture((out) => userCommand([...argv, "--data-dir", dir], {}, out, input));
const apikey = (dir: string, ...argv: string[]) => capture((out) => apikeyCommand([...argv, "--data-dir", dir], {}, out));

function query<T>(dir: string, sql: string): T[] {
  const db = openDatabase(join(dir, "agentvine.db"));
  try {
    return db.sqlite.query(sql).all() as T[];
  } finally {
    db.close();
  }
}

describe("agentvine user", () => {
  test("create --admin on an empty data dir, from stdin; audited as cli; a taken name exits 1", async () => {
    const dir = tempDir();
    const r = await user(dir, piped(PASSWORD), "create", "Root", "--admin", "--email", "Root@Example.com", "--full-name", "The Root");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^created admin 'root' \(\S+\)$/);
    const [row] = query<{ username: string; email: string; role: string; full_name: string; password_hash: string }>(dir, "SELECT * FROM users");
    expect(row).toMatchObject({ username: "root", email: "root@example.com", role: "admin", full_name: "The Root" });
    expect(row!.password_hash).toStartWith("$argon2id$");
    expect(query(dir, "SELECT actor, actor_type, action FROM audit_events")).toEqual([{ actor: "cli", actor_type: "system", action: "user.created" }]);

    const again = await user(dir, piped(PASSWORD), "create", "root");
    expect(again.code).toBe(1);
    expect(again.err).toContain("That username is already taken");
  });

  test("the API's password rules apply: a clear message and exit 2, nothing stored", async () => {
    const dir = tempDir();
    const short = await user(dir, piped("short"), "create", "alice", "--password-stdin");
    expect(short.code).toBe(2);
    expect(short.err).toContain("must be at least 12 characters");
    const common = await user(dir, piped("password1234!"), "create", "alice");
    expect(common.code).toBe(2);
    expect(common.err).toContain("most common passwords");
    const named = await user(dir, piped("alice-in-wonderland-77"), "create", "alice");
    expect(named.code).toBe(2);
    expect(named.err).toContain("must not contain the username");
    const empty = await user(dir, piped(null), "create", "alice");
    expect(empty.code).toBe(2);
    expect(empty.err).toContain("no password on stdin");
    expect(query(dir, "SELECT id FROM users")).toEqual([]);
  });

  test("on a terminal the password is asked twice; a mismatch exits 2; the default role is viewer", async () => {
    const dir = tempDir();
    const mismatch = await user(dir, terminal(PASSWORD, `${PASSWORD}x`), "create", "bob");
    expect(mismatch.code).toBe(2);
    expect(mismatch.err).toContain("do not match");
    const tty = terminal(PASSWORD, PASSWORD);
    const ok = await user(dir, tty, "create", "bob", "--role", "operator");
    expect(ok.code).toBe(0);
    expect(tty.prompts).toEqual(["Password: ", "Repeat password: "]);
    expect(ok.out).toContain("created operator 'bob'");
    expect((await user(dir, piped(PASSWORD), "create", "carol")).out).toContain("created viewer 'carol'");
  });

  test("bad usage exits 2 before asking for a password", async () => {
    const dir = tempDir();
    const noPrompt = terminal();
    for (const argv of [["create"], ["create", "x!"], ["create", "dave", "--role", "root"], ["create", "dave", "--admin", "--role", "viewer"], ["create", "dave", "--email", "nope"], ["set-role", "dave", "king"], ["frobnicate"], ["list", "--nope"]]) {
      const r = await user(dir, noPrompt, ...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.err, argv.join(" ")).not.toBe("");
    }
    expect(noPrompt.prompts).toEqual([]);
    expect((await user(dir, noPrompt, "help")).code).toBe(0);
  });

  test("list, set-role and deactivate; the last active admin cannot be demoted or deactivated", async () => {
    const dir = tempDir();
    await user(dir, piped(PASSWORD), "create", "admin", "--admin");
    await user(dir, piped(PASSWORD), "create", "erin");
    const listed = await user(dir, piped(null), "list");
    expect(listed.code).toBe(0);
    expect(listed.out.split("\n")).toEqual([
      expect.stringMatching(/^USERNAME\s+ROLE\s+ACTIVE\s+LAST LOGIN$/),
      expect.stringMatching(/^admin\s+admin\s+yes\s+never$/),
      expect.stringMatching(/^erin\s+viewer\s+yes\s+never$/),
    ]);

    const lastAdmin = await user(dir, piped(null), "deactivate", "admin");
    expect(lastAdmin.code).toBe(1);
    expect(lastAdmin.err).toContain("only active admin");
    expect((await user(dir, piped(null), "set-role", "admin", "viewer")).code).toBe(1);

    const promoted = await user(dir, piped(null), "set-role", "erin", "admin");
    expect(promoted).toMatchObject({ code: 0, out: "'erin' is now admin (was viewer)" });
    const off = await user(dir, piped(null), "deactivate", "admin");
    expect(off).toMatchObject({ code: 0, out: "deactivated 'admin': signed out everywhere" });
    expect((await user(dir, piped(null), "list", "--json")).out).toContain('"is_active": false');
    expect((await user(dir, piped(null), "activate", "admin")).code).toBe(0);
    expect((await user(dir, piped(null), "deactivate", "nobody")).code).toBe(1);
    expect(query<{ action: string }>(dir, "SELECT action FROM audit_events WHERE actor = 'cli' ORDER BY id").map((r) => r.action)).toEqual([
      "user.created",
      "user.created",
      "user.role_changed",
      "user.deactivated",
      "user.updated",
    ]);
  });
});

describe("agentvine apikey", () => {
  test("create prints the key once; list shows it by prefix; revoke stops it — against a running server", async () => {
    const dir = tempDir();
    // No accounts yet: the admin and its key are made here, from the command line.
    const server = await startTestApp({ dataDir: dir, admin: false });
    expect((await apikey(dir, "create", "ci", "--scope", "api", "--user", "nobody")).code).toBe(1);
    expect((await user(dir, piped(PASSWORD), "create", "admin", "--admin")).code).toBe(0);
    const created = await apikey(dir, "create", "ci", "--scope", "api", "--user", "admin");
    expect(created.code).toBe(0);
    const key = created.out;
    expect(key).toMatch(/^avk_[\w-]{43}$/);
    expect(created.err).toContain("shown this once");
    const me = await expectOk(await server.api("/users/me", bearer(key)));
    expect(me.username).toBe("admin");

    const listed = await apikey(dir, "list");
    expect(listed.out).toContain(`${key.slice(0, 12)}…`);
    expect(listed.out).not.toContain(key);
    const id = listed.out.split("\n")[1]!.split(/\s+/)[0]!;
    expect(listed.out.split("\n")[1]).toMatch(/\sci\s+api\s+admin\s/);

    expect(await apikey(dir, "revoke", id)).toMatchObject({ code: 0, out: `revoked key 'ci' (${id})` });
    expect((await apikey(dir, "list")).out).toBe("no active API keys (--all shows revoked ones)");
    expect((await apikey(dir, "list", "--all")).out).toContain(id);
    expect((await apikey(dir, "revoke", "no-such-id")).code).toBe(1);
    expect((await apikey(dir, "create", "w", "--scope", "root", "--user", "admin")).code).toBe(2);
    expect((await apikey(dir, "create", "w", "--scope", "worker")).code).toBe(2);
    // A worker key's grants: what its workers may declare.
    expect((await apikey(dir, "create", "w", "--scope", "worker", "--user", "admin", "--capabilities", "gpu,git", "--max-tasks", "12")).code).toBe(0);
    expect(query<{ grants: string }>(dir, "SELECT grants FROM api_keys WHERE name = 'w'")[0]!.grants).toBe('{"capabilities":["gpu","git"],"max_concurrent_tasks":12}');
    expect((await apikey(dir, "create", "w2", "--scope", "worker", "--user", "admin", "--max-tasks", "lots")).err).toContain("--max-tasks");
    // The server caches a key for up to 30 s; a new server on the same data dir sees the revocation at once.
    await server.stop(0);
    const again = await startTestApp({ dataDir: dir });
    expect((await again.api("/users/me", bearer(key))).status).toBe(401);
  });
});

describe("agentvine user reset-password", () => {
  test("prints a one-time link; the token sets the password once, ends the sessions, and expires", async () => {
    const dir = tempDir();
    const server = await startTestApp({ dataDir: dir });
    await user(dir, piped(PASSWORD), "create", "admin", "--admin"); // while the server runs
    const before = await login(server, "admin");

    const r = await user(dir, piped(null), "reset-password", "admin", "--base-url", `${server.url}/`);
    expect(r.code).toBe(0);
    const link = /^\s+(\S+\/reset-password\?token=\S+)$/m.exec(r.out)![1]!;
    expect(link).toStartWith(`${server.url}/reset-password?token=avp_`);
    expect(r.out).toContain(`${server.url}/api/v1/auth/reset-password`);
    const token = new URL(link).searchParams.get("token")!;
    expect(query<{ token_hash: string }>(dir, "SELECT token_hash FROM password_resets")[0]!.token_hash).not.toBe(token);

    // A password that breaks the rules is refused without using up the token.
    const weak = await server.api("/auth/reset-password", json({ token, new_password: "short" }));
    expect((await errorOf(weak)).status).toBe(400);
    const fresh = "quiet harbour lantern 9";
    expect((await server.api("/auth/reset-password", json({ token, new_password: fresh }))).status).toBe(204);

    const reused = await errorOf(await server.api("/auth/reset-password", json({ token, new_password: "another good one 77" })));
    expect(reused).toMatchObject({ status: 400, code: "validation_failed" });
    expect(reused.message).toContain("invalid, expired or already used");
    expect((await server.api("/auth/refresh", json({ refresh_token: before.refresh_token }))).status).toBe(401);
    expect((await server.api("/auth/login", json({ username: "admin", password: PASSWORD }))).status).toBe(401);
    await login(server, "admin", fresh);

    // An expired link, and an earlier link once a newer one is issued, do not work.
    const second = /token=(\S+)$/m.exec((await user(dir, piped(null), "reset-password", "admin")).out)![1]!;
    const third = /token=(\S+)$/m.exec((await user(dir, piped(null), "reset-password", "admin", "--json")).out.replace(/",?$/gm, ""))![1]!;
    expect((await server.api("/auth/reset-password", json({ token: second, new_password: "another good one 77" }))).status).toBe(400);
    server.services.auth.db.sqlite.run("UPDATE password_resets SET expires_at = 1 WHERE used_at IS NULL");
    expect((await server.api("/auth/reset-password", json({ token: third, new_password: "another good one 77" }))).status).toBe(400);
    expect((await server.api("/auth/reset-password", json({ token: "avp_nope", new_password: "another good one 77" }))).status).toBe(400);

    const actions = query<{ actor: string; action: string }>(dir, "SELECT actor, action FROM audit_events WHERE action LIKE 'user.password_reset%' ORDER BY id");
    expect(actions.map((a) => a.action)).toEqual(["user.password_reset_issued", "user.password_reset", "user.password_reset_issued", "user.password_reset_issued"]);
    expect(actions[0]!.actor).toBe("cli");
    expect((await user(dir, piped(null), "reset-password", "ghost")).code).toBe(1);
  });
});
