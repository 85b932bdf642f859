-- Usage metering: one usage item per metered conversation and channel, the metering job's checkpoint, and an index
-- on conversations.ended_at so each run finds the conversations that ended since the last one.
CREATE TABLE "metering_checkpoints" (
	"name" text PRIMARY KEY NOT NULL,
	"through" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "usage_items" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" text NOT NULL,
	"agent_id" text,
	"conversation_id" text,
	"channel" text NOT NULL,
	"quantity" numeric NOT NULL,
	"credits" integer NOT NULL,
	"description" text NOT NULL,
	"time" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "usage_items" ADD CONSTRAINT "usage_items_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "usage_items_conversation_channel_idx" ON "usage_items" USING btree ("conversation_id","channel");--> statement-breakpoint
CREATE INDEX "usage_items_org_time_idx" ON "usage_items" USING btree ("organization_id","time","id");--> statement-breakpoint
CREATE INDEX "conversations_ended_idx" ON "conversations" USING btree ("ended_at");