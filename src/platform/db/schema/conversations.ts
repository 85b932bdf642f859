import { sql } from "drizzle-orm";
import { boolean, bigint, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { agents } from "./agents.ts";
import { organizations } from "./organizations.ts";

/** One conversation on any channel: simulate, chat, widget, OpenAI-compatible, voice, probe. */
export const conversations = pgTable(
  "conversations",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull().references(() => organizations.id),
    agentId: text("agent_id").notNull().references(() => agents.id),
    /** The published version served; null when the draft ran (draftMode). */
    agentVersionId: text("agent_version_id"),
    draftMode: boolean("draft_mode").notNull().default(false),
    channel: text("channel").notNull(),
    source: text("source").notNull(),
    status: text("status").notNull().default("active"),
    outcome: text("outcome"),
    summary: text("summary"),
    topic: text("topic"),
    sentiment: text("sentiment"),
    language: text("language"),
    callerNumber: text("caller_number"),
    userTurnCount: integer("user_turn_count").notNull().default(0),
    goalCompleted: boolean("goal_completed").notNull().default(false),
    /** Runtime state carried between turns (playbook position, slots, verification, counters). */
    state: jsonb("state").$type<Record<string, unknown>>().notNull(),
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull(),
    /** Widget conversations: the publishable key and anonymous visitor they belong to. */
    publishableKeyId: text("publishable_key_id"),
    visitorId: text("visitor_id"),
    startedAt: timestamp("started_at", { withTimezone: true }).notNull().defaultNow(),
    endedAt: timestamp("ended_at", { withTimezone: true }),
    /** Turns stored so far: each stored turn writes turn_seq + 1 where turn_seq is what its replica read (live-conversations.ts). */
    turnSeq: integer("turn_seq").notNull().default(0),
    /** The turn running now, on whichever replica: a random token, and when its lease lapses unless renewed. */
    turnLease: text("turn_lease"),
    turnLeaseExpiresAt: timestamp("turn_lease_expires_at", { withTimezone: true }),
  },
  (t) => [
    index("conversations_org_idx").on(t.organizationId, t.id),
    index("conversations_agent_idx").on(t.agentId, t.id),
    // The usage metering job finds the conversations that ended since its last run by this.
    index("conversations_ended_idx").on(t.endedAt),
    // Full-text search over summaries; transcripts are searched through conversation_messages' own index.
    index("conversations_summary_search_idx").using("gin", sql`to_tsvector('simple', coalesce(${t.summary}, ''))`),
  ],
);

/** The receipt: the ordered event log of a conversation (AuditEventDTO). */
export const conversationEvents = pgTable(
  "conversation_events",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    conversationId: text("conversation_id").notNull().references(() => conversations.id),
    seq: integer("seq").notNull(),
    /** Milliseconds since the conversation started. */
    tsMs: bigint("ts_ms", { mode: "number" }).notNull(),
    channel: text("channel").notNull(),
    eventType: text("event_type").notNull(),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    traceId: text("trace_id"),
  },
  (t) => [uniqueIndex("conversation_events_seq_idx").on(t.conversationId, t.seq)],
);

/** The transcript: what was said, by whom (redacted when a content policy asks for it). */
export const conversationMessages = pgTable(
  "conversation_messages",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    conversationId: text("conversation_id").notNull().references(() => conversations.id),
    role: text("role").notNull(),
    content: text("content").notNull(),
    language: text("language"),
    tsMs: bigint("ts_ms", { mode: "number" }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("conversation_messages_conv_idx").on(t.conversationId, t.id),
    // Each message is indexed once when inserted, so search costs nothing per turn as a conversation grows.
    index("conversation_messages_search_idx").using("gin", sql`to_tsvector('simple', ${t.content})`),
  ],
);

/** A probe run: a scripted scenario played against an agent, with its verdict. */
export const probeRuns = pgTable(
  "probe_runs",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull().references(() => organizations.id),
    agentId: text("agent_id").notNull().references(() => agents.id),
    scenarioId: text("scenario_id").notNull(),
    mode: text("mode").notNull(),
    status: text("status").notNull(),
    conversationId: text("conversation_id"),
    result: jsonb("result").$type<Record<string, unknown>>(),
    /** The replica running it (REPLICA_ID), while it runs. */
    replicaId: text("replica_id"),
    /** Renewed by that replica while the run goes on: once past, the run is taken for lost and failed. */
    leaseExpiresAt: timestamp("lease_expires_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (t) => [index("probe_runs_agent_idx").on(t.agentId, t.id), index("probe_runs_running_idx").on(t.status, t.leaseExpiresAt)],
);

/**
 * Rooms of in-browser voice tests that have opened their call: a talk token opens one call, whichever replica it
 * reaches. Rows are only needed until the token expires.
 */
export const talkRooms = pgTable("talk_rooms", {
  room: text("room").primaryKey(),
  organizationId: text("organization_id").notNull().references(() => organizations.id),
  expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
});
