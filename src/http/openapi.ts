// Route specs: each API route declares its zod schemas once; the same spec validates the request
// (through @hono/zod-validator) and feeds the OpenAPI document.
import { zValidator } from "@hono/zod-validator";
import type { Context, MiddlewareHandler } from "hono";
import { z } from "zod";
import { invalid, validationError } from "../errors.ts";
import { exampleOf } from "./openapi-examples.ts";

export type Method = "get" | "post" | "put" | "patch" | "delete";

/**
 * Who may call a route: `public` (no credentials), the least role a user (or `api`-scoped key acting as
 * its user) needs, `worker` (an API key with the `worker` scope, or an admin), or `viewer_or_worker`
 * (either; the handler limits a worker key to what its workers hold). Required on every route: the API's
 * authorize middleware refuses a route it has no rule for.
 */
export type Access = "public" | "viewer" | "operator" | "admin" | "worker" | "viewer_or_worker";

export interface RouteSpec<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined, P extends string = string> {
  method: Method;
  /** Hono path relative to /api/v1, e.g. `/tasks/:id`. */
  path: P;
  access: Access;
  summary: string;
  tags: string[];
  body?: B;
  query?: Q;
  /** status → response schema (or a description for non-JSON answers). */
  responses: Record<number, z.ZodType | string>;
  description?: string;
  /** Error statuses the route answers besides those its shape implies (400, 401, 403, 404, 413, 429): e.g. 409. */
  errors?: number[];
  /** The request body's example in the document and on /docs (else one made from the schema). */
  example?: unknown;
}

/** The error answers in the one error shape, each with when it happens and an example. */
const ERRORS: Record<number, { code: string; description: string; message: string; details?: unknown[] }> = {
  400: { code: "validation_failed", description: "Bad input: malformed JSON, a wrong Content-Type, or a bad field (each named in details)", message: "Invalid request: title: must not be empty", details: [{ field: "title", message: "must not be empty", code: "too_small" }] },
  401: { code: "unauthorized", description: "No key, token or session, or one that expired or was revoked", message: "Authentication required" },
  403: { code: "forbidden", description: "The role (or the key's scope) does not allow it", message: "This needs the operator role" },
  404: { code: "not_found", description: "No such resource", message: "task '01a1b2c3' not found" },
  409: { code: "conflict", description: "The resource's state does not allow it, or the name is taken", message: "A schedule named 'nightly' exists" },
  413: { code: "payload_too_large", description: "The body is over --max-body-bytes", message: "Request body exceeds the limit of 1048576 bytes" },
  429: { code: "rate_limited", description: "Over a rate limit; Retry-After says when to try again", message: "Too many requests: try again in 2 s" },
};

/** The error statuses an operation can answer, from its shape and what it declares. */
function errorStatuses(r: RouteSpec<any, any, string>): number[] {
  const out = new Set<number>([429]);
  if (r.body || r.query) out.add(400);
  if (r.body) out.add(413);
  if (r.access !== "public") {
    out.add(401);
    out.add(403);
  }
  if (r.path.includes(":")) out.add(404);
  for (const e of r.errors ?? []) out.add(e);
  for (const status of Object.keys(r.responses).map(Number)) out.delete(status);
  return [...out].sort();
}

const registry: RouteSpec<any, any, string>[] = [];

/** The access rule of a registered route, by method and Hono path relative to /api/v1. */
export function accessOf(method: string, path: string): Access | undefined {
  const m = method.toLowerCase();
  return registry.find((r) => r.path === path && (r.method === m || (m === "head" && r.method === "get")))?.access;
}

const hook = (result: { success: boolean; error?: unknown }, _c: Context) => {
  if (!result.success) throw validationError(result.error as z.ZodError);
};

/** Refuses a body that is not declared JSON before hono's validator silently reads it as `{}`. */
const requireJson: MiddlewareHandler = async (c, next) => {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/([a-z0-9.+-]*\+)?json\b/i.test(type)) {
    throw invalid("Content-Type must be application/json", [{ field: "content-type", message: `got '${type || "none"}'` }]);
  }
  await next();
};

/** Deeper JSON than this is refused: storing it (JSON.stringify) would overflow the stack and answer 500. */
const MAX_JSON_DEPTH = 100;

/** Nesting depth of a parsed JSON value, measured without recursion (the value may be deeper than the stack). */
function jsonDepth(value: unknown, limit: number): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth > max) {
      max = depth;
      if (max > limit) return max;
    }
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return max;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The body as text, refusing bytes that are not UTF-8 (JSON is UTF-8): a lenient decode would store
 * U+FFFD in place of whatever the client meant. The bytes stay cached: `c.req.json()` and the validator
 * decode the same (now known valid) bytes.
 */
async function utf8Body(c: Context): Promise<string> {
  const bytes = await c.req.arrayBuffer(); // a body over the limit fails here, with its own 413
  try {
    return utf8.decode(bytes);
  } catch {
    throw invalid("Request body is not valid UTF-8", [{ message: "invalid UTF-8 byte sequence" }]);
  }
}

/**
 * Where a JSON value holds a string (or key) with a lone surrogate (`"\ud800"`: valid JSON, not valid
 * Unicode), or null. Stored as UTF-8 it would silently become U+FFFD: refused like invalid UTF-8 instead.
 */
export function loneSurrogateAt(value: unknown, path = ""): string | null {
  if (typeof value === "string") return value.isWellFormed() ? null : path || "body";
  if (value === null || typeof value !== "object") return null;
  for (const [k, v] of Array.isArray(value) ? value.entries() : Object.entries(value)) {
    const here = Array.isArray(value) ? `${path}[${k}]` : path ? `${path}.${k}` : String(k);
    if (typeof k === "string" && !k.isWellFormed()) return here;
    const found = loneSurrogateAt(v, here);
    if (found) return found;
  }
  return null;
}

function refuseLoneSurrogates(value: unknown) {
  const at = loneSurrogateAt(value);
  if (at) throw invalid(`Request body is not valid Unicode: a lone surrogate (a \\uD800–\\uDFFF escape without its pair) at ${at}`, [{ field: at, message: "lone surrogate: not valid Unicode" }]);
}

const limitJsonDepth: MiddlewareHandler = async (c, next) => {
  let body: unknown;
  try {
    await utf8Body(c);
    body = await c.req.json(); // cached: the validator below reads the same bytes
  } catch (err) {
    if (err instanceof SyntaxError) return next(); // malformed: the validator answers that
    throw err;
  }
  if (jsonDepth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw invalid(`JSON body is nested deeper than ${MAX_JSON_DEPTH} levels`, [{ message: `nesting deeper than ${MAX_JSON_DEPTH} levels` }]);
  }
  refuseLoneSurrogates(body);
  await next();
};

/**
 * For a body that may be left out entirely (`POST /plans/:id/run` with no inputs): an empty body is `{}`;
 * anything else must be JSON that fits `schema`. Errors are the same 400s as the json validator's.
 */
export async function optionalJsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const text = await utf8Body(c);
  if (text.trim() === "") return schema.parse({});
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/([a-z0-9.+-]*\+)?json\b/i.test(type)) {
    throw invalid("Content-Type must be application/json", [{ field: "content-type", message: `got '${type || "none"}'` }]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid("Malformed JSON in request body");
  }
  if (jsonDepth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) throw invalid(`JSON body is nested deeper than ${MAX_JSON_DEPTH} levels`);
  refuseLoneSurrogates(value);
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw validationError(parsed.error);
  return parsed.data;
}

/**
 * `?task_id=` with nothing after it: a filter that was meant but not filled in (an unset shell variable,
 * a typo). Read as "no filter" it would answer everything; it is a 400 naming the parameter instead.
 */
function refuseEmptyParams(c: Context) {
  const url = new URL(c.req.url);
  const empty = [...new Set([...url.searchParams].filter(([, v]) => v.trim() === "").map(([k]) => k))];
  if (empty.length === 0) return;
  throw invalid(
    `Invalid request: ${empty.map((k) => `${k}: is empty`).join("; ")} — give a value, or leave the parameter out`,
    empty.map((field) => ({ field, message: "is empty: give a value, or leave the parameter out", code: "empty" })),
  );
}

/** Declares a route: registers it for the OpenAPI document and returns its validators. */
export function route<const P extends string, B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined>(
  spec: RouteSpec<B, Q, P>,
) {
  registry.push(spec);
  const query = zValidator("query", (spec.query ?? z.object({})) as Exclude<Q, undefined>, hook);
  return {
    spec,
    json: [requireJson, limitJsonDepth, zValidator("json", (spec.body ?? z.unknown()) as Exclude<B, undefined>, hook)] as const,
    query: (async (c, next) => {
      refuseEmptyParams(c);
      return query(c, next);
    }) as typeof query,
  };
}

const toSchema = (schema: z.ZodType, io: "input" | "output") =>
  z.toJSONSchema(schema, { target: "draft-2020-12", io, unrepresentable: "any" }) as Record<string, unknown>;

/** Builds the OpenAPI 3.1 document from every registered route. */
export function openApiDocument(info: { version: string; serverUrl?: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of registry) {
    const path = `/api/v1${r.path}`.replace(/:([A-Za-z_]+)/g, "{$1}");
    const params = [...r.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string" },
    }));
    if (r.query) {
      const q = toSchema(r.query, "input") as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(q.properties ?? {})) {
        params.push({ name, in: "query", required: q.required?.includes(name) ?? false, schema: schema as any });
      }
    }
    const responses: Record<string, unknown> = {};
    for (const [status, res] of Object.entries(r.responses)) {
      if (typeof res === "string") {
        responses[status] = { description: res };
        continue;
      }
      const schema = strip(toSchema(res, "output"));
      responses[status] = { description: r.summary, content: { "application/json": { schema, example: exampleOf(schema) } } };
    }
    for (const status of errorStatuses(r)) responses[status] = { $ref: `#/components/responses/E${status}` };
    responses.default = { description: "Error", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" }, example: { error: { code: "internal", message: "Internal error (request id 5f0c…)", details: [] } } } } };
    (paths[path] ??= {})[r.method] = {
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: r.tags,
      ...(r.access === "public" ? { security: [] } : { "x-agentvine-access": r.access }),
      operationId: `${r.method}${r.path.replace(/[/:{}-]+(\w)?/g, (_, ch: string | undefined) => (ch ?? "").toUpperCase())}`,
      ...(params.length ? { parameters: params } : {}),
      ...(r.body ? { requestBody: requestBody(r) } : {}),
      responses,
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "AgentVine API",
      version: info.version,
      license: { name: "Apache-2.0", identifier: "Apache-2.0" },
      description: "Control plane for automated work and AI coding agents. Errors are always {error: {code, message, details}}.",
    },
    ...(info.serverUrl ? { servers: [{ url: info.serverUrl }] } : {}),
    paths,
    security: [{ bearer: [] }, { session: [] }],
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "An access token from POST /auth/login or /auth/refresh, or an API key (avk_…). x-agentvine-access names the least role (or the worker scope) an operation needs.",
        },
        session: { type: "apiKey", in: "cookie", name: "agentvine_session", description: "The browser session set by the sign-in page." },
      },
      responses: Object.fromEntries(
        Object.entries(ERRORS).map(([status, e]) => [
          `E${status}`,
          {
            description: e.description,
            content: { "application/json": { schema: { $ref: "#/components/schemas/Error" }, example: { error: { code: e.code, message: e.message, details: e.details ?? [] } } } },
          },
        ]),
      ),
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: {
              type: "object",
              required: ["code", "message", "details"],
              properties: {
                code: {
                  type: "string",
                  enum: ["validation_failed", "unauthorized", "forbidden", "not_found", "conflict", "payload_too_large", "rate_limited", "insufficient_storage", "internal"],
                },
                message: { type: "string" },
                details: { type: "array", items: { type: "object" } },
              },
            },
          },
        },
      },
    },
  };
}

function requestBody(r: RouteSpec<any, any, string>) {
  const schema = strip(toSchema(r.body!, "input"));
  return { required: true, content: { "application/json": { schema, example: r.example ?? exampleOf(schema) } } };
}

/** Inline schemas carry their own $schema key, which OpenAPI does not want inside an operation. */
function strip(schema: Record<string, unknown>) {
  const { $schema: _ignored, ...rest } = schema;
  return rest;
}
