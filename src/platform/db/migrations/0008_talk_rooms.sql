-- A talk token opens one call on any replica: the rooms that have opened theirs, until the token expires.
CREATE TABLE "talk_rooms" (
	"room" text PRIMARY KEY NOT NULL,
	"organization_id" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "talk_rooms" ADD CONSTRAINT "talk_rooms_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;