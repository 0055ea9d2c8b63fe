// Templates in step params: `{{inputs.NAME…}}` (the run's inputs) and `{{steps.STEP.result…}}`
// (an upstream step's result). A string that is exactly one template takes the value as it is
// (number, object…); a template inside longer text is replaced by the value as text.
// `{{secrets.NAME}}` is not one of them: it stays in params as written until a thread is given the
// task (SecretStore.resolveSecretTemplates), so it is neither found nor rendered here.

const TEMPLATE = /\{\{\s*([A-Za-z_][\w-]*(?:\.[\w-]+)*)\s*\}\}/g;
const WHOLE = /^\{\{\s*([A-Za-z_][\w-]*(?:\.[\w-]+)*)\s*\}\}$/;

/** The root of `{{secrets.NAME}}`, resolved at dispatch only. */
export const SECRETS_ROOT = "secrets";
/**
 * Roots whose values are produced by running tasks (and so by whatever those tasks read): such a value
 * must not bring in a `{{secrets.…}}` reference, or a fetched page could have a secret sent on.
 */
const RUNTIME_ROOTS = new Set(["steps"]);

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
    for (const m of value.matchAll(TEMPLATE)) {
      const ref = parse(m[1]!);
      if (ref.root !== SECRETS_ROOT) out.push(ref);
    }
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

const SECRET_REF = /\{\{\s*secrets\./;

/** Does any string in `value` (keys included) hold a `{{secrets.…}}` reference? */
function carriesSecretRef(value: unknown): boolean {
  if (typeof value === "string") return SECRET_REF.test(value);
  if (Array.isArray(value)) return value.some(carriesSecretRef);
  if (value && typeof value === "object") return Object.entries(value).some(([k, v]) => SECRET_REF.test(k) || carriesSecretRef(v));
  return false;
}

/** Looks `ref` up; throws a TemplateError when it cannot be, or when a runtime value smuggles in a secret reference. */
function valueOf(ref: TemplateRef, lookup: Lookup): unknown {
  const got = lookup(ref);
  if (!got.ok) throw new TemplateError(`{{${ref.expression}}}: ${got.error}`);
  if (RUNTIME_ROOTS.has(ref.root) && carriesSecretRef(got.value)) {
    throw new TemplateError(`{{${ref.expression}}}: the value contains a {{secrets.…}} reference, which only a step's own params may make`);
  }
  return got.value;
}

/** Replaces the templates whose root `lookup` answers for; others (`{{secrets.…}}` among them) are left as they are. */
export function renderTemplates(value: unknown, roots: string[], lookup: Lookup): unknown {
  if (typeof value === "string") {
    const whole = WHOLE.exec(value);
    if (whole) {
      const ref = parse(whole[1]!);
      if (!roots.includes(ref.root) || ref.root === SECRETS_ROOT) return value;
      return valueOf(ref, lookup);
    }
    return value.replace(TEMPLATE, (match, expression: string) => {
      const ref = parse(expression);
      if (!roots.includes(ref.root) || ref.root === SECRETS_ROOT) return match;
      const got = valueOf(ref, lookup);
      return typeof got === "string" ? got : JSON.stringify(got ?? null);
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
