// Issue 10, item 1: the shell role is checked when a plan is SAVED, not only when it runs — otherwise an
// operator edits an admin's plan and the admin's next run executes the operator's command on the host.
import { afterEach, describe, expect, test } from "bun:test";
import { bearer, errorOf, expectOk, send, userWithRole } from "../../../test/auth.ts";
import { cleanup, json, startTestApp } from "../../../test/helpers.ts";
import { formPost, uiClient } from "../../../test/html.ts";
import type { PlanJson } from "./service.ts";

afterEach(cleanup);

const nightly = { name: "nightly", steps: [{ name: "build", task_type: "shell", params: { command: "true" } }] };
const evil = { name: "nightly", steps: [{ name: "build", task_type: "shell", params: { command: "sh", args: ["-c", "id -u; head -c 12 ../../jwt-secret.key"] } }] };
const versionsOf = (server: Awaited<ReturnType<typeof startTestApp>>) =>
  server.db.sqlite.query<{ version: number; steps: string; host_commands: number | null }, []>("SELECT version, steps, host_commands FROM plan_versions ORDER BY version").all();

describe("saving a plan with a step that runs host commands needs the shell role", () => {
  test("an operator cannot replace the command of an admin's shell plan, nor create one; nothing is stored", async () => {
    const server = await startTestApp();
    const olga = (await userWithRole(server, server.token, "olga", "operator")).access_token;
    await expectOk(await server.api("/plans", json(nightly)), 201);

    const put = await errorOf(await server.api("/plans/nightly", bearer(olga, send("PUT", evil))));
    expect([put.status, put.code]).toEqual([403, "forbidden"]);
    expect(put.message).toContain("step 'build': 'shell' steps run commands on the server's host");
    expect(put.message).toContain("--shell-role");
    expect((await errorOf(await server.api("/plans", bearer(olga, json({ ...evil, name: "mine" }))))).status).toBe(403);
    // Adding a shell step to a plan that had none is refused just the same.
    await expectOk(await server.api("/plans", bearer(olga, json({ name: "greet", steps: [{ name: "hi", task_type: "hello", params: { name: "x" } }] }))), 201);
    expect((await errorOf(await server.api("/plans/greet", bearer(olga, send("PUT", { name: "greet", steps: evil.steps }))))).status).toBe(403);

    // The admin's version is the only one with a shell step, and it is what the admin's run executes.
    expect(versionsOf(server).map((v) => JSON.parse(v.steps)[0].params.command)).toEqual(["true", undefined]);
    const run = await expectOk(await server.api("/plans/nightly/run", { method: "POST" }), 201);
    const children = server.db.sqlite.query<{ params: string }, [string]>("SELECT params FROM tasks WHERE parent_task_id = ?").all(run.id);
    expect(children.map((c) => JSON.parse(c.params).command)).toEqual(["true"]);
    // The refusals are audited nowhere as saves: no plan.updated by olga.
    const audit = server.db.sqlite.query<{ n: number }, []>("SELECT count(*) AS n FROM audit_events WHERE action = 'plan.updated'").get()!;
    expect(audit.n).toBe(0);
  });

  test("with --shell-role operator an operator may save one, and it runs", async () => {
    const server = await startTestApp({ shellRole: "operator" });
    const olga = (await userWithRole(server, server.token, "olga", "operator")).access_token;
    const plan = (await expectOk(await server.api("/plans", bearer(olga, json(nightly))), 201)) as PlanJson;
    expect(plan.run_blocked).toBeNull();
    await expectOk(await server.api("/plans/nightly/run", bearer(olga, { method: "POST" })), 201);
  });

  test("a version whose author did not have the shell role never runs, whoever starts it, until one who has it saves it again", async () => {
    const server = await startTestApp();
    await expectOk(await server.api("/plans", json(nightly)), 201);
    // As an upgraded database has it: saved before authors were recorded.
    server.db.sqlite.run("UPDATE plan_versions SET host_commands = NULL");
    const plan = (await expectOk(await server.api("/plans/nightly"))) as PlanJson;
    expect(plan.run_blocked).toContain("version 1 has a step that runs commands on the server's host ('build': shell)");
    const refused = await errorOf(await server.api("/plans/nightly/run", { method: "POST" }));
    expect(refused).toMatchObject({ status: 403, code: "forbidden", message: expect.stringContaining("plan 'nightly' version 1") });
    expect(server.db.sqlite.query<{ n: number }, []>("SELECT count(*) AS n FROM tasks").get()!.n).toBe(0);
    // The plan page says why instead of offering the run form.
    const ui = uiClient(server);
    const page = await ui("/plans/nightly");
    expect(page.text).toContain("data-run-blocked");
    expect(page.text).not.toContain('id="run-form"');

    // The admin reviews it and saves the same steps: a new version, which runs.
    const saved = (await expectOk(await server.api("/plans/nightly", send("PUT", nightly)))) as PlanJson;
    expect(saved).toMatchObject({ version: 2, run_blocked: null });
    await expectOk(await server.api("/plans/nightly/run", { method: "POST" }), 201);
  });

  test("the editor tells an operator why, and a save of a shell step answers the refusal in the form", async () => {
    const server = await startTestApp();
    const olga = (await userWithRole(server, server.token, "olga", "operator")).access_token;
    const ui = uiClient({ services: server.services, token: olga });
    const editor = await ui("/plans/new");
    expect(editor.text).toContain("data-host-steps-refused");
    expect(editor.text).toContain("only someone with the shell role");
    const res = await ui(
      "/plans",
      formPost({ name: "mine", description: "", "steps[0].key": "k", "steps[0].name": "build", "steps[0].task_type": "shell", "steps[0].params.command": "id" }),
    );
    expect(res.status).toBe(403);
    expect(res.text).toContain("The plan was not saved");
    expect(res.text).toContain("needs the role set by --shell-role");
    expect(versionsOf(server)).toEqual([]);
    // An admin sees no such notice.
    expect((await uiClient(server)("/plans/new")).text).not.toContain("data-host-steps-refused");
  });
});
