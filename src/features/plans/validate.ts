// A plan's rules beyond its shape: unique step names, known task types whose params fit, dependencies
// on existing steps without cycles, templates that refer to inputs or to upstream steps only.
import type { ZodError } from "zod";
import { findTemplates } from "../../engine/templates.ts";
import { invalid, zodDetails, type ErrorDetail } from "../../errors.ts";
import { getTaskType, TASK_TYPES } from "../../task-types/index.ts";
import type { PlanBody, StepBody } from "./schemas.ts";

/** The dependencies a step runs after: its own, or — in a plan with none anywhere — the step before it. */
export function effectiveDependencies(steps: Pick<StepBody, "name" | "depends_on">[]): Map<string, string[]> {
  const sequential = steps.every((s) => (s.depends_on ?? []).length === 0);
  return new Map(steps.map((s, i) => [s.name, sequential ? (i > 0 ? [steps[i - 1]!.name] : []) : [...new Set(s.depends_on ?? [])]]));
}

/** Does `value` at `path` (inside params) contain a template? Then a type mismatch there is expected. */
function templatedAt(params: unknown, path: PropertyKey[]): boolean {
  let v: unknown = params;
  for (const key of path) {
    if (v === null || typeof v !== "object") return false;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return findTemplates(v).length > 0;
}

/** Checks a step's params against its type, tolerating templates (they are filled in at run time). */
export function paramIssues(step: Pick<StepBody, "task_type" | "params">, prefix: string): ErrorDetail[] {
  const type = getTaskType(step.task_type);
  if (!type) return [];
  const parsed = type.params.safeParse(step.params);
  if (parsed.success) return [];
  const kept = (parsed.error as ZodError).issues.filter((issue) => !templatedAt(step.params, issue.path));
  if (kept.length === 0) return [];
  return zodDetails({ issues: kept } as ZodError, `${prefix}.params`);
}

/** Throws a 400 naming every problem (field `steps[i]…`); returns nothing when the plan is sound. */
export function validatePlan(plan: PlanBody): void {
  const details: ErrorDetail[] = [];
  const at = new Map<string, number>();
  plan.steps.forEach((step, i) => {
    const first = at.get(step.name);
    if (first !== undefined) details.push({ field: `steps[${i}].name`, message: `duplicate step name '${step.name}' (also steps[${first}])` });
    else at.set(step.name, i);
  });

  plan.steps.forEach((step, i) => {
    const type = getTaskType(step.task_type);
    if (!type) {
      details.push({ field: `steps[${i}].task_type`, message: `unknown task type '${step.task_type}'; known: ${[...TASK_TYPES.keys()].filter((t) => getTaskType(t)?.kind !== "parent").join(", ")}` });
    } else if (type.kind === "parent") {
      details.push({ field: `steps[${i}].task_type`, message: `a step cannot be a '${step.task_type}' task` });
    } else details.push(...paramIssues(step, `steps[${i}]`));
    for (const dep of step.depends_on ?? []) {
      if (dep === step.name) details.push({ field: `steps[${i}].depends_on`, message: `step '${step.name}' cannot depend on itself` });
      else if (!at.has(dep)) details.push({ field: `steps[${i}].depends_on`, message: `step '${step.name}' depends on unknown step '${dep}'` });
    }
  });
  if (details.length) throw invalid(`plan is not valid: ${summary(details)}`, details);

  const deps = effectiveDependencies(plan.steps);
  const cycle = findCycle(deps);
  if (cycle) {
    const i = at.get(cycle[0]!)!;
    throw invalid(`plan is not valid: steps depend on each other in a cycle: ${cycle.join(" → ")}`, [
      { field: `steps[${i}].depends_on`, message: `cycle: ${cycle.join(" → ")}` },
    ]);
  }

  plan.steps.forEach((step, i) => {
    const upstream = ancestors(step.name, deps);
    for (const ref of findTemplates(step.params)) {
      if (ref.root === "inputs") {
        if (ref.path.length === 0) details.push({ field: `steps[${i}].params`, message: `{{${ref.expression}}}: write it as inputs.<name>` });
      } else if (ref.root === "steps") {
        const [target, field] = ref.path;
        if (!target || field !== "result") {
          details.push({ field: `steps[${i}].params`, message: `{{${ref.expression}}}: write it as steps.<step>.result[.path]` });
        } else if (!at.has(target)) {
          details.push({ field: `steps[${i}].params`, message: `{{${ref.expression}}} refers to unknown step '${target}'` });
        } else if (!upstream.has(target)) {
          details.push({
            field: `steps[${i}].params`,
            message: `{{${ref.expression}}} refers to step '${target}', which '${step.name}' does not depend on (directly or indirectly)`,
          });
        }
      } else {
        details.push({ field: `steps[${i}].params`, message: `{{${ref.expression}}}: only {{inputs.…}} and {{steps.…}} can be used` });
      }
    }
  });
  if (details.length) throw invalid(`plan is not valid: ${summary(details)}`, details);
}

function summary(details: ErrorDetail[]) {
  return details
    .slice(0, 3)
    .map((d) => `${d.field}: ${d.message}`)
    .join("; ");
}

/** A cycle as a list of step names (first repeated at the end), or null. */
function findCycle(deps: Map<string, string[]>): string[] | null {
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (name: string): string[] | null => {
    if (state.get(name) === "done") return null;
    if (state.get(name) === "visiting") return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, "visiting");
    stack.push(name);
    for (const d of deps.get(name) ?? []) {
      const found = visit(d);
      if (found) return found;
    }
    stack.pop();
    state.set(name, "done");
    return null;
  };
  for (const name of deps.keys()) {
    const found = visit(name);
    if (found) return found;
  }
  return null;
}

function ancestors(name: string, deps: Map<string, string[]>): Set<string> {
  const seen = new Set<string>();
  const todo = [...(deps.get(name) ?? [])];
  while (todo.length) {
    const n = todo.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    todo.push(...(deps.get(n) ?? []));
  }
  return seen;
}
