CREATE TABLE "console_sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "quota_refusals" (
	"usage_date" text NOT NULL,
	"quota" text NOT NULL,
	"refusals" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "quota_refusals_usage_date_quota_pk" PRIMARY KEY("usage_date","quota")
);
--> statement-breakpoint
ALTER TABLE "console_sessions" ADD CONSTRAINT "console_sessions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "console_sessions_user_idx" ON "console_sessions" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "account_deletions_requested_idx" ON "account_deletions" USING btree ("requested_at","id");--> statement-breakpoint
CREATE INDEX "api_keys_prefix_idx" ON "api_keys" USING btree ("key_prefix");--> statement-breakpoint
CREATE INDEX "data_requests_deadline_idx" ON "data_requests" USING btree ("due_at","id");--> statement-breakpoint
CREATE INDEX "quota_usage_day_idx" ON "quota_usage" USING btree ("usage_date","sandbox_creates");