CREATE TABLE "account_deletions" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text,
	"user_hash" text NOT NULL,
	"mode" text NOT NULL,
	"step" text NOT NULL,
	"counts" json,
	"stripe_actions" json,
	"attempts" bigint DEFAULT 0 NOT NULL,
	"next_attempt_at" bigint,
	"locked_until" bigint,
	"replay_hash" text,
	"last_error" text,
	"requested_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"completed_at" bigint
);
--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"team_id" text,
	"kind" text NOT NULL,
	"key_prefix" text NOT NULL,
	"key_hash" text NOT NULL,
	"name" text,
	"scope" text,
	"is_active" boolean DEFAULT true NOT NULL,
	"created_at" bigint NOT NULL,
	"last_used_at" bigint,
	"revoked_at" bigint,
	"expires_at" bigint,
	"rotation_parent_key_id" text,
	"suspended_at" bigint,
	CONSTRAINT "api_keys_key_hash_unique" UNIQUE("key_hash")
);
--> statement-breakpoint
CREATE TABLE "app_pages" (
	"app_id" text NOT NULL,
	"kind" text NOT NULL,
	"data" json NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "app_pages_app_id_kind_pk" PRIMARY KEY("app_id","kind")
);
--> statement-breakpoint
CREATE TABLE "apps" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"app_name" text NOT NULL,
	"slug" text NOT NULL,
	"deployed" boolean DEFAULT false NOT NULL,
	"deployed_at" bigint,
	"seat" boolean DEFAULT false NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "apps_slug_unique" UNIQUE("slug")
);
--> statement-breakpoint
CREATE TABLE "audit_events" (
	"id" text PRIMARY KEY NOT NULL,
	"user_hash" text NOT NULL,
	"action" text NOT NULL,
	"at" bigint NOT NULL,
	"details" json
);
--> statement-breakpoint
CREATE TABLE "change_epochs" (
	"id" bigint PRIMARY KEY NOT NULL,
	"value" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "deploys" (
	"id" text PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"deployed_at" bigint NOT NULL,
	"url" text NOT NULL,
	"pages" json NOT NULL
);
--> statement-breakpoint
CREATE TABLE "idempotency_keys" (
	"principal" text NOT NULL,
	"key" text NOT NULL,
	"method" text NOT NULL,
	"path" text NOT NULL,
	"fingerprint" text NOT NULL,
	"state" text NOT NULL,
	"status" bigint,
	"body" text,
	"content_type" text,
	"location" text,
	"created_at" bigint NOT NULL,
	"locked_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	CONSTRAINT "idempotency_keys_principal_key_pk" PRIMARY KEY("principal","key")
);
--> statement-breakpoint
CREATE TABLE "policies" (
	"app_id" text PRIMARY KEY NOT NULL,
	"data" json NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "policy_versions" (
	"id" text PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"snapshot_at" bigint NOT NULL,
	"trigger" text NOT NULL,
	"app_name" text NOT NULL,
	"policy_data" json NOT NULL
);
--> statement-breakpoint
CREATE TABLE "quota_tiers" (
	"id" text PRIMARY KEY NOT NULL,
	"display_name" text NOT NULL,
	"max_concurrent_sandboxes" bigint NOT NULL,
	"daily_sandbox_creates" bigint NOT NULL,
	"daily_gb_hours" double precision NOT NULL
);
--> statement-breakpoint
CREATE TABLE "quota_usage" (
	"team_id" text NOT NULL,
	"usage_date" text NOT NULL,
	"sandbox_creates" bigint DEFAULT 0 NOT NULL,
	"gb_hours" double precision DEFAULT 0 NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "quota_usage_team_id_usage_date_pk" PRIMARY KEY("team_id","usage_date")
);
--> statement-breakpoint
CREATE TABLE "sandboxes" (
	"id" text PRIMARY KEY NOT NULL,
	"team_id" text NOT NULL,
	"user_id" text,
	"template" text NOT NULL,
	"status" text NOT NULL,
	"vcpus" bigint NOT NULL,
	"memory_mb" bigint NOT NULL,
	"disk_mb" bigint,
	"metadata" json,
	"timeout_ms" bigint,
	"timeout_action" text DEFAULT 'destroy' NOT NULL,
	"timeout_at" bigint,
	"started_at" bigint,
	"destroyed_at" bigint,
	"charged_until" bigint,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sites" (
	"app_id" text PRIMARY KEY NOT NULL,
	"description" text,
	"icon_url" text,
	"icon_color" text,
	"custom_domain" text,
	"domain_status" text,
	"domain_dns_verified" boolean DEFAULT false NOT NULL,
	"domain_ssl_provisioned" boolean DEFAULT false NOT NULL,
	"domain_error" text,
	"smart_banner" json,
	"well_known_files" json,
	"search_indexing" boolean DEFAULT true NOT NULL,
	"custom_homepage_html" text,
	"published_version" text,
	"published_hash" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "sites_custom_domain_unique" UNIQUE("custom_domain")
);
--> statement-breakpoint
CREATE TABLE "stripe_events" (
	"id" text PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"received_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "subscriptions" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"stripe_subscription_id" text NOT NULL,
	"status" text NOT NULL,
	"plan_type" text NOT NULL,
	"quantity" bigint NOT NULL,
	"cancel_at_period_end" boolean DEFAULT false NOT NULL,
	"current_period_end" bigint,
	"cancel_set_by_deletion" boolean DEFAULT false NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "subscriptions_user_id_unique" UNIQUE("user_id"),
	CONSTRAINT "subscriptions_stripe_subscription_id_unique" UNIQUE("stripe_subscription_id")
);
--> statement-breakpoint
CREATE TABLE "team_sandbox_totals" (
	"team_id" text PRIMARY KEY NOT NULL,
	"active" bigint NOT NULL,
	"running_memory_mb" bigint NOT NULL,
	"running_charged_mib_ms" double precision NOT NULL,
	"settled_day" text
);
--> statement-breakpoint
CREATE TABLE "teams" (
	"id" text PRIMARY KEY NOT NULL,
	"owner_user_id" text NOT NULL,
	"name" text NOT NULL,
	"slug" text NOT NULL,
	"quota_tier_id" text DEFAULT 'free' NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"soft_deleted_at" bigint,
	CONSTRAINT "teams_slug_unique" UNIQUE("slug")
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" text PRIMARY KEY NOT NULL,
	"email" text NOT NULL,
	"name" text,
	"display_name" text,
	"avatar_url" text,
	"email_verified_at" bigint,
	"is_operator" boolean DEFAULT false NOT NULL,
	"tier" text DEFAULT 'free' NOT NULL,
	"quota_tier_id" text DEFAULT 'free' NOT NULL,
	"abuse_flags" json DEFAULT '{}' NOT NULL,
	"stripe_customer_id" text,
	"payment_method" json,
	"trial_used_at" bigint,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"soft_deleted_at" bigint,
	"delete_scheduled_at" bigint,
	"erasure_requested_at" bigint,
	CONSTRAINT "users_email_unique" UNIQUE("email"),
	CONSTRAINT "users_stripe_customer_id_unique" UNIQUE("stripe_customer_id")
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_team_id_teams_id_fk" FOREIGN KEY ("team_id") REFERENCES "public"."teams"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app_pages" ADD CONSTRAINT "app_pages_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "apps" ADD CONSTRAINT "apps_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deploys" ADD CONSTRAINT "deploys_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "policies" ADD CONSTRAINT "policies_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "policy_versions" ADD CONSTRAINT "policy_versions_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "quota_usage" ADD CONSTRAINT "quota_usage_team_id_teams_id_fk" FOREIGN KEY ("team_id") REFERENCES "public"."teams"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sandboxes" ADD CONSTRAINT "sandboxes_team_id_teams_id_fk" FOREIGN KEY ("team_id") REFERENCES "public"."teams"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sandboxes" ADD CONSTRAINT "sandboxes_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sites" ADD CONSTRAINT "sites_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "team_sandbox_totals" ADD CONSTRAINT "team_sandbox_totals_team_id_teams_id_fk" FOREIGN KEY ("team_id") REFERENCES "public"."teams"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "teams" ADD CONSTRAINT "teams_owner_user_id_users_id_fk" FOREIGN KEY ("owner_user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "teams" ADD CONSTRAINT "teams_quota_tier_id_quota_tiers_id_fk" FOREIGN KEY ("quota_tier_id") REFERENCES "public"."quota_tiers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "users_quota_tier_id_quota_tiers_id_fk" FOREIGN KEY ("quota_tier_id") REFERENCES "public"."quota_tiers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "account_deletions_step_idx" ON "account_deletions" USING btree ("step","next_attempt_at");--> statement-breakpoint
CREATE INDEX "account_deletions_user_idx" ON "account_deletions" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "account_deletions_user_hash_idx" ON "account_deletions" USING btree ("user_hash","requested_at");--> statement-breakpoint
CREATE INDEX "account_deletions_replay_idx" ON "account_deletions" USING btree ("replay_hash");--> statement-breakpoint
CREATE INDEX "api_keys_user_kind_idx" ON "api_keys" USING btree ("user_id","kind");--> statement-breakpoint
CREATE INDEX "apps_user_idx" ON "apps" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "audit_events_user_idx" ON "audit_events" USING btree ("user_hash","at");--> statement-breakpoint
CREATE INDEX "deploys_app_idx" ON "deploys" USING btree ("app_id","deployed_at");--> statement-breakpoint
CREATE INDEX "idempotency_expires_idx" ON "idempotency_keys" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "policy_versions_app_idx" ON "policy_versions" USING btree ("app_id","snapshot_at");--> statement-breakpoint
CREATE INDEX "sandboxes_team_created_idx" ON "sandboxes" USING btree ("team_id","created_at","id");--> statement-breakpoint
CREATE INDEX "sandboxes_team_status_created_idx" ON "sandboxes" USING btree ("team_id","status","created_at","id");--> statement-breakpoint
CREATE INDEX "sandboxes_timeout_idx" ON "sandboxes" USING btree ("status","timeout_at");--> statement-breakpoint
CREATE INDEX "sandboxes_user_idx" ON "sandboxes" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "teams_owner_user_id_idx" ON "teams" USING btree ("owner_user_id","created_at");--> statement-breakpoint
CREATE INDEX "users_delete_scheduled_at_idx" ON "users" USING btree ("delete_scheduled_at");