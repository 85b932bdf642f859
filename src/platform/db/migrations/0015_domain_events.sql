CREATE TABLE "domain_events" (
	"position" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "domain_events_position_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"tx_id" "xid8" DEFAULT pg_current_xact_id() NOT NULL,
	"event_id" text NOT NULL,
	"organization_id" text NOT NULL,
	"type" text NOT NULL,
	"aggregate_type" text NOT NULL,
	"aggregate_id" text NOT NULL,
	"payload" jsonb NOT NULL,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "domain_events_event_id_unique" UNIQUE("event_id")
);
--> statement-breakpoint
CREATE TABLE "event_subscriptions" (
	"name" text PRIMARY KEY NOT NULL,
	"tx_id" "xid8" NOT NULL,
	"position" bigint NOT NULL,
	"owner" text,
	"lease_until" timestamp with time zone,
	"seen_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "domain_events_log_idx" ON "domain_events" USING btree ("tx_id","position");--> statement-breakpoint
CREATE INDEX "domain_events_occurred_idx" ON "domain_events" USING btree ("occurred_at");