ALTER TABLE `account_deletions` ADD `locked_until` integer;--> statement-breakpoint
ALTER TABLE `account_deletions` ADD `replay_hash` text;--> statement-breakpoint
CREATE INDEX `account_deletions_replay_idx` ON `account_deletions` (`replay_hash`);