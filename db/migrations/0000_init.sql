CREATE TABLE `quota_tiers` (
	`id` text PRIMARY KEY NOT NULL,
	`display_name` text NOT NULL,
	`max_concurrent_sandboxes` integer NOT NULL,
	`daily_sandbox_creates` integer NOT NULL,
	`daily_gb_hours` real NOT NULL
);
--> statement-breakpoint
CREATE TABLE `quota_usage` (
	`team_id` text NOT NULL,
	`usage_date` text NOT NULL,
	`sandbox_creates` integer DEFAULT 0 NOT NULL,
	`gb_hours` real DEFAULT 0 NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`team_id`, `usage_date`),
	FOREIGN KEY (`team_id`) REFERENCES `teams`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `teams` (
	`id` text PRIMARY KEY NOT NULL,
	`owner_user_id` text NOT NULL,
	`name` text NOT NULL,
	`slug` text NOT NULL,
	`quota_tier_id` text DEFAULT 'free' NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`soft_deleted_at` integer,
	FOREIGN KEY (`owner_user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`quota_tier_id`) REFERENCES `quota_tiers`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `teams_slug_unique` ON `teams` (`slug`);--> statement-breakpoint
CREATE INDEX `teams_owner_user_id_idx` ON `teams` (`owner_user_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`email` text NOT NULL,
	`name` text,
	`display_name` text,
	`avatar_url` text,
	`email_verified_at` integer,
	`is_operator` integer DEFAULT false NOT NULL,
	`tier` text DEFAULT 'free' NOT NULL,
	`quota_tier_id` text DEFAULT 'free' NOT NULL,
	`abuse_flags` text DEFAULT '{}' NOT NULL,
	`stripe_customer_id` text,
	`payment_method` text,
	`trial_used_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`soft_deleted_at` integer,
	`delete_scheduled_at` integer,
	`erasure_requested_at` integer,
	FOREIGN KEY (`quota_tier_id`) REFERENCES `quota_tiers`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_email_unique` ON `users` (`email`);--> statement-breakpoint
CREATE UNIQUE INDEX `users_stripe_customer_id_unique` ON `users` (`stripe_customer_id`);--> statement-breakpoint
CREATE INDEX `users_delete_scheduled_at_idx` ON `users` (`delete_scheduled_at`);--> statement-breakpoint
CREATE TABLE `app_pages` (
	`app_id` text NOT NULL,
	`kind` text NOT NULL,
	`data` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`app_id`, `kind`),
	FOREIGN KEY (`app_id`) REFERENCES `apps`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `apps` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`app_name` text NOT NULL,
	`slug` text NOT NULL,
	`deployed` integer DEFAULT false NOT NULL,
	`deployed_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `apps_slug_unique` ON `apps` (`slug`);--> statement-breakpoint
CREATE INDEX `apps_user_idx` ON `apps` (`user_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `deploys` (
	`id` text PRIMARY KEY NOT NULL,
	`app_id` text NOT NULL,
	`deployed_at` integer NOT NULL,
	`url` text NOT NULL,
	`pages` text NOT NULL,
	FOREIGN KEY (`app_id`) REFERENCES `apps`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `deploys_app_idx` ON `deploys` (`app_id`,`deployed_at`);--> statement-breakpoint
CREATE TABLE `policies` (
	`app_id` text PRIMARY KEY NOT NULL,
	`data` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`app_id`) REFERENCES `apps`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `policy_versions` (
	`id` text PRIMARY KEY NOT NULL,
	`app_id` text NOT NULL,
	`snapshot_at` integer NOT NULL,
	`trigger` text NOT NULL,
	`app_name` text NOT NULL,
	`policy_data` text NOT NULL,
	FOREIGN KEY (`app_id`) REFERENCES `apps`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `policy_versions_app_idx` ON `policy_versions` (`app_id`,`snapshot_at`);--> statement-breakpoint
CREATE TABLE `sites` (
	`app_id` text PRIMARY KEY NOT NULL,
	`description` text,
	`icon_url` text,
	`icon_color` text,
	`custom_domain` text,
	`domain_status` text,
	`domain_dns_verified` integer DEFAULT false NOT NULL,
	`domain_ssl_provisioned` integer DEFAULT false NOT NULL,
	`domain_error` text,
	`smart_banner` text,
	`well_known_files` text,
	`search_indexing` integer DEFAULT true NOT NULL,
	`custom_homepage_html` text,
	`published_version` text,
	`published_hash` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`app_id`) REFERENCES `apps`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sites_custom_domain_unique` ON `sites` (`custom_domain`);--> statement-breakpoint
CREATE TABLE `stripe_events` (
	`id` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`received_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `subscriptions` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`stripe_subscription_id` text NOT NULL,
	`status` text NOT NULL,
	`plan_type` text NOT NULL,
	`quantity` integer NOT NULL,
	`cancel_at_period_end` integer DEFAULT false NOT NULL,
	`current_period_end` integer,
	`cancel_set_by_deletion` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `subscriptions_user_id_unique` ON `subscriptions` (`user_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `subscriptions_stripe_subscription_id_unique` ON `subscriptions` (`stripe_subscription_id`);--> statement-breakpoint
CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`team_id` text,
	`kind` text NOT NULL,
	`key_prefix` text NOT NULL,
	`key_hash` text NOT NULL,
	`name` text,
	`scope` text,
	`is_active` integer DEFAULT true NOT NULL,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	`revoked_at` integer,
	`expires_at` integer,
	`rotation_parent_key_id` text,
	`suspended_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`team_id`) REFERENCES `teams`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_key_hash_unique` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_user_kind_idx` ON `api_keys` (`user_id`,`kind`);--> statement-breakpoint
CREATE TABLE `sandboxes` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`user_id` text,
	`template` text NOT NULL,
	`status` text NOT NULL,
	`vcpus` integer NOT NULL,
	`memory_mb` integer NOT NULL,
	`disk_mb` integer,
	`metadata` text,
	`timeout_ms` integer,
	`timeout_action` text DEFAULT 'destroy' NOT NULL,
	`timeout_at` integer,
	`started_at` integer,
	`destroyed_at` integer,
	`charged_until` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`team_id`) REFERENCES `teams`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `sandboxes_team_created_idx` ON `sandboxes` (`team_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `sandboxes_team_status_idx` ON `sandboxes` (`team_id`,`status`);--> statement-breakpoint
CREATE INDEX `sandboxes_timeout_idx` ON `sandboxes` (`status`,`timeout_at`);--> statement-breakpoint
CREATE INDEX `sandboxes_user_idx` ON `sandboxes` (`user_id`);--> statement-breakpoint
CREATE TABLE `account_deletions` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text,
	`user_hash` text NOT NULL,
	`mode` text NOT NULL,
	`step` text NOT NULL,
	`counts` text,
	`stripe_actions` text,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer,
	`last_error` text,
	`requested_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`completed_at` integer
);
--> statement-breakpoint
CREATE INDEX `account_deletions_step_idx` ON `account_deletions` (`step`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `account_deletions_user_idx` ON `account_deletions` (`user_id`);--> statement-breakpoint
CREATE INDEX `account_deletions_user_hash_idx` ON `account_deletions` (`user_hash`,`requested_at`);--> statement-breakpoint
CREATE TABLE `audit_events` (
	`id` text PRIMARY KEY NOT NULL,
	`user_hash` text NOT NULL,
	`action` text NOT NULL,
	`at` integer NOT NULL,
	`details` text
);
--> statement-breakpoint
CREATE INDEX `audit_events_user_idx` ON `audit_events` (`user_hash`,`at`);--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`principal` text NOT NULL,
	`key` text NOT NULL,
	`method` text NOT NULL,
	`path` text NOT NULL,
	`fingerprint` text NOT NULL,
	`state` text NOT NULL,
	`status` integer,
	`body` text,
	`content_type` text,
	`location` text,
	`created_at` integer NOT NULL,
	`locked_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	PRIMARY KEY(`principal`, `key`)
);
--> statement-breakpoint
CREATE INDEX `idempotency_expires_idx` ON `idempotency_keys` (`expires_at`);