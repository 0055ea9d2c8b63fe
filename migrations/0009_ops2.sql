-- Operations, second half (issue 14), written by hand: cron schedules and what each of their slots
-- became; alerts (one row per firing of a rule) and the webhooks they go to; a durable outbox of
-- webhook posts and emails (written in the transaction of what they announce, delivered after it);
-- people's in-app notifications; email verification links; and tasks by finish time (failure rate).
CREATE TABLE `schedules` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`cron` text NOT NULL,
	`timezone` text DEFAULT 'UTC' NOT NULL,
	`target` text NOT NULL,
	`task` text,
	`plan` text,
	`inputs` text,
	`overlap` text DEFAULT 'skip' NOT NULL,
	`catch_up` text DEFAULT 'once' NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`runs_on_host` integer DEFAULT false NOT NULL,
	`next_run_at` integer,
	`last_task_id` text,
	`created_by` text,
	`updated_by` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	CONSTRAINT "schedules_target_check" CHECK("schedules"."target" IN ('task', 'plan')),
	CONSTRAINT "schedules_task_check" CHECK(("schedules"."target" = 'task') = ("schedules"."task" IS NOT NULL)),
	CONSTRAINT "schedules_plan_check" CHECK(("schedules"."target" = 'plan') = ("schedules"."plan" IS NOT NULL)),
	CONSTRAINT "schedules_overlap_check" CHECK("schedules"."overlap" IN ('skip', 'queue', 'cancel')),
	CONSTRAINT "schedules_catch_up_check" CHECK("schedules"."catch_up" IN ('once', 'none'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `schedules_name_idx` ON `schedules` (`name`);--> statement-breakpoint
CREATE INDEX `schedules_due_idx` ON `schedules` (`next_run_at`) WHERE `enabled` = 1;--> statement-breakpoint
CREATE TABLE `schedule_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`schedule_id` text NOT NULL,
	`scheduled_for` integer NOT NULL,
	`trigger` text NOT NULL,
	`outcome` text NOT NULL,
	`task_id` text,
	`reason` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`schedule_id`) REFERENCES `schedules`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "schedule_runs_trigger_check" CHECK("schedule_runs"."trigger" IN ('cron', 'catch_up', 'manual')),
	CONSTRAINT "schedule_runs_outcome_check" CHECK("schedule_runs"."outcome" IN ('started', 'waiting', 'skipped', 'missed', 'failed')),
	CONSTRAINT "schedule_runs_task_check" CHECK(("schedule_runs"."outcome" = 'started') = ("schedule_runs"."task_id" IS NOT NULL))
);
--> statement-breakpoint
-- One row per slot of the cron: a slot is started, skipped or missed once, even across a crash.
CREATE UNIQUE INDEX `schedule_runs_slot_idx` ON `schedule_runs` (`schedule_id`,`scheduled_for`) WHERE `trigger` <> 'manual';--> statement-breakpoint
CREATE INDEX `schedule_runs_schedule_idx` ON `schedule_runs` (`schedule_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `schedule_runs_waiting_idx` ON `schedule_runs` (`schedule_id`,`scheduled_for`) WHERE `outcome` = 'waiting';--> statement-breakpoint
CREATE TABLE `alerts` (
	`id` text PRIMARY KEY NOT NULL,
	`rule` text NOT NULL,
	`key` text DEFAULT '' NOT NULL,
	`status` text NOT NULL,
	`severity` text NOT NULL,
	`summary` text NOT NULL,
	`value` real,
	`details` text,
	`pending_since` integer NOT NULL,
	`fired_at` integer,
	`resolved_at` integer,
	`updated_at` integer NOT NULL,
	CONSTRAINT "alerts_status_check" CHECK("alerts"."status" IN ('pending', 'firing', 'resolved')),
	CONSTRAINT "alerts_severity_check" CHECK("alerts"."severity" IN ('warning', 'critical')),
	CONSTRAINT "alerts_fired_check" CHECK("alerts"."status" <> 'firing' OR "alerts"."fired_at" IS NOT NULL),
	CONSTRAINT "alerts_resolved_check" CHECK(("alerts"."status" = 'resolved') = ("alerts"."resolved_at" IS NOT NULL))
);
--> statement-breakpoint
-- At most one open (pending or firing) alert per rule and subject.
CREATE UNIQUE INDEX `alerts_open_idx` ON `alerts` (`rule`,`key`) WHERE `status` <> 'resolved';--> statement-breakpoint
CREATE INDEX `alerts_updated_idx` ON `alerts` (`updated_at`);--> statement-breakpoint
CREATE TABLE `alert_webhooks` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`url` text NOT NULL,
	`format` text DEFAULT 'json' NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`created_by` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	CONSTRAINT "alert_webhooks_format_check" CHECK("alert_webhooks"."format" IN ('json', 'slack'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `alert_webhooks_name_idx` ON `alert_webhooks` (`name`);--> statement-breakpoint
CREATE TABLE `outbox` (
	`id` text PRIMARY KEY NOT NULL,
	`channel` text NOT NULL,
	`target` text NOT NULL,
	`event` text NOT NULL,
	`payload` text NOT NULL,
	`source` text,
	`status` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`response_status` integer,
	`last_error` text,
	`next_attempt_at` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`sent_at` integer,
	CONSTRAINT "outbox_channel_check" CHECK("outbox"."channel" IN ('webhook', 'email')),
	CONSTRAINT "outbox_status_check" CHECK("outbox"."status" IN ('pending', 'sent', 'failed'))
);
--> statement-breakpoint
CREATE INDEX `outbox_pending_idx` ON `outbox` (`next_attempt_at`,`created_at`) WHERE `status` = 'pending';--> statement-breakpoint
CREATE INDEX `outbox_source_idx` ON `outbox` (`source`,`created_at`);--> statement-breakpoint
CREATE TABLE `notifications` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`kind` text NOT NULL,
	`ref` text NOT NULL,
	`title` text NOT NULL,
	`body` text,
	`url` text,
	`in_app` integer DEFAULT true NOT NULL,
	`created_at` integer NOT NULL,
	`read_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "notifications_kind_check" CHECK("notifications"."kind" IN ('question', 'task_failed', 'alert'))
);
--> statement-breakpoint
-- Each event reaches a person once, whichever way it is announced.
CREATE UNIQUE INDEX `notifications_ref_idx` ON `notifications` (`user_id`,`kind`,`ref`);--> statement-breakpoint
CREATE INDEX `notifications_inbox_idx` ON `notifications` (`user_id`,`created_at`) WHERE `in_app` = 1;--> statement-breakpoint
CREATE TABLE `email_verifications` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`email` text NOT NULL,
	`token_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `email_verifications_token_idx` ON `email_verifications` (`token_hash`);--> statement-breakpoint
CREATE INDEX `email_verifications_user_idx` ON `email_verifications` (`user_id`);--> statement-breakpoint
-- The alerts' failure rate counts tasks that finished in a window.
CREATE INDEX `tasks_finished_idx` ON `tasks` (`finished_at`) WHERE `finished_at` IS NOT NULL;
