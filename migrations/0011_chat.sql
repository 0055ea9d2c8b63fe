-- Chat and context documents (issue 12): one conversation per task (made with the task by a trigger, so
-- every way a task is inserted gets one; a step's conversation points at its plan run's), messages with
-- threads and edits, attachments stored under the data dir, read markers for unread counts; context
-- documents with every earlier version kept, and a full-text index (FTS5) over the current versions only.
CREATE TABLE `conversations` (
	`id` text PRIMARY KEY NOT NULL,
	`title` text NOT NULL,
	`task_id` text,
	`parent_conversation_id` text,
	`created_by` text,
	`created_at` integer NOT NULL,
	`last_message_at` integer,
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`parent_conversation_id`) REFERENCES `conversations`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `conversations_task_idx` ON `conversations` (`task_id`) WHERE `task_id` IS NOT NULL;--> statement-breakpoint
CREATE INDEX `conversations_parent_idx` ON `conversations` (`parent_conversation_id`) WHERE `parent_conversation_id` IS NOT NULL;--> statement-breakpoint
CREATE INDEX `conversations_last_message_idx` ON `conversations` (`last_message_at`);--> statement-breakpoint
CREATE TRIGGER `tasks_conversation_insert` AFTER INSERT ON `tasks` BEGIN
	INSERT INTO conversations (id, title, task_id, parent_conversation_id, created_by, created_at)
	VALUES (
		lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
		NEW.title,
		NEW.id,
		(SELECT c.id FROM conversations c WHERE c.task_id = NEW.parent_task_id),
		NEW.created_by,
		NEW.created_at
	);
END;--> statement-breakpoint
INSERT INTO conversations (id, title, task_id, parent_conversation_id, created_by, created_at)
	SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
		t.title, t.id, NULL, t.created_by, t.created_at
	FROM tasks t;--> statement-breakpoint
UPDATE conversations SET parent_conversation_id = (
	SELECT p.id FROM tasks t JOIN conversations p ON p.task_id = t.parent_task_id WHERE t.id = conversations.task_id
) WHERE task_id IS NOT NULL;--> statement-breakpoint
CREATE TABLE `chat_messages` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`id` text NOT NULL,
	`conversation_id` text NOT NULL,
	`sender_type` text NOT NULL,
	`sender_id` text,
	`sender_name` text,
	`message` text NOT NULL,
	`message_type` text DEFAULT 'text' NOT NULL,
	`parent_message_id` text,
	`metadata` text,
	`created_at` integer NOT NULL,
	`edited_at` integer,
	FOREIGN KEY (`conversation_id`) REFERENCES `conversations`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "chat_messages_sender_type_check" CHECK("chat_messages"."sender_type" IN ('human', 'worker', 'controller', 'system')),
	CONSTRAINT "chat_messages_type_check" CHECK("chat_messages"."message_type" IN ('text', 'question', 'answer', 'log_milestone', 'status_change'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `chat_messages_id_idx` ON `chat_messages` (`id`);--> statement-breakpoint
CREATE INDEX `chat_messages_conversation_idx` ON `chat_messages` (`conversation_id`,`seq`);--> statement-breakpoint
CREATE INDEX `chat_messages_sender_idx` ON `chat_messages` (`sender_type`,`sender_id`);--> statement-breakpoint
CREATE INDEX `chat_messages_created_idx` ON `chat_messages` (`created_at`);--> statement-breakpoint
CREATE INDEX `chat_messages_parent_idx` ON `chat_messages` (`parent_message_id`) WHERE `parent_message_id` IS NOT NULL;--> statement-breakpoint
CREATE INDEX `chat_messages_request_idx` ON `chat_messages` (json_extract(`metadata`, '$.request_id')) WHERE `message_type` IN ('question', 'answer');--> statement-breakpoint
CREATE TABLE `chat_attachments` (
	`id` text PRIMARY KEY NOT NULL,
	`message_id` text NOT NULL,
	`conversation_id` text NOT NULL,
	`filename` text NOT NULL,
	`content_type` text NOT NULL,
	`size_bytes` integer NOT NULL,
	`sha256` text NOT NULL,
	`storage_path` text NOT NULL,
	`created_by` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`conversation_id`) REFERENCES `conversations`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "chat_attachments_size_check" CHECK("chat_attachments"."size_bytes" >= 0)
);
--> statement-breakpoint
CREATE INDEX `chat_attachments_message_idx` ON `chat_attachments` (`message_id`);--> statement-breakpoint
CREATE TABLE `chat_reads` (
	`conversation_id` text NOT NULL,
	`user_id` text NOT NULL,
	`last_read_seq` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`conversation_id`, `user_id`),
	FOREIGN KEY (`conversation_id`) REFERENCES `conversations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `context_documents` (
	`doc_no` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`id` text NOT NULL,
	`title` text NOT NULL,
	`document_type` text NOT NULL,
	`content` text NOT NULL,
	`repository_url` text,
	`tags` text DEFAULT '[]' NOT NULL,
	`metadata` text,
	`version` integer DEFAULT 1 NOT NULL,
	`created_by` text,
	`updated_by` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	CONSTRAINT "context_documents_type_check" CHECK("context_documents"."document_type" IN ('design', 'spec', 'runbook', 'note', 'decision')),
	CONSTRAINT "context_documents_version_check" CHECK("context_documents"."version" >= 1)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `context_documents_id_idx` ON `context_documents` (`id`);--> statement-breakpoint
CREATE INDEX `context_documents_type_idx` ON `context_documents` (`document_type`);--> statement-breakpoint
CREATE INDEX `context_documents_repository_idx` ON `context_documents` (`repository_url`);--> statement-breakpoint
CREATE INDEX `context_documents_created_by_idx` ON `context_documents` (`created_by`);--> statement-breakpoint
CREATE INDEX `context_documents_updated_idx` ON `context_documents` (`updated_at`);--> statement-breakpoint
CREATE TABLE `context_document_versions` (
	`document_id` text NOT NULL,
	`version` integer NOT NULL,
	`title` text NOT NULL,
	`document_type` text NOT NULL,
	`content` text NOT NULL,
	`repository_url` text,
	`tags` text DEFAULT '[]' NOT NULL,
	`metadata` text,
	`edited_by` text,
	`edited_at` integer NOT NULL,
	`restored_from` integer,
	PRIMARY KEY(`document_id`, `version`),
	FOREIGN KEY (`document_id`) REFERENCES `context_documents`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE VIRTUAL TABLE `context_documents_fts` USING fts5(title, content, tags, content='context_documents', content_rowid='doc_no', tokenize='porter unicode61 remove_diacritics 2');--> statement-breakpoint
CREATE TRIGGER `context_documents_fts_insert` AFTER INSERT ON `context_documents` BEGIN
	INSERT INTO context_documents_fts (rowid, title, content, tags) VALUES (NEW.doc_no, NEW.title, NEW.content, NEW.tags);
END;--> statement-breakpoint
CREATE TRIGGER `context_documents_fts_delete` AFTER DELETE ON `context_documents` BEGIN
	INSERT INTO context_documents_fts (context_documents_fts, rowid, title, content, tags) VALUES ('delete', OLD.doc_no, OLD.title, OLD.content, OLD.tags);
END;--> statement-breakpoint
CREATE TRIGGER `context_documents_fts_update` AFTER UPDATE OF `title`, `content`, `tags` ON `context_documents` BEGIN
	INSERT INTO context_documents_fts (context_documents_fts, rowid, title, content, tags) VALUES ('delete', OLD.doc_no, OLD.title, OLD.content, OLD.tags);
	INSERT INTO context_documents_fts (rowid, title, content, tags) VALUES (NEW.doc_no, NEW.title, NEW.content, NEW.tags);
END;
--> statement-breakpoint
CREATE TRIGGER `chat_messages_last_message` AFTER INSERT ON `chat_messages` BEGIN
	UPDATE conversations SET last_message_at = NEW.created_at WHERE id = NEW.conversation_id;
END;
