-- Large texts and bytes are stored in parts so no single statement carries megabytes (one statement holds the
-- embedded store's only connection). Existing uploads become part 0; existing extracted texts become version 'migrated'.
CREATE TABLE "knowledge_source_text_parts" (
	"source_id" text NOT NULL,
	"version" text NOT NULL,
	"part" integer NOT NULL,
	"text" text NOT NULL,
	CONSTRAINT "knowledge_source_text_parts_source_id_version_part_pk" PRIMARY KEY("source_id","version","part")
);
--> statement-breakpoint
ALTER TABLE "upload_contents" ADD COLUMN "part" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "upload_contents" DROP CONSTRAINT "upload_contents_pkey";--> statement-breakpoint
ALTER TABLE "upload_contents" ADD CONSTRAINT "upload_contents_upload_id_part_pk" PRIMARY KEY("upload_id","part");--> statement-breakpoint
ALTER TABLE "knowledge_sources" ADD COLUMN "text_version" text;--> statement-breakpoint
ALTER TABLE "knowledge_source_text_parts" ADD CONSTRAINT "knowledge_source_text_parts_source_id_knowledge_sources_id_fk" FOREIGN KEY ("source_id") REFERENCES "public"."knowledge_sources"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
INSERT INTO "knowledge_source_text_parts" ("source_id", "version", "part", "text") SELECT "id", 'migrated', 0, "text_content" FROM "knowledge_sources" WHERE "text_content" IS NOT NULL;--> statement-breakpoint
UPDATE "knowledge_sources" SET "text_version" = 'migrated' WHERE "text_content" IS NOT NULL;--> statement-breakpoint
ALTER TABLE "knowledge_sources" DROP COLUMN "text_content";
