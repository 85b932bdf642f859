CREATE TABLE "integrations" (
	"organization_id" text NOT NULL,
	"kind" text NOT NULL,
	"status" text NOT NULL,
	"connection_id" text NOT NULL,
	"sealed_credentials" text,
	"account_label" text,
	"connected_at" timestamp with time zone,
	"schema" jsonb,
	"discovered_at" timestamp with time zone,
	"blocked_objects" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"blocked_fields" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"revision" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "integrations_organization_id_kind_pk" PRIMARY KEY("organization_id","kind")
);
--> statement-breakpoint
ALTER TABLE "integrations" ADD CONSTRAINT "integrations_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;