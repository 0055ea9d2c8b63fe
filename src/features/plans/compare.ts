// Two saved versions of a plan side by side: each step (matched by name) added, removed, changed — with
// what changed — or the same; and the description.
import type { EngineDeps } from "../../engine/engine-deps.ts";
import { invalid } from "../../errors.ts";
import { getPlan, type PlanJson } from "./service.ts";

type Step = PlanJson["steps"][number];

export interface StepComparison {
  name: string;
  state: "added" | "removed" | "changed" | "same";
  a: Step | null;
  b: Step | null;
  /** What differs: task_type, params, depends_on, timeout_seconds, max_retries, priority, position. */
  changes: string[];
}

export interface PlanComparison {
  plan: { id: string; name: string; version: number };
  a: number;
  b: number;
  description: { a: string | null; b: string | null };
  steps: StepComparison[];
}

const FIELDS = ["task_type", "params", "depends_on", "timeout_seconds", "max_retries", "priority"] as const;
const same = (x: unknown, y: unknown) => JSON.stringify(x ?? null) === JSON.stringify(y ?? null);

export function comparePlanVersions(deps: EngineDeps, idOrName: string, a: number, b: number): PlanComparison {
  const latest = getPlan(deps, idOrName);
  for (const [field, v] of [["a", a], ["b", b]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > latest.version) throw invalid(`version ${v} of '${latest.name}' does not exist (it has 1 to ${latest.version})`, [{ field, message: `1 to ${latest.version}` }]);
  }
  const left = getPlan(deps, latest.id, a);
  const right = getPlan(deps, latest.id, b);
  const byName = (p: PlanJson) => new Map(p.steps.map((s, i) => [s.name, { step: s, index: i }]));
  const before = byName(left);
  const after = byName(right);
  const steps: StepComparison[] = [];
  for (const [name, { step, index }] of after) {
    const old = before.get(name);
    if (!old) {
      steps.push({ name, state: "added", a: null, b: step, changes: [] });
      continue;
    }
    const changes: string[] = FIELDS.filter((f) => !same(old.step[f], step[f]));
    if (old.index !== index) changes.push("position");
    steps.push({ name, state: changes.length ? "changed" : "same", a: old.step, b: step, changes });
  }
  for (const [name, { step }] of before) if (!after.has(name)) steps.push({ name, state: "removed", a: step, b: null, changes: [] });
  return { plan: { id: latest.id, name: latest.name, version: latest.version }, a, b, description: { a: left.description, b: right.description }, steps };
}
