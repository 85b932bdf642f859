ALTER TABLE "conversations" ADD COLUMN "turn_seq" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "turn_lease" text;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "turn_lease_expires_at" timestamp with time zone;