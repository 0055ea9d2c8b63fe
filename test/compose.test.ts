// compose.yaml and .env.example are kept true to the binary: every flag a service passes and every
// AGENTVINE_* variable it sets is one the binary reads (the server's are parsed by its own config loader),
// and .env.example names every variable the server and the worker read — and nothing else.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { WORKER_ENV_NAMES, WORKER_OPTIONS } from "../src/cli/worker.ts";
import { loadServeConfig, SERVE_ENV_NAMES } from "../src/config.ts";

const root = join(import.meta.dir, "..");
type Service = { command: string[]; environment?: Record<string, string>; image?: string; build?: string };
const compose = Bun.YAML.parse(readFileSync(join(root, "compose.yaml"), "utf8")) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const OTHER_ENV = ["AGENTVINE_URL"]; // agentvine healthcheck

/** `${VAR:-default}` and `${VAR:?message}` as compose would fill them with nothing set. */
const interpolate = (v: string) => v.replace(/\$\{[A-Z_]+(?::-([^}]*)|:\?[^}]*)?\}/g, (_, dflt: string | undefined) => dflt ?? "x");

test("the server's command and environment are what `agentvine serve` accepts", () => {
  const server = compose.services.server!;
  expect(server.command[0]).toBe("serve");
  const env = Object.fromEntries(Object.entries(server.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]));
  for (const name of Object.keys(env)) expect(SERVE_ENV_NAMES).toContain(name);
  const config = loadServeConfig(server.command.slice(1), env);
  expect(config).toMatchObject({ workers: 0, host: "0.0.0.0", port: 8080, dataDir: "/data", publicUrl: "http://localhost:8080" });
  // A flag the binary does not know would have thrown above; the check can fail:
  expect(() => loadServeConfig(["--no-such-flag", "1"], {})).toThrow();
});

test("each worker's command and environment are what `agentvine worker` accepts", () => {
  const workers = Object.entries(compose.services).filter(([name]) => name !== "server");
  expect(workers.length).toBeGreaterThanOrEqual(2);
  for (const [, w] of workers) {
    expect(w.command[0]).toBe("worker");
    const { values } = parseArgs({ args: w.command.slice(1), options: WORKER_OPTIONS, strict: true, allowPositionals: false });
    expect(values.name).toBeTruthy();
    for (const name of Object.keys(w.environment ?? {})) expect(WORKER_ENV_NAMES).toContain(name);
    expect(interpolate(w.environment!.AGENTVINE_SERVER!)).toBe("http://server:8080");
    expect(w.environment!.AGENTVINE_TOKEN).toContain("AGENTVINE_TOKEN");
  }
  expect(() => parseArgs({ args: ["--colour", "red"], options: WORKER_OPTIONS, strict: true })).toThrow();
});

test(".env.example names every variable the server and the worker read, and no other", () => {
  const text = readFileSync(join(root, ".env.example"), "utf8");
  const named = new Set([...text.matchAll(/^#?\s*(AGENTVINE_[A-Z_]+)=/gm)].map((m) => m[1]!));
  const known = new Set([...SERVE_ENV_NAMES, ...WORKER_ENV_NAMES, ...OTHER_ENV]);
  expect([...known].filter((k) => !named.has(k))).toEqual([]);
  expect([...named].filter((k) => !known.has(k))).toEqual([]);
});
