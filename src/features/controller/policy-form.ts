// The Policies page's forms: a posted rule turned into a PolicyBody — or into inline errors keyed by the
// form's field names (`match.pattern`, `on_timeout_answer`, …), with what was typed kept — and the dry
// run's question, with each skipped rule's unmet conditions spelled out.
import { AppError, zodDetails, type ErrorDetail } from "../../errors.ts";
import { compilePattern, unmetConditions, type Policy, type PolicyMatch, type QuestionFacts, type RouteDecision } from "./policies.ts";
import { DryRunBody, PolicyBody } from "./schemas.ts";

export type PolicyFormValues = Record<string, string>;
export type PolicyFormErrors = Record<string, string>;

export const MATCH_FIELDS = ["task_type", "permission_level", "category", "pattern", "repository_url"] as const;

/** What each field is called on the page, for messages that name it. */
export const FIELD_LABELS: Record<string, string> = {
  name: "Name",
  action: "Action",
  enabled: "Enabled",
  "match.task_type": "Task type",
  "match.permission_level": "Permission level",
  "match.category": "Category",
  "match.pattern": "Pattern",
  "match.repository_url": "Repository",
  match: "Conditions",
  timeout_seconds: "Deadline",
  on_timeout: "When the deadline passes",
  on_timeout_answer: "Automatic answer",
  question: "Question",
  category: "Category",
  task_type: "Task type",
  permission_level: "Permission level",
  repository_url: "Repository",
};

export interface ParsedPolicyForm {
  body: PolicyBody | null;
  errors: PolicyFormErrors;
  values: PolicyFormValues;
}

export function formValuesOf(form: Record<string, string | File | (string | File)[]>): PolicyFormValues {
  const values: PolicyFormValues = {};
  for (const [k, v] of Object.entries(form)) {
    // A checkbox posts a hidden "false" then "true" when ticked: the last one wins.
    const last = Array.isArray(v) ? v.at(-1) : v;
    if (typeof last === "string") values[k] = last;
  }
  return values;
}

/** The form's values for an existing rule (to edit it). */
export function policyValues(p: Policy): PolicyFormValues {
  const values: PolicyFormValues = {
    name: p.name,
    action: p.action,
    enabled: p.enabled ? "true" : "false",
    timeout_seconds: p.timeout_seconds == null ? "" : String(p.timeout_seconds),
    on_timeout: p.on_timeout,
    on_timeout_answer: p.on_timeout_answer ?? "",
  };
  for (const f of MATCH_FIELDS) values[`match.${f}`] = p.match[f] ?? "";
  return values;
}

/** Errors of the API's shape, by form field (the first problem of each). */
export function errorsByField(details: ErrorDetail[], fallback?: string): PolicyFormErrors {
  const errors: PolicyFormErrors = {};
  for (const d of details) {
    const key = d.field && d.field in FIELD_LABELS ? d.field : "_form";
    const message = key === "_form" && d.field ? `${d.field}: ${d.message}` : d.message;
    errors[key] ??= message;
  }
  if (Object.keys(errors).length === 0 && fallback) errors._form = fallback;
  return errors;
}

const blank = (s: string | undefined) => (s ?? "").trim() === "";

/** Reads a posted rule: every problem at once, each by its field. `isDefault`: the default rule takes no conditions. */
export function parsePolicyForm(values: PolicyFormValues, isDefault = false): ParsedPolicyForm {
  const errors: PolicyFormErrors = {};
  const text = (key: string) => (blank(values[key]) ? null : values[key]!.trim());
  const match: PolicyMatch = {};
  if (!isDefault) {
    for (const f of MATCH_FIELDS) {
      const v = text(`match.${f}`);
      if (v !== null) (match as Record<string, string>)[f] = v;
    }
  }
  let timeout: number | null = null;
  if (!blank(values.timeout_seconds)) {
    const n = Number(values.timeout_seconds!.trim());
    if (!Number.isInteger(n) || n < 1) errors.timeout_seconds = "must be a whole number of seconds, at least 1 (empty: no deadline)";
    else timeout = n;
  }
  const candidate = {
    name: values.name ?? "",
    enabled: isDefault ? true : values.enabled === "true" || values.enabled === "on",
    match,
    action: values.action ?? "",
    timeout_seconds: timeout,
    on_timeout: blank(values.on_timeout) ? undefined : values.on_timeout,
    on_timeout_answer: text("on_timeout_answer"),
  };
  const parsed = PolicyBody.safeParse(candidate);
  if (!parsed.success) Object.assign(errors, { ...errorsByField(zodDetails(parsed.error)), ...errors });
  // The service's own checks, now, so they show beside the others instead of one at a time.
  if (match.pattern && !errors["match.pattern"]) {
    try {
      compilePattern(match.pattern);
    } catch (err) {
      if (err instanceof AppError) errors["match.pattern"] = `not a valid regular expression: ${err.details[0]?.message ?? err.message}`;
    }
  }
  if (candidate.on_timeout === "auto_answer" && !candidate.on_timeout_answer) errors.on_timeout_answer = "required when the deadline answers automatically";
  return { body: parsed.success && Object.keys(errors).length === 0 ? parsed.data : null, errors, values };
}

export interface DryRunForm {
  facts: QuestionFacts | null;
  errors: PolicyFormErrors;
  values: PolicyFormValues;
}

export function parseDryRunForm(values: PolicyFormValues): DryRunForm {
  const parsed = DryRunBody.safeParse({
    question: values.question ?? "",
    category: blank(values.category) ? null : values.category,
    task_type: blank(values.task_type) ? undefined : values.task_type,
    permission_level: blank(values.permission_level) ? undefined : values.permission_level,
    repository_url: blank(values.repository_url) ? null : values.repository_url,
  });
  if (!parsed.success) return { facts: null, errors: errorsByField(zodDetails(parsed.error)), values };
  const d = parsed.data;
  return { facts: { ...d, category: d.category ?? null, repository_url: d.repository_url ?? null }, errors: {}, values };
}

export interface DryRunResult {
  decision: RouteDecision;
  /** Every rule tried before the match, with why it was passed over. */
  skipped: Array<{ policy: Policy; why: string }>;
}

export function explainDecision(decision: RouteDecision, q: QuestionFacts): DryRunResult {
  return {
    decision,
    skipped: decision.skipped.map(({ policy, why }) => ({
      policy,
      why: why === "disabled" ? "it is disabled" : unmetConditions(policy, q).join("; ") || why,
    })),
  };
}
