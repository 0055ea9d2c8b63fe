-- The coding agents (issue 13): every step of an agent's loop (the instruction and steering notes, each
-- model call with its usage, each tool call with its result), the budget a task may spend (its params,
-- extended when a person says so), and whether a person paused it.
CREATE TABLE `agent_steps` (
	`id` text PRIMARY KEY NOT NULL,
	`task_id` text NOT NULL,
	`execution_id` text,
	`seq` integer NOT NULL,
	`kind` text NOT NULL,
	`call_key` text,
	`name` text,
	`tool_call_id` text,
	`input` text,
	`output` text,
	`is_error` integer DEFAULT false NOT NULL,
	`input_tokens` integer,
	`output_tokens` integer,
	`cost_usd` real,
	`duration_ms` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "agent_steps_kind_check" CHECK("agent_steps"."kind" IN ('note', 'model', 'tool'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `agent_steps_task_seq_idx` ON `agent_steps` (`task_id`,`seq`);--> statement-breakpoint
CREATE UNIQUE INDEX `agent_steps_call_key_idx` ON `agent_steps` (`task_id`,`call_key`) WHERE `call_key` IS NOT NULL;--> statement-breakpoint
CREATE TABLE `agent_budgets` (
	`task_id` text PRIMARY KEY NOT NULL,
	`usd` real,
	`tokens` integer,
	`extended_by` text,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `agent_control` (
	`task_id` text PRIMARY KEY NOT NULL,
	`paused` integer DEFAULT false NOT NULL,
	`paused_by` text,
	`paused_at` integer,
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE cascade
);
