CREATE TABLE `team_sandbox_totals` (
	`team_id` text PRIMARY KEY NOT NULL,
	`active` integer NOT NULL,
	`running_memory_mb` integer NOT NULL,
	`running_charged_mib_ms` real NOT NULL,
	`settled_day` text,
	FOREIGN KEY (`team_id`) REFERENCES `teams`(`id`) ON UPDATE no action ON DELETE no action
);
