import { index, integer, numeric, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { organizations } from "./organizations.ts";

/**
 * One charge: a live conversation's voice minutes or chat messages (later a forwarded-transfer-minute block or a
 * number's month). The usage metering job writes them; (conversationId, channel) is unique, so metering a conversation
 * again finds its item instead of adding one. Not tied to the conversation by a foreign key: a billing record outlives
 * the transcript it was measured from.
 */
export const usageItems = pgTable(
  "usage_items",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull().references(() => organizations.id),
    /** The agent that served the conversation; null for charges of no agent (a number's rental). */
    agentId: text("agent_id"),
    conversationId: text("conversation_id"),
    /** voice · chat · transfer_minute · number */
    channel: text("channel").notNull(),
    /** Metered units: voice minutes (rounded up per call), chat messages exchanged. */
    quantity: numeric("quantity", { mode: "number" }).notNull(),
    /** Credits charged for the quantity (1 credit = 1 cent), at the rates in force when each unit was metered. */
    credits: integer("credits").notNull(),
    description: text("description").notNull(),
    /** When the usage happened: the conversation's end (a chat still open: its latest message). */
    time: timestamp("time", { withTimezone: true }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("usage_items_conversation_channel_idx").on(t.conversationId, t.channel), index("usage_items_org_time_idx").on(t.organizationId, t.time, t.id)],
);

/**
 * How far the usage metering job has read (one row, `name` = "usage"): conversations that ended, and messages sent,
 * before `through` are metered. Each run reads again from a little before it, so a turn stored late is not missed.
 */
export const meteringCheckpoints = pgTable("metering_checkpoints", {
  name: text("name").primaryKey(),
  through: timestamp("through", { withTimezone: true }).notNull(),
});
