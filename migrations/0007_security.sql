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
-- Log lines of an execution that were dropped (its log cap, or a write that failed): counted and shown.
ALTER TABLE `executions` ADD `log_dropped` integer DEFAULT 0 NOT NULL;
--> statement-breakpoint
-- A worker key's grants (JSON: capabilities, max_concurrent_tasks): what the workers registered with it may
-- declare, and how many tasks they may hold at once, all together. Existing worker keys keep what their
-- workers already declared (the union of capabilities, the sum of their slots; 8 slots for a key with none).
ALTER TABLE `api_keys` ADD `grants` text;
--> statement-breakpoint
UPDATE `api_keys` SET `grants` = json_object(
	'capabilities', json((SELECT json_group_array(DISTINCT c.capability) FROM worker_capabilities c JOIN workers w ON w.id = c.worker_id WHERE w.registered_by = api_keys.id)),
	'max_concurrent_tasks', min(1024, coalesce((SELECT sum(w.max_concurrent_tasks) FROM workers w WHERE w.registered_by = api_keys.id), 8))
) WHERE `scope` = 'worker';
