CREATE TABLE `certificate_keys` (
	`kid` text PRIMARY KEY NOT NULL,
	`jwk` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `erasure_certificates` (
	`seq` integer PRIMARY KEY NOT NULL,
	`erasure_id` text NOT NULL,
	`user_hash` text NOT NULL,
	`hash` text NOT NULL,
	`document` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `erasure_certificates_erasure_id_unique` ON `erasure_certificates` (`erasure_id`);--> statement-breakpoint
CREATE INDEX `erasure_certificates_user_hash_idx` ON `erasure_certificates` (`user_hash`,`seq`);--> statement-breakpoint
CREATE TABLE `legal_holds` (
	`user_id` text PRIMARY KEY NOT NULL,
	`reason` text NOT NULL,
	`confidential` integer DEFAULT false NOT NULL,
	`until` integer,
	`placed_at` integer NOT NULL,
	`released_at` integer,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
ALTER TABLE `users` ADD `last_active_at` integer;--> statement-breakpoint
ALTER TABLE `users` ADD `inactivity_warned_at` integer;--> statement-breakpoint
CREATE INDEX `users_inactivity_idx` ON `users` (`inactivity_warned_at`);--> statement-breakpoint
ALTER TABLE `account_deletions` ADD `verification` text;