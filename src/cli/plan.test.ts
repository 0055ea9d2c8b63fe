// `agentvine plan …` against a real server: what it prints and the exit code a script relies on.
import { afterEach, describe, expect, test } from "bun:test";
import type { TaskJson } from "../engine/task-record.ts";
import type { PlanJson } from "../features/plans/service.ts";
import { cleanup, startTestServer, tempDir } from "../../test/helpers.ts";
import { createPlan, helloStep, stepsOf, type Server } from "../../test/plans.ts";
import { planCommand } from "./plan.ts";

afterEach(cleanup);

/** Runs the command with --server, the admin's --token and a capturing console; no environment leaks in. */
async function run(server: Server | null, ...argv: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const args = server ? [...argv, "--server", server.url, "--token", server.token] : argv;
  const code = await planCommand(args, {}, { log: (s) => stdout.push(s), error: (s) => stderr.push(s) });
  return { code, out: stdout.join("\n"), err: stderr.join("\n") };
}

const greeting = (name = "greeting") => ({
  name,
  description: "Greets, then echoes the greeting",
  steps: [
    { name: "greet", task_type: "hello", params: { name: "{{inputs.who}}" } },
    { name: "echo", task_type: "shell", params: { command: "echo", args: ["{{steps.greet.result.message}}", "n={{inputs.count}}"] } },
  ],
});

describe("agentvine plan run", () => {
  test("--wait with --input runs the plan, prints each step's status and exits 0", async () => {
    const server = await startTestServer();
    await createPlan(server, greeting());
    const r = await run(server, "run", "greeting", "--input", "who=cli", "--input", "count=3", "--wait");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const id = /^started run (\S+) of greeting \(v1\); waiting…$/m.exec(r.out)![1]!;
    expect(r.out).toContain(`${id}  succeeded  "greeting (v1)"`);
    expect(r.out).toMatch(/^ {2}greet {2}succeeded$/m);
    expect(r.out).toMatch(/^ {2}echo {3}succeeded$/m);
    // The steps are listed in the plan's order.
    expect(r.out.indexOf("  greet")).toBeLessThan(r.out.indexOf("  echo"));

    const steps = await stepsOf(server, id);
    // --input values are JSON when they parse: count is the number 3, echoed as text.
    expect((steps.echo!.result as { stdout: string }).stdout).toBe("Hello, cli! n=3\n");
    const parent = (await (await server.api(`/tasks/${id}`)).json()) as TaskJson;
    expect(parent.params.inputs).toEqual({ who: "cli", count: 3 });
  });

  test("--inputs JSON, with --input on top; --json prints the run and its steps", async () => {
    const server = await startTestServer();
    await createPlan(server, greeting());
    const r = await run(server, "run", "greeting", "--inputs", '{"who":"json","count":1}', "--input", "count=2", "--wait", "--json");
    expect(r.code).toBe(0);
    const body = JSON.parse(r.out) as { run: TaskJson; steps: TaskJson[] };
    expect(body.run).toMatchObject({ status: "succeeded", params: { inputs: { who: "json", count: 2 } } });
    expect(body.steps.map((s) => [s.title, s.status])).toEqual([
      ["greet", "succeeded"],
      ["echo", "succeeded"],
    ]);
  });

  test("--wait on a run that fails exits 1 and names the failed step", async () => {
    const server = await startTestServer();
    await createPlan(server, {
      name: "breaks",
      steps: [helloStep("first"), { name: "boom", task_type: "shell", params: { command: "exit 4", shell: true } }, helloStep("never")],
    });
    const r = await run(server, "run", "breaks", "--wait");
    expect(r.code).toBe(1);
    expect(r.out).toContain('failed  "breaks (v1)"');
    expect(r.out).toContain("error:  2 of 3 steps did not succeed: boom failed (command exited with code 4)");
    expect(r.out).toMatch(/^ {2}first {2}succeeded$/m);
    expect(r.out).toMatch(/^ {2}boom {3}failed {4}command exited with code 4$/m);
    expect(r.out).toMatch(/^ {2}never {2}failed {4}dependency \S+ failed: command exited with code 4$/m);
  });

  test("without --wait prints the run at once; by id works too", async () => {
    const server = await startTestServer();
    const plan = await createPlan(server, { name: "parked", steps: [helloStep("a"), { name: "b", task_type: "test_sleep", params: { ms: 0 } }] });
    const r = await run(server, "run", plan.id, "--json");
    expect(r.code).toBe(0);
    const runTask = JSON.parse(r.out) as TaskJson;
    expect(runTask).toMatchObject({ task_type: "plan", title: "parked (v1)", status: "running" });
    const text = await run(server, "run", "parked", "--priority", "low");
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^\S+ {2}running {2}"parked \(v1\)"$/);
  });

  test("a missing input exits 1 with the server's details; an unknown plan exits 1", async () => {
    const server = await startTestServer();
    await createPlan(server, greeting());
    const r = await run(server, "run", "greeting", "--input", "who=x", "--wait");
    expect(r.code).toBe(1);
    expect(r.err).toContain("error: missing run inputs: inputs.count");
    expect(r.err).toContain("  - inputs.count: required by step 'echo'");
    const unknown = await run(server, "run", "nope");
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain("plan 'nope' not found");
  });
});

describe("agentvine plan list and show", () => {
  test("list shows each plan with its version, steps and last run; --q filters; --json is the page", async () => {
    const server = await startTestServer();
    const a = await createPlan(server, greeting("alpha greeting"));
    const b = await createPlan(server, { name: "beta", steps: [helloStep("x")] });
    expect((await run(server, "run", "beta", "--wait")).code).toBe(0);

    const table = await run(server, "list");
    expect(table.code).toBe(0);
    expect(table.out).toMatch(new RegExp(`^${b.id} {2}v1 {5}1 steps {2}last run succeeded +beta$`, "m"));
    expect(table.out).toMatch(new RegExp(`^${a.id} {2}v1 {5}2 steps {2}never run +alpha greeting$`, "m"));
    expect(table.out).toContain("(2 of 2)");

    const filtered = await run(server, "list", "--q", "greet", "--json");
    const page = JSON.parse(filtered.out) as { items: PlanJson[]; total: number };
    expect(page.total).toBe(1);
    expect(page.items[0]!.id).toBe(a.id);
    expect((await run(server, "list", "--limit", "1")).out).toContain("(1 of 2)");
  });

  test("show prints the steps with their order or dependencies; --version reads an old one", async () => {
    const server = await startTestServer();
    const plan = await createPlan(server, greeting("shown"));
    const r = await run(server, "show", "shown");
    expect(r.code).toBe(0);
    expect(r.out).toContain(`shown  v1  ${plan.id}`);
    expect(r.out).toContain("Greets, then echoes the greeting");
    expect(r.out).toContain("steps (in order):");
    expect(r.out).toContain('  greet  hello    {"name":"{{inputs.who}}"}');
    expect(r.out).toContain('  echo   shell    {"command":"echo","args":["{{steps.greet.result.message}}","n={{inputs.count}}"]}  (after greet)');

    const dag = {
      name: "shown",
      steps: [helloStep("a"), helloStep("b", { depends_on: ["a"], timeout_seconds: 5, max_retries: 1, priority: "high" })],
    };
    expect((await server.api(`/plans/${plan.id}`, { method: "PUT", body: JSON.stringify(dag) })).status).toBe(200);
    const v2 = await run(server, "show", plan.id);
    expect(v2.out).toContain("shown  v2");
    expect(v2.out).toContain("steps (a DAG):");
    expect(v2.out).toContain('  b  hello    {"name":"b"}  (after a; timeout 5s; retries 1; priority high)');
    const v1 = await run(server, "show", "shown", "--version", "1", "--json");
    expect((JSON.parse(v1.out) as PlanJson).steps.map((s) => s.name)).toEqual(["greet", "echo"]);
    const none = await run(server, "show", "shown", "--version", "9");
    expect(none.code).toBe(1);
    expect(none.err).toContain("version 'shown v9' not found");
  });
});

describe("agentvine plan usage", () => {
  test.each([
    ["no command", [], /Usage: agentvine plan/],
    ["unknown command", ["launch"], /unknown command 'plan launch'/],
    ["unknown flag", ["list", "--colour", "red"], /--colour/],
    ["show without a name", ["show"], /needs a plan name or id/],
    ["run without a name", ["run", "--wait"], /needs a plan name or id/],
    ["--input without =", ["run", "p", "--input", "who"], /--input who: expected key=value/],
    ["--inputs not JSON", ["run", "p", "--inputs", "{who"], /--inputs: not valid JSON/],
    ["--inputs not an object", ["run", "p", "--inputs", "[1]"], /--inputs: expected a JSON object/],
    ["--timeout without --wait", ["run", "p", "--timeout", "5"], /--timeout only applies with --wait/],
    ["--limit not a number", ["list", "--limit", "many"], /--limit many: expected a whole number/],
  ] as const)("bad usage exits 2 with a message: %s", async (_name, argv, message) => {
    // A server nobody listens on: bad usage must be caught before any request is made.
    const r = await run(null, ...(argv.length ? [...argv, "--server", "http://127.0.0.1:9"] : []));
    expect(r.code).toBe(2);
    expect(`${r.err}${r.out}`).toMatch(message);
  });

  test("without a token exits 1 and says how to pass a key; no run is started", async () => {
    const server = await startTestServer();
    await createPlan(server, greeting());
    const stderr: string[] = [];
    const code = await planCommand(["run", "greeting", "--input", "who=x", "--input", "count=1", "--server", server.url], {}, { log: () => {}, error: (s) => stderr.push(s) });
    expect(code).toBe(1);
    expect(stderr.join("\n")).toContain("error: Sign in first: the server needs an API key — pass --token KEY or set AGENTVINE_TOKEN");
    expect(((await (await server.api("/tasks")).json()) as { total: number }).total).toBe(0);
  });

  test("help exits 0; an unreachable server exits 1", async () => {
    const help = await run(null, "help");
    expect(help.code).toBe(0);
    expect(help.out).toContain("run NAME [--input k=v ...]");
    const r = await run(null, "list", "--server", "http://127.0.0.1:9");
    expect(r.code).toBe(1);
    expect(r.err).toContain("cannot reach http://127.0.0.1:9/api/v1");
  });
});

describe("plans as code: agentvine plan apply / export", () => {
  const YAML = `# checked into a repository
name: nightly
description: Build, then greet
steps:
  - name: build
    task_type: shell
    params:
      command: echo
      args: ["built {{inputs.branch}}"]
    timeout_seconds: 600
  - name: greet
    task_type: hello
    depends_on: [build]
    params: { name: "{{steps.build.result.stdout}}" }
`;

  test("apply creates the plan from YAML, a changed file saves a new version, the same file changes nothing; export round-trips", async () => {
    const server = await startTestServer();
    const dir = tempDir();
    const file = `${dir}/nightly.yaml`;
    await Bun.write(file, YAML);
    const created = await run(server, "apply", file);
    expect(created.err).toBe("");
    expect(created.code).toBe(0);
    expect(created.out).toBe("created plan nightly (v1, 2 steps)");
    const stored = (await (await server.api("/plans/nightly")).json()) as PlanJson;
    expect(stored.steps.map((s) => [s.name, s.depends_on, s.timeout_seconds])).toEqual([
      ["build", [], 600],
      ["greet", ["build"], undefined],
    ]);

    expect((await run(server, "apply", file)).out).toBe("plan nightly unchanged (v1)");
    await Bun.write(file, YAML.replace("Build, then greet", "Build and greet"));
    expect((await run(server, "apply", file)).out).toBe("updated plan nightly: v1 → v2");

    // export prints what apply takes: applying it again changes nothing.
    const exported = await run(server, "export", "nightly");
    expect(exported.code).toBe(0);
    expect(exported.out).toStartWith("# nightly v2: agentvine plan apply FILE\nname: nightly\n");
    await Bun.write(`${dir}/exported.yaml`, exported.out);
    expect((await run(server, "apply", `${dir}/exported.yaml`)).out).toBe("plan nightly unchanged (v2)");
    const json = await run(server, "export", "nightly", "--version", "1", "--format", "json");
    expect(JSON.parse(json.out)).toEqual({
      name: "nightly",
      description: "Build, then greet",
      steps: [
        { name: "build", task_type: "shell", params: { command: "echo", args: ["built {{inputs.branch}}"] }, timeout_seconds: 600 },
        { name: "greet", task_type: "hello", params: { name: "{{steps.build.result.stdout}}" }, depends_on: ["build"] },
      ],
    });
  });

  test("a file that is not a plan is named before anything is sent; the server's refusal names the step", async () => {
    const server = await startTestServer();
    const dir = tempDir();
    await Bun.write(`${dir}/bad.yaml`, "name: [unclosed");
    await Bun.write(`${dir}/good.yaml`, YAML);
    const bad = await run(server, "apply", `${dir}/good.yaml`, `${dir}/bad.yaml`);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("bad.yaml: not valid YAML or JSON");
    expect(((await (await server.api("/plans")).json()) as { total: number }).total).toBe(0); // good.yaml was not applied either
    expect((await run(server, "apply", `${dir}/missing.yaml`)).err).toContain("missing.yaml: no such file");
    await Bun.write(`${dir}/cycle.json`, JSON.stringify({ name: "loop", steps: [helloStep("a", { depends_on: ["b"] }), helloStep("b", { depends_on: ["a"] })] }));
    const cycle = await run(server, "apply", `${dir}/cycle.json`);
    expect(cycle.code).toBe(1);
    expect(cycle.err).toContain("cycle");
    expect(cycle.err).toContain("steps[0].depends_on");
  });
});
