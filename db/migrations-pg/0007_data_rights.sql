CREATE TABLE "certificate_keys" (
	"kid" text PRIMARY KEY NOT NULL,
	"jwk" json NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "erasure_certificates" (
	"seq" bigint PRIMARY KEY NOT NULL,
	"erasure_id" text NOT NULL,
	"user_hash" text NOT NULL,
	"hash" text NOT NULL,
	"document" text NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "erasure_certificates_erasure_id_unique" UNIQUE("erasure_id")
);
--> statement-breakpoint
CREATE TABLE "legal_holds" (
	"user_id" text PRIMARY KEY NOT NULL,
	"reason" text NOT NULL,
	"confidential" boolean DEFAULT false NOT NULL,
	"until" bigint,
	"placed_at" bigint NOT NULL,
	"released_at" bigint,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "account_deletions" ADD COLUMN "verification" json;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "last_active_at" bigint;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "inactivity_warned_at" bigint;--> statement-breakpoint
ALTER TABLE "legal_holds" ADD CONSTRAINT "legal_holds_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "erasure_certificates_user_hash_idx" ON "erasure_certificates" USING btree ("user_hash","seq");--> statement-breakpoint
CREATE INDEX "users_inactivity_idx" ON "users" USING btree ("inactivity_warned_at");