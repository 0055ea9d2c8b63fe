// Plans: named, versioned sequences or DAGs of steps; a run is a parent task of type `plan` with
// one child task per step and the dependency edges as task dependencies.
import { assertMayRun, audited, type Acting } from "../audit/service.ts";
import type { Db } from "../../db/client.ts";
import type { Priority } from "../../db/schema.ts";
import { submitTasks, type NewTask } from "../../engine/submit.ts";
import { type EngineDeps } from "../../engine/engine-deps.ts";
import { iso, parseTaskRow, taskToJson, type TaskJson } from "../../engine/task-record.ts";
import { findTemplates, renderTemplates, dig, TemplateError } from "../../engine/templates.ts";
import { conflict, invalid, notFound, type ErrorDetail } from "../../errors.ts";
import { getTaskType } from "../../task-types/index.ts";
import type { PlanBody, RunBody, StepBody } from "./schemas.ts";
import { effectiveDependencies, paramIssues, validatePlan } from "./validate.ts";

export interface PlanJson {
  id: string;
  name: string;
  description: string | null;
  version: number;
  steps: StepBody[];
  steps_count: number;
  last_run: { id: string; status: string; created_at: string } | null;
  created_at: string;
  updated_at: string;
}

interface PlanRow {
  id: string;
  name: string;
  description: string | null;
  version: number;
  created_at: number;
  updated_at: number;
}

export interface RunDefaults {
  timeoutSeconds: number;
  maxRetries: number;
}

function findPlan(db: Db, idOrName: string): PlanRow | undefined {
  return (
    db.sqlite.query<PlanRow, [string]>("SELECT * FROM plans WHERE id = ?").get(idOrName) ??
    db.sqlite.query<PlanRow, [string]>("SELECT * FROM plans WHERE name = ?").get(idOrName) ??
    undefined
  );
}

function requirePlan(db: Db, idOrName: string): PlanRow {
  const plan = findPlan(db, idOrName);
  if (!plan) throw notFound("plan", idOrName);
  return plan;
}

function stepsOf(db: Db, planId: string, version: number): StepBody[] | undefined {
  const row = db.sqlite
    .query<{ steps: string }, [string, number]>("SELECT steps FROM plan_versions WHERE plan_id = ? AND version = ?")
    .get(planId, version);
  return row ? (JSON.parse(row.steps) as StepBody[]) : undefined;
}

function lastRun(db: Db, planId: string): PlanJson["last_run"] {
  const row = db.sqlite
    .query<{ id: string; status: string; created_at: number }, [string]>(
      `SELECT t.id, t.status, t.created_at FROM plan_runs r JOIN tasks t ON t.id = r.task_id
        WHERE r.plan_id = ? ORDER BY r.created_at DESC, r.task_id DESC LIMIT 1`,
    )
    .get(planId);
  return row ? { id: row.id, status: row.status, created_at: iso(row.created_at)! } : null;
}

function toJson(db: Db, plan: PlanRow, version = plan.version): PlanJson {
  const steps = stepsOf(db, plan.id, version);
  if (!steps) throw notFound("version", `${plan.name} v${version}`);
  // An older version reads as it was saved, its description too.
  const description =
    version === plan.version
      ? plan.description
      : (db.sqlite.query<{ description: string | null }, [string, number]>("SELECT description FROM plan_versions WHERE plan_id = ? AND version = ?").get(plan.id, version)?.description ?? null);
  return {
    id: plan.id,
    name: plan.name,
    description,
    version,
    steps,
    steps_count: steps.length,
    last_run: lastRun(db, plan.id),
    created_at: iso(plan.created_at)!,
    updated_at: iso(plan.updated_at)!,
  };
}

/** Steps as stored: what the user wrote, with defaults made explicit and nothing else added. */
function normalize(body: PlanBody): { description: string | null; steps: StepBody[] } {
  return {
    description: body.description ?? null,
    steps: body.steps.map((s) => ({ ...s, depends_on: s.depends_on ?? [], params: s.params ?? {} })),
  };
}

export function createPlan(deps: EngineDeps, body: PlanBody, acting?: Acting): PlanJson {
  validatePlan(body);
  const { db } = deps;
  const { description, steps } = normalize(body);
  const at = (deps.clock ?? Date.now)();
  const id = Bun.randomUUIDv7();
  db.sqlite
    .transaction(() => {
      if (findPlan(db, body.name)) throw conflict(`a plan named '${body.name}' already exists`, [{ field: "name", message: "already taken" }]);
      db.sqlite
        .query("INSERT INTO plans (id, name, description, version, created_by, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?, ?)")
        .run(id, body.name, description, acting?.userId ?? null, at, at);
      audited(deps, acting, "plan.created", { type: "plan", id }, { name: body.name });
      db.sqlite
        .query("INSERT INTO plan_versions (plan_id, version, description, steps, created_at) VALUES (?, 1, ?, ?, ?)")
        .run(id, description, JSON.stringify(steps), at);
    })
    .immediate();
  return getPlan(deps, id);
}

/** Saves a plan; a change of description or steps makes a new version (runs keep theirs). */
export function updatePlan(deps: EngineDeps, idOrName: string, body: PlanBody, acting?: Acting): PlanJson {
  validatePlan(body);
  const { db } = deps;
  const { description, steps } = normalize(body);
  const at = (deps.clock ?? Date.now)();
  const id = db.sqlite
    .transaction(() => {
      const plan = requirePlan(db, idOrName);
      const other = findPlan(db, body.name);
      if (other && other.id !== plan.id) throw conflict(`a plan named '${body.name}' already exists`, [{ field: "name", message: "already taken" }]);
      const current = stepsOf(db, plan.id, plan.version);
      const changed = JSON.stringify(current) !== JSON.stringify(steps) || plan.description !== description;
      const version = changed ? plan.version + 1 : plan.version;
      if (changed) {
        db.sqlite
          .query("INSERT INTO plan_versions (plan_id, version, description, steps, created_at) VALUES (?, ?, ?, ?, ?)")
          .run(plan.id, version, description, JSON.stringify(steps), at);
      }
      if (changed || plan.name !== body.name) {
        db.sqlite.query("UPDATE plans SET name = ?, description = ?, version = ?, updated_at = ? WHERE id = ?").run(body.name, description, version, at, plan.id);
        audited(deps, acting, "plan.updated", { type: "plan", id: plan.id }, { name: body.name, version });
      }
      return plan.id;
    })
    .immediate();
  return getPlan(deps, id);
}

export function getPlan(deps: EngineDeps, idOrName: string, version?: number): PlanJson {
  const plan = requirePlan(deps.db, idOrName);
  return toJson(deps.db, plan, version ?? plan.version);
}

export function listPlans(deps: EngineDeps, q: { page: number; per_page: number; q?: string }) {
  const { db } = deps;
  const pattern = q.q ? `%${q.q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%` : null;
  const where = pattern ? "WHERE name LIKE $p ESCAPE '\\' OR description LIKE $p ESCAPE '\\'" : "";
  const params: Record<string, string> = pattern ? { p: pattern } : {};
  const rows = db.sqlite
    .query<PlanRow, Record<string, string | number>>(`SELECT * FROM plans ${where} ORDER BY updated_at DESC, id DESC LIMIT $limit OFFSET $offset`)
    .all({ ...params, limit: q.per_page, offset: (q.page - 1) * q.per_page });
  const total = db.sqlite.query<{ n: number }, Record<string, string>>(`SELECT count(*) AS n FROM plans ${where}`).get(params)?.n ?? 0;
  return { items: rows.map((r) => toJson(db, r)), total, page: q.page, per_page: q.per_page };
}

/** Deletes a plan and its versions. Its runs stay: they are tasks, and each carries what it ran. */
export function deletePlan(deps: EngineDeps, idOrName: string, acting?: Acting): void {
  deps.db.sqlite
    .transaction(() => {
      const plan = requirePlan(deps.db, idOrName);
      deps.db.sqlite.query("DELETE FROM plans WHERE id = ?").run(plan.id);
      audited(deps, acting, "plan.deleted", { type: "plan", id: plan.id }, { name: plan.name });
    })
    .immediate();
}

/**
 * Starts a run of the plan's current version: the parent task, one child per step (`{{inputs.…}}`
 * filled in now, `{{steps.…}}` when the step becomes ready) and the run record, in one transaction.
 */
export function runPlan(deps: EngineDeps, idOrName: string, body: RunBody, defaults: RunDefaults, acting?: Acting): TaskJson {
  const createdBy = acting?.userId ?? null;
  const { db } = deps;
  const latest = requirePlan(db, idOrName);
  // An older version runs as it was saved (a run again "as it ran"); by default, the latest.
  const plan = { ...latest, version: body.version ?? latest.version };
  const steps = stepsOf(db, plan.id, plan.version);
  if (!steps) throw invalid(`plan '${latest.name}' has no version ${plan.version} (its latest is ${latest.version})`, [{ field: "version", message: `no such version (latest: ${latest.version})` }]);
  const inputs = body.inputs ?? {};
  for (const step of steps) assertMayRun(acting, step.task_type, getTaskType(step.task_type)?.runsOnHost === true, `step '${step.name}': `);

  const missing: ErrorDetail[] = [];
  for (const step of steps) {
    for (const ref of findTemplates([step.params, step.repository_url ?? null, step.branch_name ?? null])) {
      if (ref.root === "inputs" && ref.path[0] && !Object.hasOwn(inputs, ref.path[0])) {
        missing.push({ field: `inputs.${ref.path[0]}`, message: `required by step '${step.name}'` });
      }
    }
  }
  if (missing.length) {
    const names = [...new Set(missing.map((m) => m.field))].join(", ");
    throw invalid(`missing run inputs: ${names}`, missing);
  }

  const rendered = steps.map((step, i) => {
    let params: Record<string, unknown>;
    let fields: { repository_url?: unknown; branch_name?: unknown };
    try {
      params = renderTemplates(step.params, ["inputs"], (ref) => dig(inputs, ref.path)) as Record<string, unknown>;
      fields = renderTemplates({ repository_url: step.repository_url, branch_name: step.branch_name }, ["inputs"], (ref) => dig(inputs, ref.path)) as typeof fields;
    } catch (err) {
      if (err instanceof TemplateError) throw invalid(`step '${step.name}': ${err.message}`, [{ field: `inputs`, message: err.message }]);
      throw err;
    }
    const issues = paramIssues({ task_type: step.task_type, params }, `steps[${i}]`);
    if (issues.length) {
      throw invalid(`with these inputs step '${step.name}' has invalid params: ${issues[0]!.field}: ${issues[0]!.message}`, issues);
    }
    const text = (v: unknown) => (v === undefined || v === null ? undefined : String(v));
    return { ...step, params, repository_url: text(fields.repository_url), branch_name: text(fields.branch_name) };
  });

  const parentId = Bun.randomUUIDv7();
  const ids = new Map(rendered.map((s) => [s.name, Bun.randomUUIDv7()]));
  const deps_ = effectiveDependencies(rendered);
  const runPriority: Priority = body.priority ?? "default";
  const parent: NewTask = {
    id: parentId,
    title: `${plan.name} (v${plan.version})`,
    description: plan.description,
    task_type: "plan",
    params: { plan_id: plan.id, plan_name: plan.name, version: plan.version, inputs },
    priority: runPriority,
    timeout_seconds: defaults.timeoutSeconds,
    max_retries: 0,
    metadata: { plan_id: plan.id, plan_name: plan.name, plan_version: plan.version },
    created_by: createdBy,
  };
  const children: NewTask[] = rendered.map((s) => ({
    id: ids.get(s.name)!,
    title: s.name,
    task_type: s.task_type,
    params: s.params,
    priority: s.priority ?? runPriority,
    depends_on: deps_.get(s.name)!.map((d) => ids.get(d)!),
    parent_task_id: parentId,
    timeout_seconds: s.timeout_seconds ?? defaults.timeoutSeconds,
    max_retries: s.max_retries ?? defaults.maxRetries,
    repository_url: s.repository_url ?? null,
    branch_name: s.branch_name ?? null,
    permission_level: s.permission_level,
    metadata: { plan_id: plan.id, plan_run_id: parentId, plan_step: s.name },
    created_by: createdBy,
  }));
  // Children in dependency order, so every depends_on names a task already in the batch.
  const ordered = topological(children, deps_, ids);
  const [run] = submitTasks(deps, [parent, ...ordered], (tx) => {
    db.sqlite.query("INSERT INTO plan_runs (task_id, plan_id, version, created_at) VALUES (?, ?, ?, ?)").run(parentId, plan.id, plan.version, tx.at);
    audited(deps, acting, "plan.run", { type: "plan", id: plan.id }, { name: plan.name, version: plan.version, run_id: parentId });
  });
  return taskToJson(run!, []);
}

function topological(children: NewTask[], deps: Map<string, string[]>, ids: Map<string, string>): NewTask[] {
  const byName = new Map(children.map((c) => [c.metadata!.plan_step as string, c]));
  const out: NewTask[] = [];
  const placed = new Set<string>();
  const place = (name: string) => {
    if (placed.has(name)) return;
    placed.add(name);
    for (const d of deps.get(name) ?? []) place(d);
    out.push(byName.get(name)!);
  };
  for (const name of ids.keys()) place(name);
  return out;
}

export function listPlanRuns(deps: EngineDeps, idOrName: string, q: { page: number; per_page: number }) {
  const { db } = deps;
  const plan = requirePlan(db, idOrName);
  const rows = db.sqlite
    .query<Record<string, any>, [string, number, number]>(
      `SELECT t.* FROM plan_runs r JOIN tasks t ON t.id = r.task_id WHERE r.plan_id = ?
        ORDER BY r.created_at DESC, r.task_id DESC LIMIT ? OFFSET ?`,
    )
    .all(plan.id, q.per_page, (q.page - 1) * q.per_page);
  const total = db.sqlite.query<{ n: number }, [string]>("SELECT count(*) AS n FROM plan_runs WHERE plan_id = ?").get(plan.id)?.n ?? 0;
  return { items: rows.map((r) => taskToJson(parseTaskRow(r), [])), total, page: q.page, per_page: q.per_page };
}
