// The drizzle schema: every table of the engine, its CHECK-enforced state machines and indexes.
// Times are integer milliseconds since the epoch (UTC); the API renders them as ISO-8601.
import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const TASK_STATUSES = [
  "pending",
  "queued",
  "running",
  "waiting_input",
  "succeeded",
  "failed",
  "cancelled",
  "timed_out",
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const TERMINAL_TASK_STATUSES: readonly TaskStatus[] = ["succeeded", "failed", "cancelled", "timed_out"];

export const PRIORITIES = ["high", "default", "low"] as const;

/** What a task may do to its repository: read it, edit and commit on its own branch, or also push and open a PR. */
export const PERMISSION_LEVELS = ["read", "write", "push"] as const;
export type PermissionLevel = (typeof PERMISSION_LEVELS)[number];
export type Priority = (typeof PRIORITIES)[number];

export const QUEUES = ["high_priority", "default", "low_priority"] as const;
export type QueueName = (typeof QUEUES)[number];

export const WORK_ORDER_STATUSES = ["queued", "claimed", "completed", "failed", "dead", "expired", "cancelled"] as const;
export type WorkOrderStatus = (typeof WORK_ORDER_STATUSES)[number];

export const EXECUTION_STATUSES = ["running", "succeeded", "failed", "timed_out", "cancelled"] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const WORKER_TYPES = ["local", "remote"] as const;
export const WORKER_STATUSES = ["idle", "busy", "offline", "error"] as const;
export type WorkerStatus = (typeof WORKER_STATUSES)[number];
export type WorkerType = (typeof WORKER_TYPES)[number];

const inList = (values: readonly string[]) => sql.raw(values.map((v) => `'${v}'`).join(", "));

export const tasks = sqliteTable(
  "tasks",
  {
    id: text("id").primaryKey(),
    title: text("title").notNull(),
    description: text("description"),
    task_type: text("task_type").notNull(),
    params: text("params", { mode: "json" }).notNull().$type<Record<string, unknown>>(),
    priority: text("priority").$type<Priority>().notNull().default("default"),
    status: text("status").$type<TaskStatus>().notNull(),
    result: text("result", { mode: "json" }).$type<unknown>(),
    error: text("error"),
    repository_url: text("repository_url"),
    branch_name: text("branch_name"),
    issue_number: integer("issue_number"),
    pr_number: integer("pr_number"),
    context: text("context", { mode: "json" }).$type<unknown>(),
    metadata: text("metadata", { mode: "json" }).$type<Record<string, unknown>>(),
    parent_task_id: text("parent_task_id").references((): any => tasks.id, { onDelete: "cascade" }),
    requires: text("requires", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    timeout_seconds: integer("timeout_seconds").notNull(),
    max_retries: integer("max_retries").notNull(),
    attempts: integer("attempts").notNull().default(0),
    created_by: text("created_by"),
    assigned_to: text("assigned_to"),
    permission_level: text("permission_level").$type<PermissionLevel>().notNull().default("write"),
    created_at: integer("created_at").notNull(),
    updated_at: integer("updated_at").notNull(),
    started_at: integer("started_at"),
    finished_at: integer("finished_at"),
  },
  (t) => [
    check("tasks_status_check", sql`${t.status} IN (${inList(TASK_STATUSES)})`),
    check("tasks_permission_level_check", sql`${t.permission_level} IN (${inList(PERMISSION_LEVELS)})`),
    check("tasks_priority_check", sql`${t.priority} IN (${inList(PRIORITIES)})`),
    check("tasks_timeout_check", sql`${t.timeout_seconds} > 0`),
    check("tasks_retries_check", sql`${t.max_retries} >= 0`),
    index("tasks_created_idx").on(t.created_at),
    index("tasks_status_created_idx").on(t.status, t.created_at),
    index("tasks_type_created_idx").on(t.task_type, t.created_at),
    index("tasks_priority_created_idx").on(t.priority, t.created_at),
    index("tasks_parent_idx").on(t.parent_task_id),
    index("tasks_permission_level_created_idx").on(t.permission_level, t.created_at),
  ],
);

export const taskDependencies = sqliteTable(
  "task_dependencies",
  {
    task_id: text("task_id")
      .notNull()
      .references(() => tasks.id, { onDelete: "cascade" }),
    depends_on_id: text("depends_on_id")
      .notNull()
      .references(() => tasks.id, { onDelete: "cascade" }),
  },
  (t) => [
    primaryKey({ columns: [t.task_id, t.depends_on_id] }),
    check("task_dependencies_self_check", sql`${t.task_id} <> ${t.depends_on_id}`),
    index("task_dependencies_depends_on_idx").on(t.depends_on_id),
  ],
);

export const workOrders = sqliteTable(
  "work_orders",
  {
    id: text("id").primaryKey(),
    task_id: text("task_id").references(() => tasks.id, { onDelete: "cascade" }),
    queue: text("queue").$type<QueueName>().notNull(),
    // 0 = high, 1 = default, 2 = low: the claim orders by it.
    priority: integer("priority").notNull(),
    status: text("status").$type<WorkOrderStatus>().notNull(),
    payload: text("payload", { mode: "json" }).notNull().$type<Record<string, unknown>>(),
    result: text("result", { mode: "json" }).$type<unknown>(),
    error: text("error"),
    // Every attempt's error, appended: [{attempt, at, error}].
    errors: text("errors", { mode: "json" }).notNull().default(sql`'[]'`).$type<unknown[]>(),
    requires: text("requires", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    retry_count: integer("retry_count").notNull().default(0),
    max_retries: integer("max_retries").notNull(),
    timeout_seconds: integer("timeout_seconds").notNull(),
    run_at: integer("run_at").notNull(),
    expires_at: integer("expires_at"),
    claimed_by: text("claimed_by"),
    claimed_at: integer("claimed_at"),
    lease_token: text("lease_token"),
    lease_until: integer("lease_until"),
    created_at: integer("created_at").notNull(),
    updated_at: integer("updated_at").notNull(),
    finished_at: integer("finished_at"),
  },
  (t) => [
    check("work_orders_status_check", sql`${t.status} IN (${inList(WORK_ORDER_STATUSES)})`),
    check("work_orders_queue_check", sql`${t.queue} IN (${inList(QUEUES)})`),
    check("work_orders_priority_check", sql`${t.priority} IN (0, 1, 2)`),
    check(
      "work_orders_lease_check",
      sql`(${t.status} = 'claimed') = (${t.claimed_by} IS NOT NULL AND ${t.lease_until} IS NOT NULL AND ${t.lease_token} IS NOT NULL)`,
    ),
    check("work_orders_retry_check", sql`${t.retry_count} >= 0 AND ${t.retry_count} <= ${t.max_retries} + 1`),
    uniqueIndex("work_orders_task_idx").on(t.task_id),
    // Matches the claim's WHERE status = 'queued' ORDER BY priority, run_at, id exactly.
    index("work_orders_claim_idx").on(t.priority, t.run_at, t.id).where(sql`status = 'queued'`),
    index("work_orders_lease_idx").on(t.lease_until).where(sql`status = 'claimed'`),
    index("work_orders_expires_idx").on(t.expires_at).where(sql`status = 'queued' AND expires_at IS NOT NULL`),
    index("work_orders_status_idx").on(t.status, t.queue),
  ],
);

/**
 * A worker: the server's own threads (`local`) or an `agentvine worker` process (`remote`). Its status
 * is derived when read (see src/features/workers/service.ts); `announced_status` is only the last one
 * published on the bus, so a change is announced once.
 */
export const workers = sqliteTable(
  "workers",
  {
    id: text("id").primaryKey(),
    /** Unique: a worker registering again under its name resumes the same id. */
    name: text("name").notNull(),
    worker_type: text("worker_type").notNull(),
    hostname: text("hostname"),
    version: text("version"),
    max_concurrent_tasks: integer("max_concurrent_tasks").notNull(),
    timeout_seconds: integer("timeout_seconds"),
    context_window_size: integer("context_window_size"),
    config: text("config", { mode: "json" }).notNull().default(sql`'{}'`).$type<Record<string, unknown>>(),
    /** Drained (DELETE /workers/:id): it gets no new work; cleared when it registers again. */
    draining: integer("draining", { mode: "boolean" }).notNull().default(false),
    /** Failed executions in a row; 3 or more make it `error`, a success resets it. */
    consecutive_failures: integer("consecutive_failures").notNull().default(0),
    last_heartbeat_at: integer("last_heartbeat_at"),
    /** What the last heartbeat reported: {load, cpu_percent, memory_bytes, running_work_order_ids}. */
    last_load: text("last_load", { mode: "json" }).$type<Record<string, unknown>>(),
    announced_status: text("announced_status"),
    /** The API key that registered it (null for the local worker or an admin signed in without a key). */
    registered_by: text("registered_by"),
    created_at: integer("created_at").notNull(),
    updated_at: integer("updated_at").notNull(),
  },
  (t) => [
    check("workers_type_check", sql`${t.worker_type} IN (${inList(WORKER_TYPES)})`),
    check("workers_concurrency_check", sql`${t.max_concurrent_tasks} >= 0`),
    check("workers_timeout_check", sql`${t.timeout_seconds} IS NULL OR ${t.timeout_seconds} > 0`),
    check("workers_context_window_check", sql`${t.context_window_size} IS NULL OR ${t.context_window_size} > 0`),
    check("workers_failures_check", sql`${t.consecutive_failures} >= 0`),
    check("workers_announced_status_check", sql`${t.announced_status} IS NULL OR ${t.announced_status} IN (${inList(WORKER_STATUSES)})`),
    uniqueIndex("workers_name_idx").on(t.name),
  ],
);

/** A worker's capability labels as rows, so "who can run this" is an indexed query. */
export const workerCapabilities = sqliteTable(
  "worker_capabilities",
  {
    worker_id: text("worker_id")
      .notNull()
      .references(() => workers.id, { onDelete: "cascade" }),
    capability: text("capability").notNull(),
  },
  (t) => [primaryKey({ columns: [t.worker_id, t.capability] }), index("worker_capabilities_capability_idx").on(t.capability)],
);

export const workerAssignments = sqliteTable(
  "worker_assignments",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    work_order_id: text("work_order_id")
      .notNull()
      .references(() => workOrders.id, { onDelete: "cascade" }),
    worker_id: text("worker_id").notNull(),
    execution_id: text("execution_id"),
    assigned_at: integer("assigned_at").notNull(),
    released_at: integer("released_at"),
    outcome: text("outcome"),
  },
  (t) => [
    index("worker_assignments_order_idx").on(t.work_order_id),
    index("worker_assignments_worker_idx").on(t.worker_id, t.assigned_at),
  ],
);

export const executions = sqliteTable(
  "executions",
  {
    id: text("id").primaryKey(),
    task_id: text("task_id")
      .notNull()
      .references(() => tasks.id, { onDelete: "cascade" }),
    work_order_id: text("work_order_id").notNull(),
    worker_id: text("worker_id").notNull(),
    attempt: integer("attempt").notNull(),
    status: text("status").$type<ExecutionStatus>().notNull(),
    exit_code: integer("exit_code"),
    error: text("error"),
    stdout: text("stdout"),
    stderr: text("stderr"),
    duration_ms: integer("duration_ms"),
    cpu_ms: integer("cpu_ms"),
    max_rss_bytes: integer("max_rss_bytes"),
    log_count: integer("log_count").notNull().default(0),
    started_at: integer("started_at").notNull(),
    finished_at: integer("finished_at"),
  },
  (t) => [
    check("executions_status_check", sql`${t.status} IN (${inList(EXECUTION_STATUSES)})`),
    index("executions_task_idx").on(t.task_id, t.started_at),
    index("executions_worker_idx").on(t.worker_id, t.started_at),
    index("executions_status_idx").on(t.status, t.started_at),
    index("executions_started_idx").on(t.started_at),
  ],
);

export const executionLogs = sqliteTable(
  "execution_logs",
  {
    execution_id: text("execution_id")
      .notNull()
      .references(() => executions.id, { onDelete: "cascade" }),
    seq: integer("seq").notNull(),
    level: text("level").$type<LogLevel>().notNull(),
    message: text("message").notNull(),
    metadata: text("metadata", { mode: "json" }).$type<Record<string, unknown>>(),
    ts: integer("ts").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.execution_id, t.seq] }),
    check("execution_logs_level_check", sql`${t.level} IN (${inList(LOG_LEVELS)})`),
  ],
);

export type ExecutionRow = typeof executions.$inferSelect;
export type WorkerRow = typeof workers.$inferSelect;

export const plans = sqliteTable(
  "plans",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    description: text("description"),
    /** The current version; every saved change adds a row to plan_versions. */
    version: integer("version").notNull(),
    created_by: text("created_by"),
    created_at: integer("created_at").notNull(),
    updated_at: integer("updated_at").notNull(),
  },
  (t) => [uniqueIndex("plans_name_idx").on(t.name), index("plans_updated_idx").on(t.updated_at), check("plans_version_check", sql`${t.version} >= 1`)],
);

export const planVersions = sqliteTable(
  "plan_versions",
  {
    plan_id: text("plan_id")
      .notNull()
      .references(() => plans.id, { onDelete: "cascade" }),
    version: integer("version").notNull(),
    description: text("description"),
    steps: text("steps", { mode: "json" }).notNull().$type<unknown[]>(),
    created_at: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.plan_id, t.version] })],
);

/** Which task is a run of which plan version (the run itself is a task of type `plan`). */
export const planRuns = sqliteTable(
  "plan_runs",
  {
    task_id: text("task_id")
      .primaryKey()
      .references(() => tasks.id, { onDelete: "cascade" }),
    plan_id: text("plan_id")
      .notNull()
      .references(() => plans.id, { onDelete: "cascade" }),
    version: integer("version").notNull(),
    created_at: integer("created_at").notNull(),
  },
  (t) => [index("plan_runs_plan_idx").on(t.plan_id, t.created_at)],
);

export type PlanRow = typeof plans.$inferSelect;

// ---- Accounts, sessions, API keys, audit and secrets (the security issue) ----

export const ROLES = ["viewer", "operator", "admin"] as const;
export type Role = (typeof ROLES)[number];

export const API_KEY_SCOPES = ["worker", "api"] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export const ACTOR_TYPES = ["user", "api_key", "system", "anonymous"] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    /** Stored lowercased: sign-in is case-insensitive. */
    username: text("username").notNull(),
    email: text("email"),
    /** A PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash): it carries its own cost parameters. */
    password_hash: text("password_hash").notNull(),
    full_name: text("full_name"),
    role: text("role").$type<Role>().notNull(),
    is_active: integer("is_active", { mode: "boolean" }).notNull().default(true),
    is_verified: integer("is_verified", { mode: "boolean" }).notNull().default(false),
    settings: text("settings", { mode: "json" }).notNull().default(sql`'{}'`).$type<Record<string, unknown>>(),
    created_at: integer("created_at").notNull(),
    updated_at: integer("updated_at").notNull(),
    last_login_at: integer("last_login_at"),
    /** Consecutive failed sign-ins; reset by a successful one. */
    failed_logins: integer("failed_logins").notNull().default(0),
    locked_until: integer("locked_until"),
  },
  (t) => [
    check("users_role_check", sql`${t.role} IN (${inList(ROLES)})`),
    check("users_failed_logins_check", sql`${t.failed_logins} >= 0`),
    uniqueIndex("users_username_idx").on(t.username),
    uniqueIndex("users_email_idx").on(t.email),
  ],
);

/**
 * Refresh tokens, stored as SHA-256 hashes. A login starts a family; each refresh marks the token used
 * (replaced_by the next one) and adds the next to the family. Presenting a used token revokes the family.
 */
export const refreshTokens = sqliteTable(
  "refresh_tokens",
  {
    id: text("id").primaryKey(),
    user_id: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    family_id: text("family_id").notNull(),
    token_hash: text("token_hash").notNull(),
    created_at: integer("created_at").notNull(),
    expires_at: integer("expires_at").notNull(),
    used_at: integer("used_at"),
    replaced_by: text("replaced_by"),
    revoked_at: integer("revoked_at"),
    user_agent: text("user_agent"),
    ip: text("ip"),
  },
  (t) => [
    uniqueIndex("refresh_tokens_hash_idx").on(t.token_hash),
    index("refresh_tokens_family_idx").on(t.family_id),
    index("refresh_tokens_user_idx").on(t.user_id, t.created_at),
    check("refresh_tokens_used_check", sql`(${t.used_at} IS NULL) = (${t.replaced_by} IS NULL)`),
  ],
);

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    /** The first characters of the key, shown in lists so a key can be recognised; not enough to use it. */
    prefix: text("prefix").notNull(),
    key_hash: text("key_hash").notNull(),
    scope: text("scope").$type<ApiKeyScope>().notNull(),
    user_id: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    created_at: integer("created_at").notNull(),
    last_used_at: integer("last_used_at"),
    revoked_at: integer("revoked_at"),
  },
  (t) => [
    check("api_keys_scope_check", sql`${t.scope} IN (${inList(API_KEY_SCOPES)})`),
    uniqueIndex("api_keys_hash_idx").on(t.key_hash),
    index("api_keys_user_idx").on(t.user_id),
  ],
);

/**
 * One-time password-reset tokens (from `agentvine user reset-password`), stored as SHA-256 hashes.
 * A token works once (used_at) and until expires_at; consuming it ends every session of the user.
 */
export const passwordResets = sqliteTable(
  "password_resets",
  {
    id: text("id").primaryKey(),
    user_id: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    token_hash: text("token_hash").notNull(),
    created_at: integer("created_at").notNull(),
    expires_at: integer("expires_at").notNull(),
    used_at: integer("used_at"),
  },
  (t) => [uniqueIndex("password_resets_hash_idx").on(t.token_hash), index("password_resets_user_idx").on(t.user_id)],
);

/** Append-only: a trigger in the migration refuses every UPDATE. */
export const auditEvents = sqliteTable(
  "audit_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: integer("at").notNull(),
    /** A user id, an API key id, or "system" / "anonymous". */
    actor: text("actor").notNull(),
    actor_type: text("actor_type").$type<ActorType>().notNull(),
    /** `noun.verb`, e.g. `auth.login`, `user.updated`, `api_key.revoked`. */
    action: text("action").notNull(),
    resource_type: text("resource_type"),
    resource_id: text("resource_id"),
    ip: text("ip"),
    details: text("details", { mode: "json" }).$type<Record<string, unknown>>(),
  },
  (t) => [
    check("audit_events_actor_type_check", sql`${t.actor_type} IN (${inList(ACTOR_TYPES)})`),
    index("audit_events_at_idx").on(t.at),
    index("audit_events_actor_idx").on(t.actor, t.at),
    index("audit_events_action_idx").on(t.action, t.at),
    index("audit_events_resource_idx").on(t.resource_type, t.resource_id, t.at),
  ],
);

/** name → value, encrypted with AES-256-GCM (the name is the additional authenticated data). */
export const secrets = sqliteTable("secrets", {
  name: text("name").primaryKey(),
  ciphertext: text("ciphertext").notNull(),
  iv: text("iv").notNull(),
  tag: text("tag").notNull(),
  created_at: integer("created_at").notNull(),
  updated_at: integer("updated_at").notNull(),
});

// ---- the controller: policies route questions (worker_requests); the ledger holds LLM spend ----

export const POLICY_ACTIONS = ["automated", "human", "auto_approve", "deny"] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];
export const ON_TIMEOUT_ACTIONS = ["auto_answer", "escalate", "deny", "fail_task"] as const;
export type OnTimeoutAction = (typeof ON_TIMEOUT_ACTIONS)[number];
export const REQUEST_STATUSES = ["open", "answered", "timed_out", "cancelled"] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];
/** Who a request is with: the LLM, a human, or nobody (resolved at once). */
export const REQUEST_HANDLERS = ["automated", "human", "none"] as const;
export type RequestHandler = (typeof REQUEST_HANDLERS)[number];
export const ANSWERED_BY = ["human", "automated", "auto_approve", "timeout"] as const;
export type AnsweredBy = (typeof ANSWERED_BY)[number];

export const policies = sqliteTable(
  "policies",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    /** Rules are tried in ascending position; the default rule (is_default) matches last, always. */
    position: integer("position").notNull(),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    is_default: integer("is_default", { mode: "boolean" }).notNull().default(false),
    match_task_type: text("match_task_type"),
    match_permission_level: text("match_permission_level").$type<PermissionLevel>(),
    match_category: text("match_category"),
    /** A regular expression (case-insensitive) the question's text must match. */
    match_pattern: text("match_pattern"),
    match_repository_url: text("match_repository_url"),
    action: text("action").$type<PolicyAction>().notNull(),
    timeout_seconds: integer("timeout_seconds"),
    on_timeout: text("on_timeout").$type<OnTimeoutAction>().notNull().default("fail_task"),
    on_timeout_answer: text("on_timeout_answer"),
    version: integer("version").notNull().default(1),
    created_by: text("created_by"),
    created_at: integer("created_at").notNull(),
    updated_at: integer("updated_at").notNull(),
  },
  (t) => [
    check("policies_action_check", sql`${t.action} IN (${inList(POLICY_ACTIONS)})`),
    check("policies_on_timeout_check", sql`${t.on_timeout} IN (${inList(ON_TIMEOUT_ACTIONS)})`),
    check("policies_auto_answer_check", sql`${t.on_timeout} <> 'auto_answer' OR ${t.on_timeout_answer} IS NOT NULL`),
    check("policies_timeout_check", sql`${t.timeout_seconds} IS NULL OR ${t.timeout_seconds} > 0`),
    check("policies_permission_check", sql`${t.match_permission_level} IS NULL OR ${t.match_permission_level} IN (${inList(PERMISSION_LEVELS)})`),
    uniqueIndex("policies_name_idx").on(t.name),
  ],
);

/** A question a running task asked: routed by a policy, answered once (a guarded UPDATE … WHERE status = 'open'). */
export const workerRequests = sqliteTable(
  "worker_requests",
  {
    id: text("id").primaryKey(),
    task_id: text("task_id")
      .notNull()
      .references(() => tasks.id, { onDelete: "cascade" }),
    execution_id: text("execution_id"),
    /** A task's own name for the question: asked again with the same key (a retry), the recorded answer is reused. */
    request_key: text("request_key"),
    category: text("category"),
    question: text("question").notNull(),
    options: text("options", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    context: text("context", { mode: "json" }).$type<unknown>(),
    status: text("status").$type<RequestStatus>().notNull(),
    handler: text("handler").$type<RequestHandler>().notNull(),
    policy_id: text("policy_id"),
    policy_name: text("policy_name"),
    route_action: text("route_action").$type<PolicyAction>().notNull(),
    route_reason: text("route_reason"),
    escalation_reason: text("escalation_reason"),
    deadline_at: integer("deadline_at"),
    on_timeout: text("on_timeout").$type<OnTimeoutAction>().notNull(),
    on_timeout_answer: text("on_timeout_answer"),
    answer: text("answer"),
    denied: integer("denied", { mode: "boolean" }).notNull().default(false),
    answered_by_type: text("answered_by_type").$type<AnsweredBy>(),
    answered_by_id: text("answered_by_id"),
    /** The automated handler's calls: model, tokens, cost, latency, attempts, the last error. */
    llm: text("llm", { mode: "json" }).$type<Record<string, unknown>>(),
    /** What the LLM was given beyond the task (context documents, by the chat/context issue). */
    context_used: text("context_used", { mode: "json" }).$type<unknown>(),
    created_at: integer("created_at").notNull(),
    updated_at: integer("updated_at").notNull(),
    resolved_at: integer("resolved_at"),
  },
  (t) => [
    check("worker_requests_status_check", sql`${t.status} IN (${inList(REQUEST_STATUSES)})`),
    check("worker_requests_handler_check", sql`${t.handler} IN (${inList(REQUEST_HANDLERS)})`),
    check("worker_requests_action_check", sql`${t.route_action} IN (${inList(POLICY_ACTIONS)})`),
    check("worker_requests_on_timeout_check", sql`${t.on_timeout} IN (${inList(ON_TIMEOUT_ACTIONS)})`),
    check("worker_requests_answered_by_check", sql`${t.answered_by_type} IS NULL OR ${t.answered_by_type} IN (${inList(ANSWERED_BY)})`),
    check("worker_requests_resolved_check", sql`(${t.status} = 'open') = (${t.resolved_at} IS NULL)`),
    index("worker_requests_status_deadline_idx").on(t.status, t.deadline_at),
    index("worker_requests_task_idx").on(t.task_id, t.created_at),
  ],
);

/** Every LLM call's worst case, reserved before the call and settled with what it cost: budgets are sums over it. */
export const llmLedger = sqliteTable(
  "llm_ledger",
  {
    id: text("id").primaryKey(),
    task_id: text("task_id"),
    /** The plan run (root parent task) the task belongs to, if any. */
    run_id: text("run_id"),
    request_id: text("request_id"),
    purpose: text("purpose").notNull(),
    model: text("model").notNull(),
    status: text("status").$type<"reserved" | "settled" | "released">().notNull(),
    /** UTC date (YYYY-MM-DD) the call was made: the daily budget's bucket. */
    day: text("day").notNull(),
    reserved_usd: real("reserved_usd").notNull(),
    reserved_tokens: integer("reserved_tokens").notNull(),
    input_tokens: integer("input_tokens"),
    output_tokens: integer("output_tokens"),
    cost_usd: real("cost_usd"),
    created_at: integer("created_at").notNull(),
    settled_at: integer("settled_at"),
  },
  (t) => [index("llm_ledger_task_idx").on(t.task_id), index("llm_ledger_run_idx").on(t.run_id), index("llm_ledger_day_idx").on(t.day)],
);

/** What an admin set in the UI (the model, budgets, the webhook): key → JSON value, over the configuration's defaults. */
export const settings = sqliteTable("settings", {
  key: text("key").primaryKey(),
  value: text("value", { mode: "json" }).$type<unknown>().notNull(),
  updated_by: text("updated_by"),
  updated_at: integer("updated_at").notNull(),
});

/** The queue's pause switch: while the one row exists, nothing is claimed (queue/work-orders.ts CLAIM_SQL). */
export const queuePause = sqliteTable("queue_pause", {
  id: integer("id").primaryKey(),
  paused_at: integer("paused_at").notNull(),
  paused_by: text("paused_by"),
});

export type UserRow = typeof users.$inferSelect;
export type AuditEventRow = typeof auditEvents.$inferSelect;
