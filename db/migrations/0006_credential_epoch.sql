CREATE TABLE `credential_epoch` (
	`id` integer PRIMARY KEY NOT NULL,
	`value` integer NOT NULL
);
--> statement-breakpoint
INSERT INTO `credential_epoch` (`id`, `value`) VALUES (1, 0);
--> statement-breakpoint
CREATE TRIGGER `credential_epoch_keys_update` AFTER UPDATE OF `id`, `user_id`, `team_id`, `kind`, `key_hash`, `is_active`, `revoked_at`, `expires_at`, `suspended_at` ON `api_keys`
BEGIN UPDATE `credential_epoch` SET `value` = `value` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `credential_epoch_keys_delete` AFTER DELETE ON `api_keys`
BEGIN UPDATE `credential_epoch` SET `value` = `value` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `credential_epoch_users_update` AFTER UPDATE OF `id`, `email`, `email_verified_at`, `is_operator`, `soft_deleted_at`, `erasure_requested_at` ON `users`
BEGIN UPDATE `credential_epoch` SET `value` = `value` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `credential_epoch_users_delete` AFTER DELETE ON `users`
BEGIN UPDATE `credential_epoch` SET `value` = `value` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `credential_epoch_teams_insert` AFTER INSERT ON `teams`
BEGIN UPDATE `credential_epoch` SET `value` = `value` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `credential_epoch_teams_update` AFTER UPDATE OF `id`, `owner_user_id`, `created_at` ON `teams`
BEGIN UPDATE `credential_epoch` SET `value` = `value` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `credential_epoch_teams_delete` AFTER DELETE ON `teams`
BEGIN UPDATE `credential_epoch` SET `value` = `value` + 1 WHERE `id` = 1; END;
