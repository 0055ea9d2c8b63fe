-- Issue 10 (security and reliability). Hand-written (no drizzle-kit generate).
-- A plan version records who saved it and whether they had the shell role then: a version with a step that
-- runs commands on the host runs only when its author had that role (1). NULL: saved before this was recorded.
ALTER TABLE `plan_versions` ADD `saved_by` text;
--> statement-breakpoint
ALTER TABLE `plan_versions` ADD `host_commands` integer;
--> statement-breakpoint
-- Each secret's allow-list (JSON: roles, task_types, hosts, remote_workers). NULL: the default — admins' tasks only.
ALTER TABLE `secrets` ADD `allow` text;
--> statement-breakpoint
-- The processes the server's task threads started and that have not exited (pid, process group, start time
-- and boot id, from src/sandbox): what a restart after kill -9 kills before it runs anything again.
CREATE TABLE `live_processes` (
	`pid` integer NOT NULL,
	`pgid` integer NOT NULL,
	`start_time` integer NOT NULL,
	`boot_id` text NOT NULL,
	`execution_id` text NOT NULL,
	`recorded_at` integer NOT NULL,
	PRIMARY KEY(`pid`, `start_time`)
);
--> statement-breakpoint
-- Log lines of an execution that were dropped (its log cap, or a write that failed): counted and shown.
ALTER TABLE `executions` ADD `log_dropped` integer DEFAULT 0 NOT NULL;
