-- Accounts older than last_active_at count from their creation (retention then finds the inactive by range).
UPDATE `users` SET `last_active_at` = `created_at` WHERE `last_active_at` IS NULL;--> statement-breakpoint
DROP INDEX `users_inactivity_idx`;--> statement-breakpoint
CREATE INDEX `users_inactivity_idx` ON `users` (`inactivity_warned_at`,`last_active_at`);
