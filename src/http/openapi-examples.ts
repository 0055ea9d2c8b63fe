// Example values from JSON Schemas, for the OpenAPI document and the /docs page: the schema's own default,
// example or first enum value when it has one, otherwise a value made to fit its type, format, pattern,
// bounds and required properties — so every example validates against the schema it illustrates.
type Schema = Record<string, any>;

const STRING_CANDIDATES = ["example", "example-1", "example_name", "abc", "a1", "main", "EXAMPLE_NAME", "x"];

function fitString(s: Schema): string {
  const format = s.format as string | undefined;
  if (format === "email") return "user@example.com";
  if (format === "uri" || format === "url") return "https://example.com/hook";
  if (format === "date-time") return "2026-01-01T00:00:00Z";
  if (format === "date") return "2026-01-01";
  if (format === "uuid") return "01a1b2c3-0000-7000-8000-000000000000";
  const min = (s.minLength as number | undefined) ?? 0;
  const max = (s.maxLength as number | undefined) ?? Infinity;
  const pattern = s.pattern ? new RegExp(s.pattern as string, "u") : null;
  for (const c of STRING_CANDIDATES) {
    const v = c.length < min ? c.padEnd(min, "x") : c;
    if (v.length <= max && (!pattern || pattern.test(v))) return v;
  }
  return "x".repeat(Math.max(1, min));
}

function fitNumber(s: Schema): number {
  const integer = s.type === "integer";
  let v = (s.minimum as number | undefined) ?? ((s.exclusiveMinimum as number | undefined) !== undefined ? (s.exclusiveMinimum as number) + (integer ? 1 : 0.5) : 1);
  if (s.maximum !== undefined && v > s.maximum) v = s.maximum as number;
  return integer ? Math.ceil(v) : v;
}

export function exampleOf(schema: Schema | undefined, depth = 0): unknown {
  if (!schema || depth > 8) return null;
  if ("const" in schema) return schema.const;
  if (schema.default !== undefined) return schema.default;
  if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  const options = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (options) return exampleOf(options.find((o) => o.type !== "null") ?? options[0], depth + 1);
  if (schema.allOf) return Object.assign({}, ...(schema.allOf as Schema[]).map((s) => exampleOf(s, depth + 1) as object));
  const type = Array.isArray(schema.type) ? (schema.type as string[]).find((t) => t !== "null") : schema.type;
  switch (type) {
    case "string":
      return fitString(schema);
    case "integer":
    case "number":
      return fitNumber(schema);
    case "boolean":
      return true;
    case "null":
      return null;
    case "array": {
      const n = Math.max(1, (schema.minItems as number | undefined) ?? 1);
      return Array.from({ length: Math.min(n, (schema.maxItems as number | undefined) ?? n) }, () => exampleOf(schema.items as Schema, depth + 1));
    }
    case "object":
    default: {
      const props = (schema.properties ?? {}) as Record<string, Schema>;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(props)) out[k] = exampleOf(v, depth + 1);
      return out;
    }
  }
}
