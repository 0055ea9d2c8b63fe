// Starts everything `agentvine serve` runs: database, recovery, the worker pool, the reaper, HTTP.
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { createSecureContext, type SecureContextOptions } from "node:tls";
import { createApp } from "./app.ts";
import { ConfigError, ServeConfigSchema, type ServeConfig } from "./config.ts";
import { openDatabase, type Db } from "./db/client.ts";
import { startCheckpointer } from "./db/checkpoints.ts";
import { migrate } from "./db/migrate.ts";
import { reap, releaseWorker } from "./engine/control.ts";
import { type EngineDeps } from "./engine/engine-deps.ts";
import { ClaimWaiters } from "./features/worker-api/claim-waiters.ts";
import { WorkerMailboxes } from "./features/worker-api/mailboxes.ts";
import { SubmitBatcher } from "./engine/submit-batcher.ts";
import { transact } from "./engine/transact.ts";
import { settleAllParents } from "./engine/parent-status.ts";
import { TaskLogger } from "./engine/task-logger.ts";
import { EventBus } from "./events/bus.ts";
import { createAuth, type AuthSettings } from "./features/auth/auth-services.ts";
import { parseSecretsKey } from "./data-dir/key-files.ts";
import { DiskWatch } from "./data-dir/disk.ts";
import { privateDir, secureTree, sweepWorkspaces as sweepOldWorkspaces } from "./data-dir/private-files.ts";
import { SecretStore } from "./features/secrets/store.ts";
import { TaskWaiters } from "./features/tasks/service.ts";
import { startLocalWorker } from "./features/workers/local.ts";
import type { AppServices, RateLimits } from "./app-context.ts";
import { perMinute, TokenBuckets } from "./http/rate-limit.ts";
import { StreamLimits } from "./http/stream-limits.ts";
import { LocalRunner } from "./engine/local-runner.ts";
import { ProcessRecordDir, type SandboxProbe } from "./sandbox/index.ts";
import { setUpSandbox } from "./thread-pool/sandbox-setup.ts";
import { LOG_LIMITS } from "./thread-pool/protocol.ts";
import { VERSION } from "./version.ts";
import { Controller } from "./features/controller/controller.ts";
import { AgentGateway } from "./features/agents/gateway.ts";
import { seedBuiltinPlans } from "./features/plans/builtin.ts";
import { sweepWorktrees } from "./task-types/agent/janitor.ts";
import { effectiveBudgets, effectiveLlm, effectiveWebhook, type ControllerConfig } from "./features/controller/controller-settings.ts";
import { logger, setLogMasker } from "./log.ts";
import { ServerMetrics } from "./features/metrics/server-metrics.ts";
import { startLogSinks, type LogSinkConfig } from "./features/log-sinks/sinks.ts";
import { TaskTrail } from "./engine/task-trail.ts";
import { Retention } from "./features/retention/retention.ts";
import { DataDirUsage } from "./features/retention/data-dir-usage.ts";
import { websocket } from "hono/bun";
import { ChatService } from "./features/chat/service.ts";
import { ChatRecorder } from "./features/chat/recorder.ts";
import { ChatSockets } from "./features/chat/sockets.ts";
import { socketRenderer } from "./features/chat/render.ts";
import { createOpsServices } from "./ops-services.ts";

const log = logger("server");

export interface RunningServer {
  url: string;
  port: number;
  services: AppServices;
  db: Db;
  /** Recovered work orders: claimed by this server's threads when it last stopped abruptly. */
  recovered: number;
  /** How task commands run ("bwrap (bubblewrap 0.8.0)" or "none"), and the warning to print without a sandbox. */
  sandbox: { description: string; warning?: string };
  /** Process groups a previous run left alive (killed at start). */
  leftoversKilled: number;
  /** Answers a request: over the socket when listening, straight through the app otherwise. */
  fetch(request: Request): Promise<Response>;
  /** Removes failed executions' workspaces older than --workspace-retention (also hourly on its own); returns how many. */
  sweepWorkspaces(): number;
  /** Graceful stop: no new claims, running tasks get `graceSeconds`, the rest is requeued. */
  stop(graceSeconds?: number): Promise<{ requeued: number }>;
}

export type StartOptions = Pick<
  ServeConfig,
  "port" | "host" | "dataDir" | "dbPath" | "workers" | "shutdownGraceSeconds" | "maxBodyBytes" | "defaultTimeoutSeconds" | "defaultMaxRetries" | "dbSynchronous"
> &
  Partial<Pick<ServeConfig, "sandbox" | "sandboxWritable" | "sandboxHide" | "shellNetwork" | "logMaxLines" | "logMaxBytes" | "workspaceRetentionSeconds" | "maxStreams" | "httpAllow">> &
  Partial<Pick<ServeConfig, "openRegistration" | "accessTokenTtlSeconds" | "rateLimit" | "authRateLimit" | "trustProxy" | "jwtSecret" | "secretsKey" | "corsOrigins" | "tlsCert" | "tlsKey" | "shellRole" | "publicUrl" | "agentWorkspaceTtlHours" | "agentFailedWorkspaceTtlHours" | "attachmentMaxBytes" | "smtpHost" | "smtpPort" | "smtpSecure" | "smtpUser" | "smtpFrom" | "smtpPassword">> &
  Partial<ControllerConfig> &
  Partial<Pick<ServeConfig, "retainLogsDays" | "retainTasksDays" | "retainAuditDays" | "retentionInterval">> &
  LogSinkConfig & {
    /** The automated handler's first retry wait (tests make it tiny). */
    controllerRetryBaseMs?: number;
    /** What the bubblewrap probe found (tests stand in a host without it); default: probe this host. */
    sandboxProbe?: SandboxProbe;
    /** Create the ready-made agent plans on a fresh server (default true; tests that count plans turn it off). */
    builtinPlans?: boolean;
    capabilities?: string[];
    reapIntervalMs?: number;
    threadUrl?: URL;
    /** The pool's short-task threshold for its reserve (tests set it to make the reserve certain). */
    shortTaskMs?: number;
    /** How often the scheduler and the alert evaluator run a pass (ms); 0: never — tests call runOnce(now). */
    opsIntervalMs?: number;
    /** The outbox's time between delivery rounds and its webhooks' first retry wait (tests make them tiny). */
    outboxRetryMs?: number;
    outboxBaseMs?: number;
    /** The clock of auth, rate limits and secrets (tests move it instead of sleeping). */
    clock?: () => number;
    /** Overrides of the auth numbers (lockout, TTLs, password cost), for tests and benchmarks. */
    authSettings?: Partial<AuthSettings>;
    /**
     * false: no socket — requests go straight to the app through `fetch` (route tests, like Hono's
     * app.request()); `url` is then only a base for building request URLs.
     */
    listen?: boolean;
  };

/**
 * Start options for an embedded server (tests, benchmarks): the configuration defaults, a data dir,
 * and whatever is overridden — so every embedder starts the server the way `serve` would.
 */
export function embeddedServerOptions(dataDir: string, overrides: Partial<StartOptions> = {}): StartOptions {
  const defaults = ServeConfigSchema.parse({});
  return { ...defaults, port: 0, host: "127.0.0.1", dataDir, dbPath: join(dataDir, "agentvine.db"), ...overrides };
}

export function localWorkerId(): string {
  return `local-${hostname()}`;
}

export async function startServer(config: StartOptions): Promise<RunningServer> {
  const tls = tlsFiles(config.tlsCert, config.tlsKey);
  // Task commands never see the data dir (database, keys, other tasks' workspaces) nor the TLS key.
  const sandbox = setUpSandbox(
    config.sandbox ?? "auto",
    { hidePaths: [resolve(config.dataDir), ...(config.sandboxHide ?? [])], hideFiles: config.tlsKey ? [resolve(config.tlsKey)] : [], writablePaths: config.sandboxWritable ?? [] },
    { network: config.shellNetwork ?? false, probe: config.sandboxProbe },
  );
  if (sandbox.error) throw new ConfigError(`--sandbox bwrap: ${sandbox.error}`);
  if (sandbox.warning) log.warn(sandbox.warning);
  // The owner's only, also what an earlier version (or a loose umask) left readable by others.
  privateDir(config.dataDir);
  secureTree(config.dataDir);
  const db = openDatabase(config.dbPath, { synchronous: config.dbSynchronous });
  migrate(db);
  const clock = config.clock ?? Date.now;
  const secretsKey = config.secretsKey === undefined ? undefined : parseSecretsKey(config.secretsKey);
  if (secretsKey === null) throw new Error("AGENTVINE_SECRETS_KEY must be 32 bytes as base64 or 64 hex digits");
  // Before the engine: submissions check `{{secrets.NAME}}` names, the pool resolves them, the logger masks values.
  const secrets = SecretStore.open({ db, dataDir: config.dataDir, key: secretsKey, clock });
  // The server's own log masks secret values too, wherever one turns up in a message.
  setLogMasker((text) => secrets.maskSecrets(text));
  const checkpointer = startCheckpointer(db);
  const bus = new EventBus();
  const disk = new DiskWatch(config.dataDir);
  const deps: EngineDeps = { db, bus, secrets, disk };
  const workerId = localWorkerId();
  const startedAt = Date.now();
  let pool: LocalRunner | null = null;
  const usage = new DataDirUsage(config.dataDir);
  const metrics = new ServerMetrics({
    deps,
    localWorkerId: workerId,
    pool: () => pool,
    startedAt,
    version: VERSION,
    dataDir: () => usage.figures(),
    websockets: () => chatSockets.size,
  });
  const sinks = startLogSinks(config, { deps, version: VERSION, instanceId: workerId, counters: (sink) => metrics.sinkCounters(sink) });
  const logger = new TaskLogger({
    db,
    bus,
    secrets,
    logDir: join(config.dataDir, "logs"),
    sinks: sinks.sinks,
    disk,
    limits: { maxLines: config.logMaxLines ?? LOG_LIMITS.maxLines, maxBytes: config.logMaxBytes ?? LOG_LIMITS.maxBytes },
  });
  const trail = new TaskTrail(db, bus, workerId);
  const retention = new Retention({
    deps,
    logDir: join(config.dataDir, "logs"),
    policy: { logsDays: config.retainLogsDays ?? 30, tasksDays: config.retainTasksDays ?? 90, auditDays: config.retainAuditDays ?? 365 },
    onDeleted: (kind, n) => metrics.retentionDeleted.inc({ kind }, n),
  });

  // What this server's task commands left running when it last died (kill -9) is killed first: the re-run
  // below must not run beside it. Then whatever its threads held runs again.
  const processRecordDir = join(config.dataDir, "processes");
  const leftoversKilled = new ProcessRecordDir(processRecordDir).killLeftoversAndSay(log);
  const recovered = releaseWorker(deps, workerId, "the server stopped while the task ran; requeued at restart");
  // Parents follow their children in the same transaction, so they cannot drift; this re-derives them
  // anyway, so a run whose rules changed between versions is right after an upgrade.
  transact(deps, (tx) => settleAllParents(deps, tx));

  const controllerConfig: ControllerConfig = {
    ...definedOnly({
      llmProvider: config.llmProvider,
      llmBaseUrl: config.llmBaseUrl,
      llmModel: config.llmModel,
      llmTemperature: config.llmTemperature,
      llmApiKey: config.llmApiKey,
      webhookUrl: config.webhookUrl,
      webhookSecret: config.webhookSecret,
    }),
    llmMaxTokens: config.llmMaxTokens ?? 1024,
    llmPriceInput: config.llmPriceInput ?? 0,
    llmPriceOutput: config.llmPriceOutput ?? 0,
    llmTimeoutSeconds: config.llmTimeoutSeconds ?? 120,
    budgetTaskUsd: config.budgetTaskUsd ?? 0,
    budgetTaskTokens: config.budgetTaskTokens ?? 0,
    budgetRunUsd: config.budgetRunUsd ?? 0,
    budgetRunTokens: config.budgetRunTokens ?? 0,
    budgetDailyUsd: config.budgetDailyUsd ?? 0,
    budgetDailyTokens: config.budgetDailyTokens ?? 0,
  };
  const settingsDeps = { db, config: controllerConfig, secrets };
  let publicUrl: string | null = config.publicUrl ?? null;
  const controller = new Controller({
    ...deps,
    clock,
    llm: () => effectiveLlm(settingsDeps),
    budgets: () => effectiveBudgets(settingsDeps),
    webhook: () => effectiveWebhook(settingsDeps),
    masker: secrets,
    logger,
    publicUrl: () => publicUrl,
    retryBaseMs: config.controllerRetryBaseMs,
  });
  controller.start();
  if (config.builtinPlans !== false) seedBuiltinPlans(deps);
  const agents = new AgentGateway({
    ...deps,
    clock,
    llm: () => effectiveLlm(settingsDeps),
    budgets: () => effectiveBudgets(settingsDeps),
    masker: secrets,
    retryBaseMs: config.controllerRetryBaseMs,
  });
  // The chat: a task's questions, answers and status changes are recorded in its conversation.
  const chatService = new ChatService({ db, bus, clock, dataDir: config.dataDir, responder: controller });
  const chatRecorder = new ChatRecorder(chatService);
  chatRecorder.start();
  const chatSockets = new ChatSockets(bus, socketRenderer(db));

  pool =
    config.workers > 0
      ? new LocalRunner({
          ...deps,
          secrets,
          asker: controller,
          calls: agents,
          size: config.workers,
          workerId,
          logger,
          dataDir: config.dataDir,
          sandbox: sandbox.sandbox,
          httpAllow: config.httpAllow ?? [],
          processRecordDir,
          capabilities: config.capabilities,
          threadUrl: config.threadUrl,
          shortTaskMs: config.shortTaskMs,
        })
      : null;
  const waiters = new TaskWaiters(deps);
  const auth = await createAuth({
    db,
    dataDir: config.dataDir,
    jwtSecret: config.jwtSecret,
    clock,
    settings: definedOnly({
      openRegistration: config.openRegistration,
      accessTokenTtlSeconds: config.accessTokenTtlSeconds,
      trustProxy: config.trustProxy,
      ...config.authSettings,
    }),
  });
  const ops = createOpsServices({ ...deps, secrets }, auth, config, () => publicUrl, { intervalMs: config.opsIntervalMs, outboxRetryMs: config.outboxRetryMs, outboxBaseMs: config.outboxBaseMs });
  const services: AppServices = {
    deps,
    config: {
      defaultTimeoutSeconds: config.defaultTimeoutSeconds,
      defaultMaxRetries: config.defaultMaxRetries,
      maxBodyBytes: config.maxBodyBytes,
      dataDir: config.dataDir,
      shellRole: config.shellRole ?? "admin",
    },
    logger,
    waiters,
    submitter: new SubmitBatcher(deps),
    claimWaiters: new ClaimWaiters(deps),
    mailboxes: new WorkerMailboxes(deps),
    controller,
    controllerConfig,
    agents,
    pool,
    workerId,
    version: VERSION,
    startedAt,
    auth,
    secrets,
    limits: rateLimits(config.rateLimit ?? 3000, config.authRateLimit ?? 20, clock),
    corsOrigins: config.corsOrigins ?? [],
    metrics,
    dataDirUsage: usage,
    logSinks: sinks,
    chat: { service: chatService, sockets: chatSockets, attachmentMaxBytes: config.attachmentMaxBytes ?? 10 * 1024 * 1024 },
    disk,
    streams: new StreamLimits(config.maxStreams ?? 32, (config.maxStreams ?? 32) * 2),
    scheduler: ops.scheduler,
    alerts: ops.alerts,
    outbox: ops.outbox,
    notifier: ops.notifier,
    email: ops.email,
  };
  const app = createApp(services);
  const server = config.listen === false ? null : Bun.serve({
    port: config.port,
    hostname: config.host,
    // With a certificate the server speaks HTTPS itself: the session cookie gets Secure, responses HSTS.
    tls,
    fetch: app.fetch,
    // The chat's WebSockets (GET /api/v1/chat/ws/:id), through Hono's Bun adapter.
    websocket,
    idleTimeout: 60,
    // The API's own limit (413 with a clear message) is enforced by the app; this is the hard stop.
    maxRequestBodySize: Math.max(config.maxBodyBytes * 4, 16 * 1024 * 1024, (config.attachmentMaxBytes ?? 0) * 2 + 1024 * 1024),
  });

  pool?.start();
  usage.start();
  retention.start((config.retentionInterval ?? 60) * 60_000);
  ops.start();
  // Coding agents' worktrees: kept a while after their task (longer after a failure), then removed.
  const sweep = () => {
    try {
      const removed = sweepWorktrees(join(config.dataDir, "workspaces"), {
        successTtlMs: (config.agentWorkspaceTtlHours ?? 24) * 3_600_000,
        failureTtlMs: (config.agentFailedWorkspaceTtlHours ?? 168) * 3_600_000,
      });
      if (removed.length) log.info(`removed ${removed.length} agent worktree(s) past their time`);
    } catch (err) {
      log.warn("sweeping agent worktrees failed:", err);
    }
  };
  sweep();
  const janitor = setInterval(sweep, 3_600_000);
  janitor.unref();
  const reaper = setInterval(() => {
    try {
      reap(deps, { exceptWorkerId: workerId });
    } catch (err) {
      log.error("reaper pass failed:", err);
    }
  }, config.reapIntervalMs ?? 1000);
  // The server's threads are the `local` worker of the registry, heartbeated (with the registry's clock) from here.
  const localWorker = startLocalWorker({ ...deps, clock }, { id: workerId, threads: config.workers, capabilities: config.capabilities ?? [], version: VERSION });

  // Failed executions' workspaces are kept for inspection, then removed (a running one's never).
  const running = db.sqlite.query<{ n: number }, [string]>("SELECT 1 AS n FROM executions WHERE id = ? AND status = 'running'");
  const sweepWorkspaces = () => {
    try {
      return sweepOldWorkspaces(join(config.dataDir, "workspaces"), { olderThanMs: (config.workspaceRetentionSeconds ?? 7 * 24 * 3600) * 1000, inUse: (id) => running.get(id) !== null, now: clock() });
    } catch (err) {
      log.error("sweeping old workspaces failed:", err);
      return 0;
    }
  };
  sweepWorkspaces();
  const sweeper = setInterval(sweepWorkspaces, 3600_000);
  sweeper.unref?.();

  let stopping: Promise<{ requeued: number }> | null = null;
  const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
  const port = server?.port ?? 0;
  publicUrl ??= server ? `${tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}` : null;
  return {
    url: server ? `${tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}` : "http://localhost",
    port,
    fetch: server ? (request) => fetch(request) : async (request) => app.fetch(request, IN_PROCESS_CLIENT),
    services,
    db,
    recovered,
    sweepWorkspaces,
    sandbox: { description: sandbox.description, warning: sandbox.warning },
    leftoversKilled,
    stop(graceSeconds = config.shutdownGraceSeconds) {
      stopping ??= (async () => {
        clearInterval(reaper);
        clearInterval(janitor);
        clearInterval(sweeper);
        const opsStopped = ops.stop();
        localWorker.stop();
        const requeued = pool ? await pool.stop(graceSeconds * 1000) : 0;
        // Parked long-polls answer 204 (no work) before the connections close, rather than being reset.
        services.claimWaiters.close();
        services.mailboxes.close();
        controller.stop();
        chatRecorder.stop();
        chatSockets.close();
        await new Promise((resolve) => setImmediate(resolve));
        await server?.stop(true);
        waiters.close();
        await retention.stop();
        await usage.stop();
        await opsStopped;
        await logger.stop();
        // Lines already handed to the sinks get a few seconds to arrive; the rest are counted as dropped.
        await sinks.stop(5000);
        trail.close();
        metrics.close();
        await checkpointer.stop();
        db.close();
        return { requeued };
      })();
      return stopping;
    },
  };
}

/** What an in-process request's route sees of "the socket": a loopback client that never idles out. */
const IN_PROCESS_CLIENT = {
  requestIP: () => ({ address: "127.0.0.1", family: "IPv4", port: 0 }),
  timeout: () => {},
};

/**
 * The certificate and its key for Bun.serve, checked before anything starts: OpenSSL would only say
 * "NO_START_LINE" or "KEY_VALUES_MISMATCH" once the database is already open.
 */
function tlsFiles(certPath: string | undefined, keyPath: string | undefined) {
  if (!certPath && !keyPath) return undefined;
  if (!certPath || !keyPath) throw new ConfigError("--tls-cert and --tls-key go together: give both, or neither");
  const check = (problem: string, options: () => SecureContextOptions) => {
    try {
      createSecureContext(options());
    } catch (err) {
      throw new ConfigError(`${problem} (${(err as Error).message})`);
    }
  };
  check(`--tls-cert ${certPath} is not a PEM certificate`, () => ({ cert: readFileSync(certPath) }));
  check(`--tls-key ${keyPath} is not a PEM private key without a passphrase`, () => ({ key: readFileSync(keyPath) }));
  check(`--tls-key ${keyPath} is not the key of the certificate in ${certPath}`, () => ({ cert: readFileSync(certPath), key: readFileSync(keyPath) }));
  return { cert: Bun.file(certPath), key: Bun.file(keyPath) };
}

function rateLimits(perMinuteApi: number, perMinuteAuth: number, clock: () => number): RateLimits {
  const buckets = (n: number) => (n > 0 ? new TokenBuckets(perMinute(n), clock) : null);
  return { api: buckets(perMinuteApi), account: buckets(perMinuteApi), auth: buckets(perMinuteAuth) };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
