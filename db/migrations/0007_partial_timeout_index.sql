DROP INDEX `sandboxes_timeout_idx`;--> statement-breakpoint
CREATE INDEX `sandboxes_timeout_idx` ON `sandboxes` (`status`,`timeout_at`) WHERE timeout_at IS NOT NULL;