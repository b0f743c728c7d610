CREATE TABLE `change_epochs` (
	`id` integer PRIMARY KEY NOT NULL,
	`value` integer NOT NULL
);
--> statement-breakpoint
INSERT INTO `change_epochs` (`id`, `value`) VALUES (1, 0), (2, 0), (3, 0);
--> statement-breakpoint
CREATE TRIGGER `change_epochs_credentials_keys_update` AFTER UPDATE OF `id`, `user_id`, `team_id`, `kind`, `key_hash`, `is_active`, `revoked_at`, `expires_at`, `suspended_at` ON `api_keys`
BEGIN UPDATE `change_epochs` SET `value` = `value` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `change_epochs_credentials_keys_delete` AFTER DELETE ON `api_keys`
BEGIN UPDATE `change_epochs` SET `value` = `value` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `change_epochs_credentials_users_update` AFTER UPDATE OF `id`, `email`, `email_verified_at`, `is_operator`, `soft_deleted_at`, `erasure_requested_at` ON `users`
BEGIN UPDATE `change_epochs` SET `value` = `value` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `change_epochs_credentials_users_delete` AFTER DELETE ON `users`
BEGIN UPDATE `change_epochs` SET `value` = `value` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `change_epochs_credentials_teams_insert` AFTER INSERT ON `teams`
BEGIN UPDATE `change_epochs` SET `value` = `value` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `change_epochs_credentials_teams_update` AFTER UPDATE OF `id`, `owner_user_id`, `created_at` ON `teams`
BEGIN UPDATE `change_epochs` SET `value` = `value` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `change_epochs_credentials_teams_delete` AFTER DELETE ON `teams`
BEGIN UPDATE `change_epochs` SET `value` = `value` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `change_epochs_status_users_update` AFTER UPDATE OF `id`, `payment_method` ON `users`
BEGIN UPDATE `change_epochs` SET `value` = `value` + 1 WHERE `id` = 2; END;
--> statement-breakpoint
CREATE TRIGGER `change_epochs_status_users_delete` AFTER DELETE ON `users`
BEGIN UPDATE `change_epochs` SET `value` = `value` + 1 WHERE `id` = 2; END;
--> statement-breakpoint
CREATE TRIGGER `change_epochs_status_apps_insert` AFTER INSERT ON `apps`
BEGIN UPDATE `change_epochs` SET `value` = `value` + 1 WHERE `id` = 2; END;
--> statement-breakpoint
CREATE TRIGGER `change_epochs_status_apps_update` AFTER UPDATE OF `id`, `user_id` ON `apps`
BEGIN UPDATE `change_epochs` SET `value` = `value` + 1 WHERE `id` = 2; END;
--> statement-breakpoint
CREATE TRIGGER `change_epochs_status_apps_delete` AFTER DELETE ON `apps`
BEGIN UPDATE `change_epochs` SET `value` = `value` + 1 WHERE `id` = 2; END;
--> statement-breakpoint
CREATE TRIGGER `change_epochs_status_subscriptions_insert` AFTER INSERT ON `subscriptions`
BEGIN UPDATE `change_epochs` SET `value` = `value` + 1 WHERE `id` = 2; END;
--> statement-breakpoint
CREATE TRIGGER `change_epochs_status_subscriptions_update` AFTER UPDATE OF `user_id`, `status`, `plan_type` ON `subscriptions`
BEGIN UPDATE `change_epochs` SET `value` = `value` + 1 WHERE `id` = 2; END;
--> statement-breakpoint
CREATE TRIGGER `change_epochs_status_subscriptions_delete` AFTER DELETE ON `subscriptions`
BEGIN UPDATE `change_epochs` SET `value` = `value` + 1 WHERE `id` = 2; END;
--> statement-breakpoint
CREATE TRIGGER `change_epochs_hosting_sites_insert` AFTER INSERT ON `sites`
BEGIN UPDATE `change_epochs` SET `value` = `value` + 1 WHERE `id` = 3; END;
--> statement-breakpoint
CREATE TRIGGER `change_epochs_hosting_sites_update` AFTER UPDATE OF `app_id`, `custom_domain`, `domain_status`, `search_indexing`, `published_version` ON `sites`
BEGIN UPDATE `change_epochs` SET `value` = `value` + 1 WHERE `id` = 3; END;
--> statement-breakpoint
CREATE TRIGGER `change_epochs_hosting_sites_delete` AFTER DELETE ON `sites`
BEGIN UPDATE `change_epochs` SET `value` = `value` + 1 WHERE `id` = 3; END;
--> statement-breakpoint
CREATE TRIGGER `change_epochs_hosting_apps_update` AFTER UPDATE OF `id`, `slug`, `deployed` ON `apps`
BEGIN UPDATE `change_epochs` SET `value` = `value` + 1 WHERE `id` = 3; END;
--> statement-breakpoint
CREATE TRIGGER `change_epochs_hosting_apps_delete` AFTER DELETE ON `apps`
BEGIN UPDATE `change_epochs` SET `value` = `value` + 1 WHERE `id` = 3; END;
--> statement-breakpoint
CREATE TRIGGER `change_epochs_hosting_users_erasure` AFTER UPDATE OF `erasure_requested_at` ON `users`
BEGIN UPDATE `change_epochs` SET `value` = `value` + 1 WHERE `id` = 3; END;
