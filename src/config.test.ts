// loadServeConfig: defaults, flags over AGENTVINE_* environment, and errors that name the flag and its env twin.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { ConfigError, loadServeConfig } from "./config.ts";

function configError(argv: string[], env: Record<string, string> = {}): ConfigError {
  try {
    loadServeConfig(argv, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify({ argv, env })}`);
}

// The config only checks that the files are there and readable; the TLS handshake itself is tested in server-tls.test.ts.
const dir = mkdtempSync(join(tmpdir(), "agentvine-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tls = { cert: join(dir, "cert.pem"), key: join(dir, "key.pem") };
writeFileSync(tls.cert, "-----BEGIN CERTIFICATE-----\n");
writeFileSync(tls.key, "-----BEGIN PRIVATE KEY-----\n");

describe("loadServeConfig", () => {
  test("with no flags and no environment: the documented defaults", () => {
    expect(loadServeConfig([], {})).toEqual({
      port: 8080,
      host: "127.0.0.1",
      dataDir: resolve("./data"),
      dbPath: resolve("./data/agentvine.db"),
      workers: Math.max(1, availableParallelism()),
      logLevel: "info",
      shutdownGraceSeconds: 30,
      maxBodyBytes: 1024 * 1024,
      attachmentMaxBytes: 10 * 1024 * 1024,
      defaultTimeoutSeconds: 3600,
      defaultMaxRetries: 0,
      dbSynchronous: "NORMAL",
      capabilities: [],
      shellRole: "admin",
      openRegistration: false,
      accessTokenTtlSeconds: 900,
      rateLimit: 3000,
      authRateLimit: 20,
      trustProxy: false,
      corsOrigins: [],
      llmMaxTokens: 1024,
      llmPriceInput: 0,
      llmPriceOutput: 0,
      llmTimeoutSeconds: 120,
      budgetTaskUsd: 0,
      budgetTaskTokens: 0,
      budgetRunUsd: 0,
      budgetRunTokens: 0,
      budgetDailyUsd: 0,
      budgetDailyTokens: 0,
      agentWorkspaceTtlHours: 24,
      agentFailedWorkspaceTtlHours: 168,
    });
  });

  test("every flag has an AGENTVINE_* twin", () => {
    const config = loadServeConfig([], {
      AGENTVINE_PORT: "9000",
      AGENTVINE_HOST: "0.0.0.0",
      AGENTVINE_DATA_DIR: "/srv/agentvine",
      AGENTVINE_WORKERS: "0",
      AGENTVINE_LOG_LEVEL: "debug",
      AGENTVINE_SHUTDOWN_GRACE: "5",
      AGENTVINE_MAX_BODY_BYTES: "2048",
      AGENTVINE_DEFAULT_TIMEOUT: "60",
      AGENTVINE_DEFAULT_MAX_RETRIES: "3",
      AGENTVINE_DB_SYNCHRONOUS: "FULL",
      AGENTVINE_CAPABILITIES: "gpu, linux",
      AGENTVINE_OPEN_REGISTRATION: "true",
      AGENTVINE_SHELL_ROLE: "operator",
      AGENTVINE_ACCESS_TOKEN_TTL: "300",
      AGENTVINE_RATE_LIMIT: "0",
      AGENTVINE_AUTH_RATE_LIMIT: "5",
      AGENTVINE_TRUST_PROXY: "yes",
      AGENTVINE_CORS_ORIGINS: "https://a.example, http://localhost:3000",
      AGENTVINE_TLS_CERT: tls.cert,
      AGENTVINE_TLS_KEY: tls.key,
      AGENTVINE_JWT_SECRET: "j".repeat(40),
      AGENTVINE_SECRETS_KEY: "ab".repeat(32),
      AGENTVINE_LLM_PROVIDER: "openai-compatible",
      AGENTVINE_LLM_BASE_URL: "http://127.0.0.1:11434/v1",
      AGENTVINE_LLM_MODEL: "llama3",
      AGENTVINE_LLM_MAX_TOKENS: "512",
      AGENTVINE_LLM_TEMPERATURE: "0.2",
      AGENTVINE_LLM_PRICE_INPUT: "3",
      AGENTVINE_LLM_PRICE_OUTPUT: "15",
      AGENTVINE_LLM_TIMEOUT: "60",
      AGENTVINE_LLM_API_KEY: "sk-local",
      AGENTVINE_BUDGET_TASK_USD: "0.5",
      AGENTVINE_BUDGET_TASK_TOKENS: "100000",
      AGENTVINE_BUDGET_RUN_USD: "2",
      AGENTVINE_BUDGET_RUN_TOKENS: "400000",
      AGENTVINE_BUDGET_DAILY_USD: "10",
      AGENTVINE_BUDGET_DAILY_TOKENS: "2000000",
      AGENTVINE_PUBLIC_URL: "https://vine.example.com",
      AGENTVINE_WEBHOOK_URL: "https://chat.example.com/hooks/agentvine",
      AGENTVINE_WEBHOOK_SECRET: "whsec",
      AGENTVINE_AGENT_WORKSPACE_TTL: "2",
      AGENTVINE_AGENT_FAILED_WORKSPACE_TTL: "48",
    });
    expect(config).toEqual({
      port: 9000,
      host: "0.0.0.0",
      dataDir: "/srv/agentvine",
      dbPath: "/srv/agentvine/agentvine.db",
      workers: 0,
      logLevel: "debug",
      shutdownGraceSeconds: 5,
      maxBodyBytes: 2048,
      attachmentMaxBytes: 10 * 1024 * 1024,
      defaultTimeoutSeconds: 60,
      defaultMaxRetries: 3,
      dbSynchronous: "FULL",
      capabilities: ["gpu", "linux"],
      shellRole: "operator",
      openRegistration: true,
      accessTokenTtlSeconds: 300,
      rateLimit: 0,
      authRateLimit: 5,
      trustProxy: true,
      corsOrigins: ["https://a.example", "http://localhost:3000"],
      tlsCert: tls.cert,
      tlsKey: tls.key,
      jwtSecret: "j".repeat(40),
      secretsKey: "ab".repeat(32),
      llmProvider: "openai-compatible",
      llmBaseUrl: "http://127.0.0.1:11434/v1",
      llmModel: "llama3",
      llmMaxTokens: 512,
      llmTemperature: 0.2,
      llmPriceInput: 3,
      llmPriceOutput: 15,
      llmTimeoutSeconds: 60,
      llmApiKey: "sk-local",
      budgetTaskUsd: 0.5,
      budgetTaskTokens: 100000,
      budgetRunUsd: 2,
      budgetRunTokens: 400000,
      budgetDailyUsd: 10,
      budgetDailyTokens: 2000000,
      publicUrl: "https://vine.example.com",
      webhookUrl: "https://chat.example.com/hooks/agentvine",
      webhookSecret: "whsec",
      agentWorkspaceTtlHours: 2,
      agentFailedWorkspaceTtlHours: 48,
    });
  });

  test("the JWT secret and the secrets key come from the environment only, and a bad one is named without echoing it", () => {
    expect(configError(["--jwt-secret", "x".repeat(40)]).message).toContain("--jwt-secret");
    const short = configError([], { AGENTVINE_JWT_SECRET: "hunter2-but-longer", AGENTVINE_SECRETS_KEY: "not-a-key" });
    expect(short.message).toContain("invalid AGENTVINE_JWT_SECRET: must be at least 32 characters");
    expect(short.message).toContain("invalid AGENTVINE_SECRETS_KEY: must be 32 bytes");
    expect(short.message).not.toContain("hunter2");
    expect(short.message).not.toContain("not-a-key");
    expect(configError([], { AGENTVINE_OPEN_REGISTRATION: "maybe" }).message).toContain("--open-registration (AGENTVINE_OPEN_REGISTRATION)");
  });

  test("a flag beats its environment twin, in both --flag value and --flag=value forms", () => {
    const env = { AGENTVINE_PORT: "7000", AGENTVINE_WORKERS: "8", AGENTVINE_DATA_DIR: "/from/env" };
    const config = loadServeConfig(["--port", "9001", "--workers=2"], env);
    expect(config.port).toBe(9001);
    expect(config.workers).toBe(2);
    expect(config.dataDir).toBe("/from/env"); // no flag: the environment applies
  });

  test("an empty or blank environment variable counts as unset", () => {
    const config = loadServeConfig([], { AGENTVINE_PORT: "", AGENTVINE_WORKERS: "  " });
    expect(config.port).toBe(8080);
    expect(config.workers).toBe(Math.max(1, availableParallelism()));
  });

  test("--port abc names the flag, its env var and the value", () => {
    const err = configError(["--port", "abc"]);
    expect(err.message).toContain("--port (AGENTVINE_PORT)");
    expect(err.message).toContain('"abc"');
  });

  test("AGENTVINE_WORKERS=-1 names the flag, its env var and the value", () => {
    const err = configError([], { AGENTVINE_WORKERS: "-1" });
    expect(err.message).toContain("--workers (AGENTVINE_WORKERS)");
    expect(err.message).toContain('"-1"');
  });

  test("several bad values are all reported", () => {
    const err = configError(["--db-synchronous", "OFF"], { AGENTVINE_PORT: "70000", AGENTVINE_CAPABILITIES: "GPU" });
    expect(err.message).toContain("--port (AGENTVINE_PORT)");
    expect(err.message).toContain("--db-synchronous (AGENTVINE_DB_SYNCHRONOUS)");
    expect(err.message).toContain("--capabilities (AGENTVINE_CAPABILITIES)");
  });

  test("an unknown flag, a flag without its value, or a positional argument is a ConfigError naming it", () => {
    expect(configError(["--prot", "8080"]).message).toContain("--prot");
    expect(configError(["--port"]).message).toContain("--port");
    expect(configError(["8080"]).message).toContain("8080");
  });

  test("--cors-origins takes a comma-separated list of origins; anything else is named with the entry", () => {
    expect(loadServeConfig(["--cors-origins", " https://a.example ,https://b.example:8443,"], {}).corsOrigins).toEqual([
      "https://a.example",
      "https://b.example:8443",
    ]);
    for (const bad of ["*", "https://a.example/", "https://a.example/app", "a.example", "ftp://a.example", "null"]) {
      const err = configError(["--cors-origins", `https://ok.example,${bad}`]);
      expect(err.message).toContain("--cors-origins (AGENTVINE_CORS_ORIGINS)");
      expect(err.message).toContain("each entry is an origin");
      expect(err.message).toContain(bad);
    }
  });

  test("--tls-cert and --tls-key: both resolve to absolute paths; relative ones resolve against the working directory", () => {
    const config = loadServeConfig(["--tls-cert", relative(process.cwd(), tls.cert), "--tls-key", tls.key], {});
    expect(config.tlsCert).toBe(tls.cert);
    expect(config.tlsKey).toBe(tls.key);
  });

  test("one of --tls-cert / --tls-key without the other names the missing one", () => {
    const noKey = configError(["--tls-cert", tls.cert]);
    expect(noKey.message).toContain("missing --tls-key (AGENTVINE_TLS_KEY)");
    const noCert = configError([], { AGENTVINE_TLS_KEY: tls.key });
    expect(noCert.message).toContain("missing --tls-cert (AGENTVINE_TLS_CERT)");
  });

  test("a TLS file that does not exist, or is a directory, is named with its path", () => {
    const missing = join(dir, "nope.pem");
    const err = configError(["--tls-cert", missing, "--tls-key", tls.key]);
    expect(err.message).toContain("--tls-cert (AGENTVINE_TLS_CERT)");
    expect(err.message).toContain(`${missing} does not exist`);
    const folder = join(dir, "folder");
    mkdirSync(folder, { recursive: true });
    expect(configError(["--tls-cert", tls.cert, "--tls-key", folder]).message).toContain(`${folder} is not a file`);
  });
});
