#!/usr/bin/env bun
// The CLI entry: `agentvine serve|migrate|healthcheck|version|task|plan|user|apikey|worker …` — parse, load config, start.
import { parseArgs } from "node:util";
import { apikeyCommand } from "./cli/apikey.ts";
import { planCommand } from "./cli/plan.ts";
import { taskCommand } from "./cli/task.ts";
import { userCommand } from "./cli/user.ts";
import { workerCommand } from "./cli/worker.ts";
import { ConfigError, loadServeConfig } from "./config.ts";
import { openDatabase } from "./db/client.ts";
import { firstAdmin, recordServerUrl } from "./cli/server-record.ts";
import { nextSteps } from "./cli/invocation.ts";
import { flagProblem, isFlagError } from "./cli/common.ts";
import { migrate } from "./db/migrate.ts";
import { startServer } from "./server.ts";
import { VERSION } from "./version.ts";
import { configureLogging, enabled, flushLogs } from "./log.ts";
import { BACKUP_USAGE, backupCommand, RESTORE_USAGE, restoreCommand } from "./cli/backup.ts";

const SERVE_OPTIONS = `serve options (each also an environment variable):
  --port N              AGENTVINE_PORT (8080)
  --host ADDR           AGENTVINE_HOST (127.0.0.1; use 0.0.0.0 to listen on every interface)
  --data-dir DIR        AGENTVINE_DATA_DIR (./data)
  --workers N           AGENTVINE_WORKERS (one per core; 0 = no local threads)
  --log-level L         AGENTVINE_LOG_LEVEL (debug|info|warn|error)
  --log-format F        AGENTVINE_LOG_FORMAT (auto|json|pretty; auto: readable on a terminal, JSON otherwise)
  --shutdown-grace S    AGENTVINE_SHUTDOWN_GRACE (30)
  --max-body-bytes N    AGENTVINE_MAX_BODY_BYTES (1048576)
  --default-timeout S   AGENTVINE_DEFAULT_TIMEOUT (3600)
  --default-max-retries N  AGENTVINE_DEFAULT_MAX_RETRIES (0)
  --db-synchronous M    AGENTVINE_DB_SYNCHRONOUS (NORMAL|FULL)
  --capabilities a,b    AGENTVINE_CAPABILITIES (labels of the local threads)
  --open-registration B AGENTVINE_OPEN_REGISTRATION (false; true lets anyone register as a viewer)
  --shell-role ROLE     AGENTVINE_SHELL_ROLE (admin; operator lets operators run shell tasks on this host)
  --sandbox MODE        AGENTVINE_SANDBOX (auto|bwrap|none: task commands in bubblewrap — auto uses it when it works)
  --sandbox-writable P  AGENTVINE_SANDBOX_WRITABLE (extra dirs task commands may write, comma separated)
  --sandbox-hide P      AGENTVINE_SANDBOX_HIDE (extra paths task commands must not see, comma separated)
  --shell-network B     AGENTVINE_SHELL_NETWORK (false: shell tasks reach the network only with "network": true)
  --log-max-lines N     AGENTVINE_LOG_MAX_LINES (200000 per execution; beyond it lines are counted and dropped)
  --log-max-bytes N     AGENTVINE_LOG_MAX_BYTES (67108864 per execution)
  --workspace-retention S  AGENTVINE_WORKSPACE_RETENTION (604800: a failed execution's workspace is kept 7 days)
  --max-streams N       AGENTVINE_MAX_STREAMS (32 open event streams per account, twice that per address; 429 beyond)
  --http-allow LIST     AGENTVINE_HTTP_ALLOW (internal hosts, IPs or CIDRs http tasks may reach; none by default)
  --access-token-ttl S  AGENTVINE_ACCESS_TOKEN_TTL (900)
  --rate-limit N        AGENTVINE_RATE_LIMIT (3000 API requests a minute per address and account; 0 = off)
  --auth-rate-limit N   AGENTVINE_AUTH_RATE_LIMIT (20 a minute per address on /api/v1/auth/*)
  --trust-proxy B       AGENTVINE_TRUST_PROXY (false; true behind your own reverse proxy)
  --cors-origins LIST   AGENTVINE_CORS_ORIGINS (none; browser origins allowed to call /api/v1 with a Bearer token)
  --tls-cert PATH       AGENTVINE_TLS_CERT (with --tls-key: serve HTTPS)
  --tls-key PATH        AGENTVINE_TLS_KEY (unencrypted PEM key of --tls-cert)
  --otlp-endpoint URL   AGENTVINE_OTLP_ENDPOINT (send task log lines as OTLP/HTTP logs, e.g. http://collector:4318/v1/logs)
  --wandb-project NAME  AGENTVINE_WANDB_PROJECT (with AGENTVINE_WANDB_API_KEY: a Weights & Biases run per execution;
                        --wandb-entity, --wandb-base-url)
  --sink-buffer N       AGENTVINE_SINK_BUFFER (10000 lines a sink keeps while its backend is down; beyond: dropped, counted)
  --retain-logs-days N  AGENTVINE_RETAIN_LOGS_DAYS (30; execution log lines and files; 0 = forever)
  --retain-tasks-days N AGENTVINE_RETAIN_TASKS_DAYS (90; finished tasks; 0 = forever)
  --retain-audit-days N AGENTVINE_RETAIN_AUDIT_DAYS (365; audit events; 0 = forever)
  --retention-interval M AGENTVINE_RETENTION_INTERVAL (60 minutes between retention passes)
  --public-url URL      AGENTVINE_PUBLIC_URL (the address people reach the server at: links in mail and webhooks)
  --smtp-host H         AGENTVINE_SMTP_HOST (with --smtp-from: email for password resets, verification, notifications)
  --smtp-port N         AGENTVINE_SMTP_PORT (587; 465 with --smtp-secure tls)
  --smtp-secure M       AGENTVINE_SMTP_SECURE (starttls|tls|none)
  --smtp-user U         AGENTVINE_SMTP_USER
  --smtp-from ADDR      AGENTVINE_SMTP_FROM (e.g. "AgentVine <vine@example.com>")
  environment only:     AGENTVINE_JWT_SECRET, AGENTVINE_SECRETS_KEY (generated in the data dir by default),
                        AGENTVINE_OTLP_HEADERS (k=v,k2=v2), AGENTVINE_WANDB_API_KEY,
                        AGENTVINE_SMTP_PASSWORD (or set it on the Email settings page)
  every variable:       .env.example`;

const HELP = `AgentVine ${VERSION} — control plane for automated work and AI coding agents

Usage: agentvine <command> [options]      (agentvine <command> --help for its options)

Commands:
  serve          start the server, UI, controller and local worker threads
  migrate        apply database migrations and exit
  healthcheck    exit 0 when the server at --url answers healthy
  task           submit, inspect and wait for tasks (agentvine task help)
  plan           list, show and run plans (agentvine plan help)
  user           create accounts, change roles, deactivate, print a password-reset link —
                 offline, on --data-dir (agentvine user help)
  apikey         create, list and revoke API keys offline, on --data-dir (agentvine apikey help)
  backup FILE    copy the database and its keys into FILE, safe while the server runs
  restore FILE   check a backup and put it in place (the server stopped; --check only checks)
  worker         run a remote worker against --server with a worker key; \`worker status\` says what
                 it is doing, \`worker stop\` drains it (agentvine worker help)
  version        print the version
  help           this text (agentvine help COMMAND: that command's)

Start here: agentvine serve (agentvine serve --help lists its options).`;

const SERVE_USAGE = `Usage: agentvine serve [options]

Starts the server: the web UI and JSON API, the controller and the local worker threads, on one SQLite
database in --data-dir (created on first start, migrations applied). SIGTERM or Ctrl-C stops it gently.

${SERVE_OPTIONS}`;

const MIGRATE_USAGE = `Usage: agentvine migrate [--data-dir DIR]

Applies the database migrations to DIR/agentvine.db (AGENTVINE_DATA_DIR, default ./data) and exits;
\`serve\` does this at every start too.`;

const HEALTHCHECK_USAGE = `Usage: agentvine healthcheck [--url URL] [--timeout S]

Asks GET /api/v1/health of the server at --url (AGENTVINE_URL; default http://127.0.0.1:$AGENTVINE_PORT
or :8080) and exits 0 when it answers healthy, 1 otherwise (the Docker HEALTHCHECK). --timeout: seconds (5).`;

const VERSION_USAGE = `Usage: agentvine version\n\nPrints the version (also: agentvine --version).`;


/** `--help` / `-h` anywhere among a command's arguments (before a `--`). */
const wantsHelp = (argv: string[]) => {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === "--help" || a === "-h");
};

async function serve(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) return usage(SERVE_USAGE);
  const config = loadServeConfig(argv);
  configureLogging({ level: config.logLevel, format: config.logFormat });
  // Whatever the server and its tasks create is its user's only (0600/0700), whatever umask it was started with.
  process.umask(0o077);
  const server = await startServer(config);
  // The banner is what a newcomer reads first: it shows unless the level is warn or error.
  const log = (msg: string) => enabled("info") && console.log(msg);
  log(`AgentVine ${VERSION} listening on ${server.url}`);
  log(`  data:    ${config.dbPath}`);
  log(`  workers: ${config.workers} local thread${config.workers === 1 ? "" : "s"}`);
  log(`  sandbox: ${server.sandbox.description}${server.sandbox.description === "none" ? " — shell tasks are trusted like the server itself" : ""}`);
  if (server.leftoversKilled) log(`  killed ${server.leftoversKilled} process group(s) the previous run left running`);
  if (server.recovered) log(`  recovered ${server.recovered} task(s) that were running when the server last stopped`);
  // Where the server was last reached: what `user reset-password` prints links to.
  recordServerUrl(server.db, config.publicUrl ?? server.url);
  for (const line of nextSteps({ url: server.url, dataDir: config.dataDir, admin: firstAdmin(server.db) })) log(line);
  return new Promise((resolve) => {
    let signals = 0;
    const shutdown = (signal: string) => {
      if (++signals > 1) {
        console.error(`${signal} again: exiting now`);
        process.exit(1);
      }
      log(`${signal}: stopping (running tasks get ${config.shutdownGraceSeconds}s; press Ctrl-C again to force)`);
      server.stop().then(
        ({ requeued }) => {
          if (requeued) log(`requeued ${requeued} unfinished task(s)`);
          resolve(0);
        },
        (err) => {
          console.error("shutdown failed:", err);
          resolve(1);
        },
      );
    };
    process.on("SIGTERM", () => shutdown("SIGTERM"));
    process.on("SIGINT", () => shutdown("SIGINT"));
  });
}

function migrateCommand(argv: string[]): number {
  if (wantsHelp(argv)) return usage(MIGRATE_USAGE);
  const config = loadServeConfig(argv);
  const db = openDatabase(config.dbPath);
  const { applied, current } = migrate(db);
  db.close();
  console.log(applied.length ? `applied ${applied.join(", ")}` : `up to date (${current})`);
  return 0;
}

async function healthcheck(argv: string[], env = process.env): Promise<number> {
  const { values } = parseArgs({ args: argv, strict: true, options: { url: { type: "string" }, timeout: { type: "string" }, help: { type: "boolean", short: "h" } } });
  if (values.help) return usage(HEALTHCHECK_USAGE);
  const seconds = Number(values.timeout ?? 5);
  if (!(Number.isFinite(seconds) && seconds > 0)) throw new ConfigError(`invalid --timeout: expected seconds (got ${JSON.stringify(values.timeout)})`);
  const port = env.AGENTVINE_PORT ?? "8080";
  const url = values.url ?? env.AGENTVINE_URL ?? `http://127.0.0.1:${port}`;
  try {
    const res = await fetch(`${url.replace(/\/+$/, "")}/api/v1/health`, { signal: AbortSignal.timeout(seconds * 1000) });
    const body = (await res.json().catch(() => ({}))) as { status?: string };
    console.log(`${res.status} ${body.status ?? ""}`.trim());
    return res.ok ? 0 : 1;
  } catch (err) {
    console.error(`unhealthy: ${(err as Error).message}`);
    return 1;
  }
}

function usage(text: string): number {
  console.log(text);
  return 0;
}

const COMMAND_HELP: Record<string, () => Promise<number> | number> = {
  serve: () => usage(SERVE_USAGE),
  migrate: () => usage(MIGRATE_USAGE),
  healthcheck: () => usage(HEALTHCHECK_USAGE),
  version: () => usage(VERSION_USAGE),
  task: () => taskCommand(["help"]),
  plan: () => planCommand(["help"]),
  user: () => userCommand(["help"]),
  apikey: () => apikeyCommand(["help"]),
  worker: () => workerCommand(["--help"]),
  backup: () => usage(BACKUP_USAGE),
  restore: () => usage(RESTORE_USAGE),
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case undefined:
        // No command is a question, not an order to start a server.
        console.log(HELP);
        return 2;
      case "help":
      case "--help":
      case "-h": {
        const topic = args[0];
        if (topic && COMMAND_HELP[topic]) return await COMMAND_HELP[topic]();
        if (topic) return unknown(topic);
        console.log(HELP);
        return 0;
      }
      case "serve":
        return await serve(args);
      case "migrate":
        return migrateCommand(args);
      case "healthcheck":
        return await healthcheck(args);
      case "task":
        return await taskCommand(args);
      case "plan":
        return await planCommand(args);
      case "user":
        return await userCommand(args);
      case "apikey":
        return await apikeyCommand(args);
      case "backup":
        return await backupCommand(args);
      case "restore":
        return await restoreCommand(args);
      case "worker":
        return await workerCommand(args);
      case "version":
      case "--version":
      case "-v":
        if (wantsHelp(args)) return usage(VERSION_USAGE);
        if (args.length) throw new ConfigError(`unexpected argument '${args[0]}'`);
        console.log(VERSION);
        return 0;
      default:
        return unknown(command);
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`agentvine ${command}: ${err.message}${err.message.includes("\n") ? "" : ` (see agentvine ${command} --help)`}`);
      return 2;
    }
    if (isFlagError(err)) {
      console.error(`agentvine ${command}: ${flagProblem(err)} (see agentvine ${command} --help)`);
      return 2;
    }
    if ((err as { code?: string }).code === "EADDRINUSE") {
      console.error(`agentvine: port already in use (${(err as Error).message})`);
      return 1;
    }
    throw err;
  }
}

function unknown(command: string): number {
  console.error(
    command.startsWith("-")
      ? `agentvine: unknown option '${command}': give a command first, e.g. agentvine serve ${command} (see agentvine --help)`
      : `agentvine: unknown command '${command}' (see agentvine --help)`,
  );
  return 2;
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  flushLogs();
  process.exit(code);
}
