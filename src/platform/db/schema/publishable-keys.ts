import { boolean, index, integer, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { agents } from "./agents.ts";
import { organizations } from "./organizations.ts";

/** Browser keys (flowyte_pk_…): public by design, pinned to one agent, limited to allowed origins. */
export const publishableKeys = pgTable(
  "publishable_keys",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull().references(() => organizations.id),
    agentId: text("agent_id").notNull().references(() => agents.id),
    name: text("name").notNull(),
    keyPublic: text("key_public").notNull().unique(),
    /** After a rotation the old value keeps working until `previousKeyExpiresAt`. */
    previousKey: text("previous_key").unique(),
    previousKeyExpiresAt: timestamp("previous_key_expires_at", { withTimezone: true }),
    env: text("env").notNull().default("live"),
    allowedOrigins: jsonb("allowed_origins").$type<string[]>().notNull(),
    rateLimitRpm: integer("rate_limit_rpm").notNull().default(60),
    requireIdentityVerification: boolean("require_identity_verification").notNull().default(false),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
  },
  (t) => [index("publishable_keys_agent_idx").on(t.agentId, t.id)],
);

/** An agent's widget appearance, copy and behaviour (full replace). */
export const widgetConfigs = pgTable("widget_configs", {
  agentId: text("agent_id").primaryKey().references(() => agents.id),
  organizationId: text("organization_id").notNull().references(() => organizations.id),
  config: jsonb("config").$type<Record<string, unknown>>().notNull(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});
