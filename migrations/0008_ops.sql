-- Operations (issue 14), written by hand: the correlation id a task carries from the request that made it
-- through the queue, its threads or remote worker and its questions; what the /metrics scrape and the
-- retention passes read by index; and the one sanctioned way audit events can ever be deleted.
ALTER TABLE `tasks` ADD COLUMN `correlation_id` text;--> statement-breakpoint
CREATE INDEX `tasks_correlation_idx` ON `tasks` (`correlation_id`,`created_at`) WHERE `correlation_id` IS NOT NULL;--> statement-breakpoint
-- Tasks by status and type (the scrape counts them from this index alone).
CREATE INDEX `tasks_status_type_idx` ON `tasks` (`status`,`task_type`);--> statement-breakpoint
-- Retention: finished top-level tasks by age (a plan run's steps go with their run).
CREATE INDEX `tasks_retention_idx` ON `tasks` (`finished_at`) WHERE `finished_at` IS NOT NULL AND `parent_task_id` IS NULL;--> statement-breakpoint
-- Retention of execution logs: when an execution's lines were purged (the row and its figures stay).
ALTER TABLE `executions` ADD COLUMN `logs_purged_at` integer;--> statement-breakpoint
CREATE INDEX `executions_logs_kept_idx` ON `executions` (`started_at`) WHERE `logs_purged_at` IS NULL;--> statement-breakpoint
-- Each retention pass over the audit log first records what it may delete: every event up to
-- `through_id` that is older than `cutoff_at`. The record itself can never be changed or removed, and
-- may not reach into the last day, so every gap in the audit log is explained by a permanent row.
CREATE TABLE `audit_retention` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`through_id` integer NOT NULL,
	`cutoff_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	`actor` text NOT NULL
);
--> statement-breakpoint
CREATE TRIGGER `audit_retention_keeps_last_day` BEFORE INSERT ON `audit_retention`
WHEN NEW.`cutoff_at` > NEW.`created_at` - 86400000
BEGIN
	SELECT RAISE(ABORT, 'audit retention keeps at least the last day of events');
END;
--> statement-breakpoint
CREATE TRIGGER `audit_retention_no_update` BEFORE UPDATE ON `audit_retention`
BEGIN
	SELECT RAISE(ABORT, 'audit retention records are append-only');
END;
--> statement-breakpoint
CREATE TRIGGER `audit_retention_no_delete` BEFORE DELETE ON `audit_retention`
BEGIN
	SELECT RAISE(ABORT, 'audit retention records are append-only');
END;
--> statement-breakpoint
DROP TRIGGER `audit_events_no_delete`;--> statement-breakpoint
CREATE TRIGGER `audit_events_no_delete` BEFORE DELETE ON `audit_events`
WHEN NOT EXISTS (SELECT 1 FROM `audit_retention` r WHERE OLD.`id` <= r.`through_id` AND OLD.`at` < r.`cutoff_at`)
BEGIN
	SELECT RAISE(ABORT, 'audit events are append-only (only a recorded retention pass may remove old ones)');
END;
