-- Seeded quota tiers (system data). Operators may add tiers with plain SQL; these two always exist
-- because every new user and team starts on `free`.
INSERT OR IGNORE INTO `quota_tiers` (`id`, `display_name`, `max_concurrent_sandboxes`, `daily_sandbox_creates`, `daily_gb_hours`) VALUES ('free', 'Free', 5, 100, 20);--> statement-breakpoint
INSERT OR IGNORE INTO `quota_tiers` (`id`, `display_name`, `max_concurrent_sandboxes`, `daily_sandbox_creates`, `daily_gb_hours`) VALUES ('pro', 'Pro', 50, 5000, 1000);
