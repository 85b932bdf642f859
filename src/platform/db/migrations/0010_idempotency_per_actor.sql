-- Idempotency records belong to the caller that made the first request: its stored result (which may hold a secret
-- shown once) is replayed to that caller only. Records kept before this cannot be attributed to a caller, so they
-- are dropped: a retry of a request sent before the upgrade runs again instead of replaying.
DELETE FROM "idempotency_keys";--> statement-breakpoint
ALTER TABLE "idempotency_keys" DROP CONSTRAINT "idempotency_keys_organization_id_key_pk";--> statement-breakpoint
ALTER TABLE "idempotency_keys" ADD COLUMN "actor_id" text NOT NULL;--> statement-breakpoint
ALTER TABLE "idempotency_keys" ADD CONSTRAINT "idempotency_keys_organization_id_actor_id_key_pk" PRIMARY KEY("organization_id","actor_id","key");
