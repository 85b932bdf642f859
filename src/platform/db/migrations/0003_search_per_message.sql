DROP INDEX "conversations_search_idx";--> statement-breakpoint
CREATE INDEX "conversation_messages_search_idx" ON "conversation_messages" USING gin (to_tsvector('simple', "content"));--> statement-breakpoint
CREATE INDEX "conversations_summary_search_idx" ON "conversations" USING gin (to_tsvector('simple', coalesce("summary", '')));--> statement-breakpoint
ALTER TABLE "conversations" DROP COLUMN "search_text";