// A plan's rules beyond its shape, without a server: each broken rule is a 400 naming the step.
import { describe, expect, test } from "bun:test";
import { AppError, type ErrorDetail } from "../../errors.ts";
import { PlanBody } from "./schemas.ts";
import { effectiveDependencies, validatePlan } from "./validate.ts";

type Step = Record<string, unknown>;
const hello = (name: string, extra: Step = {}): Step => ({ name, task_type: "hello", params: { name }, ...extra });
/** A plan as the API receives it: through the zod schema, so defaults are filled in. */
const plan = (...steps: Step[]) => PlanBody.parse({ name: "p", steps });

/** The AppError validatePlan throws (fails the test when it throws nothing). */
function refusal(p: PlanBody): AppError {
  try {
    validatePlan(p);
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error("validatePlan accepted the plan");
}
const fields = (e: AppError) => e.details.map((d: ErrorDetail) => d.field);

describe("validatePlan accepts", () => {
  test("a sequential plan, a DAG with forward references, and references to upstream results", () => {
    expect(() => validatePlan(plan(hello("a"), hello("b"), hello("c")))).not.toThrow();
    // d is declared before the steps it waits for: order in the list does not matter once depends_on is used.
    expect(() => validatePlan(plan(hello("d", { depends_on: ["b", "c"] }), hello("a"), hello("b", { depends_on: ["a"] }), hello("c", { depends_on: ["a"] })))).not.toThrow();
    // Sequential: every earlier step is upstream, directly or not.
    expect(() => validatePlan(plan(hello("a"), hello("b"), { name: "c", task_type: "hello", params: { name: "{{steps.a.result.message}}" } }))).not.toThrow();
    // DAG: an indirect dependency is upstream too.
    const indirect = plan(hello("a"), hello("b", { depends_on: ["a"] }), { name: "c", task_type: "hello", params: { name: "{{steps.a.result}}" }, depends_on: ["b"] });
    expect(() => validatePlan(indirect)).not.toThrow();
  });

  test("templates where the type wants another type or format (filled in at run time)", () => {
    const p = plan(
      { name: "call", task_type: "http", params: { url: "{{inputs.url}}", timeout_seconds: "{{inputs.t}}", expected_status: "{{inputs.status}}" } },
      { name: "sh", task_type: "shell", params: { command: "echo", args: "{{steps.call.result.json.args}}" } },
    );
    expect(() => validatePlan(p)).not.toThrow();
  });
});

describe("validatePlan refuses, naming the step", () => {
  test("duplicate step names", () => {
    const e = refusal(plan(hello("a"), hello("b"), hello("a")));
    expect(e.status).toBe(400);
    expect(e.code).toBe("validation_failed");
    expect(e.details).toEqual([{ field: "steps[2].name", message: "duplicate step name 'a' (also steps[0])" }]);
    expect(e.message).toContain("steps[2].name: duplicate step name 'a'");
  });

  test("an unknown task type, listing the known ones without `plan`", () => {
    const e = refusal(plan(hello("a"), { name: "b", task_type: "teleport", params: {} }));
    expect(fields(e)).toEqual(["steps[1].task_type"]);
    expect(e.details[0]!.message).toStartWith("unknown task type 'teleport'; known: ");
    expect(e.details[0]!.message).toContain("hello");
    expect(e.details[0]!.message).not.toMatch(/\bplan\b/);
  });

  test("a step of type plan", () => {
    const e = refusal(plan({ name: "nested", task_type: "plan", params: { plan_id: "x", plan_name: "x", version: 1 } }));
    expect(e.details).toEqual([{ field: "steps[0].task_type", message: "a step cannot be a 'plan' task" }]);
  });

  test("params that do not fit the type's schema, under steps[i].params", () => {
    const noName = refusal(plan(hello("a"), { name: "b", task_type: "hello", params: {} }));
    expect(fields(noName)).toEqual(["steps[1].params.name"]);
    const escape = refusal(plan({ name: "sh", task_type: "shell", params: { command: "ls", cwd: "../x" } }));
    expect(fields(escape)).toEqual(["steps[0].params.cwd"]);
    expect(escape.details[0]!.message).toContain("no '..'");
    const extra = refusal(plan({ name: "h", task_type: "hello", params: { name: "x", nmae: "typo" } }));
    expect(fields(extra)).toEqual(["steps[0].params.nmae"]);
  });

  test("a template does not excuse a wrong value elsewhere in the params", () => {
    const e = refusal(plan({ name: "call", task_type: "http", params: { url: "{{inputs.url}}", timeout_seconds: 0 } }));
    expect(fields(e)).toEqual(["steps[0].params.timeout_seconds"]);
  });

  test("depends_on an unknown step, and on itself", () => {
    const unknown = refusal(plan(hello("a"), hello("b", { depends_on: ["a", "ghost"] })));
    expect(unknown.details).toEqual([{ field: "steps[1].depends_on", message: "step 'b' depends on unknown step 'ghost'" }]);
    const self = refusal(plan(hello("a"), hello("b", { depends_on: ["b"] })));
    expect(self.details).toEqual([{ field: "steps[1].depends_on", message: "step 'b' cannot depend on itself" }]);
  });

  test("a cycle, listing it", () => {
    const e = refusal(plan(hello("a", { depends_on: ["c"] }), hello("b", { depends_on: ["a"] }), hello("c", { depends_on: ["b"] }), hello("d")));
    expect(e.details).toHaveLength(1);
    expect(e.details[0]!.field).toMatch(/^steps\[[0-2]\]\.depends_on$/);
    // The cycle, whichever step it starts from, with the first name repeated at the end.
    const cycle = /cycle: (.*)$/.exec(e.details[0]!.message)![1]!.split(" → ");
    expect(cycle).toHaveLength(4);
    expect(cycle[0]).toBe(cycle[3]);
    expect(new Set(cycle)).toEqual(new Set(["a", "b", "c"]));
    expect(e.message).toContain("steps depend on each other in a cycle");
    // The field names the step the cycle starts from.
    const index = ["a", "b", "c"].indexOf(cycle[0]!);
    expect(e.details[0]!.field).toBe(`steps[${index}].depends_on`);
  });

  test("a two-step cycle", () => {
    const e = refusal(plan(hello("a", { depends_on: ["b"] }), hello("b", { depends_on: ["a"] })));
    expect(e.details[0]!.message).toMatch(/^cycle: (a → b → a|b → a → b)$/);
  });

  test("{{steps.x.result}} where x is not upstream: a sibling branch, a later step in a sequence, an unknown step", () => {
    const sibling = refusal(plan(hello("a"), hello("b", { depends_on: ["a"] }), { name: "c", task_type: "hello", params: { name: "{{steps.b.result.message}}" }, depends_on: ["a"] }));
    expect(sibling.details).toEqual([
      { field: "steps[2].params", message: "{{steps.b.result.message}} refers to step 'b', which 'c' does not depend on (directly or indirectly)" },
    ]);
    const later = refusal(plan({ name: "a", task_type: "hello", params: { name: "{{steps.b.result.message}}" } }, hello("b")));
    expect(fields(later)).toEqual(["steps[0].params"]);
    const own = refusal(plan({ name: "a", task_type: "hello", params: { name: "{{steps.a.result.message}}" } }));
    expect(own.details[0]!.message).toContain("which 'a' does not depend on");
    const unknown = refusal(plan(hello("a"), { name: "b", task_type: "hello", params: { name: "{{steps.ghost.result}}" } }));
    expect(unknown.details).toEqual([{ field: "steps[1].params", message: "{{steps.ghost.result}} refers to unknown step 'ghost'" }]);
  });

  test("malformed templates: bare inputs, steps without .result, unknown roots", () => {
    const e = refusal(
      plan({ name: "a", task_type: "shell", params: { command: "echo", args: ["{{inputs}}", "{{steps.a}}", "{{env.HOME}}", "{{steps.a.output}}"] } }),
    );
    expect(e.details.map((d) => d.message)).toEqual([
      "{{inputs}}: write it as inputs.<name>",
      "{{steps.a}}: write it as steps.<step>.result[.path]",
      "{{env.HOME}}: only {{inputs.…}} and {{steps.…}} can be used",
      "{{steps.a.output}}: write it as steps.<step>.result[.path]",
    ]);
    expect(new Set(fields(e))).toEqual(new Set(["steps[0].params"]));
  });

  test("several problems at once are all named", () => {
    const e = refusal(plan(hello("a"), { name: "b", task_type: "nope", params: {} }, hello("c", { depends_on: ["zzz"] }), { name: "d", task_type: "hello", params: {} }));
    expect(fields(e)).toEqual(["steps[1].task_type", "steps[2].depends_on", "steps[3].params.name"]);
  });
});

describe("the schema refuses", () => {
  test.each([
    ["no steps", { name: "p", steps: [] }, "steps"],
    ["an unknown field on the plan", { name: "p", steps: [{ name: "a", task_type: "hello", params: { name: "x" } }], colour: "red" }, "colour"],
    ["an unknown field on a step", { name: "p", steps: [{ name: "a", task_type: "hello", params: { name: "x" }, retries: 3 }] }, "steps.0.retries"],
    ["a step name that cannot appear in a template", { name: "p", steps: [{ name: "a b", task_type: "hello" }] }, "steps.0.name"],
    ["an empty plan name", { name: "  ", steps: [{ name: "a", task_type: "hello" }] }, "name"],
  ])("%s", (_what, body, field) => {
    const parsed = PlanBody.safeParse(body);
    expect(parsed.success).toBe(false);
    const paths = parsed.error!.issues.flatMap((i) => (i.code === "unrecognized_keys" ? i.keys.map((k) => [...i.path, k].join(".")) : [i.path.join(".")]));
    expect(paths).toContain(field);
  });
});

describe("effectiveDependencies", () => {
  test("a plan without depends_on anywhere runs in order", () => {
    const deps = effectiveDependencies([{ name: "a", depends_on: [] }, { name: "b", depends_on: [] }, { name: "c", depends_on: [] }]);
    expect([...deps]).toEqual([
      ["a", []],
      ["b", ["a"]],
      ["c", ["b"]],
    ]);
  });

  test("once one step sets depends_on, each step has exactly its own (deduplicated)", () => {
    const deps = effectiveDependencies([
      { name: "a", depends_on: [] },
      { name: "b", depends_on: [] },
      { name: "c", depends_on: ["a", "b", "a"] },
    ]);
    expect([...deps]).toEqual([
      ["a", []],
      ["b", []],
      ["c", ["a", "b"]],
    ]);
  });

  test("a missing depends_on counts as none; one step alone has no dependencies", () => {
    expect([...effectiveDependencies([{ name: "only" } as { name: string; depends_on: string[] }])]).toEqual([["only", []]]);
    expect([...effectiveDependencies([{ name: "a" }, { name: "b" }] as Array<{ name: string; depends_on: string[] }>)]).toEqual([
      ["a", []],
      ["b", ["a"]],
    ]);
  });
});
