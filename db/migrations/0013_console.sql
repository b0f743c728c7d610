CREATE TABLE `console_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `console_sessions_user_idx` ON `console_sessions` (`user_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `quota_refusals` (
	`usage_date` text NOT NULL,
	`quota` text NOT NULL,
	`refusals` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`usage_date`, `quota`)
);
--> statement-breakpoint
CREATE INDEX `quota_usage_day_idx` ON `quota_usage` (`usage_date`,`sandbox_creates`);--> statement-breakpoint
CREATE INDEX `data_requests_deadline_idx` ON `data_requests` (`due_at`,`id`);--> statement-breakpoint
CREATE INDEX `api_keys_prefix_idx` ON `api_keys` (`key_prefix`);--> statement-breakpoint
CREATE INDEX `account_deletions_requested_idx` ON `account_deletions` (`requested_at`,`id`);