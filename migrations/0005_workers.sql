-- Workers (issue 5): status is derived, not stored; capabilities become rows (worker_capabilities).
-- The old capabilities JSON is not carried over: the only worker then was the local one, re-registered at every start.
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_workers` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`worker_type` text NOT NULL,
	`hostname` text,
	`version` text,
	`max_concurrent_tasks` integer NOT NULL,
	`timeout_seconds` integer,
	`context_window_size` integer,
	`config` text DEFAULT '{}' NOT NULL,
	`draining` integer DEFAULT false NOT NULL,
	`consecutive_failures` integer DEFAULT 0 NOT NULL,
	`last_heartbeat_at` integer,
	`last_load` text,
	`announced_status` text,
	`registered_by` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	CONSTRAINT "workers_type_check" CHECK("__new_workers"."worker_type" IN ('local', 'remote')),
	CONSTRAINT "workers_concurrency_check" CHECK("__new_workers"."max_concurrent_tasks" >= 0),
	CONSTRAINT "workers_timeout_check" CHECK("__new_workers"."timeout_seconds" IS NULL OR "__new_workers"."timeout_seconds" > 0),
	CONSTRAINT "workers_context_window_check" CHECK("__new_workers"."context_window_size" IS NULL OR "__new_workers"."context_window_size" > 0),
	CONSTRAINT "workers_failures_check" CHECK("__new_workers"."consecutive_failures" >= 0),
	CONSTRAINT "workers_announced_status_check" CHECK("__new_workers"."announced_status" IS NULL OR "__new_workers"."announced_status" IN ('idle', 'busy', 'offline', 'error'))
);
--> statement-breakpoint
INSERT INTO `__new_workers`("id", "name", "worker_type", "hostname", "version", "max_concurrent_tasks", "last_heartbeat_at", "created_at", "updated_at") SELECT "id", "name", "worker_type", "hostname", "version", "max_concurrent_tasks", "last_heartbeat_at", "created_at", "updated_at" FROM `workers`;--> statement-breakpoint
DROP TABLE `workers`;--> statement-breakpoint
ALTER TABLE `__new_workers` RENAME TO `workers`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE UNIQUE INDEX `workers_name_idx` ON `workers` (`name`);--> statement-breakpoint
CREATE TABLE `worker_capabilities` (
	`worker_id` text NOT NULL,
	`capability` text NOT NULL,
	PRIMARY KEY(`worker_id`, `capability`),
	FOREIGN KEY (`worker_id`) REFERENCES `workers`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `worker_capabilities_capability_idx` ON `worker_capabilities` (`capability`);
