CREATE TABLE `data_requests` (
	`id` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`status` text NOT NULL,
	`user_id` text,
	`user_hash` text,
	`email` text,
	`channel` text,
	`note` text,
	`received_at` integer NOT NULL,
	`due_at` integer NOT NULL,
	`paused_days` integer DEFAULT 0 NOT NULL,
	`paused_since` integer,
	`started_at` integer,
	`extended_months` integer DEFAULT 0 NOT NULL,
	`extension_reason` text,
	`closed_at` integer,
	`outcome_reason` text,
	`export_id` text,
	`erasure_id` text,
	`overdue_announced_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `data_requests_due_idx` ON `data_requests` (`closed_at`,`due_at`,`id`);--> statement-breakpoint
CREATE INDEX `data_requests_user_idx` ON `data_requests` (`user_id`);--> statement-breakpoint
CREATE INDEX `data_requests_user_hash_idx` ON `data_requests` (`user_hash`);--> statement-breakpoint
CREATE TABLE `export_archives` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`format` text NOT NULL,
	`status` text NOT NULL,
	`requested_by` text NOT NULL,
	`rows_done` integer DEFAULT 0 NOT NULL,
	`rows_total` integer,
	`size` integer,
	`sha256` text,
	`parts` integer,
	`error` text,
	`attempts` integer DEFAULT 0 NOT NULL,
	`locked_until` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`ready_at` integer,
	`expires_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `export_archives_status_idx` ON `export_archives` (`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `export_archives_user_idx` ON `export_archives` (`user_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `export_archives_expires_idx` ON `export_archives` (`expires_at`);