-- A raise takes a shard row no other transaction holds (SKIP LOCKED), its backend's first: a long
-- transaction that raised a topic (an erasure's chunk, up to 100 ms) no longer holds back the
-- writes of other accounts whose backends map to the same shard. When every shard of the topic is
-- held, it waits for its backend's, as before: a raise is never skipped.
CREATE OR REPLACE FUNCTION "change_epochs_raise"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  own bigint := (pg_backend_pid() % 16) * 10 + TG_ARGV[0]::bigint;
BEGIN
  UPDATE "change_epochs" SET "value" = "value" + 1 WHERE "id" = (
    SELECT "id" FROM "change_epochs" WHERE "id" % 10 = TG_ARGV[0]::bigint
    ORDER BY "id" = own DESC, "id" FOR UPDATE SKIP LOCKED LIMIT 1);
  IF NOT FOUND THEN
    UPDATE "change_epochs" SET "value" = "value" + 1 WHERE "id" = own;
  END IF;
  RETURN NULL;
END;
$$;
