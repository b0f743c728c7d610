DROP INDEX "sandboxes_timeout_idx";--> statement-breakpoint
CREATE INDEX "sandboxes_timeout_idx" ON "sandboxes" USING btree ("status","timeout_at") WHERE timeout_at IS NOT NULL;