CREATE TABLE `erasure_processors` (
	`deletion_id` text NOT NULL,
	`endpoint_id` text NOT NULL,
	`token_hash` text NOT NULL,
	`status` text NOT NULL,
	`requested_at` integer NOT NULL,
	`delivered_at` integer,
	`acknowledged_at` integer,
	`overdue_notified_at` integer,
	PRIMARY KEY(`deletion_id`, `endpoint_id`)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `erasure_processors_token_unique` ON `erasure_processors` (`token_hash`);--> statement-breakpoint
CREATE INDEX `erasure_processors_status_idx` ON `erasure_processors` (`status`,`requested_at`);--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`event_id` text NOT NULL,
	`event_type` text NOT NULL,
	`endpoint_id` text NOT NULL,
	`ordering_key` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`locked_until` integer,
	`last_status_code` integer,
	`last_error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `webhook_deliveries_due_idx` ON `webhook_deliveries` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_endpoint_idx` ON `webhook_deliveries` (`endpoint_id`,`id`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_order_idx` ON `webhook_deliveries` (`endpoint_id`,`ordering_key`,`status`,`event_id`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_event_idx` ON `webhook_deliveries` (`event_id`);--> statement-breakpoint
CREATE TABLE `webhook_endpoints` (
	`id` text PRIMARY KEY NOT NULL,
	`url` text NOT NULL,
	`events` text NOT NULL,
	`processor` integer DEFAULT false NOT NULL,
	`format` text DEFAULT 'standard' NOT NULL,
	`description` text,
	`status` text NOT NULL,
	`disabled_reason` text,
	`secret` text NOT NULL,
	`previous_secret` text,
	`previous_secret_until` integer,
	`failing_since` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `webhook_endpoints_created_idx` ON `webhook_endpoints` (`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `webhook_events` (
	`id` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`account_hash` text,
	`data` text NOT NULL,
	`fanned_out` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `webhook_events_fan_out_idx` ON `webhook_events` (`fanned_out`,`id`);