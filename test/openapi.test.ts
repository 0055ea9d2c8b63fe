// The OpenAPI document: a valid OpenAPI 3.1 document, covering every mounted /api/v1 route, whose
// schemas describe what the server really answers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Validator } from "@seriousme/openapi-schema-validator";
// ajv (with ajv-formats) is what the validator above checks documents with; here it checks real answers against the document's schemas.
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { createApp } from "../src/app.ts";
import { cleanup, json, startTestServer } from "./helpers.ts";

type Server = Awaited<ReturnType<typeof startTestServer>>;
type Operation = {
  requestBody?: { content: Record<string, { schema: object }> };
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
};
type Doc = { openapi: string; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, object> } };

/** The documented example: DESIGN.md's hello world task. */
const HELLO_WORLD = { title: "hi", task_type: "hello", params: { name: "world" } };

let server: Server;
let doc: Doc;
/** The document with every $ref resolved in place, as the validator sees it. */
let resolved: Doc;

beforeAll(async () => {
  server = await startTestServer();
  const res = await server.api("/openapi.json");
  expect(res.status).toBe(200);
  doc = (await res.json()) as Doc;
  const validator = new Validator();
  await validator.validate(structuredClone(doc) as unknown as Record<string, unknown>);
  resolved = validator.resolveRefs() as unknown as Doc;
});
afterAll(cleanup);

const METHODS = ["get", "post", "put", "patch", "delete"];

function jsonSchemaOf(path: string, method: string, status: string) {
  const schema = resolved.paths[path]?.[method]?.responses[status]?.content?.["application/json"]?.schema;
  if (!schema) throw new Error(`no JSON schema documented for ${method.toUpperCase()} ${path} ${status}`);
  return schema;
}

/** Compiles a (resolved) schema of the document into a strict validator. */
function validatorFor(schema: object) {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  return ajv.compile(schema);
}

function expectValid(schema: object, value: unknown) {
  const validate = validatorFor(schema);
  const ok = validate(value);
  expect(validate.errors ?? []).toEqual([]);
  expect(ok).toBe(true);
}

describe("GET /api/v1/openapi.json", () => {
  test("is a valid OpenAPI 3.1 document", async () => {
    const validator = new Validator();
    const result = await validator.validate(doc as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    expect(doc.openapi).toStartWith("3.1.");

    // The same validator refuses a broken copy, so the check above means something.
    const { info: _info, ...broken } = doc as unknown as Record<string, unknown>;
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  test("documents every route mounted under /api/v1, and nothing that is not mounted", () => {
    const mounted = new Set(
      createApp(server.services)
        .routes.filter((r) => r.path.startsWith("/api/v1/") && METHODS.includes(r.method.toLowerCase()))
        .map((r) => `${r.method.toUpperCase()} ${r.path.replace(/:([A-Za-z_]+)/g, "{$1}")}`),
    );
    expect(mounted.size).toBeGreaterThan(10);
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).filter((m) => METHODS.includes(m)).map((m) => `${m.toUpperCase()} ${path}`)),
    );
    expect([...mounted].filter((r) => !documented.has(r))).toEqual([]); // mounted but undocumented
    expect([...documented].filter((r) => !mounted.has(r))).toEqual([]); // documented but not served
  });

  test("every documented operation has an operationId of its own", () => {
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((op) => (op as { operationId?: string }).operationId));
    expect(ids.every((id) => typeof id === "string" && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test("the documented example validates as a request and the task it creates as TaskOut", async () => {
    const requestSchema = resolved.paths["/api/v1/tasks"]?.post?.requestBody?.content["application/json"]?.schema;
    expect(requestSchema).toBeDefined();
    expectValid(requestSchema!, HELLO_WORLD);

    const res = await server.api("/tasks", json(HELLO_WORLD));
    expect(res.status).toBe(201);
    const created = await res.json();
    expectValid(jsonSchemaOf("/api/v1/tasks", "post", "201"), created);

    // The finished task (result, times filled in) still fits, as do the list and get answers.
    const done = await (await server.api(`/tasks/${(created as { id: string }).id}/wait?timeout=20`)).json();
    expect((done as { status: string }).status).toBe("succeeded");
    expectValid(jsonSchemaOf("/api/v1/tasks/{id}/wait", "get", "200"), done);
    expectValid(jsonSchemaOf("/api/v1/tasks/{id}", "get", "200"), await (await server.api(`/tasks/${(created as { id: string }).id}`)).json());
    expectValid(jsonSchemaOf("/api/v1/tasks", "get", "200"), await (await server.api("/tasks")).json());

    const executions = (await (await server.api("/executions")).json()) as { items: Array<{ id: string }> };
    expectValid(jsonSchemaOf("/api/v1/executions", "get", "200"), executions);
    expectValid(jsonSchemaOf("/api/v1/executions/{id}/logs", "get", "200"), await (await server.api(`/executions/${executions.items[0]!.id}/logs`)).json());
  });

  test("a schema that does not fit is caught (the check above can fail)", () => {
    expect(validatorFor(jsonSchemaOf("/api/v1/tasks", "post", "201"))({ ...HELLO_WORLD, id: 5 })).toBe(false);
  });

  test("error answers fit the documented Error schema", async () => {
    const res = await server.api("/tasks", json({ title: 5 }));
    expect(res.status).toBe(400);
    expectValid(resolved.paths["/api/v1/tasks"]!.post!.responses.default!.content!["application/json"]!.schema, await res.json());
  });
});
