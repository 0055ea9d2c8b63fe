// The OpenAPI document passes Redocly's linter (@redocly/cli, its `recommended` rules) with no warning,
// every operation lists its error answers in the error shape, and every operation has an example.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, startTestServer, tempDir, type TestServer } from "./helpers.ts";

type Op = { responses: Record<string, { $ref?: string; content?: Record<string, { example?: unknown }> }>; requestBody?: { content: Record<string, { example?: unknown }> } };
let server: TestServer;
let doc: { paths: Record<string, Record<string, Op>> };
let file: string;

beforeAll(async () => {
  server = await startTestServer({ workers: 0, opsIntervalMs: 0 });
  const text = await (await server.request("/api/v1/openapi.json")).text();
  doc = JSON.parse(text);
  file = join(tempDir(), "openapi.json");
  writeFileSync(file, text);
});
afterAll(cleanup);

test("redocly lint --extends recommended: valid, no warning", async () => {
  const cli = join(import.meta.dir, "../node_modules/@redocly/cli/bin/cli.js");
  const proc = Bun.spawn(["node", cli, "lint", "--extends", "recommended", "--format", "stylish", file], { stdout: "pipe", stderr: "pipe", env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", NO_COLOR: "1" } });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const report = `${out}\n${err}`;
  expect(report).toContain("Your API description is valid");
  expect(report).not.toMatch(/\d+ warnings?\b/);
  expect(code).toBe(0);
}, 60_000);

test("every operation documents a 4xx in the error shape and has an example", () => {
  const missing: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const errors = Object.entries(op.responses).filter(([s]) => s.startsWith("4"));
      if (errors.length === 0 || !errors.every(([, r]) => r.$ref?.startsWith("#/components/responses/E"))) missing.push(`${method} ${path}: 4xx`);
      const examples = [...Object.values(op.responses).flatMap((r) => Object.values(r.content ?? {})), ...Object.values(op.requestBody?.content ?? {})].filter((m) => m.example !== undefined);
      const hasJson = Object.values(op.responses).some((r) => r.content) || op.requestBody;
      if (hasJson && examples.length === 0) missing.push(`${method} ${path}: example`);
    }
  }
  expect(missing).toEqual([]);
});
