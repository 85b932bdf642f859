CREATE TABLE "shopify_installs" (
	"shop" text PRIMARY KEY NOT NULL,
	"sealed_token" text NOT NULL,
	"scope" text NOT NULL,
	"claim_secret_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
