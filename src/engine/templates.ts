// Templates in step params: `{{inputs.NAME…}}` (the run's inputs) and `{{steps.STEP.result…}}`
// (an upstream step's result). A string that is exactly one template takes the value as it is
// (number, object…); a template inside longer text is replaced by the value as text.

const TEMPLATE = /\{\{\s*([A-Za-z_][\w-]*(?:\.[\w-]+)*)\s*\}\}/g;
const WHOLE = /^\{\{\s*([A-Za-z_][\w-]*(?:\.[\w-]+)*)\s*\}\}$/;

export interface TemplateRef {
  /** e.g. "inputs.branch" or "steps.build.result.message" */
  expression: string;
  root: string;
  path: string[];
}

function parse(expression: string): TemplateRef {
  const [root, ...path] = expression.split(".");
  return { expression, root: root!, path };
}

/** Every template in every string of `value` (objects and arrays walked). */
export function findTemplates(value: unknown, out: TemplateRef[] = []): TemplateRef[] {
  if (typeof value === "string") {
    for (const m of value.matchAll(TEMPLATE)) out.push(parse(m[1]!));
  } else if (Array.isArray(value)) {
    for (const v of value) findTemplates(v, out);
  } else if (value && typeof value === "object") {
    for (const v of Object.values(value)) findTemplates(v, out);
  }
  return out;
}

export const hasTemplates = (value: unknown) => findTemplates(value).length > 0;

export type Lookup = (ref: TemplateRef) => { ok: true; value: unknown } | { ok: false; error: string };

export class TemplateError extends Error {
  override name = "TemplateError";
}

/** Replaces the templates whose root `lookup` answers for; others are left as they are. */
export function renderTemplates(value: unknown, roots: string[], lookup: Lookup): unknown {
  if (typeof value === "string") {
    const whole = WHOLE.exec(value);
    if (whole) {
      const ref = parse(whole[1]!);
      if (!roots.includes(ref.root)) return value;
      const got = lookup(ref);
      if (!got.ok) throw new TemplateError(`{{${ref.expression}}}: ${got.error}`);
      return got.value;
    }
    return value.replace(TEMPLATE, (match, expression: string) => {
      const ref = parse(expression);
      if (!roots.includes(ref.root)) return match;
      const got = lookup(ref);
      if (!got.ok) throw new TemplateError(`{{${ref.expression}}}: ${got.error}`);
      return typeof got.value === "string" ? got.value : JSON.stringify(got.value ?? null);
    });
  }
  if (Array.isArray(value)) return value.map((v) => renderTemplates(v, roots, lookup));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderTemplates(v, roots, lookup)]));
  }
  return value;
}

/** Follows `path` into `value`: object keys and array indexes. */
export function dig(value: unknown, path: string[]): { ok: true; value: unknown } | { ok: false; error: string } {
  let current = value;
  for (let i = 0; i < path.length; i++) {
    const key = path[i]!;
    // Own properties only: `{{inputs.constructor}}` must not find Object.prototype's.
    if (current !== null && typeof current === "object" && Object.hasOwn(current, key)) {
      current = (current as Record<string, unknown>)[key];
    } else {
      const at = path.slice(0, i).join(".") || "the value";
      return { ok: false, error: `${at} has no '${key}'` };
    }
  }
  return { ok: true, value: current };
}
