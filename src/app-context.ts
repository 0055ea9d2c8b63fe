// What every route sees in its context — `c.get("deps")`, `c.get("config")`, … — typed once here for
// every Hono app through ContextVariableMap (so features import nothing from the composition root), and
// set once per request by createApp from the services server.ts built.
import type { ServeConfig } from "./config.ts";
import type { EngineDeps } from "./engine/engine-deps.ts";
import type { ClaimWaiters } from "./features/worker-api/claim-waiters.ts";
import type { WorkerMailboxes } from "./features/worker-api/mailboxes.ts";
import type { Controller } from "./features/controller/controller.ts";
import type { AgentGateway } from "./features/agents/gateway.ts";
import type { ControllerConfig } from "./features/controller/controller-settings.ts";
import type { SubmitBatcher } from "./engine/submit-batcher.ts";
import type { TaskLogger } from "./engine/task-logger.ts";
import type { AuthDeps } from "./features/auth/auth-services.ts";
import type { Principal } from "./features/auth/principals.ts";
import type { SecretStore } from "./features/secrets/store.ts";
import type { TaskWaiters } from "./features/tasks/service.ts";
import type { LocalRunner } from "./engine/local-runner.ts";
import type { AppError } from "./errors.ts";
import type { DiskWatch } from "./data-dir/disk.ts";
import type { StreamLimits } from "./http/stream-limits.ts";
import type { Scheduler } from "./features/schedules/scheduler.ts";
import type { OpsServices } from "./ops-services.ts";
import type { Child } from "hono/jsx";
import type { TokenBuckets } from "./http/rate-limit.ts";
import type { ServerMetrics } from "./features/metrics/server-metrics.ts";
import type { DataDirUsage } from "./features/retention/data-dir-usage.ts";
import type { RunningSinks } from "./features/log-sinks/sinks.ts";
import type { ChatFeature } from "./features/chat/api.ts";

export type AppConfig = Pick<ServeConfig, "defaultTimeoutSeconds" | "defaultMaxRetries" | "maxBodyBytes" | "dataDir" | "shellRole">;

export interface AppServices {
  deps: EngineDeps;
  config: AppConfig;
  logger: TaskLogger;
  waiters: TaskWaiters;
  /** Group-commits concurrent task submissions. */
  submitter: SubmitBatcher;
  /** Remote workers' parked long-poll claims. */
  claimWaiters: ClaimWaiters;
  /** Messages for tasks remote workers run, waiting to be fetched. */
  mailboxes: WorkerMailboxes;
  /** Questions from running tasks: routing, deadlines, the automated handler. */
  controller: Controller;
  /** What coding agents call for their loop (model steps, the transcript, budgets). */
  agents: AgentGateway;
  /** The model, budgets and webhook as configured (the Settings pages save over them). */
  controllerConfig: ControllerConfig;
  pool: LocalRunner | null;
  workerId: string;
  version: string;
  startedAt: number;
  /** Users, sessions, tokens, API keys: the auth services' dependencies. */
  auth: AuthDeps;
  secrets: SecretStore;
  /** Browser origins allowed to call /api/v1 (from --cors-origins); empty = CORS off. */
  corsOrigins: readonly string[];
  /** Token buckets of the rate limits; null where the limit is off. */
  limits: RateLimits;
  /** Prometheus metrics: counted from the bus and the requests, read from the database at scrape. */
  metrics: ServerMetrics;
  /** The data dir's size by part and its disk's free space, measured every few minutes. */
  dataDirUsage: DataDirUsage;
  /** External sinks of task log lines (OTLP, W&B), if configured. */
  logSinks: RunningSinks;
  /** Conversations and messages: the service, the WebSockets, the attachment limit. */
  chat: ChatFeature;
  /** The data dir's disk: free space and the last write that failed for want of it (health, 507s). */
  disk: DiskWatch;
  /** Open event streams per account and per address (--max-streams). */
  streams: StreamLimits;
  /** Cron schedules of tasks and plans: its passes start what is due (runNow for the pages' Run now). */
  scheduler: Scheduler;
  /** Alert rules evaluated in process; firing ones show in the banner and go to webhooks. */
  alerts: OpsServices["alerts"];
  /** Webhook posts and emails, delivered durably. */
  outbox: OpsServices["outbox"];
  /** People's notifications (in-app, email, their webhook). */
  notifier: OpsServices["notifier"];
  /** SMTP settings, the mailer, account mail (password reset, verification). */
  email: OpsServices["email"];
}

export interface RateLimits {
  /** Per client address, then per account, on the API. */
  api: TokenBuckets | null;
  account: TokenBuckets | null;
  /** Per client address on /api/v1/auth/*: stricter. */
  auth: TokenBuckets | null;
}

/** Per request, besides the services. */
export interface RequestVariables {
  requestId: string;
  /** X-Correlation-Id as sent (or the request id): tasks submitted by the request carry it. */
  correlationId: string;
  /** Lifts Bun's idle timeout for this request (long-polls and event streams). */
  holdOpen: () => void;
  /** Who the request is: set by authenticate(); absent on routes that do not authenticate. */
  principal?: Principal;
  /** Why the credentials the request sent were refused (set by an optional authenticate()). */
  authFailure?: AppError;
  /** Questions waiting for a person: the nav's Inbox badge on every page (set for the pages by createApp). */
  waitingForHumans?: () => number;
  /** The alert banner and the unread count of the signed-in user, for every page (set for the pages by createApp). */
  opsChrome?: (userId: string) => { banner: Child; unread: number };
}

declare module "hono" {
  interface ContextVariableMap extends AppServices, RequestVariables {}
}
