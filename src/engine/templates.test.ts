// Step-param templates: finding them, filling them in (whole string keeps the type, embedded becomes text), dig.
import { describe, expect, test } from "bun:test";
import { dig, findTemplates, hasTemplates, renderTemplates, TemplateError, type Lookup } from "./templates.ts";

const context = {
  inputs: { branch: "main", count: 3, flags: { fast: true }, list: [10, 20], nothing: null },
  steps: { build: { result: { message: "Hello, x!", files: ["a.ts", "b.ts"], meta: { ok: true } } } },
};
/** Looks templates up in `context` by root, as the engine does for inputs and step results. */
const lookup: Lookup = (ref) => dig((context as Record<string, unknown>)[ref.root], ref.path);

describe("findTemplates", () => {
  test("finds every template in strings, nested objects and arrays, with root and path", () => {
    const refs = findTemplates({
      a: "{{inputs.branch}}",
      b: ["x {{ steps.build.result.message }} y", { c: "{{inputs.flags.fast}} and {{inputs.count}}" }],
      d: 42,
      e: null,
      f: true,
    });
    expect(refs.map((r) => r.expression)).toEqual(["inputs.branch", "steps.build.result.message", "inputs.flags.fast", "inputs.count"]);
    expect(refs[1]).toEqual({ expression: "steps.build.result.message", root: "steps", path: ["build", "result", "message"] });
    expect(refs[0]).toEqual({ expression: "inputs.branch", root: "inputs", path: ["branch"] });
  });

  test("ignores text that only looks like a template", () => {
    for (const s of ["{inputs.a}", "{{}}", "{{ 1abc }}", "{{inputs..a}}", "{{inputs.a b}}", "plain"]) {
      expect(findTemplates(s)).toEqual([]);
      expect(hasTemplates(s)).toBe(false);
    }
    expect(hasTemplates({ deep: [{ x: "{{inputs.a}}" }] })).toBe(true);
    expect(findTemplates("{{other}}")).toEqual([{ expression: "other", root: "other", path: [] }]);
  });
});

describe("renderTemplates", () => {
  test("a string that is exactly one template takes the value with its JSON type", () => {
    expect(renderTemplates("{{inputs.count}}", ["inputs"], lookup)).toBe(3);
    expect(renderTemplates("{{ inputs.count }}", ["inputs"], lookup)).toBe(3);
    expect(renderTemplates("{{inputs.flags}}", ["inputs"], lookup)).toEqual({ fast: true });
    expect(renderTemplates("{{inputs.flags.fast}}", ["inputs"], lookup)).toBe(true);
    expect(renderTemplates("{{inputs.list}}", ["inputs"], lookup)).toEqual([10, 20]);
    expect(renderTemplates("{{inputs.nothing}}", ["inputs"], lookup)).toBeNull();
  });

  test("a template inside longer text is replaced by the value as text (objects as JSON)", () => {
    expect(renderTemplates("branch {{inputs.branch}}!", ["inputs"], lookup)).toBe("branch main!");
    expect(renderTemplates("n={{inputs.count}}", ["inputs"], lookup)).toBe("n=3");
    expect(renderTemplates("f={{inputs.flags}}", ["inputs"], lookup)).toBe('f={"fast":true}');
    expect(renderTemplates("l={{inputs.list}} z={{inputs.nothing}}", ["inputs"], lookup)).toBe("l=[10,20] z=null");
    expect(renderTemplates("{{inputs.branch}}-{{inputs.count}}", ["inputs"], lookup)).toBe("main-3");
  });

  test("walks nested objects and arrays, leaving other values and keys as they are", () => {
    const value = {
      "{{inputs.branch}}": "key stays",
      args: ["--branch", "{{inputs.branch}}", "{{steps.build.result.files}}"],
      nested: { deeper: [{ msg: "got: {{steps.build.result.message}}" }], n: 5, b: false, z: null },
    };
    expect(renderTemplates(value, ["inputs", "steps"], lookup)).toEqual({
      "{{inputs.branch}}": "key stays",
      args: ["--branch", "main", ["a.ts", "b.ts"]],
      nested: { deeper: [{ msg: "got: Hello, x!" }], n: 5, b: false, z: null },
    });
    // The input is not modified.
    expect(value.args[1]).toBe("{{inputs.branch}}");
  });

  test("templates of roots not asked for are left alone (steps are filled in later than inputs)", () => {
    const value = { a: "{{steps.build.result.message}}", b: "x {{steps.build.result}} {{inputs.branch}}", c: "{{unknown.thing}}" };
    const calls: string[] = [];
    const out = renderTemplates(value, ["inputs"], (ref) => {
      calls.push(ref.expression);
      return lookup(ref);
    });
    expect(out).toEqual({ a: "{{steps.build.result.message}}", b: "x {{steps.build.result}} main", c: "{{unknown.thing}}" });
    expect(calls).toEqual(["inputs.branch"]);
  });

  test("a path that does not exist throws a TemplateError naming the expression and the missing key", () => {
    const attempt = (v: unknown) => () => renderTemplates(v, ["inputs", "steps"], lookup);
    expect(attempt("{{inputs.nope}}")).toThrow(TemplateError);
    expect(attempt("{{inputs.nope}}")).toThrow("{{inputs.nope}}: the value has no 'nope'");
    expect(attempt({ deep: ["ok", "text {{steps.build.result.meta.missing}}"] })).toThrow(
      "{{steps.build.result.meta.missing}}: build.result.meta has no 'missing'",
    );
    expect(attempt("{{inputs.branch.length.x}}")).toThrow("{{inputs.branch.length.x}}");
  });

  test("the lookup's own error is passed on", () => {
    expect(() => renderTemplates("{{steps.x.result}}", ["steps"], () => ({ ok: false, error: "step 'x' has not succeeded" }))).toThrow(
      "{{steps.x.result}}: step 'x' has not succeeded",
    );
  });
});

describe("dig", () => {
  test("follows object keys and array indexes", () => {
    const v = { a: { b: [{ c: 1 }, { c: 2 }] }, n: null, zero: 0, empty: "" };
    expect(dig(v, [])).toEqual({ ok: true, value: v });
    expect(dig(v, ["a", "b", "1", "c"])).toEqual({ ok: true, value: 2 });
    expect(dig(v, ["n"])).toEqual({ ok: true, value: null });
    expect(dig(v, ["zero"])).toEqual({ ok: true, value: 0 });
    expect(dig(v, ["empty"])).toEqual({ ok: true, value: "" });
  });

  test("a missing key says where the path stopped", () => {
    expect(dig({ a: { b: 1 } }, ["a", "x"])).toEqual({ ok: false, error: "a has no 'x'" });
    expect(dig({ a: [1] }, ["a", "5"])).toEqual({ ok: false, error: "a has no '5'" });
    expect(dig({ a: null }, ["a", "b"])).toEqual({ ok: false, error: "a has no 'b'" });
    expect(dig("text", ["length"])).toEqual({ ok: false, error: "the value has no 'length'" });
    expect(dig(null, ["x"])).toEqual({ ok: false, error: "the value has no 'x'" });
  });

  test("does not reach into inherited properties (a run input named 'constructor' must be given)", () => {
    expect(dig({}, ["constructor"]).ok).toBe(false);
    expect(dig({ a: {} }, ["a", "toString"]).ok).toBe(false);
    expect(dig({ a: {} }, ["a", "__proto__"]).ok).toBe(false);
    expect(dig([1, 2], ["length"])).toEqual({ ok: true, value: 2 });
  });
});
