// Tool definitions (a description and a zod or JSON schema of the arguments) → the AI SDK's ToolSet.
// No `execute`: the caller runs each tool itself and persists the step, so the SDK never loops.
import { jsonSchema, tool, type JSONSchema7, type ToolSet } from "ai";
import { z } from "zod";

export interface LlmToolDef {
  description: string;
  /** A zod schema, or a JSON schema object (`{type: "object", properties: …}`). */
  inputSchema: z.ZodType | JSONSchema7;
}

export type LlmTools = Record<string, LlmToolDef>;

/** zod (and any Standard Schema) carries `~standard`; a plain JSON schema does not. */
function isStandardSchema(schema: unknown): schema is z.ZodType {
  return typeof schema === "object" && schema !== null && "~standard" in schema;
}

export function toSdkTools(tools: LlmTools): ToolSet {
  const out: ToolSet = {};
  for (const [name, def] of Object.entries(tools)) {
    out[name] = tool({
      description: def.description,
      inputSchema: isStandardSchema(def.inputSchema) ? def.inputSchema : jsonSchema(def.inputSchema),
    });
  }
  return out;
}

/** The definitions as text, for estimating what they add to a prompt. */
export function toolsText(tools: LlmTools | undefined): string {
  if (!tools) return "";
  return Object.entries(tools)
    .map(([name, def]) => `${name}: ${def.description} ${JSON.stringify(schemaJson(def.inputSchema))}`)
    .join("\n");
}

function schemaJson(schema: z.ZodType | JSONSchema7): unknown {
  if (!isStandardSchema(schema)) return schema;
  try {
    return z.toJSONSchema(schema);
  } catch {
    return {}; // a schema JSON Schema cannot express (a transform, say): its text is left out of the estimate
  }
}
