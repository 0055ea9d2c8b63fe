// Steering plan runs over real HTTP with real worker threads: a failing step and what follows from it,
// retry of a run, cancel cascading to every unfinished step. The happy paths are in runs.test.ts.
import { afterEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gate } from "../../../test/gate.ts";
import { cleanup, sharedDir, startTestServer } from "../../../test/helpers.ts";
import { createPlan, getTask, helloStep, runPlan, statusOf, statusTrail, stepsOf, untilStep, waitTask, heldStep as held } from "../../../test/plans.ts";
import type { TaskJson } from "../../engine/task-record.ts";

afterEach(cleanup);

describe("failures", () => {
  test("a failing step fails its dependants; an independent branch finishes first; the run fails naming the step", async () => {
    const server = await startTestServer();
    const trail = statusTrail(server);
    const g = gate();
    const plan = await createPlan(server, {
      name: "breaks",
      steps: [
        { name: "boom", task_type: "shell", params: { command: "exit 3", shell: true } },
        helloStep("next", { depends_on: ["boom"] }),
        helloStep("last", { depends_on: ["next"] }),
        held("side", g),
      ],
    });
    const run = await runPlan(server, plan.id);
    await untilStep(server, run.id, "last", "failed");
    await untilStep(server, run.id, "side", "running");
    // Something still runs: the run is not failed yet.
    expect(statusOf(server, run.id)).toBe("running");
    const steps = await stepsOf(server, run.id);
    expect(steps.boom!.error).toBe("command exited with code 3");
    expect(steps.next!.error).toBe(`dependency ${steps.boom!.id} failed: command exited with code 3`);
    expect(steps.last!.error).toStartWith(`dependency ${steps.boom!.id} failed`);
    expect(steps.next!.attempts).toBe(0);

    g.open();
    const done = await waitTask(server, run.id);
    expect(done.status).toBe("failed");
    expect(done.error).toBe("3 of 4 steps did not succeed: boom failed (command exited with code 3)");
    expect(done.result).toBeNull();
    expect((await getTask(server, steps.side!.id)).status).toBe("succeeded");
    expect(trail(run.id)).toEqual(["running", "failed"]);
  });

  test("POST /tasks/:run/retry re-runs the failed step and its dependants; the run ends succeeded", async () => {
    const server = await startTestServer();
    const mark = join(sharedDir(), "ready");
    const plan = await createPlan(server, {
      name: "flaky",
      steps: [
        helloStep("first"),
        { name: "check", task_type: "shell", params: { command: '[ -e "$MARK" ]', shell: true, env: { MARK: mark } } },
        { name: "report", task_type: "hello", params: { name: "{{steps.first.result.message}}" } },
      ],
    });
    const run = await runPlan(server, plan.id);
    const failed = await waitTask(server, run.id);
    expect(failed.status).toBe("failed");
    expect(failed.error).toContain("check failed (command exited with code 1)");
    const before = await stepsOf(server, run.id);
    expect(before.report!.status).toBe("failed");

    writeFileSync(mark, "");
    const res = await server.api(`/tasks/${run.id}/retry`, { method: "POST" });
    expect(res.status).toBe(200);
    const retried = (await res.json()) as TaskJson;
    expect(retried).toMatchObject({ id: run.id, status: "running", error: null, finished_at: null });

    const done = await waitTask(server, run.id);
    expect(done.status).toBe("succeeded");
    expect(done.result).toMatchObject({ steps: { first: { message: "Hello, first!" }, report: { message: "Hello, Hello, first!!" } } });
    const after = await stepsOf(server, run.id);
    expect(after.first!.attempts).toBe(1); // it had succeeded: not run again
    expect(after.check!).toMatchObject({ status: "succeeded", attempts: 2 });
    expect(after.report!).toMatchObject({ status: "succeeded", attempts: 1 });
    const executions = server.db.sqlite.query<{ n: number }, [string]>("SELECT count(*) AS n FROM executions WHERE task_id = ?").get(after.check!.id)!;
    expect(executions.n).toBe(2);
  });
});

describe("retrying a step whose template could not be resolved", () => {
  test("resolves it again instead of running it with the template text, and fails again with the reason", async () => {
    const server = await startTestServer();
    const plan = await createPlan(server, {
      name: "still bad",
      steps: [helloStep("greet"), { name: "use", task_type: "hello", params: { name: "{{steps.greet.result.nope}}" } }, helloStep("after")],
    });
    const run = await runPlan(server, plan.id);
    expect((await waitTask(server, run.id)).status).toBe("failed");

    const res = await server.api(`/tasks/${run.id}/retry`, { method: "POST" });
    expect(res.status).toBe(200);
    const done = await waitTask(server, run.id);
    expect(done.status).toBe("failed");
    const steps = await stepsOf(server, run.id);
    expect(steps.use).toMatchObject({ status: "failed", attempts: 0, params: { name: "{{steps.greet.result.nope}}" } });
    expect(steps.use!.error).toBe("cannot resolve params: {{steps.greet.result.nope}}: the value has no 'nope'");
    expect(steps.after!.status).toBe("failed");
    expect(steps.greet!.attempts).toBe(1);
    expect(server.db.sqlite.query("SELECT 1 FROM executions WHERE task_id = ?").get(steps.use!.id)).toBeNull();
  });
});

describe("cancel", () => {
  test("POST /tasks/:run/cancel cancels the run and every unfinished step; finished ones keep their status", async () => {
    const server = await startTestServer();
    const g = gate();
    const plan = await createPlan(server, {
      name: "cancellable",
      steps: [helloStep("done"), held("hold", g), helloStep("then"), helloStep("finally")],
    });
    const run = await runPlan(server, plan.id);
    await untilStep(server, run.id, "hold", "running");
    const res = await server.api(`/tasks/${run.id}/cancel`, { method: "POST" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as TaskJson).status).toBe("cancelled");

    const steps = await stepsOf(server, run.id);
    expect(steps.done!.status).toBe("succeeded");
    for (const name of ["hold", "then", "finally"]) {
      expect(steps[name]!.status).toBe("cancelled");
      expect(steps[name]!.error).toBe(`cancelled by user (parent task ${run.id} cancelled)`);
    }
    const parent = await getTask(server, run.id);
    expect(parent).toMatchObject({ status: "cancelled", error: "cancelled by user" });
    const execution = server.db.sqlite.query<{ status: string }, [string]>("SELECT status FROM executions WHERE task_id = ?").get(steps.hold!.id)!;
    expect(execution.status).toBe("cancelled");
    // Nothing is left to run, and a second cancel is refused.
    expect(server.db.sqlite.query("SELECT 1 FROM work_orders WHERE status IN ('available', 'claimed')").get()).toBeNull();
    expect((await server.api(`/tasks/${run.id}/cancel`, { method: "POST" })).status).toBe(409);
    g.open();
  });

  test("a cancelled run can be retried: every step it cancelled runs again and the run succeeds", async () => {
    const server = await startTestServer();
    const g = gate();
    const plan = await createPlan(server, {
      name: "resume",
      steps: [held("hold", g), { name: "then", task_type: "hello", params: { name: "exit {{steps.hold.result.exit_code}}" } }, helloStep("last")],
    });
    const run = await runPlan(server, plan.id);
    await untilStep(server, run.id, "hold", "running");
    expect((await server.api(`/tasks/${run.id}/cancel`, { method: "POST" })).status).toBe(200);
    g.open();

    const res = await server.api(`/tasks/${run.id}/retry`, { method: "POST" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as TaskJson).status).toBe("running");
    const done = await waitTask(server, run.id);
    expect(done.status).toBe("succeeded");
    const steps = await stepsOf(server, run.id);
    expect(steps.hold).toMatchObject({ status: "succeeded", attempts: 2 });
    expect(steps.then).toMatchObject({ status: "succeeded", attempts: 1, params: { name: "exit 0" }, result: { message: "Hello, exit 0!" } });
    expect(steps.last).toMatchObject({ status: "succeeded", attempts: 1 });
  });
});
