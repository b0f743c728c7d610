DROP INDEX `sandboxes_team_status_idx`;--> statement-breakpoint
CREATE INDEX `sandboxes_team_status_created_idx` ON `sandboxes` (`team_id`,`status`,`created_at`,`id`);