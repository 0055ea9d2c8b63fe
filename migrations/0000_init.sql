CREATE TABLE `execution_logs` (
	`execution_id` text NOT NULL,
	`seq` integer NOT NULL,
	`level` text NOT NULL,
	`message` text NOT NULL,
	`metadata` text,
	`ts` integer NOT NULL,
	PRIMARY KEY(`execution_id`, `seq`),
	FOREIGN KEY (`execution_id`) REFERENCES `executions`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "execution_logs_level_check" CHECK("execution_logs"."level" IN ('debug', 'info', 'warn', 'error'))
);
--> statement-breakpoint
CREATE TABLE `executions` (
	`id` text PRIMARY KEY NOT NULL,
	`task_id` text NOT NULL,
	`work_order_id` text NOT NULL,
	`worker_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`status` text NOT NULL,
	`exit_code` integer,
	`error` text,
	`stdout` text,
	`stderr` text,
	`duration_ms` integer,
	`cpu_ms` integer,
	`max_rss_bytes` integer,
	`log_count` integer DEFAULT 0 NOT NULL,
	`started_at` integer NOT NULL,
	`finished_at` integer,
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "executions_status_check" CHECK("executions"."status" IN ('running', 'succeeded', 'failed', 'timed_out', 'cancelled'))
);
--> statement-breakpoint
CREATE INDEX `executions_task_idx` ON `executions` (`task_id`,`started_at`);--> statement-breakpoint
CREATE INDEX `executions_worker_idx` ON `executions` (`worker_id`,`started_at`);--> statement-breakpoint
CREATE INDEX `executions_status_idx` ON `executions` (`status`,`started_at`);--> statement-breakpoint
CREATE INDEX `executions_started_idx` ON `executions` (`started_at`);--> statement-breakpoint
CREATE TABLE `task_dependencies` (
	`task_id` text NOT NULL,
	`depends_on_id` text NOT NULL,
	PRIMARY KEY(`task_id`, `depends_on_id`),
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`depends_on_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "task_dependencies_self_check" CHECK("task_dependencies"."task_id" <> "task_dependencies"."depends_on_id")
);
--> statement-breakpoint
CREATE INDEX `task_dependencies_depends_on_idx` ON `task_dependencies` (`depends_on_id`);--> statement-breakpoint
CREATE TABLE `tasks` (
	`id` text PRIMARY KEY NOT NULL,
	`title` text NOT NULL,
	`description` text,
	`task_type` text NOT NULL,
	`params` text NOT NULL,
	`priority` text DEFAULT 'default' NOT NULL,
	`status` text NOT NULL,
	`result` text,
	`error` text,
	`repository_url` text,
	`branch_name` text,
	`issue_number` integer,
	`pr_number` integer,
	`context` text,
	`metadata` text,
	`parent_task_id` text,
	`requires` text DEFAULT '[]' NOT NULL,
	`timeout_seconds` integer NOT NULL,
	`max_retries` integer NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`created_by` text,
	`assigned_to` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	FOREIGN KEY (`parent_task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "tasks_status_check" CHECK("tasks"."status" IN ('pending', 'queued', 'running', 'waiting_input', 'succeeded', 'failed', 'cancelled', 'timed_out')),
	CONSTRAINT "tasks_priority_check" CHECK("tasks"."priority" IN ('high', 'default', 'low')),
	CONSTRAINT "tasks_timeout_check" CHECK("tasks"."timeout_seconds" > 0),
	CONSTRAINT "tasks_retries_check" CHECK("tasks"."max_retries" >= 0)
);
--> statement-breakpoint
CREATE INDEX `tasks_created_idx` ON `tasks` (`created_at`);--> statement-breakpoint
CREATE INDEX `tasks_status_created_idx` ON `tasks` (`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `tasks_type_created_idx` ON `tasks` (`task_type`,`created_at`);--> statement-breakpoint
CREATE INDEX `tasks_priority_created_idx` ON `tasks` (`priority`,`created_at`);--> statement-breakpoint
CREATE INDEX `tasks_parent_idx` ON `tasks` (`parent_task_id`);--> statement-breakpoint
CREATE TABLE `work_orders` (
	`id` text PRIMARY KEY NOT NULL,
	`task_id` text,
	`queue` text NOT NULL,
	`priority` integer NOT NULL,
	`status` text NOT NULL,
	`payload` text NOT NULL,
	`result` text,
	`error` text,
	`errors` text DEFAULT '[]' NOT NULL,
	`requires` text DEFAULT '[]' NOT NULL,
	`retry_count` integer DEFAULT 0 NOT NULL,
	`max_retries` integer NOT NULL,
	`timeout_seconds` integer NOT NULL,
	`run_at` integer NOT NULL,
	`expires_at` integer,
	`claimed_by` text,
	`claimed_at` integer,
	`lease_token` text,
	`lease_until` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`finished_at` integer,
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "work_orders_status_check" CHECK("work_orders"."status" IN ('queued', 'claimed', 'completed', 'failed', 'dead', 'expired', 'cancelled')),
	CONSTRAINT "work_orders_queue_check" CHECK("work_orders"."queue" IN ('high_priority', 'default', 'low_priority')),
	CONSTRAINT "work_orders_priority_check" CHECK("work_orders"."priority" IN (0, 1, 2)),
	CONSTRAINT "work_orders_lease_check" CHECK(("work_orders"."status" = 'claimed') = ("work_orders"."claimed_by" IS NOT NULL AND "work_orders"."lease_until" IS NOT NULL AND "work_orders"."lease_token" IS NOT NULL)),
	CONSTRAINT "work_orders_retry_check" CHECK("work_orders"."retry_count" >= 0 AND "work_orders"."retry_count" <= "work_orders"."max_retries" + 1)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `work_orders_task_idx` ON `work_orders` (`task_id`);--> statement-breakpoint
CREATE INDEX `work_orders_claim_idx` ON `work_orders` (`priority`,`run_at`,`id`) WHERE status = 'queued';--> statement-breakpoint
CREATE INDEX `work_orders_lease_idx` ON `work_orders` (`lease_until`) WHERE status = 'claimed';--> statement-breakpoint
CREATE INDEX `work_orders_expires_idx` ON `work_orders` (`expires_at`) WHERE status = 'queued' AND expires_at IS NOT NULL;--> statement-breakpoint
CREATE INDEX `work_orders_status_idx` ON `work_orders` (`status`,`queue`);--> statement-breakpoint
CREATE TABLE `worker_assignments` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`work_order_id` text NOT NULL,
	`worker_id` text NOT NULL,
	`execution_id` text,
	`assigned_at` integer NOT NULL,
	`released_at` integer,
	`outcome` text,
	FOREIGN KEY (`work_order_id`) REFERENCES `work_orders`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `worker_assignments_order_idx` ON `worker_assignments` (`work_order_id`);--> statement-breakpoint
CREATE INDEX `worker_assignments_worker_idx` ON `worker_assignments` (`worker_id`,`assigned_at`);--> statement-breakpoint
CREATE TABLE `workers` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`worker_type` text NOT NULL,
	`status` text NOT NULL,
	`hostname` text,
	`version` text,
	`capabilities` text DEFAULT '[]' NOT NULL,
	`max_concurrent_tasks` integer NOT NULL,
	`last_heartbeat_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	CONSTRAINT "workers_type_check" CHECK("workers"."worker_type" IN ('local', 'remote')),
	CONSTRAINT "workers_status_check" CHECK("workers"."status" IN ('idle', 'busy', 'offline', 'error')),
	CONSTRAINT "workers_concurrency_check" CHECK("workers"."max_concurrent_tasks" >= 0)
);
