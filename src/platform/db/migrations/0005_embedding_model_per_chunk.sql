ALTER TABLE "knowledge_chunks" ADD COLUMN "embedding_model" text;--> statement-breakpoint
ALTER TABLE "knowledge_gaps" ADD COLUMN "embedding_model" text;--> statement-breakpoint
-- Chunks so far were embedded by the model their source records; gaps keep null (unknown) and are embedded again.
UPDATE "knowledge_chunks" SET "embedding_model" = "knowledge_sources"."embedding_model" FROM "knowledge_sources" WHERE "knowledge_sources"."id" = "knowledge_chunks"."source_id";
