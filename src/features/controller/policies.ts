// Policies: ordered rules that route a question — match (task type, the task's permission level,
// category, a text pattern, repository) → action (automated, human, auto_approve, deny), with a deadline
// and what happens when it passes. The default rule matches whatever no enabled rule did. Every change is
// audited with the rule's new version.
import type { Db } from "../../db/client.ts";
import type { OnTimeoutAction, PermissionLevel, PolicyAction } from "../../db/schema.ts";
import { conflict, invalid, notFound } from "../../errors.ts";
import { audited, type Acting } from "../audit/service.ts";

export interface PolicyMatch {
  task_type?: string | null;
  permission_level?: PermissionLevel | null;
  category?: string | null;
  pattern?: string | null;
  repository_url?: string | null;
}

export interface Policy {
  id: string;
  name: string;
  position: number;
  enabled: boolean;
  is_default: boolean;
  match: PolicyMatch;
  action: PolicyAction;
  timeout_seconds: number | null;
  on_timeout: OnTimeoutAction;
  on_timeout_answer: string | null;
  version: number;
  created_by: string | null;
  created_at: number;
  updated_at: number;
}

export interface PolicyInput {
  name: string;
  position?: number;
  enabled?: boolean;
  match?: PolicyMatch;
  action: PolicyAction;
  timeout_seconds?: number | null;
  on_timeout?: OnTimeoutAction;
  on_timeout_answer?: string | null;
}

/** What a question is matched on: the asking task's fields and the question itself. */
export interface QuestionFacts {
  task_type: string;
  permission_level: PermissionLevel;
  repository_url: string | null;
  category: string | null;
  question: string;
}

interface PolicyRow {
  id: string;
  name: string;
  position: number;
  enabled: number;
  is_default: number;
  match_task_type: string | null;
  match_permission_level: PermissionLevel | null;
  match_category: string | null;
  match_pattern: string | null;
  match_repository_url: string | null;
  action: PolicyAction;
  timeout_seconds: number | null;
  on_timeout: OnTimeoutAction;
  on_timeout_answer: string | null;
  version: number;
  created_by: string | null;
  created_at: number;
  updated_at: number;
}

function toPolicy(r: PolicyRow): Policy {
  const match: PolicyMatch = {};
  if (r.match_task_type !== null) match.task_type = r.match_task_type;
  if (r.match_permission_level !== null) match.permission_level = r.match_permission_level;
  if (r.match_category !== null) match.category = r.match_category;
  if (r.match_pattern !== null) match.pattern = r.match_pattern;
  if (r.match_repository_url !== null) match.repository_url = r.match_repository_url;
  return {
    id: r.id,
    name: r.name,
    position: r.position,
    enabled: r.enabled === 1,
    is_default: r.is_default === 1,
    match,
    action: r.action,
    timeout_seconds: r.timeout_seconds,
    on_timeout: r.on_timeout,
    on_timeout_answer: r.on_timeout_answer,
    version: r.version,
    created_by: r.created_by,
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

export interface PolicyDeps {
  db: Db;
  clock?: () => number;
}

/** Every rule in the order they are tried: by position, the default rule last. */
export function listPolicies(deps: PolicyDeps): Policy[] {
  return deps.db.sqlite
    .query<PolicyRow, []>("SELECT * FROM policies ORDER BY is_default, position, created_at")
    .all()
    .map(toPolicy);
}

export function getPolicy(deps: PolicyDeps, id: string): Policy {
  const row = deps.db.sqlite.query<PolicyRow, [string, string]>("SELECT * FROM policies WHERE id = ? OR name = ?").get(id, id);
  if (!row) throw notFound("policy", id);
  return toPolicy(row);
}

/** A pattern as the matcher compiles it (case-insensitive); 400 naming the field when it does not compile. */
export function compilePattern(pattern: string, field = "match.pattern"): RegExp {
  try {
    return new RegExp(pattern, "i");
  } catch (err) {
    throw invalid(`${field} is not a valid regular expression: ${(err as Error).message}`, [{ field, message: (err as Error).message }]);
  }
}

/** Why a rule matches the question (each condition it has, met), or null when one is not met. */
export function whyMatches(policy: Pick<Policy, "match" | "is_default">, q: QuestionFacts): string[] | null {
  const m = policy.match;
  const reasons: string[] = [];
  if (m.task_type != null) {
    if (m.task_type !== q.task_type) return null;
    reasons.push(`task type is ${q.task_type}`);
  }
  if (m.permission_level != null) {
    if (m.permission_level !== q.permission_level) return null;
    reasons.push(`permission level is ${q.permission_level}`);
  }
  if (m.category != null) {
    if (m.category !== q.category) return null;
    reasons.push(`category is ${q.category}`);
  }
  if (m.repository_url != null) {
    if (m.repository_url !== q.repository_url) return null;
    reasons.push(`repository is ${q.repository_url}`);
  }
  if (m.pattern != null) {
    let re: RegExp;
    try {
      re = new RegExp(m.pattern, "i");
    } catch {
      return null; // saved patterns are checked; one that stopped compiling matches nothing
    }
    const hit = re.exec(q.question);
    if (!hit) return null;
    reasons.push(`the question matches /${m.pattern}/i ("${hit[0].slice(0, 60)}")`);
  }
  if (reasons.length === 0) reasons.push(policy.is_default ? "no other rule matched" : "the rule has no conditions");
  return reasons;
}

/** Why a rule did not match: each of its conditions the question does not meet, in words. */
export function unmetConditions(policy: Policy, q: QuestionFacts): string[] {
  const unmet: string[] = [];
  const one = (match: PolicyMatch) => whyMatches({ match, is_default: false }, q) === null;
  const m = policy.match;
  if (m.task_type != null && one({ task_type: m.task_type })) unmet.push(`task type is ${q.task_type}, not ${m.task_type}`);
  if (m.permission_level != null && one({ permission_level: m.permission_level })) unmet.push(`permission level is ${q.permission_level}, not ${m.permission_level}`);
  if (m.category != null && one({ category: m.category })) unmet.push(`category is ${q.category ?? "(none)"}, not ${m.category}`);
  if (m.repository_url != null && one({ repository_url: m.repository_url })) unmet.push(`repository is ${q.repository_url ?? "(none)"}, not ${m.repository_url}`);
  if (m.pattern != null && one({ pattern: m.pattern })) unmet.push(`the question does not match /${m.pattern}/i`);
  return unmet;
}

export interface RouteDecision {
  policy: Policy;
  reasons: string[];
  /** The rules tried before it, each with why it did not apply (dry run). */
  skipped: Array<{ policy: Policy; why: string }>;
}

/** The first enabled rule (by position) that matches, else the default rule. */
export function routeQuestion(rules: Policy[], q: QuestionFacts): RouteDecision {
  const skipped: RouteDecision["skipped"] = [];
  for (const policy of rules) {
    if (policy.is_default) continue;
    if (!policy.enabled) {
      skipped.push({ policy, why: "disabled" });
      continue;
    }
    const reasons = whyMatches(policy, q);
    if (reasons) return { policy, reasons, skipped };
    skipped.push({ policy, why: unmetConditions(policy, q).join("; ") || "its conditions are not met" });
  }
  const fallback = rules.find((p) => p.is_default) ?? BUILT_IN_DEFAULT;
  return { policy: fallback, reasons: ["no other rule matched"], skipped };
}

/** When the database has no default rule (it always should): ask a human, fail the task after a day. */
const BUILT_IN_DEFAULT: Policy = {
  id: "built-in-default",
  name: "default",
  position: Number.MAX_SAFE_INTEGER,
  enabled: true,
  is_default: true,
  match: {},
  action: "human",
  timeout_seconds: 24 * 3600,
  on_timeout: "fail_task",
  on_timeout_answer: null,
  version: 1,
  created_by: null,
  created_at: 0,
  updated_at: 0,
};

function check(input: PolicyInput) {
  if (input.match?.pattern != null) compilePattern(input.match.pattern);
  if (input.on_timeout === "auto_answer" && !input.on_timeout_answer) {
    throw invalid("on_timeout_answer is required when on_timeout is auto_answer", [{ field: "on_timeout_answer", message: "required when on_timeout is auto_answer" }]);
  }
}

const columns = (input: PolicyInput) => ({
  name: input.name,
  enabled: input.enabled === false ? 0 : 1,
  match_task_type: input.match?.task_type ?? null,
  match_permission_level: input.match?.permission_level ?? null,
  match_category: input.match?.category ?? null,
  match_pattern: input.match?.pattern ?? null,
  match_repository_url: input.match?.repository_url ?? null,
  action: input.action,
  timeout_seconds: input.timeout_seconds ?? null,
  on_timeout: input.on_timeout ?? "fail_task",
  on_timeout_answer: input.on_timeout_answer ?? null,
});

function nameTaken(deps: PolicyDeps, name: string, except?: string) {
  const row = deps.db.sqlite.query<{ id: string }, [string]>("SELECT id FROM policies WHERE name = ?").get(name);
  if (row && row.id !== except) throw conflict(`A policy named '${name}' exists`, [{ field: "name", message: "already taken" }]);
}

export function createPolicy(deps: PolicyDeps, input: PolicyInput, acting?: Acting): Policy {
  check(input);
  const now = (deps.clock ?? Date.now)();
  const id = Bun.randomUUIDv7();
  deps.db.sqlite
    .transaction(() => {
      nameTaken(deps, input.name);
      const last = deps.db.sqlite.query<{ p: number | null }, []>("SELECT max(position) AS p FROM policies WHERE is_default = 0").get()!.p ?? 0;
      const position = input.position ?? last + 10;
      deps.db.sqlite
        .query(
          `INSERT INTO policies (id, name, position, enabled, is_default, match_task_type, match_permission_level, match_category, match_pattern,
             match_repository_url, action, timeout_seconds, on_timeout, on_timeout_answer, version, created_by, created_at, updated_at)
           VALUES ($id, $name, $position, $enabled, 0, $match_task_type, $match_permission_level, $match_category, $match_pattern,
             $match_repository_url, $action, $timeout_seconds, $on_timeout, $on_timeout_answer, 1, $created_by, $now, $now)`,
        )
        .run({ id, position, created_by: acting?.userId ?? null, now, ...columns(input) });
      audited(deps, acting, "policy.created", { type: "policy", id }, { version: 1, ...input });
    })
    .immediate();
  return getPolicy(deps, id);
}

/** Replaces a rule (a new version). The default rule keeps matching everything: its `match` cannot be set. */
export function updatePolicy(deps: PolicyDeps, id: string, input: PolicyInput, acting?: Acting): Policy {
  check(input);
  const current = getPolicy(deps, id);
  if (current.is_default && input.match && Object.values(input.match).some((v) => v != null)) {
    throw invalid("the default rule matches every question: it takes no match conditions", [{ field: "match", message: "not allowed on the default rule" }]);
  }
  if (current.is_default && input.enabled === false) {
    throw invalid("the default rule cannot be disabled: it answers what no other rule matches", [{ field: "enabled", message: "the default rule is always enabled" }]);
  }
  const now = (deps.clock ?? Date.now)();
  deps.db.sqlite
    .transaction(() => {
      nameTaken(deps, input.name, current.id);
      deps.db.sqlite
        .query(
          `UPDATE policies SET name = $name, position = $position, enabled = $enabled, match_task_type = $match_task_type,
             match_permission_level = $match_permission_level, match_category = $match_category, match_pattern = $match_pattern,
             match_repository_url = $match_repository_url, action = $action, timeout_seconds = $timeout_seconds,
             on_timeout = $on_timeout, on_timeout_answer = $on_timeout_answer, version = version + 1, updated_at = $now
           WHERE id = $id`,
        )
        .run({ id: current.id, position: input.position ?? current.position, now, ...columns(input), enabled: current.is_default ? 1 : columns(input).enabled });
      audited(deps, acting, "policy.updated", { type: "policy", id: current.id }, { version: current.version + 1, ...input });
    })
    .immediate();
  return getPolicy(deps, current.id);
}

export function deletePolicy(deps: PolicyDeps, id: string, acting?: Acting): void {
  const current = getPolicy(deps, id);
  if (current.is_default) throw conflict("the default rule cannot be deleted: it answers what no other rule matches (edit its action instead)");
  deps.db.sqlite
    .transaction(() => {
      deps.db.sqlite.query("DELETE FROM policies WHERE id = ?").run(current.id);
      audited(deps, acting, "policy.deleted", { type: "policy", id: current.id }, { name: current.name, version: current.version });
    })
    .immediate();
}

/** Puts the rules in the given order (ids; every non-default rule exactly once). */
export function reorderPolicies(deps: PolicyDeps, ids: string[], acting?: Acting): Policy[] {
  const rules = listPolicies(deps).filter((p) => !p.is_default);
  const known = new Set(rules.map((p) => p.id));
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length || new Set(ids).size !== ids.length || ids.length !== rules.length) {
    throw invalid("order must list every rule but the default exactly once", [
      { field: "order", message: unknown.length ? `unknown rule(s): ${unknown.join(", ")}` : `expected ${rules.length} distinct rule ids, got ${ids.length}` },
    ]);
  }
  const now = (deps.clock ?? Date.now)();
  deps.db.sqlite
    .transaction(() => {
      const set = deps.db.sqlite.query("UPDATE policies SET position = ?, updated_at = ? WHERE id = ?");
      ids.forEach((id, i) => set.run((i + 1) * 10, now, id));
      audited(deps, acting, "policy.reordered", { type: "policy" }, { order: ids });
    })
    .immediate();
  return listPolicies(deps);
}

/**
 * The rules a fresh server starts with (only when there are none): destructive or pushing questions go to
 * a human with a generous deadline; everything else to the LLM when one is configured, with a human as the
 * fallback; and the default asks a human and fails the task after a day.
 */
export function seedDefaultPolicies(deps: PolicyDeps): void {
  const db = deps.db.sqlite;
  if (db.query("SELECT 1 FROM policies LIMIT 1").get()) return;
  const now = (deps.clock ?? Date.now)();
  const insert = db.query(
    `INSERT INTO policies (id, name, position, enabled, is_default, match_permission_level, match_category, match_pattern, action,
       timeout_seconds, on_timeout, on_timeout_answer, created_at, updated_at)
     VALUES ($id, $name, $position, 1, $is_default, $perm, $category, $pattern, $action, $timeout, $on_timeout, $answer, $now, $now)`,
  );
  const rule = (name: string, position: number, action: PolicyAction, timeout: number, on_timeout: OnTimeoutAction, extra: Record<string, unknown> = {}) =>
    insert.run({ id: Bun.randomUUIDv7(), name, position, is_default: 0, perm: null, category: null, pattern: null, action, timeout, on_timeout, answer: null, now, ...extra });
  db.transaction(() => {
    rule("approvals go to a human", 10, "human", 24 * 3600, "fail_task", { category: "approval" });
    rule("destructive actions go to a human", 20, "human", 4 * 3600, "deny", { pattern: "\\b(delete|drop|deploy|force[- ]push|rm -rf|production|migrat)" });
    rule("pushing tasks ask a human", 30, "human", 4 * 3600, "deny", { perm: "push" });
    rule("clarifications go to the LLM", 40, "automated", 300, "escalate", { category: "clarification" });
    insert.run({ id: Bun.randomUUIDv7(), name: "default", position: 1_000_000, is_default: 1, perm: null, category: null, pattern: null, action: "human", timeout: 24 * 3600, on_timeout: "fail_task", answer: null, now });
  })();
}
