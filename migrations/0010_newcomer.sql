-- The queue's pause switch (admins, audited): while the one row exists, nothing is claimed.
CREATE TABLE `queue_pause` (
	`id` integer PRIMARY KEY NOT NULL CHECK (`id` = 1),
	`paused_at` integer NOT NULL,
	`paused_by` text
);
