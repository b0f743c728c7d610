-- Hand-written: the seeded quota tiers (SQLite migration 0001) and the change-epoch counters
-- with their triggers (SQLite migration 0006), under the same names. Statement-level triggers:
-- one raise per statement that may have changed a topic (raising too often only costs a cache
-- refill; never raising when something changed is what must not happen).
INSERT INTO "quota_tiers" ("id", "display_name", "max_concurrent_sandboxes", "daily_sandbox_creates", "daily_gb_hours") VALUES ('free', 'Free', 5, 100, 20), ('pro', 'Pro', 50, 5000, 1000) ON CONFLICT DO NOTHING;
--> statement-breakpoint
INSERT INTO "change_epochs" ("id", "value") VALUES (1, 0), (2, 0), (3, 0);
--> statement-breakpoint
CREATE FUNCTION "change_epochs_raise"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "change_epochs" SET "value" = "value" + 1 WHERE "id" = TG_ARGV[0]::bigint;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "change_epochs_credentials_keys_update" AFTER UPDATE OF "id", "user_id", "team_id", "kind", "key_hash", "is_active", "revoked_at", "expires_at", "suspended_at" ON "api_keys" FOR EACH STATEMENT EXECUTE FUNCTION "change_epochs_raise"('1');
--> statement-breakpoint
CREATE TRIGGER "change_epochs_credentials_keys_delete" AFTER DELETE ON "api_keys" FOR EACH STATEMENT EXECUTE FUNCTION "change_epochs_raise"('1');
--> statement-breakpoint
CREATE TRIGGER "change_epochs_credentials_users_update" AFTER UPDATE OF "id", "email", "email_verified_at", "is_operator", "soft_deleted_at", "erasure_requested_at" ON "users" FOR EACH STATEMENT EXECUTE FUNCTION "change_epochs_raise"('1');
--> statement-breakpoint
CREATE TRIGGER "change_epochs_credentials_users_delete" AFTER DELETE ON "users" FOR EACH STATEMENT EXECUTE FUNCTION "change_epochs_raise"('1');
--> statement-breakpoint
CREATE TRIGGER "change_epochs_credentials_teams_insert" AFTER INSERT ON "teams" FOR EACH STATEMENT EXECUTE FUNCTION "change_epochs_raise"('1');
--> statement-breakpoint
CREATE TRIGGER "change_epochs_credentials_teams_update" AFTER UPDATE OF "id", "owner_user_id", "created_at" ON "teams" FOR EACH STATEMENT EXECUTE FUNCTION "change_epochs_raise"('1');
--> statement-breakpoint
CREATE TRIGGER "change_epochs_credentials_teams_delete" AFTER DELETE ON "teams" FOR EACH STATEMENT EXECUTE FUNCTION "change_epochs_raise"('1');
--> statement-breakpoint
CREATE TRIGGER "change_epochs_status_users_update" AFTER UPDATE OF "id", "payment_method" ON "users" FOR EACH STATEMENT EXECUTE FUNCTION "change_epochs_raise"('2');
--> statement-breakpoint
CREATE TRIGGER "change_epochs_status_users_delete" AFTER DELETE ON "users" FOR EACH STATEMENT EXECUTE FUNCTION "change_epochs_raise"('2');
--> statement-breakpoint
CREATE TRIGGER "change_epochs_status_apps_insert" AFTER INSERT ON "apps" FOR EACH STATEMENT EXECUTE FUNCTION "change_epochs_raise"('2');
--> statement-breakpoint
CREATE TRIGGER "change_epochs_status_apps_update" AFTER UPDATE OF "id", "user_id" ON "apps" FOR EACH STATEMENT EXECUTE FUNCTION "change_epochs_raise"('2');
--> statement-breakpoint
CREATE TRIGGER "change_epochs_status_apps_delete" AFTER DELETE ON "apps" FOR EACH STATEMENT EXECUTE FUNCTION "change_epochs_raise"('2');
--> statement-breakpoint
CREATE TRIGGER "change_epochs_status_subscriptions_insert" AFTER INSERT ON "subscriptions" FOR EACH STATEMENT EXECUTE FUNCTION "change_epochs_raise"('2');
--> statement-breakpoint
CREATE TRIGGER "change_epochs_status_subscriptions_update" AFTER UPDATE OF "user_id", "status", "plan_type" ON "subscriptions" FOR EACH STATEMENT EXECUTE FUNCTION "change_epochs_raise"('2');
--> statement-breakpoint
CREATE TRIGGER "change_epochs_status_subscriptions_delete" AFTER DELETE ON "subscriptions" FOR EACH STATEMENT EXECUTE FUNCTION "change_epochs_raise"('2');
--> statement-breakpoint
CREATE TRIGGER "change_epochs_hosting_sites_insert" AFTER INSERT ON "sites" FOR EACH STATEMENT EXECUTE FUNCTION "change_epochs_raise"('3');
--> statement-breakpoint
CREATE TRIGGER "change_epochs_hosting_sites_update" AFTER UPDATE OF "app_id", "custom_domain", "domain_status", "search_indexing", "published_version" ON "sites" FOR EACH STATEMENT EXECUTE FUNCTION "change_epochs_raise"('3');
--> statement-breakpoint
CREATE TRIGGER "change_epochs_hosting_sites_delete" AFTER DELETE ON "sites" FOR EACH STATEMENT EXECUTE FUNCTION "change_epochs_raise"('3');
--> statement-breakpoint
CREATE TRIGGER "change_epochs_hosting_apps_update" AFTER UPDATE OF "id", "slug", "deployed" ON "apps" FOR EACH STATEMENT EXECUTE FUNCTION "change_epochs_raise"('3');
--> statement-breakpoint
CREATE TRIGGER "change_epochs_hosting_apps_delete" AFTER DELETE ON "apps" FOR EACH STATEMENT EXECUTE FUNCTION "change_epochs_raise"('3');
--> statement-breakpoint
CREATE TRIGGER "change_epochs_hosting_users_erasure" AFTER UPDATE OF "erasure_requested_at" ON "users" FOR EACH STATEMENT EXECUTE FUNCTION "change_epochs_raise"('3');
