// The plan editor's state as a form: steps with stable keys (so depends_on survives renames and
// reordering), params as one field each (the New task form's fields, following the step's type), the
// add / remove / move operations done server-side, and the form turned into a PlanBody — or into inline
// errors keyed like the fields (`name`, `steps[2].params.command`, …).
import { PRIORITIES } from "../../db/schema.ts";
import { findTemplates } from "../../engine/templates.ts";
import { zodDetails, type ErrorDetail } from "../../errors.ts";
import { TASK_TYPES } from "../../task-types/index.ts";
import { paramFieldsOf, readParam, valueText } from "../tasks/form.ts";
import { PlanBody } from "./schemas.ts";
import type { PlanJson } from "./service.ts";

export interface StepDraft {
  key: string;
  name: string;
  task_type: string;
  /** Each param's text as typed, by name (only the step type's params are read). */
  params: Record<string, string>;
  /** Keys of the steps this one waits for. */
  depends_on: string[];
  timeout_seconds: string;
  max_retries: string;
  priority: string;
}

export interface PlanDraft {
  name: string;
  description: string;
  steps: StepDraft[];
}

export type DraftErrors = Record<string, string>;

const newKey = () => crypto.randomUUID().slice(0, 8);

/** Task types a step can use (not a parent type like `plan`). */
export function stepTaskTypes(): string[] {
  return [...TASK_TYPES.values()].filter((t) => t.kind !== "parent").map((t) => t.name);
}

export function emptyStep(index: number): StepDraft {
  return {
    key: newKey(),
    name: `step-${index + 1}`,
    task_type: "hello",
    params: { name: "world" },
    depends_on: [],
    timeout_seconds: "",
    max_retries: "",
    priority: "",
  };
}

export function draftFromPlan(plan: PlanJson | null): PlanDraft {
  if (!plan) return { name: "", description: "", steps: [emptyStep(0)] };
  const keys = new Map(plan.steps.map((s) => [s.name, newKey()]));
  return {
    name: plan.name,
    description: plan.description ?? "",
    steps: plan.steps.map((s) => ({
      key: keys.get(s.name)!,
      name: s.name,
      task_type: s.task_type,
      params: paramTexts(s.task_type, s.params ?? {}),
      depends_on: (s.depends_on ?? []).map((d) => keys.get(d) ?? d),
      timeout_seconds: s.timeout_seconds?.toString() ?? "",
      max_retries: s.max_retries?.toString() ?? "",
      priority: s.priority ?? "",
    })),
  };
}

/** A step's params as the texts its fields show. */
export function paramTexts(taskType: string, params: Record<string, unknown>): Record<string, string> {
  const texts: Record<string, string> = {};
  for (const field of paramFieldsOf(taskType)) if (params[field.name] !== undefined) texts[field.name] = valueText(field, params[field.name]);
  return texts;
}

type FormBody = Record<string, string | File | (string | File)[]>;

const STEP_FIELD = /^steps\[(\d{1,3})\]\.([a-z_]+)$/;
const STEP_PARAM = /^steps\[(\d{1,3})\]\.params\.([A-Za-z0-9_]{1,100})$/;

export function draftFromForm(form: FormBody): PlanDraft {
  const one = (v: FormBody[string] | undefined) => {
    const last = Array.isArray(v) ? v.at(-1) : v;
    return typeof last === "string" ? last : "";
  };
  const byIndex = new Map<number, Partial<StepDraft>>();
  const stepAt = (i: number) => {
    const step = byIndex.get(i) ?? { params: {} };
    byIndex.set(i, step);
    return step;
  };
  for (const [field, value] of Object.entries(form)) {
    const param = STEP_PARAM.exec(field);
    // A checkbox posts a hidden "false" then "true" when ticked: the last one wins.
    if (param) stepAt(Number(param[1])).params![param[2]!] = one(value);
    const m = STEP_FIELD.exec(field);
    if (!m) continue;
    const step = stepAt(Number(m[1]));
    const key = m[2] as keyof StepDraft;
    if (key === "depends_on") step.depends_on = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === "string" && v !== "");
    else if (key !== "params" && key in emptyStep(0)) (step as Record<string, string>)[key] = one(value);
  }
  const steps = [...byIndex.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, s]) => ({ ...emptyStep(0), name: "", ...s, params: s.params ?? {}, depends_on: s.depends_on ?? [], key: s.key || newKey() }));
  return { name: one(form.name), description: one(form.description), steps };
}

/** add | remove:<i> | up:<i> | down:<i> — the editor's buttons, done on the server so nothing typed is lost. */
export function applyOp(draft: PlanDraft, op: string): PlanDraft {
  const steps = [...draft.steps];
  const [verb, arg] = op.split(":");
  const i = Number(arg);
  if (verb === "add") {
    const step = emptyStep(steps.length);
    const last = steps.at(-1);
    if (last) step.depends_on = [last.key];
    while (steps.some((s) => s.name === step.name)) step.name += "-x";
    steps.push(step);
  } else if (verb === "remove" && steps[i]) {
    const [removed] = steps.splice(i, 1);
    for (const s of steps) s.depends_on = s.depends_on.filter((k) => k !== removed!.key);
  } else if (verb === "up" && i > 0 && steps[i]) {
    [steps[i - 1], steps[i]] = [steps[i]!, steps[i - 1]!];
  } else if (verb === "down" && i >= 0 && i < steps.length - 1) {
    [steps[i], steps[i + 1]] = [steps[i + 1]!, steps[i]!];
  }
  return { ...draft, steps };
}

/** Where an API error detail shows in the editor: `steps[2].params.url.host` → `steps[2].params.url`. */
export function draftFieldOf(field: string | undefined): string {
  if (!field) return "_form";
  const param = /^(steps\[\d+\]\.params\.[A-Za-z0-9_]+)/.exec(field);
  if (param) return param[1]!;
  const m = /^(steps\[\d+\]\.[a-z_]+)/.exec(field);
  if (m) return m[1]!;
  return field.split(/[.[]/)[0] || "_form";
}

export function errorsFromPlanDetails(details: ErrorDetail[], fallback: string): DraftErrors {
  const errors: DraftErrors = {};
  for (const d of details) {
    const key = draftFieldOf(d.field);
    const nested = d.field && d.field !== key && d.field.startsWith(`${key}.`) ? `${d.field.slice(key.length + 1)}: ` : "";
    errors[key] = errors[key] ? `${errors[key]}; ${nested}${d.message}` : `${nested}${d.message}`;
  }
  if (Object.keys(errors).length === 0) errors._form = fallback;
  return errors;
}

/** The draft as a PlanBody, or the errors that stop it (unreadable JSON, numbers that are not). */
export function bodyFromDraft(draft: PlanDraft): { body: PlanBody | null; errors: DraftErrors } {
  const errors: DraftErrors = {};
  const nameOfKey = new Map(draft.steps.map((s) => [s.key, s.name.trim()]));
  const steps = draft.steps.map((s, i) => {
    // Only the step type's own params are read: after a change of type, the old type's are left behind.
    const params: Record<string, unknown> = {};
    for (const field of paramFieldsOf(s.task_type)) {
      const text = s.params[field.name];
      if (text === undefined) continue;
      const { value, error } = readParam(field, text, { templates: true });
      if (error) errors[`steps[${i}].params.${field.name}`] = error;
      else if (value !== undefined) params[field.name] = value;
    }
    const int = (field: "timeout_seconds" | "max_retries") => {
      const t = s[field].trim();
      if (!t) return undefined;
      const n = Number(t);
      if (!Number.isInteger(n)) {
        errors[`steps[${i}].${field}`] = "must be a whole number";
        return undefined;
      }
      return n;
    };
    return {
      name: s.name.trim(),
      task_type: s.task_type,
      params,
      depends_on: s.depends_on.map((k) => nameOfKey.get(k) ?? k).filter((n) => n !== ""),
      timeout_seconds: int("timeout_seconds"),
      max_retries: int("max_retries"),
      priority: (PRIORITIES as readonly string[]).includes(s.priority) ? (s.priority as PlanBody["steps"][number]["priority"]) : undefined,
    };
  });
  if (Object.keys(errors).length > 0) return { body: null, errors };
  const parsed = PlanBody.safeParse({ name: draft.name, description: draft.description.trim() || null, steps });
  if (!parsed.success) {
    // zod names array items `steps.2.name`; the editor (and the plan service) say `steps[2].name`.
    const details = zodDetails(parsed.error).map((d) => ({ ...d, field: d.field?.replace(/^steps\.(\d+)/, "steps[$1]") }));
    return { body: null, errors: errorsFromPlanDetails(details, "the plan is not valid") };
  }
  return { body: parsed.data, errors };
}

/** The names a run asks for: every `{{inputs.NAME…}}` in the steps' params. */
export function runInputsOf(plan: Pick<PlanJson, "steps">): string[] {
  const names = new Set<string>();
  for (const step of plan.steps) for (const ref of findTemplates(step.params)) if (ref.root === "inputs" && ref.path[0]) names.add(ref.path[0]);
  return [...names];
}
