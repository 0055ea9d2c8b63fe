-- The controller (issue 11): what a task may do to its repository, the policies that route questions,
-- the questions themselves (worker_requests), the LLM spend ledger budgets are checked against, and
-- the settings an admin changes in the UI (the model, budgets, the webhook).
ALTER TABLE `tasks` ADD COLUMN `permission_level` text DEFAULT 'write' NOT NULL CONSTRAINT "tasks_permission_level_check" CHECK(`permission_level` IN ('read', 'write', 'push'));--> statement-breakpoint
CREATE INDEX `tasks_permission_level_created_idx` ON `tasks` (`permission_level`,`created_at`);--> statement-breakpoint
CREATE TABLE `policies` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`position` integer NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`is_default` integer DEFAULT false NOT NULL,
	`match_task_type` text,
	`match_permission_level` text,
	`match_category` text,
	`match_pattern` text,
	`match_repository_url` text,
	`action` text NOT NULL,
	`timeout_seconds` integer,
	`on_timeout` text DEFAULT 'fail_task' NOT NULL,
	`on_timeout_answer` text,
	`version` integer DEFAULT 1 NOT NULL,
	`created_by` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	CONSTRAINT "policies_action_check" CHECK("policies"."action" IN ('automated', 'human', 'auto_approve', 'deny')),
	CONSTRAINT "policies_on_timeout_check" CHECK("policies"."on_timeout" IN ('auto_answer', 'escalate', 'deny', 'fail_task')),
	CONSTRAINT "policies_auto_answer_check" CHECK("policies"."on_timeout" <> 'auto_answer' OR "policies"."on_timeout_answer" IS NOT NULL),
	CONSTRAINT "policies_timeout_check" CHECK("policies"."timeout_seconds" IS NULL OR "policies"."timeout_seconds" > 0),
	CONSTRAINT "policies_permission_check" CHECK("policies"."match_permission_level" IS NULL OR "policies"."match_permission_level" IN ('read', 'write', 'push'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `policies_name_idx` ON `policies` (`name`);--> statement-breakpoint
CREATE UNIQUE INDEX `policies_default_idx` ON `policies` (`is_default`) WHERE `is_default` = 1;--> statement-breakpoint
CREATE TABLE `worker_requests` (
	`id` text PRIMARY KEY NOT NULL,
	`task_id` text NOT NULL,
	`execution_id` text,
	`request_key` text,
	`category` text,
	`question` text NOT NULL,
	`options` text DEFAULT '[]' NOT NULL,
	`context` text,
	`status` text NOT NULL,
	`handler` text NOT NULL,
	`policy_id` text,
	`policy_name` text,
	`route_action` text NOT NULL,
	`route_reason` text,
	`escalation_reason` text,
	`deadline_at` integer,
	`on_timeout` text NOT NULL,
	`on_timeout_answer` text,
	`answer` text,
	`denied` integer DEFAULT false NOT NULL,
	`answered_by_type` text,
	`answered_by_id` text,
	`llm` text,
	`context_used` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`resolved_at` integer,
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "worker_requests_status_check" CHECK("worker_requests"."status" IN ('open', 'answered', 'timed_out', 'cancelled')),
	CONSTRAINT "worker_requests_handler_check" CHECK("worker_requests"."handler" IN ('automated', 'human', 'none')),
	CONSTRAINT "worker_requests_action_check" CHECK("worker_requests"."route_action" IN ('automated', 'human', 'auto_approve', 'deny')),
	CONSTRAINT "worker_requests_on_timeout_check" CHECK("worker_requests"."on_timeout" IN ('auto_answer', 'escalate', 'deny', 'fail_task')),
	CONSTRAINT "worker_requests_answered_by_check" CHECK("worker_requests"."answered_by_type" IS NULL OR "worker_requests"."answered_by_type" IN ('human', 'automated', 'auto_approve', 'timeout')),
	CONSTRAINT "worker_requests_resolved_check" CHECK(("worker_requests"."status" = 'open') = ("worker_requests"."resolved_at" IS NULL))
);
--> statement-breakpoint
CREATE INDEX `worker_requests_status_deadline_idx` ON `worker_requests` (`status`,`deadline_at`);--> statement-breakpoint
CREATE INDEX `worker_requests_task_idx` ON `worker_requests` (`task_id`,`created_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `worker_requests_key_idx` ON `worker_requests` (`task_id`,`request_key`) WHERE `request_key` IS NOT NULL AND `status` IN ('open', 'answered');--> statement-breakpoint
CREATE TABLE `llm_ledger` (
	`id` text PRIMARY KEY NOT NULL,
	`task_id` text,
	`run_id` text,
	`request_id` text,
	`purpose` text NOT NULL,
	`model` text NOT NULL,
	`status` text NOT NULL,
	`day` text NOT NULL,
	`reserved_usd` real NOT NULL,
	`reserved_tokens` integer NOT NULL,
	`input_tokens` integer,
	`output_tokens` integer,
	`cost_usd` real,
	`created_at` integer NOT NULL,
	`settled_at` integer,
	CONSTRAINT "llm_ledger_status_check" CHECK("llm_ledger"."status" IN ('reserved', 'settled', 'released')),
	CONSTRAINT "llm_ledger_amounts_check" CHECK("llm_ledger"."reserved_usd" >= 0 AND "llm_ledger"."reserved_tokens" >= 0)
);
--> statement-breakpoint
CREATE INDEX `llm_ledger_task_idx` ON `llm_ledger` (`task_id`);--> statement-breakpoint
CREATE INDEX `llm_ledger_run_idx` ON `llm_ledger` (`run_id`);--> statement-breakpoint
CREATE INDEX `llm_ledger_day_idx` ON `llm_ledger` (`day`);--> statement-breakpoint
CREATE TABLE `settings` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_by` text,
	`updated_at` integer NOT NULL
);
