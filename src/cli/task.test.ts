// `agentvine task …` against a real server: what it prints and the exit code a script relies on.
import { afterEach, describe, expect, test } from "bun:test";
import type { TaskJson } from "../engine/task-record.ts";
import { userWithRole } from "../../test/auth.ts";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, json, startTestServer, tempDir } from "../../test/helpers.ts";
import { taskCommand } from "./task.ts";

afterEach(cleanup);

type Server = Awaited<ReturnType<typeof startTestServer>>;

/** Runs the command with --server, the admin's --token and a capturing console; only `env` leaks in. */
async function run(server: Server | null, ...argv: string[]) {
  const args = server ? [...argv, "--server", server.url, "--token", server.token] : argv;
  return runWith({}, ...args);
}

async function runWith(env: Record<string, string>, ...argv: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await taskCommand(argv, env, { log: (s) => stdout.push(s), error: (s) => stderr.push(s) });
  return { code, out: stdout.join("\n"), err: stderr.join("\n") };
}

async function submitParked(server: Server): Promise<TaskJson> {
  const res = await server.api("/tasks", json({ title: "parked", task_type: "hello", params: { name: "p" }, requires: ["gpu"] }));
  expect(res.status).toBe(201);
  return (await res.json()) as TaskJson;
}

describe("agentvine task", () => {
  test("submit --wait runs a hello task, exits 0 and prints the result", async () => {
    const server = await startTestServer();
    const r = await run(server, "submit", "--type", "hello", "--param", "name=cli", "--wait");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^submitted \S+; waiting…/);
    expect(r.out).toContain("succeeded  hello");
    expect(r.out).toContain('"message": "Hello, cli!"');
    const id = /^submitted (\S+);/.exec(r.out)![1]!;
    const stored = (await (await server.api(`/tasks/${id}`)).json()) as TaskJson;
    expect(stored).toMatchObject({ status: "succeeded", title: "hello task", params: { name: "cli" } });
  });

  test("submit --wait of a failing shell task exits 1 and prints the error", async () => {
    const server = await startTestServer();
    const r = await run(server, "submit", "--type", "shell", "--params", '{"command":"exit 3","shell":true}', "--title", "fails", "--wait");
    expect(r.code).toBe(1);
    expect(r.out).toContain('failed  shell  "fails"');
    expect(r.out).toContain("error:  command exited with code 3");
  });

  test("submit --json prints the created task as JSON without waiting", async () => {
    const server = await startTestServer();
    const r = await run(server, "submit", "--type", "hello", "--param", "name=json", "--requires", "gpu", "--priority", "high", "--json");
    expect(r.code).toBe(0);
    const task = JSON.parse(r.out) as TaskJson;
    expect(task).toMatchObject({ status: "queued", priority: "high", requires: ["gpu"], params: { name: "json" } });
  });

  test("get, list --json and logs show a finished task", async () => {
    const server = await startTestServer();
    const submitted = await run(server, "submit", "--type", "hello", "--param", "name=logs", "--title", "greeter", "--wait");
    expect(submitted.code).toBe(0);
    const id = /^submitted (\S+);/.exec(submitted.out)![1]!;

    const get = await run(server, "get", id);
    expect(get.code).toBe(0);
    expect(get.out).toContain(`${id}  succeeded  hello  "greeter"`);
    expect(get.out).toContain("Hello, logs!");

    const list = await run(server, "list", "--json");
    expect(list.code).toBe(0);
    const page = JSON.parse(list.out) as { items: TaskJson[]; total: number };
    expect(page.total).toBe(1);
    expect(page.items.map((t) => t.id)).toEqual([id]);
    const filtered = await run(server, "list", "--status", "failed", "--json");
    expect((JSON.parse(filtered.out) as { total: number }).total).toBe(0);
    const table = await run(server, "list");
    expect(table.out).toContain(`${id}  succeeded`);
    expect(table.out).toContain("(1 of 1)");

    const logs = await run(server, "logs", id);
    expect(logs.code).toBe(0);
    expect(logs.out).toMatch(/^\d{4}-\d{2}-\d{2}T\S+Z INFO  Saying hello to logs$/m);
  });

  test("logs of a task that has not run yet exits 1", async () => {
    const server = await startTestServer();
    const task = await submitParked(server);
    const r = await run(server, "logs", task.id);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`task ${task.id} has not run yet`);
  });

  test("cancel cancels a queued task; a second cancel exits 1 with the server's reason", async () => {
    const server = await startTestServer();
    const task = await submitParked(server);
    const r = await run(server, "cancel", task.id);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`${task.id}  cancelled`);
    expect(((await (await server.api(`/tasks/${task.id}`)).json()) as TaskJson).status).toBe("cancelled");

    const again = await run(server, "cancel", task.id);
    expect(again.code).toBe(1);
    expect(again.err).toContain("already cancelled");
  });

  test("wait --timeout 0 on an unfinished task exits 124", async () => {
    const server = await startTestServer();
    const task = await submitParked(server);
    const r = await run(server, "wait", task.id, "--timeout", "0");
    expect(r.code).toBe(124);
    expect(r.out).toContain(`${task.id}  queued`);
  });

  test("a request the server refuses exits 1 and prints the details", async () => {
    const server = await startTestServer();
    const r = await run(server, "submit", "--type", "hello", "--params", '{"name":""}');
    expect(r.code).toBe(1);
    expect(r.err).toContain("params do not fit task type 'hello'");
    expect(r.err).toContain("  - params.name:");
    const unknown = await run(server, "get", "no-such-task");
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain("no task id is, starts or ends with 'no-such-task'");
    const missing = await run(server, "get", "01234567-89ab-7cde-8f01-23456789abcd");
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("task '01234567-89ab-7cde-8f01-23456789abcd' not found");
  });

  test("without a token the server's 401 exits 1 and says how to pass a key", async () => {
    const server = await startTestServer();
    const r = await runWith({}, "list", "--server", server.url);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toBe(
      "error: Sign in first: the server needs an API key — pass --token KEY or set AGENTVINE_TOKEN (create a key: agentvine apikey create NAME --scope api --user USERNAME)",
    );
    // Nothing was submitted by a refused request.
    const refused = await runWith({}, "submit", "--type", "hello", "--server", server.url);
    expect(refused.code).toBe(1);
    expect(((await (await server.api("/tasks")).json()) as { total: number }).total).toBe(0);
  });

  test("a refused key exits 1 naming it; AGENTVINE_TOKEN and AGENTVINE_SERVER work like the flags", async () => {
    const server = await startTestServer();
    const bad = await runWith({}, "list", "--server", server.url, "--token", "avk_not-a-real-key");
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("error: Invalid or revoked API key — pass a valid key with --token KEY or AGENTVINE_TOKEN");

    const fromEnv = await runWith({ AGENTVINE_SERVER: server.url, AGENTVINE_TOKEN: server.token }, "submit", "--type", "hello", "--param", "name=env", "--wait");
    expect(fromEnv.err).toBe("");
    expect(fromEnv.code).toBe(0);
    expect(fromEnv.out).toContain('"message": "Hello, env!"');
  });

  test("a viewer's key may list but not submit: exit 1 with the server's reason", async () => {
    const server = await startTestServer();
    const { access_token } = await userWithRole(server, server.token, "vera", "viewer");
    const as = (...argv: string[]) => runWith({ AGENTVINE_TOKEN: access_token, AGENTVINE_SERVER: server.url }, ...argv);
    expect((await as("list")).code).toBe(0);
    const r = await as("submit", "--type", "hello");
    expect(r.code).toBe(1);
    expect(r.err).toBe("error: This needs the operator role; vera is a viewer");
  });

  test("an unreachable server exits 1 and says so", async () => {
    const r = await run(null, "get", "some-id", "--server", "http://127.0.0.1:9");
    expect(r.code).toBe(1);
    expect(r.err).toContain("cannot reach http://127.0.0.1:9/api/v1");
  });

  test("an id may be given as the pages show it: its last (or first) characters, with or without the …", async () => {
    const server = await startTestServer();
    const a = await submitParked(server);
    const b = await submitParked(server);
    const tail = a.id.slice(-8);
    for (const short of [tail, `…${tail}`, a.id.slice(0, 30)]) {
      if (short === a.id.slice(0, 30) && b.id.startsWith(short)) continue; // same millisecond: the start is not unique
      const r = await run(server, "get", short, "--json");
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      expect((JSON.parse(r.out) as TaskJson).id).toBe(a.id);
    }
    const cancelled = await run(server, "cancel", tail, "--json");
    expect(cancelled.code).toBe(0);
    expect((JSON.parse(cancelled.out) as TaskJson).status).toBe("cancelled");
    // Both ids start with the same time-ordered prefix: ambiguous, named, exit 1.
    const common = [...a.id].findIndex((ch, i) => b.id[i] !== ch);
    const ambiguous = await run(server, "get", a.id.slice(0, Math.max(4, Math.min(common, 8))));
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.err).toContain("matches 2 tasks");
    expect(ambiguous.err).toContain(a.id);
    expect(ambiguous.err).toContain(b.id);
    const tooShort = await run(server, "get", "ab");
    expect(tooShort.code).toBe(1);
    expect(tooShort.err).toContain("id: at least 4 letters");
  });

  test("executions lists a task's attempts; --quiet their ids, newest first", async () => {
    const server = await startTestServer();
    const id = (await run(server, "submit", "--type", "hello", "--param", "name=e", "--wait", "-q")).out;
    const listed = await run(server, "executions", id.slice(-8));
    expect(listed.code).toBe(0);
    expect(listed.out).toMatch(/^[0-9a-f-]{36} {2}#1 {2}succeeded +\d+ ms {2}exit - {2}local-/);
    const ids = await run(server, "executions", id, "--quiet");
    expect(ids.out).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("--quiet prints only the id, for ID=$(agentvine task submit … -q)", async () => {
    const server = await startTestServer();
    const r = await run(server, "submit", "--type", "hello", "--param", "name=q", "-q");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^[0-9a-f-]{36}$/);
    const waited = await run(server, "submit", "--type", "hello", "--param", "name=q", "--wait", "--quiet");
    expect(waited.code).toBe(0);
    expect(waited.out).toMatch(/^[0-9a-f-]{36}$/);
    const stored = (await (await server.api(`/tasks/${waited.out}`)).json()) as TaskJson;
    expect(stored.status).toBe("succeeded");
    const listed = await run(server, "list", "--quiet");
    expect(listed.out.split("\n").sort()).toEqual([r.out, waited.out].sort());
  });

  test("the key from a file (--token-file or AGENTVINE_TOKEN_FILE) keeps it out of ps; a missing file is named", async () => {
    const server = await startTestServer();
    const file = join(tempDir(), "key");
    writeFileSync(file, `${server.token}\n`, { mode: 0o600 });
    const viaFlag = await runWith({}, "list", "--server", server.url, "--token-file", file);
    expect(viaFlag.code).toBe(0);
    const viaEnv = await runWith({ AGENTVINE_SERVER: server.url, AGENTVINE_TOKEN_FILE: file }, "list");
    expect(viaEnv.code).toBe(0);
    const missing = await runWith({ AGENTVINE_SERVER: server.url, AGENTVINE_TOKEN_FILE: `${file}.nope` }, "list");
    expect(missing.code).toBe(2);
    expect(missing.err).toBe(`AGENTVINE_TOKEN_FILE ${file}.nope: no such file`);
  });

  test.each([
    ["no command", [], /Usage: agentvine task/],
    ["unknown command", ["teleport"], /unknown command 'task teleport'/],
    ["unknown flag", ["list", "--colour", "red"], /--colour/],
    ["submit without --type", ["submit", "--param", "name=x"], /needs --type/],
    ["get without an id", ["get"], /needs a task id/],
    ["--param without =", ["submit", "--type", "hello", "--param", "name"], /--param name: expected key=value/],
    ["--params not JSON", ["submit", "--type", "hello", "--params", "{name"], /--params: not valid JSON/],
  ] as const)("bad usage exits 2 with a message: %s", async (_name, argv, message) => {
    // A server nobody listens on: bad usage must be caught before any request is made.
    const r = await run(null, ...(argv.length ? [...argv, "--server", "http://127.0.0.1:9"] : []));
    expect(r.code).toBe(2);
    expect(`${r.err}${r.out}`).toMatch(message);
  });
});
