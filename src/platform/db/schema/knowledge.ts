import { bigint, boolean, customType, index, integer, jsonb, pgTable, primaryKey, real, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { agents } from "./agents.ts";
import { organizations } from "./organizations.ts";

/** Uploaded files (≤ 25 MB), referenced by `file_id`; their bytes are in `upload_contents`. */
export const uploads = pgTable(
  "uploads",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull().references(() => organizations.id),
    filename: text("filename").notNull(),
    contentType: text("content_type").notNull(),
    sizeBytes: bigint("size_bytes", { mode: "number" }).notNull(),
    sha256: text("sha256").notNull(),
    /** Files uploaded before their bytes moved into the database: where they are, under DATA_DIR/uploads. */
    storagePath: text("storage_path"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("uploads_org_idx").on(t.organizationId, t.id)],
);

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => "bytea" });

/**
 * The bytes of an upload, in the database rather than DATA_DIR, so any replica (and the ingestion job wherever it
 * runs) reads what another received, and a database backup holds them. Stored in numbered parts of at most
 * PIECE_BYTES (uploads from before the parts hold one part 0 of any size): see platform/db/pieces.ts.
 */
export const uploadContents = pgTable(
  "upload_contents",
  {
    uploadId: text("upload_id")
      .notNull()
      .references(() => uploads.id, { onDelete: "cascade" }),
    part: integer("part").notNull().default(0),
    organizationId: text("organization_id").notNull().references(() => organizations.id),
    content: bytea("content").notNull(),
  },
  (t) => [primaryKey({ columns: [t.uploadId, t.part] })],
);

/**
 * A source's extracted text (megabytes at times) in numbered parts of at most PIECE_CHARS, so no single statement
 * carries all of it (see platform/db/pieces.ts). `version` keeps a refresh's new text apart from the text in use.
 */
export const knowledgeSourceTextParts = pgTable(
  "knowledge_source_text_parts",
  {
    sourceId: text("source_id")
      .notNull()
      .references(() => knowledgeSources.id, { onDelete: "cascade" }),
    version: text("version").notNull(),
    part: integer("part").notNull(),
    text: text("text").notNull(),
  },
  (t) => [primaryKey({ columns: [t.sourceId, t.version, t.part] })],
);

/** A knowledge source of an agent: a website, a file, pasted text or an FAQ. */
export const knowledgeSources = pgTable(
  "knowledge_sources",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull().references(() => organizations.id),
    agentId: text("agent_id").notNull().references(() => agents.id),
    kind: text("kind").notNull(),
    label: text("label").notNull(),
    sourceUrl: text("source_url"),
    fileId: text("file_id"),
    /**
     * Which parts in `knowledge_source_text_parts` are the extracted text (url, file, text) the chunks were cut
     * from; null while there is none. A new text is written under a new version and then pointed at.
     */
    textVersion: text("text_version"),
    faqItems: jsonb("faq_items").$type<{ question: string; answer: string }[]>(),
    /** Crawl limits for URL sources: { maxDepth, maxPages, followSitemap }. */
    crawl: jsonb("crawl").$type<Record<string, unknown>>().notNull(),
    status: text("status").notNull().default("pending"),
    errorMessage: text("error_message"),
    chunkCount: integer("chunk_count").notNull().default(0),
    coverageScore: real("coverage_score"),
    embeddingModel: text("embedding_model"),
    progress: jsonb("progress").$type<{ current: number; total: number }>().notNull(),
    /** SHA-256 of the extracted content, so a refresh re-indexes only when it changed. */
    contentHash: text("content_hash"),
    indexedAt: timestamp("indexed_at", { withTimezone: true }),
    refreshEnabled: boolean("refresh_enabled").notNull().default(false),
    refreshIntervalS: integer("refresh_interval_s").notNull().default(604800),
    lastCheckedAt: timestamp("last_checked_at", { withTimezone: true }),
    lastChangedAt: timestamp("last_changed_at", { withTimezone: true }),
    nextRefreshAt: timestamp("next_refresh_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("knowledge_sources_agent_idx").on(t.agentId, t.id), index("knowledge_sources_refresh_idx").on(t.refreshEnabled, t.nextRefreshAt)],
);

/** The passages retrieval searches: one row per chunk, with its embedding. */
export const knowledgeChunks = pgTable(
  "knowledge_chunks",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    agentId: text("agent_id").notNull(),
    sourceId: text("source_id")
      .notNull()
      .references(() => knowledgeSources.id, { onDelete: "cascade" }),
    ordinal: integer("ordinal").notNull(),
    text: text("text").notNull(),
    question: text("question"),
    answer: text("answer"),
    sourceUrl: text("source_url"),
    language: text("language"),
    embedding: real("embedding").array().notNull(),
    /** The embedder that made `embedding`; a chunk of another model is re-embedded in the background at start. */
    embeddingModel: text("embedding_model"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("knowledge_chunks_agent_idx").on(t.agentId), index("knowledge_chunks_source_idx").on(t.sourceId, t.ordinal)],
);

/** Questions the agent could not answer, grouped with similar ones. */
export const knowledgeGaps = pgTable(
  "knowledge_gaps",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull().references(() => organizations.id),
    agentId: text("agent_id").notNull().references(() => agents.id),
    representativeQuery: text("representative_query").notNull(),
    /** The question reduced to its content words, for grouping exact rephrasings. */
    normalizedKey: text("normalized_key").notNull(),
    embedding: real("embedding").array(),
    /** The embedder that made `embedding`: questions are grouped only with gaps embedded by the same one. */
    embeddingModel: text("embedding_model"),
    count: integer("count").notNull().default(1),
    conversationIds: jsonb("conversation_ids").$type<string[]>().notNull(),
    samples: jsonb("samples").$type<string[]>().notNull(),
    status: text("status").notNull().default("open"),
    classification: text("classification"),
    coveredBySourceId: text("covered_by_source_id"),
    firstSeen: timestamp("first_seen", { withTimezone: true }).notNull().defaultNow(),
    lastSeen: timestamp("last_seen", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("knowledge_gaps_key_idx").on(t.agentId, t.normalizedKey), index("knowledge_gaps_agent_idx").on(t.agentId, t.lastSeen)],
);
