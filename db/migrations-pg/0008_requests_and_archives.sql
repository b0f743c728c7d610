CREATE TABLE "data_requests" (
	"id" text PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"status" text NOT NULL,
	"user_id" text,
	"user_hash" text,
	"email" text,
	"channel" text,
	"note" text,
	"received_at" bigint NOT NULL,
	"due_at" bigint NOT NULL,
	"paused_days" bigint DEFAULT 0 NOT NULL,
	"paused_since" bigint,
	"started_at" bigint,
	"extended_months" bigint DEFAULT 0 NOT NULL,
	"extension_reason" text,
	"closed_at" bigint,
	"outcome_reason" text,
	"export_id" text,
	"erasure_id" text,
	"overdue_announced_at" bigint,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "export_archives" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"format" text NOT NULL,
	"status" text NOT NULL,
	"requested_by" text NOT NULL,
	"rows_done" bigint DEFAULT 0 NOT NULL,
	"rows_total" bigint,
	"size" bigint,
	"sha256" text,
	"parts" bigint,
	"error" text,
	"attempts" bigint DEFAULT 0 NOT NULL,
	"locked_until" bigint,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"ready_at" bigint,
	"expires_at" bigint
);
--> statement-breakpoint
ALTER TABLE "export_archives" ADD CONSTRAINT "export_archives_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "data_requests_due_idx" ON "data_requests" USING btree ("closed_at","due_at","id");--> statement-breakpoint
CREATE INDEX "data_requests_user_idx" ON "data_requests" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "data_requests_user_hash_idx" ON "data_requests" USING btree ("user_hash");--> statement-breakpoint
CREATE INDEX "export_archives_status_idx" ON "export_archives" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "export_archives_user_idx" ON "export_archives" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "export_archives_expires_idx" ON "export_archives" USING btree ("expires_at");