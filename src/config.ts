// Flags + AGENTVINE_* environment → one typed, validated Config; a bad value names itself and exits.
import { accessSync, constants, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { flagProblem } from "./cli/flags.ts";
import { parseSecretsKey } from "./data-dir/key-files.ts";
import { LOG_FORMATS } from "./log.ts";

const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const TRUE = ["true", "1", "yes", "on"];
const bool = z
  .string()
  .transform((s) => s.trim().toLowerCase())
  .pipe(z.enum([...TRUE, "false", "0", "no", "off"], "expected true or false"))
  .transform((s) => TRUE.includes(s));

/** A path to a file this process can read, made absolute (so the message names the file that was looked for). */
const readableFile = z
  .string()
  .transform((s) => resolve(s))
  .superRefine((path, ctx) => {
    try {
      if (!statSync(path).isFile()) return void ctx.addIssue({ code: "custom", message: `${path} is not a file` });
      accessSync(path, constants.R_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      ctx.addIssue({ code: "custom", message: code === "ENOENT" ? `${path} does not exist` : `${path} cannot be read (${code})` });
    }
  });

/** A comma-separated list of absolute paths (blank = none). */
const absolutePaths = z
  .string()
  .default("")
  .transform((s) => s.split(",").map((p) => p.trim()).filter(Boolean))
  .pipe(z.array(z.string().refine((p) => p.startsWith("/"), "each entry is an absolute path (starting with /)")));

/** A browser origin as it appears in the Origin header: scheme, host, optional port — nothing else. */
const origin = z.string().refine((s) => {
  try {
    const url = new URL(s);
    return (url.protocol === "https:" || url.protocol === "http:") && url.origin === s;
  } catch {
    return false;
  }
}, "each entry is an origin such as https://app.example.com (scheme, host and optional port; no path, no trailing slash, no *)");

export const ServeConfigSchema = z.object({
  port: int(0, 65535).default(8080),
  host: z.string().min(1).default("127.0.0.1"),
  dataDir: z.string().min(1).default("./data"),
  workers: int(0, 256).default(Math.max(1, availableParallelism())),
  logLevel: z.enum(LOG_LEVELS).default("info"),
  /** `auto`: readable lines on a terminal, JSON (one object a line) otherwise. */
  logFormat: z.enum(LOG_FORMATS).default("auto"),
  /** How long SIGTERM waits for running tasks before putting them back in the queue. */
  shutdownGraceSeconds: int(0, 3600).default(30),
  maxBodyBytes: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
  /** The largest chat attachment (each file), in bytes. */
  attachmentMaxBytes: int(1024, 1024 * 1024 * 1024).default(10 * 1024 * 1024),
  defaultTimeoutSeconds: int(1, 7 * 24 * 3600).default(3600),
  defaultMaxRetries: int(0, 100).default(0),
  /** `FULL` fsyncs every commit (power-loss safe); `NORMAL` is crash safe and much faster. */
  dbSynchronous: z.enum(["NORMAL", "FULL"]).default("NORMAL"),
  /** Capability labels of the local threads (comma separated): tasks that require others wait for a worker that has them. */
  capabilities: z
    .string()
    .default("")
    .transform((s) => s.split(",").map((c) => c.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[a-z0-9][a-z0-9._:-]{0,62}$/, "capability labels are lowercase letters, digits, . _ : -"))),
  /** The least role that may run commands on the server's host (`shell` tasks): they can read its data dir and keys. */
  shellRole: z.enum(["operator", "admin"]).default("admin"),
  /** Where task commands run: `auto` = bubblewrap when it works here, else none (with a warning); `bwrap` = refuse to start without it. */
  sandbox: z.enum(["auto", "bwrap", "none"]).default("auto"),
  /** Extra host directories task commands may write to (comma separated, absolute): a shared cache, say. */
  sandboxWritable: absolutePaths,
  /** Extra host paths task commands must not see (comma separated, absolute): a home with cloud keys, say. */
  sandboxHide: absolutePaths,
  /** Internal destinations `http` tasks may reach (host names, *.example.com, IPs, CIDRs; comma separated): loopback, private and link-local addresses are refused otherwise. */
  httpAllow: z
    .string()
    .default("")
    .transform((s) => s.split(",").map((h) => h.trim()).filter(Boolean)),
  /** Event streams (SSE) open at once per account; per client address twice as many. */
  maxStreams: int(1, 100_000).default(32),
  /** How long a failed execution's workspace is kept for inspection (a successful one's goes at once). */
  workspaceRetentionSeconds: int(0, 10 * 365 * 24 * 3600).default(7 * 24 * 3600),
  /** One execution's log cap: beyond it lines are counted and dropped, and a last line says how many. */
  logMaxLines: int(100, 100_000_000).default(200_000),
  logMaxBytes: int(64 * 1024, 64 * 1024 * 1024 * 1024).default(64 * 1024 * 1024),
  /** Whether shell tasks that do not say (`network`) reach the network; off, they see only their own loopback. */
  shellNetwork: bool.default(false),
  /** After the first (admin) account, anyone may register — as a viewer. */
  openRegistration: bool.default(false),
  /** Lifetime of a Bearer access token. */
  accessTokenTtlSeconds: int(60, 24 * 3600).default(900),
  /** Requests a minute per client address and per account on the API (a burst of that many); 0 = off. */
  rateLimit: int(0, 10_000_000).default(3000),
  /** Requests a minute per client address on /api/v1/auth/*; 0 = off. */
  authRateLimit: int(0, 100_000).default(20),
  /** Trust X-Forwarded-For / X-Forwarded-Proto from a reverse proxy in front of the server. */
  trustProxy: bool.default(false),
  /** HS256 key of the access tokens; by default a random one kept in <data-dir>/jwt-secret.key. */
  jwtSecret: z.string().min(32, "must be at least 32 characters (e.g. openssl rand -base64 48)").optional(),
  /** AES-256 key of the secrets store; by default a random one kept in <data-dir>/secrets.key. */
  secretsKey: z
    .string()
    .refine((s) => parseSecretsKey(s) !== null, "must be 32 bytes as base64 or 64 hex digits (e.g. openssl rand -base64 32)")
    .optional(),
  /** Browser origins allowed to call /api/v1 cross-origin, with a Bearer token (comma separated); empty = CORS off. */
  corsOrigins: z
    .string()
    .default("")
    .transform((s) => s.split(",").map((o) => o.trim()).filter(Boolean))
    .pipe(z.array(origin)),
  /** The model the controller's automated handler uses (Settings → Models overrides these). */
  llmProvider: z.enum(["anthropic", "openai", "openai-compatible"]).optional(),
  llmBaseUrl: z.url({ protocol: /^https?$/, message: "must be an http(s) URL" }).optional(),
  llmModel: z.string().trim().min(1).max(200).optional(),
  llmMaxTokens: int(1, 1_000_000).default(1024),
  llmTemperature: z.coerce.number().min(0).max(2).optional(),
  /** USD per million tokens; 0 (unset) makes budgets count tokens only. */
  llmPriceInput: z.coerce.number().min(0).max(100_000).default(0),
  llmPriceOutput: z.coerce.number().min(0).max(100_000).default(0),
  llmTimeoutSeconds: int(1, 3600).default(120),
  llmApiKey: z.string().min(1).optional(),
  /** LLM budgets: per task, per plan run, per UTC day, in USD and in tokens; 0 = no limit. */
  budgetTaskUsd: z.coerce.number().min(0).max(1_000_000).default(0),
  budgetTaskTokens: int(0, 2_000_000_000).default(0),
  budgetRunUsd: z.coerce.number().min(0).max(1_000_000).default(0),
  budgetRunTokens: int(0, 2_000_000_000).default(0),
  budgetDailyUsd: z.coerce.number().min(0).max(1_000_000).default(0),
  budgetDailyTokens: int(0, 2_000_000_000).default(0),
  /** The address people reach the server at (links in webhooks and printed commands). */
  publicUrl: z.url({ protocol: /^https?$/, message: "must be an http(s) URL" }).optional(),
  /** POSTed (JSON, HMAC-signed with AGENTVINE_WEBHOOK_SECRET) when a question waits for a human. */
  webhookUrl: z.url({ protocol: /^https?$/, message: "must be an http(s) URL" }).optional(),
  webhookSecret: z.string().min(1).optional(),
  /** External sinks of task log lines: OTLP/HTTP logs (JSON) and Weights & Biases (a run per execution). */
  otlpEndpoint: z.url({ protocol: /^https?$/, message: "must be an http(s) URL, e.g. http://collector:4318/v1/logs" }).optional(),
  otlpHeaders: z.string().optional(),
  otlpServiceName: z.string().trim().min(1).max(200).default("agentvine"),
  wandbProject: z.string().trim().regex(/^[A-Za-z0-9._-]{1,128}$/, "letters, digits, . _ - (at most 128)").optional(),
  wandbEntity: z.string().trim().regex(/^[A-Za-z0-9._-]{1,128}$/, "letters, digits, . _ - (at most 128)").optional(),
  wandbBaseUrl: z.url({ protocol: /^https?$/, message: "must be an http(s) URL" }).default("https://api.wandb.ai"),
  wandbApiKey: z.string().min(1).optional(),
  /** Lines each sink keeps while its backend is slow or down; beyond, lines are dropped and counted. */
  sinkBuffer: int(100, 1_000_000).default(10_000),
  /** Retention, in days (0 keeps forever): execution log lines and files, finished tasks, audit events. */
  retainLogsDays: int(0, 36_500).default(30),
  retainTasksDays: int(0, 36_500).default(90),
  retainAuditDays: int(0, 36_500).default(365),
  /** Minutes between retention passes. */
  retentionInterval: int(1, 7 * 24 * 60).default(60),
  /** Hours a coding agent's worktree is kept after its task succeeded / failed (for inspection). */
  agentWorkspaceTtlHours: z.coerce.number().min(0).max(100_000).default(24),
  agentFailedWorkspaceTtlHours: z.coerce.number().min(0).max(100_000).default(168),
  /** SMTP for email (password resets, verification, notifications); the Email settings page saves over these. */
  smtpHost: z.string().trim().min(1).max(255).optional(),
  smtpPort: int(1, 65535).optional(),
  /** `starttls` (upgrade on 587, required), `tls` (implicit TLS, 465) or `none` (plain: a relay on localhost only). */
  smtpSecure: z.enum(["starttls", "tls", "none"]).optional(),
  smtpUser: z.string().min(1).max(500).optional(),
  smtpFrom: z.string().trim().min(3).max(500).optional(),
  smtpPassword: z.string().min(1).optional(),
  /** PEM certificate (chain) and private key: with both, the server speaks HTTPS itself. */
  tlsCert: readableFile.optional(),
  tlsKey: readableFile.optional(),
});
export type ServeConfig = z.infer<typeof ServeConfigSchema> & { dbPath: string };

/** flag name → [config key, env var]. Every flag has an AGENTVINE_* twin. */
const SERVE_FLAGS = {
  port: ["port", "AGENTVINE_PORT"],
  host: ["host", "AGENTVINE_HOST"],
  "data-dir": ["dataDir", "AGENTVINE_DATA_DIR"],
  workers: ["workers", "AGENTVINE_WORKERS"],
  "log-level": ["logLevel", "AGENTVINE_LOG_LEVEL"],
  "shutdown-grace": ["shutdownGraceSeconds", "AGENTVINE_SHUTDOWN_GRACE"],
  "max-body-bytes": ["maxBodyBytes", "AGENTVINE_MAX_BODY_BYTES"],
  "attachment-max-bytes": ["attachmentMaxBytes", "AGENTVINE_ATTACHMENT_MAX_BYTES"],
  "default-timeout": ["defaultTimeoutSeconds", "AGENTVINE_DEFAULT_TIMEOUT"],
  "default-max-retries": ["defaultMaxRetries", "AGENTVINE_DEFAULT_MAX_RETRIES"],
  "db-synchronous": ["dbSynchronous", "AGENTVINE_DB_SYNCHRONOUS"],
  capabilities: ["capabilities", "AGENTVINE_CAPABILITIES"],
  "shell-role": ["shellRole", "AGENTVINE_SHELL_ROLE"],
  sandbox: ["sandbox", "AGENTVINE_SANDBOX"],
  "sandbox-writable": ["sandboxWritable", "AGENTVINE_SANDBOX_WRITABLE"],
  "sandbox-hide": ["sandboxHide", "AGENTVINE_SANDBOX_HIDE"],
  "shell-network": ["shellNetwork", "AGENTVINE_SHELL_NETWORK"],
  "log-max-lines": ["logMaxLines", "AGENTVINE_LOG_MAX_LINES"],
  "workspace-retention": ["workspaceRetentionSeconds", "AGENTVINE_WORKSPACE_RETENTION"],
  "max-streams": ["maxStreams", "AGENTVINE_MAX_STREAMS"],
  "http-allow": ["httpAllow", "AGENTVINE_HTTP_ALLOW"],
  "log-max-bytes": ["logMaxBytes", "AGENTVINE_LOG_MAX_BYTES"],
  "open-registration": ["openRegistration", "AGENTVINE_OPEN_REGISTRATION"],
  "access-token-ttl": ["accessTokenTtlSeconds", "AGENTVINE_ACCESS_TOKEN_TTL"],
  "rate-limit": ["rateLimit", "AGENTVINE_RATE_LIMIT"],
  "auth-rate-limit": ["authRateLimit", "AGENTVINE_AUTH_RATE_LIMIT"],
  "trust-proxy": ["trustProxy", "AGENTVINE_TRUST_PROXY"],
  "cors-origins": ["corsOrigins", "AGENTVINE_CORS_ORIGINS"],
  "tls-cert": ["tlsCert", "AGENTVINE_TLS_CERT"],
  "tls-key": ["tlsKey", "AGENTVINE_TLS_KEY"],
  "llm-provider": ["llmProvider", "AGENTVINE_LLM_PROVIDER"],
  "llm-base-url": ["llmBaseUrl", "AGENTVINE_LLM_BASE_URL"],
  "llm-model": ["llmModel", "AGENTVINE_LLM_MODEL"],
  "llm-max-tokens": ["llmMaxTokens", "AGENTVINE_LLM_MAX_TOKENS"],
  "llm-temperature": ["llmTemperature", "AGENTVINE_LLM_TEMPERATURE"],
  "llm-price-input": ["llmPriceInput", "AGENTVINE_LLM_PRICE_INPUT"],
  "llm-price-output": ["llmPriceOutput", "AGENTVINE_LLM_PRICE_OUTPUT"],
  "llm-timeout": ["llmTimeoutSeconds", "AGENTVINE_LLM_TIMEOUT"],
  "budget-task-usd": ["budgetTaskUsd", "AGENTVINE_BUDGET_TASK_USD"],
  "budget-task-tokens": ["budgetTaskTokens", "AGENTVINE_BUDGET_TASK_TOKENS"],
  "budget-run-usd": ["budgetRunUsd", "AGENTVINE_BUDGET_RUN_USD"],
  "budget-run-tokens": ["budgetRunTokens", "AGENTVINE_BUDGET_RUN_TOKENS"],
  "budget-daily-usd": ["budgetDailyUsd", "AGENTVINE_BUDGET_DAILY_USD"],
  "budget-daily-tokens": ["budgetDailyTokens", "AGENTVINE_BUDGET_DAILY_TOKENS"],
  "public-url": ["publicUrl", "AGENTVINE_PUBLIC_URL"],
  "webhook-url": ["webhookUrl", "AGENTVINE_WEBHOOK_URL"],
  "log-format": ["logFormat", "AGENTVINE_LOG_FORMAT"],
  "otlp-endpoint": ["otlpEndpoint", "AGENTVINE_OTLP_ENDPOINT"],
  "otlp-service-name": ["otlpServiceName", "AGENTVINE_OTLP_SERVICE_NAME"],
  "wandb-project": ["wandbProject", "AGENTVINE_WANDB_PROJECT"],
  "wandb-entity": ["wandbEntity", "AGENTVINE_WANDB_ENTITY"],
  "wandb-base-url": ["wandbBaseUrl", "AGENTVINE_WANDB_BASE_URL"],
  "sink-buffer": ["sinkBuffer", "AGENTVINE_SINK_BUFFER"],
  "retain-logs-days": ["retainLogsDays", "AGENTVINE_RETAIN_LOGS_DAYS"],
  "retain-tasks-days": ["retainTasksDays", "AGENTVINE_RETAIN_TASKS_DAYS"],
  "retain-audit-days": ["retainAuditDays", "AGENTVINE_RETAIN_AUDIT_DAYS"],
  "retention-interval": ["retentionInterval", "AGENTVINE_RETENTION_INTERVAL"],
  "agent-workspace-ttl": ["agentWorkspaceTtlHours", "AGENTVINE_AGENT_WORKSPACE_TTL"],
  "agent-failed-workspace-ttl": ["agentFailedWorkspaceTtlHours", "AGENTVINE_AGENT_FAILED_WORKSPACE_TTL"],
  "smtp-host": ["smtpHost", "AGENTVINE_SMTP_HOST"],
  "smtp-port": ["smtpPort", "AGENTVINE_SMTP_PORT"],
  "smtp-secure": ["smtpSecure", "AGENTVINE_SMTP_SECURE"],
  "smtp-user": ["smtpUser", "AGENTVINE_SMTP_USER"],
  "smtp-from": ["smtpFrom", "AGENTVINE_SMTP_FROM"],
} as const;

/** Keys read from the environment only: a flag's value would show in `ps` to every user of the machine. */
const ENV_ONLY = {
  jwtSecret: "AGENTVINE_JWT_SECRET",
  secretsKey: "AGENTVINE_SECRETS_KEY",
  llmApiKey: "AGENTVINE_LLM_API_KEY",
  webhookSecret: "AGENTVINE_WEBHOOK_SECRET",
  otlpHeaders: "AGENTVINE_OTLP_HEADERS",
  wandbApiKey: "AGENTVINE_WANDB_API_KEY",
  smtpPassword: "AGENTVINE_SMTP_PASSWORD",
} as const;

/** Every `serve` flag (without `--`) and every AGENTVINE_* variable `serve` reads: what .env.example and compose.yaml are checked against. */
export const SERVE_FLAG_NAMES: readonly string[] = Object.keys(SERVE_FLAGS);
export const SERVE_ENV_NAMES: readonly string[] = [...Object.values(SERVE_FLAGS).map(([, env]) => env), ...Object.values(ENV_ONLY)];

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Record<string, string | undefined>;

/** Parses `--flag value` / `--flag=value` and the env twins; flags win over env. */
export function loadServeConfig(argv: string[], env: Env = process.env): ServeConfig {
  const options = Object.fromEntries(Object.keys(SERVE_FLAGS).map((k) => [k, { type: "string" as const }]));
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new ConfigError(flagProblem(err));
  }
  const raw: Record<string, unknown> = {};
  for (const [flag, [key, envName]] of Object.entries(SERVE_FLAGS)) {
    // Blank counts as unset: z.coerce.number() would read "  " as 0 (e.g. zero workers, silently).
    const value = (values[flag] ?? env[envName])?.toString().trim();
    if (value !== undefined && value !== "") raw[key] = value;
  }
  for (const [key, envName] of Object.entries(ENV_ONLY)) {
    const value = env[envName]?.trim();
    if (value) raw[key] = value;
  }
  const parsed = ServeConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const flagOf = (key: string) => Object.entries(SERVE_FLAGS).find(([, [k]]) => k === key);
    const lines = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0]);
      const envOnly = ENV_ONLY[key as keyof typeof ENV_ONLY];
      if (envOnly) return `invalid ${envOnly}: ${issue.message}`; // never echo a secret
      const entry = flagOf(key);
      const name = entry ? `--${entry[0]} (${entry[1][1]})` : key;
      return `invalid ${name}: ${issue.message} (got ${JSON.stringify(raw[key])})`;
    });
    throw new ConfigError(lines.join("\n"));
  }
  const { tlsCert, tlsKey } = parsed.data;
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    const [given, missing] = tlsCert === undefined ? ["--tls-key", "--tls-cert (AGENTVINE_TLS_CERT)"] : ["--tls-cert", "--tls-key (AGENTVINE_TLS_KEY)"];
    throw new ConfigError(`missing ${missing}: ${given} needs it — give both the certificate and its key, or neither`);
  }
  if ((parsed.data.wandbProject === undefined) !== (parsed.data.wandbApiKey === undefined)) {
    throw new ConfigError(
      parsed.data.wandbProject === undefined
        ? "AGENTVINE_WANDB_API_KEY is set but --wandb-project (AGENTVINE_WANDB_PROJECT) is not: the Weights & Biases sink needs both"
        : "--wandb-project needs AGENTVINE_WANDB_API_KEY (environment only): the Weights & Biases sink needs both",
    );
  }
  const dataDir = resolve(parsed.data.dataDir);
  return { ...parsed.data, dataDir, dbPath: resolve(dataDir, "agentvine.db") };
}

