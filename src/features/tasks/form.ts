// The "New task" form: fields derived from the chosen type's JSON Schema, and the posted form turned
// back into a CreateTaskBody — or into inline errors keyed by field name, with what was typed kept.
import { z } from "zod";
import { PERMISSION_LEVELS, PRIORITIES } from "../../db/schema.ts";
import { zodDetails, type ErrorDetail } from "../../errors.ts";
import { getTaskType, TASK_TYPES } from "../../task-types/index.ts";
import { missingNeeds } from "../../task-types/types.ts";
import { CreateTaskBody } from "./schemas.ts";

export type ParamKind = "text" | "textarea" | "number" | "integer" | "boolean" | "select" | "lines" | "pairs" | "json";

export interface ParamField {
  name: string;
  kind: ParamKind;
  required: boolean;
  description?: string;
  options?: string[];
  default?: unknown;
  min?: number;
  max?: number;
}

/** Types a person creates by hand (a plan run is started from its plan). */
export function formTaskTypes(): Array<{ name: string; description: string }> {
  return [...TASK_TYPES.values()].filter((t) => t.kind !== "parent").map((t) => ({ name: t.name, description: t.description }));
}

type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  required?: string[];
  description?: string;
  default?: unknown;
  maxLength?: number;
  format?: string;
  minimum?: number;
  maximum?: number;
  anyOf?: JsonSchema[];
};

function kindOf(s: JsonSchema): ParamKind {
  if (Array.isArray(s.enum) && s.enum.every((v) => typeof v === "string")) return "select";
  switch (s.type) {
    case "string":
      // A URL or an email is one line however long it may be.
      return s.format === undefined && (s.maxLength ?? Infinity) > 4096 ? "textarea" : "text";
    case "integer":
      return "integer";
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "array":
      return s.items?.type === "string" ? "lines" : "json";
    case "object":
      return !s.properties && typeof s.additionalProperties === "object" && s.additionalProperties.type === "string" ? "pairs" : "json";
    default:
      return "json";
  }
}

export function paramFieldsOf(taskType: string): ParamField[] {
  const type = getTaskType(taskType);
  if (!type) return [];
  const schema = z.toJSONSchema(type.params, { io: "input", unrepresentable: "any" }) as JsonSchema;
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).map(([name, s]) => ({
    name,
    kind: kindOf(s),
    required: required.has(name),
    description: s.description,
    options: Array.isArray(s.enum) ? s.enum.map(String) : undefined,
    default: s.default,
    min: s.minimum,
    max: s.maximum,
  }));
}

/** How a `pairs` field writes one pair: HTTP headers as `Name: value`, the rest (environment) as `NAME=value`. */
export const pairSeparator = (field: Pick<ParamField, "name">) => (field.name === "headers" ? ": " : "=");

/** The text a field shows for a value (what the user would type to get it). */
export function valueText(field: ParamField, value: unknown): string {
  if (value === undefined || value === null) return "";
  if (field.kind === "lines" && Array.isArray(value)) return value.map(String).join("\n");
  if (field.kind === "pairs" && typeof value === "object" && !Array.isArray(value)) {
    return Object.entries(value as Record<string, string>).map(([k, v]) => `${k}${pairSeparator(field)}${v}`).join("\n");
  }
  if (field.kind === "json") {
    if (typeof value === "string") return value;
    return typeof value === "object" && Object.keys(value as object).length === 0 ? "" : JSON.stringify(value, null, 2);
  }
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** The text a field shows for its default value. */
export function defaultText(field: ParamField): string {
  return valueText(field, field.default);
}

export type FormValues = Record<string, string>;
export type FormErrors = Record<string, string>;

export interface ParsedTaskForm {
  body: CreateTaskBody | null;
  errors: FormErrors;
  values: FormValues;
}

/**
 * Reads one param from its text; a message when the text cannot be that kind of value. With `templates`
 * (a plan step), a number written as a `{{inputs.…}}` / `{{steps.…}}` template stays text: it is
 * resolved, and checked, when the step runs.
 */
export function readParam(field: ParamField, text: string, opts: { templates?: boolean } = {}): { value?: unknown; error?: string } {
  const t = text.trim();
  if (opts.templates && /\{\{[^}]+\}\}/.test(t) && (field.kind === "number" || field.kind === "integer" || field.kind === "boolean")) return { value: t };
  switch (field.kind) {
    case "boolean":
      // "" is a yes/no without a default left at "the server's default" (a select): not sent.
      return t === "" ? {} : { value: t === "true" || t === "on" };
    case "integer":
    case "number": {
      if (t === "") return {};
      const n = Number(t);
      if (!Number.isFinite(n)) return { error: "must be a number" };
      return { value: n };
    }
    case "lines":
      return t === "" ? {} : { value: text.split(/\r?\n/).map((l) => l.trimEnd()).filter((l) => l !== "") };
    case "pairs": {
      if (t === "") return {};
      const out: Record<string, string> = {};
      for (const [i, raw] of text.split(/\r?\n/).entries()) {
        const line = raw.trim();
        if (!line) continue;
        const at = line.search(/[=:]/);
        if (at <= 0) return { error: `line ${i + 1}: write ${field.name === "headers" ? "Name: value" : "NAME=value"}` };
        out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
      }
      return { value: out };
    }
    case "json": {
      if (t === "") return {};
      try {
        return { value: JSON.parse(t) };
      } catch {
        // A schema that also takes plain text (an HTTP body) gets the text as-is.
        return { value: text };
      }
    }
    default:
      return t === "" ? {} : { value: text };
  }
}

/** Where an error of the API's shape belongs in the form: a top-level param, or the field itself. */
export function formFieldOf(detail: ErrorDetail): string {
  const field = detail.field ?? "";
  if (field.startsWith("params.")) return field.split(".").slice(0, 2).join(".");
  return field.split(".")[0] || "_form";
}

export function errorsFromDetails(details: ErrorDetail[]): FormErrors {
  const errors: FormErrors = {};
  for (const d of details) {
    const key = formFieldOf(d);
    const nested = d.field && d.field !== key ? d.field.slice(key.length + 1) : "";
    errors[key] ??= nested ? `${nested}: ${d.message}` : d.message;
  }
  return errors;
}

export function parseTaskForm(form: Record<string, string | File | (string | File)[]>): ParsedTaskForm {
  const values: FormValues = {};
  for (const [k, v] of Object.entries(form)) {
    // A checkbox posts a hidden "false" then "true" when ticked: the last one wins.
    const last = Array.isArray(v) ? v.at(-1) : v;
    if (typeof last === "string") values[k] = last;
  }
  const errors: FormErrors = {};
  const taskType = values.task_type ?? "";
  const params: Record<string, unknown> = {};
  for (const field of paramFieldsOf(taskType)) {
    const { value, error } = readParam(field, values[`params.${field.name}`] ?? "");
    if (error) errors[`params.${field.name}`] = error;
    else if (value !== undefined) params[field.name] = value;
  }
  // The params against the type's schema now, so every field's problem shows at once.
  const type = getTaskType(taskType);
  const checked = type?.params.safeParse(params);
  if (checked && !checked.success) {
    for (const [key, message] of Object.entries(errorsFromDetails(zodDetails(checked.error, "params")))) errors[key] ??= message;
  }
  const int = (key: string) => {
    const t = (values[key] ?? "").trim();
    if (t === "") return undefined;
    const n = Number(t);
    if (!Number.isInteger(n)) {
      errors[key] = "must be a whole number";
      return undefined;
    }
    return n;
  };
  const candidate = {
    title: values.title ?? "",
    task_type: taskType,
    params,
    description: values.description?.trim() ? values.description : undefined,
    priority: (PRIORITIES as readonly string[]).includes(values.priority ?? "") ? values.priority : "default",
    permission_level: (PERMISSION_LEVELS as readonly string[]).includes(values.permission_level ?? "") ? values.permission_level : undefined,
    repository_url: values.repository_url?.trim() || undefined,
    branch_name: values.branch_name?.trim() || undefined,
    depends_on: (values.depends_on ?? "").split(/[\s,]+/).filter(Boolean),
    timeout_seconds: int("timeout_seconds"),
    max_retries: int("max_retries"),
  };
  const parsed = CreateTaskBody.safeParse(candidate);
  if (!parsed.success) Object.assign(errors, { ...errorsFromDetails(zodDetails(parsed.error)), ...errors });
  if (!getTaskType(taskType) || getTaskType(taskType)?.kind === "parent") errors.task_type = "choose a task type";
  // What the service would refuse (a repository an agent needs), shown now beside the other fields' problems.
  for (const field of missingNeeds(type?.needs, candidate)) errors[field] ??= `required for ${taskType} tasks`;
  return { body: parsed.success && Object.keys(errors).length === 0 ? parsed.data : null, errors, values };
}

/** A task's fields as the New task form's values: what "Clone…" opens with (its params editable). */
export function valuesFromTask(task: {
  title: string;
  task_type: string;
  priority: string;
  description: string | null;
  params: Record<string, unknown>;
  timeout_seconds: number;
  max_retries: number;
  depends_on: string[];
  repository_url?: string | null;
  branch_name?: string | null;
  permission_level?: string;
}): FormValues {
  const values: FormValues = {
    title: task.title,
    task_type: task.task_type,
    priority: task.priority,
    description: task.description ?? "",
    timeout_seconds: String(task.timeout_seconds),
    max_retries: String(task.max_retries),
    depends_on: task.depends_on.join(", "),
    repository_url: task.repository_url ?? "",
    branch_name: task.branch_name ?? "",
    ...(task.permission_level ? { permission_level: task.permission_level } : {}),
  };
  for (const field of paramFieldsOf(task.task_type)) {
    if (task.params[field.name] !== undefined) values[`params.${field.name}`] = field.kind === "boolean" ? String(task.params[field.name] === true) : valueText(field, task.params[field.name]);
  }
  return values;
}
