CREATE TABLE "integration_oauth_requests" (
	"state_hash" text PRIMARY KEY NOT NULL,
	"organization_id" text NOT NULL,
	"kind" text NOT NULL,
	"sealed_verifier" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "integrations" ADD COLUMN "status_reason" text;--> statement-breakpoint
ALTER TABLE "integration_oauth_requests" ADD CONSTRAINT "integration_oauth_requests_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "integration_oauth_requests_expires_idx" ON "integration_oauth_requests" USING btree ("expires_at");