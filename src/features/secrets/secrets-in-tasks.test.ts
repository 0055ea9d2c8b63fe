// Secrets in running tasks, end to end on a real server with real threads: `{{secrets.NAME}}` stays a
// template in every stored row, reaches the command as its value, and every place output can be read
// (log API, JSONL file, SSE, result, error, HTML page, the database file) shows *** instead.
import { afterEach, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { errorOf, expectOk, send } from "../../../test/auth.ts";
import { AWAIT_GATE, gate } from "../../../test/gate.ts";
import { cleanup, json, startTestServer, until, type TestServer } from "../../../test/helpers.ts";
import { dataOf, openSse, type SseFrame } from "../../../test/sse.ts";
import type { TaskJson } from "../../engine/task-record.ts";
import { TaskLogger } from "../../engine/task-logger.ts";
import { SYSTEM_ACTOR } from "../audit/service.ts";

afterEach(cleanup);

const SECRET = "tok_9f8e7d6c5b4a39281706";
const TERMINAL = ["succeeded", "failed", "cancelled", "timed_out"];

/** Every file under `dir` (the data dir: database, WAL, JSONL logs, workspaces), as text. */
function filesUnder(dir: string): Array<{ path: string; text: string }> {
  const out: Array<{ path: string; text: string }> = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push({ path, text: readFileSync(path).toString("latin1") });
  }
  return out;
}

async function submit(server: TestServer, body: Record<string, unknown>): Promise<TaskJson> {
  return expectOk(await server.api("/tasks", json(body)), 201);
}

async function finished(server: TestServer, id: string): Promise<TaskJson> {
  const bus = server.services.deps.bus;
  await until(bus, ["task:changed"], () => {
    const row = server.db.sqlite.query<{ status: string }, [string]>("SELECT status FROM tasks WHERE id = ?").get(id);
    return row && TERMINAL.includes(row.status);
  });
  return expectOk(await server.api(`/tasks/${id}`));
}

describe("{{secrets.NAME}} in a running task", () => {
  test("the command gets the value; the log API, JSONL file, SSE, result, HTML page and database only ever show ***", async () => {
    const server = await startTestServer();
    await expectOk(await server.api("/secrets", json({ name: "TOKEN", value: SECRET })), 201);
    const g = gate();
    // In the script, an argument and an env variable; printed alone, twice, inside other text, as JSON,
    // on stderr, and split over two writes (two chunks of output for one line).
    const script = [
      AWAIT_GATE,
      'echo "token={{secrets.TOKEN}}"',
      'echo "$1 and again $1"',
      'printf \'{"auth":"Bearer %s"}\\n\' "$TOKEN"',
      'echo "stderr:$TOKEN" >&2',
      `printf 'split=%s' "$(printf '%s' "$TOKEN" | head -c 8)"`,
      "sleep 0.1",
      `printf '%s|end\\n' "$(printf '%s' "$TOKEN" | tail -c +9)"`,
      // The command really had the value: its length and a fingerprint, neither of which is masked.
      `printf '%s' "$TOKEN" | wc -c | tr -d ' '`,
      `printf '%s' "$1" | rev`,
    ].join("\n");
    const task = await submit(server, {
      title: "uses a secret",
      task_type: "shell",
      params: { command: script, shell: true, args: ["{{secrets.TOKEN}}"], env: { ...g.env, TOKEN: "{{ secrets.TOKEN }}" } },
    });
    // The stored task keeps the template, never the value.
    expect(task.params).toMatchObject({ args: ["{{secrets.TOKEN}}"], env: { TOKEN: "{{ secrets.TOKEN }}" } });

    const { sse } = await openSse(`${server.url}/api/v1/tasks/${task.id}/events`, { token: server.token });
    let frames: SseFrame[];
    try {
      g.open();
      frames = await sse.until((f) => f.event === "task" && TERMINAL.includes(dataOf<TaskJson>(f).status));
    } finally {
      await sse.close();
    }
    const done = await finished(server, task.id);
    expect(done.status).toBe("succeeded");
    const [execution] = (await expectOk(await server.api(`/executions?task_id=${task.id}`))).items as Array<{ id: string }>;
    const executionId = execution!.id;

    // What the command printed, as everyone sees it: masked, with the rest of each line intact.
    const expected = [
      "token=***",
      "*** and again ***",
      '{"auth":"Bearer ***"}',
      "stderr:***",
      "split=***|end",
      String(SECRET.length),
      [...SECRET].reverse().join(""), // reversed: not the secret, so it passes (and proves the value arrived)
    ];

    // 1. The log API (JSON).
    const logsRes = await server.api(`/executions/${executionId}/logs`);
    const logsText = await logsRes.text();
    expect(logsText).not.toContain(SECRET);
    const messages = (JSON.parse(logsText).items as Array<{ message: string }>).map((l) => l.message);
    expect(messages).toEqual(expect.arrayContaining(expected));

    // 2. The JSONL file under the data dir.
    await server.services.logger.drain();
    const file = readFileSync(server.services.logger.filePath(executionId), "utf8");
    expect(file).not.toContain(SECRET);
    const fileMessages = file.trim().split("\n").map((l) => JSON.parse(l).message as string);
    expect(fileMessages).toEqual(expect.arrayContaining(expected));

    // 3. The SSE stream: log events and the task's final state.
    const sseText = frames.map((f) => f.data).join("\n");
    expect(sseText).not.toContain(SECRET);
    const sseLogs = frames.filter((f) => f.event === "log").map((f) => dataOf<{ message: string }>(f).message);
    expect(sseLogs).toEqual(expect.arrayContaining(expected));

    // 4. The result (stdout and stderr tails) and the execution record.
    const result = done.result as { stdout: string; stderr: string };
    expect(result.stdout).toContain("token=***\n*** and again ***\n");
    expect(result.stderr).toBe("stderr:***\n");
    expect(JSON.stringify(done)).not.toContain(SECRET);
    const executionText = await (await server.api(`/executions/${executionId}`)).text();
    expect(executionText).not.toContain(SECRET);
    expect(executionText).toContain("token=***");

    // 5. The HTML task page: the params as written (the template), the output masked.
    const page = await server.get(`/tasks/${task.id}`);
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).not.toContain(SECRET);
    expect(html).toContain("{{secrets.TOKEN}}");
    expect(html).toContain("token=***");

    // 6. The rows: params and work order keep the template; nothing on disk holds the value.
    const row = server.db.sqlite.query<{ params: string }, [string]>("SELECT params FROM tasks WHERE id = ?").get(task.id)!;
    expect(JSON.parse(row.params)).toMatchObject({ args: ["{{secrets.TOKEN}}"] });
    const order = server.db.sqlite.query<{ payload: string }, [string]>("SELECT payload FROM work_orders WHERE task_id = ?").get(task.id)!;
    expect(order.payload).toContain("{{secrets.TOKEN}}");
    const stored = server.db.sqlite.query<{ n: number }, [string]>("SELECT count(*) AS n FROM execution_logs WHERE execution_id = ? AND message LIKE '%***%'").get(executionId)!;
    expect(stored.n).toBeGreaterThanOrEqual(5);
    server.db.sqlite.exec("PRAGMA wal_checkpoint(FULL)");
    for (const { path, text } of filesUnder(server.services.config.dataDir)) {
      expect({ path, leaked: text.includes(SECRET) }).toEqual({ path, leaked: false });
    }
  });

  test("an error message that would quote the value is masked too", async () => {
    const server = await startTestServer();
    await expectOk(await server.api("/secrets", json({ name: "TOKEN", value: SECRET })), 201);
    // The program to run is the secret itself: starting it fails, and the message names the program.
    const task = await submit(server, { title: "bad program", task_type: "shell", params: { command: "{{secrets.TOKEN}}" } });
    const done = await finished(server, task.id);
    expect(done.status).toBe("failed");
    expect(done.error).toContain("could not start '***'");
    expect(JSON.stringify(done)).not.toContain(SECRET);
    const executions = await (await server.api(`/executions?task_id=${task.id}`)).text();
    expect(executions).not.toContain(SECRET);
    expect(executions).toContain("could not start '***'");
  });

  test("a shell task's 64 KiB output tail is never cut inside a value: the whole value is kept and masked, nowhere a fragment", async () => {
    const server = await startTestServer();
    const GH = "ghp_TOPSECRETtoken1234567890abcdef";
    await expectOk(await server.api("/secrets", json({ name: "GH", value: GH })), 201);
    // 34 + 65520 characters: keeping the last 64 KiB cuts the value after "ghp_TOPSECRETtoken".
    const command = `printf '%s' "$TOKEN"; head -c 65520 /dev/zero | tr '\\0' x`;
    const task = await submit(server, { title: "long output", task_type: "shell", params: { command, shell: true, env: { TOKEN: "{{secrets.GH}}" } } });
    const done = await finished(server, task.id);
    expect(done.status).toBe("succeeded");
    const stdout = (done.result as { stdout: string }).stdout;
    expect(stdout).toBe(`***${"x".repeat(65520)}`);

    const [execution] = (await expectOk(await server.api(`/executions?task_id=${task.id}`))).items as Array<{ id: string }>;
    const executionText = await (await server.api(`/executions/${execution!.id}`)).text();
    const logsText = await (await server.api(`/executions/${execution!.id}/logs`)).text();
    const pageText = await (await server.get(`/tasks/${task.id}`)).text();
    expect(executionText).toContain(`"stdout":"***xxxx`);
    expect(logsText).toContain(`"message":"***xxxx`);
    // No piece of the value anywhere (8 characters: short enough to catch any fragment, too long to occur by chance).
    const pieces = Array.from({ length: GH.length - 7 }, (_, i) => GH.slice(i, i + 8));
    const leaks = (text: string) => pieces.filter((p) => text.includes(p));
    for (const [where, text] of Object.entries({ task: JSON.stringify(done), execution: executionText, logs: logsText, page: pageText })) {
      expect({ where, leaks: leaks(text) }).toEqual({ where, leaks: [] });
    }
    await server.services.logger.drain();
    server.db.sqlite.exec("PRAGMA wal_checkpoint(FULL)");
    for (const { path, text } of filesUnder(server.services.config.dataDir)) {
      expect({ path, leaks: leaks(text) }).toEqual({ path, leaks: [] });
    }
  });

  test("an http response body kept to 1 MiB is not cut inside a value: the value is kept whole and masked", async () => {
    const GH = "ghp_TOPSECRETtoken1234567890abcdef";
    // A service that echoes the credential it was sent, just across the 1 MiB the task keeps.
    const upstream = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req) => new Response(`${"y".repeat(1024 * 1024 - 10)}${req.headers.get("x-token")}tail`, { headers: { "content-type": "text/plain" } }),
    });
    try {
      const server = await startTestServer();
      await expectOk(await server.api("/secrets", json({ name: "GH", value: GH })), 201);
      const task = await submit(server, {
        title: "echo",
        task_type: "http",
        params: { url: `http://127.0.0.1:${upstream.port}/`, headers: { "x-token": "{{secrets.GH}}" } },
      });
      const done = await finished(server, task.id);
      expect(done.status).toBe("succeeded");
      const result = done.result as { body: string; truncated: boolean };
      expect(result.truncated).toBe(true);
      expect(result.body).toBe(`${"y".repeat(1024 * 1024 - 10)}***`);
      expect(JSON.stringify(done)).not.toContain("ghp_TOPSEC");
      const [execution] = (await expectOk(await server.api(`/executions?task_id=${task.id}`))).items as Array<{ id: string }>;
      expect(await (await server.api(`/executions/${execution!.id}`)).text()).not.toContain("ghp_TOPSEC");
    } finally {
      await upstream.stop(true);
    }
  });

  test("an unknown secret is a 400 naming the param and the secret; nothing is stored", async () => {
    const server = await startTestServer();
    const res = await server.api(
      "/tasks",
      json({ title: "nope", task_type: "shell", params: { command: "echo", args: ["ok", "--token={{secrets.NOPE}}"] } }),
    );
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { code: string; message: string; details: unknown } };
    expect(error).toMatchObject({
      code: "validation_failed",
      message: "params.args[1]: unknown secret 'NOPE'",
      details: [{ field: "params.args[1]", message: "unknown secret 'NOPE'" }],
    });
    expect((await expectOk(await server.api("/tasks"))).total).toBe(0);

    // Once the secret exists, the same submission is accepted.
    await expectOk(await server.api("/secrets", json({ name: "NOPE", value: "now-it-exists" })), 201);
    await expectOk(await server.api("/tasks", json({ title: "ok", task_type: "shell", params: { command: "echo", args: ["{{secrets.NOPE}}"] } })), 201);
  });

  test("a secret deleted after submission fails the execution with a clear error; the server carries on", async () => {
    const server = await startTestServer();
    await expectOk(await server.api("/secrets", json({ name: "GONE", value: "soon-deleted-value" })), 201);
    const g = gate();
    const first = await submit(server, { title: "first", task_type: "shell", params: { command: AWAIT_GATE, shell: true, env: g.env } });
    const second = await submit(server, {
      title: "second",
      task_type: "shell",
      params: { command: "echo", args: ["{{secrets.GONE}}"] },
      depends_on: [first.id],
    });
    expect((await server.api("/secrets/GONE", send("DELETE"))).status).toBe(204);
    g.open();

    const failed = await finished(server, second.id);
    expect(failed.status).toBe("failed");
    expect(failed.error).toBe("cannot resolve {{secrets.…}} in params: Unknown secret: GONE");
    const [execution] = (await expectOk(await server.api(`/executions?task_id=${second.id}`))).items as Array<{ id: string; status: string; error: string }>;
    expect(execution).toMatchObject({ status: "failed", error: "cannot resolve {{secrets.…}} in params: Unknown secret: GONE" });
    const logs = (await expectOk(await server.api(`/executions/${execution!.id}/logs`))).items as Array<{ level: string; message: string }>;
    expect(logs).toEqual([expect.objectContaining({ level: "error", message: "cannot resolve {{secrets.…}} in params: Unknown secret: GONE" })]);
    // Not retried: the attempt cannot succeed until someone stores the secret again.
    expect(failed.attempts).toBe(1);

    // The pool is fine: the next task runs.
    const next = await submit(server, { title: "next", task_type: "shell", params: { command: "echo", args: ["still here"] } });
    expect((await finished(server, next.id)).status).toBe("succeeded");
  });
});

describe("{{secrets.NAME}} in plans", () => {
  test("a plan may use secrets in step params; a step result cannot smuggle a secret reference into a later step", async () => {
    const server = await startTestServer();
    await expectOk(await server.api("/secrets", json({ name: "TOKEN", value: SECRET })), 201);
    const plan = await expectOk(
      await server.api(
        "/plans",
        json({
          name: "uses-secrets",
          steps: [
            // Prints the literal text {{secrets.TOKEN}} (built from pieces, so its own params hold no reference).
            { name: "emit", task_type: "shell", params: { command: "printf '{{%s}}' secrets.TOKEN", shell: true } },
            { name: "use", task_type: "shell", params: { command: "echo", args: ["{{secrets.TOKEN}}", "{{steps.emit.result.stdout}}"] } },
          ],
        }),
      ),
      201,
    );
    const run = await expectOk(await server.api(`/plans/${plan.id}/run`, json({})), 201);
    const done = await finished(server, run.id);
    expect(done.status).toBe("failed");
    const children = (await expectOk(await server.api(`/tasks?parent_task_id=${run.id}`))).items as TaskJson[];
    const use = children.find((t) => t.title.includes("use"))!;
    expect(use.status).toBe("failed");
    expect(use.error).toContain("{{steps.emit.result.stdout}}: the value contains a {{secrets.…}} reference");

    // A run naming a secret that does not exist is refused up front.
    await expectOk(
      await server.api(`/plans/${plan.id}`, send("PUT", { name: "uses-secrets", steps: [{ name: "x", task_type: "shell", params: { command: "{{secrets.MISSING}}" } }] })),
    );
    const refused = await errorOf(await server.api(`/plans/${plan.id}/run`, json({})));
    expect(refused.status).toBe(400);
    expect(refused.message).toContain("step 'x': unknown secret 'MISSING'");
  });
});

describe("masking", () => {
  test("multi-line, JSON-escaped and URL-encoded forms are masked; short or blank values are refused", async () => {
    const server = await startTestServer({ workers: 0 });
    const store = server.services.secrets;
    const pem = "-----BEGIN KEY-----\nQUJDREVGR0hJSktMTU5PUFFSU1RVVldY\nWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2\n-----END KEY-----";
    store.create("PEM", pem, SYSTEM_ACTOR);
    store.create("QUOTED", 'pa"ss\\word/x y', SYSTEM_ACTOR);
    // Printed by `cat`, a multi-line value arrives one log line at a time.
    for (const line of pem.split("\n")) expect(store.maskSecrets(`> ${line}`)).toBe("> ***");
    expect(store.maskSecrets(JSON.stringify({ p: 'pa"ss\\word/x y' }))).toBe('{"p":"***"}');
    expect(store.maskSecrets(`https://h/?p=${encodeURIComponent('pa"ss\\word/x y')}`)).toBe("https://h/?p=***");
    expect((await errorOf(await server.api("/secrets", json({ name: "BLANK", value: "   x   " })))).status).toBe(400);
    expect((await errorOf(await server.api("/secrets", json({ name: "ABC", value: "abc" })))).status).toBe(400);
  });

  test("only whole values are masked — a string that starts or ends like a value is left alone — in their common encodings too", async () => {
    const server = await startTestServer({ workers: 0 });
    const store = server.services.secrets;
    store.create("TOKEN", SECRET, SYSTEM_ACTOR);
    // A prefix, a suffix, or the value cut anywhere is not the value: masking it would tell a prober they guessed its start.
    for (const probe of [SECRET.slice(0, 4), SECRET.slice(0, 12), SECRET.slice(-4), SECRET.slice(5), `x ${SECRET.slice(0, 20)}`]) {
      expect(store.maskSecrets(probe)).toBe(probe);
      expect(store.maskSecretsDeep<unknown>({ field: probe })).toEqual({ field: probe });
    }
    expect(store.maskSecrets(`a ${SECRET} b`)).toBe("a *** b");
    // base64 (also inside a longer encoding, at any alignment), base64url, hex, URL-encoded (both ways).
    for (const prefix of ["", "u", "us", "user:"]) {
      const b64 = Buffer.from(`${prefix}${SECRET}\n`).toString("base64");
      expect(store.maskSecrets(b64)).toContain("***");
      expect(store.maskSecrets(b64)).not.toContain(Buffer.from(SECRET).toString("base64").slice(4, 20));
      expect(store.maskSecrets(Buffer.from(`${prefix}${SECRET}`).toString("base64url"))).toContain("***");
    }
    expect(store.maskSecrets(`hex: ${Buffer.from(SECRET).toString("hex")}`)).toBe("hex: ***");
    expect(store.maskSecrets(`HEX: ${Buffer.from(SECRET).toString("hex").toUpperCase()}`)).toBe("HEX: ***");
    store.create("SPACED", "two words here", SYSTEM_ACTOR);
    expect(store.maskSecrets("q=two+words+here&r=two%20words%20here")).toBe("q=***&r=***");
  });

  test("the TaskLogger masks message and metadata before publishing, and before truncating a long line", async () => {
    const server = await startTestServer({ workers: 0 });
    const { db, bus } = server.services.deps;
    server.services.secrets.create("TOKEN", SECRET, SYSTEM_ACTOR);
    const logger = new TaskLogger({ db, bus, secrets: server.services.secrets, logDir: join(server.services.config.dataDir, "logs") });
    const published: string[] = [];
    const off = bus.on("log:appended", (e) => published.push(JSON.stringify(e)));
    const long = `${"x".repeat(64 * 1024 - 4)}${SECRET}`; // the cut at 64 KiB would fall inside the value
    const events = logger.append("exec-1", "task-1", [
      ["info", `a ${SECRET} b`, { header: `Bearer ${SECRET}`, [SECRET]: 1 }, Date.now()],
      ["info", long, null, Date.now()],
    ]);
    off();
    expect(events[0]).toMatchObject({ message: "a *** b", metadata: { header: "Bearer ***", "***": 1 } });
    // Truncating first would have kept the value's first four characters readable.
    expect(events[1]!.message).toBe(`${"x".repeat(64 * 1024 - 4)}***`);
    expect(published.join("")).not.toContain(SECRET);
    await logger.stop(); // its flush timer must not outlive the database
  });
});
