// Shell tasks run commands on the server's host as its OS user, which can read the data dir (database,
// JWT and secrets keys): submitting one is an admin's call unless --shell-role operator says otherwise.
import { afterEach, describe, expect, test } from "bun:test";
import { bearer, errorOf, expectOk, userWithRole } from "../../../test/auth.ts";
import { cleanup, json, startTestApp } from "../../../test/helpers.ts";

afterEach(cleanup);

const shell = { title: "whoami", task_type: "shell", params: { command: "true" } };
const plan = { name: "build", steps: [{ name: "hello", task_type: "hello", params: { name: "x" } }, { name: "make", task_type: "shell", params: { command: "true" } }] };

describe("--shell-role", () => {
  test("by default an operator may not submit a shell task or run a plan with a shell step; an admin may", async () => {
    const server = await startTestApp({ workers: 0 });
    const olga = (await userWithRole(server, server.token, "olga", "operator")).access_token;
    const refused = await errorOf(await server.api("/tasks", bearer(olga, json(shell))));
    expect(refused).toMatchObject({ status: 403, code: "forbidden", message: expect.stringContaining("'shell' tasks run commands on the server's host") });
    // The same operator may still submit other types; a plan with a shell step is the admin's to save and to run.
    await expectOk(await server.api("/tasks", bearer(olga, json({ title: "hi", task_type: "hello", params: { name: "o" } }))), 201);
    await expectOk(await server.api("/plans", json(plan)), 201);
    expect(await errorOf(await server.api("/plans/build/run", bearer(olga, { method: "POST" })))).toMatchObject({
      status: 403,
      message: expect.stringContaining("step 'make': 'shell' tasks"),
    });
    // Nothing of the refused run or task was stored.
    const tasks = await expectOk(await server.api("/tasks?per_page=100"));
    expect(tasks.items.map((t: { task_type: string }) => t.task_type)).toEqual(["hello"]);
    // The HTML form answers the same refusal.
    const form = await server.get("/tasks", {
      method: "POST",
      headers: { authorization: `Bearer ${olga}`, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ title: "x", task_type: "shell", "params.command": "true" }),
    });
    expect(form.status).toBe(403);
    // The admin may.
    await expectOk(await server.api("/tasks", json(shell)), 201);
    await expectOk(await server.api("/plans/build/run", { method: "POST" }), 201);
  });

  test("with --shell-role operator an operator may; a viewer still may not submit anything", async () => {
    const server = await startTestApp({ workers: 0, shellRole: "operator" });
    const olga = (await userWithRole(server, server.token, "olga", "operator")).access_token;
    const vic = (await userWithRole(server, server.token, "vic", "viewer")).access_token;
    await expectOk(await server.api("/tasks", bearer(olga, json(shell))), 201);
    expect((await server.api("/tasks", bearer(vic, json(shell)))).status).toBe(403);
  });
});
