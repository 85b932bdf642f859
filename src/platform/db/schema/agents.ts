import { boolean, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { organizations } from "./organizations.ts";

/** The agent row holds the draft: `config` is every editable field except `name` and `isActive`. */
export const agents = pgTable(
  "agents",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull().references(() => organizations.id),
    name: text("name").notNull(),
    /** Concurrency counter: +1 on every mutation, compared against If-Match. */
    version: integer("version").notNull().default(1),
    config: jsonb("config").$type<Record<string, unknown>>().notNull(),
    isActive: boolean("is_active").notNull().default(true),
    publishedVersionId: text("published_version_id"),
    createdBy: text("created_by"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    /** Deleted agents stay for the history of their versions and conversations, but answer 404. */
    deletedAt: timestamp("deleted_at", { withTimezone: true }),
  },
  (t) => [index("agents_org_idx").on(t.organizationId, t.id)],
);

/** A published, immutable snapshot of an agent's draft. */
export const agentVersions = pgTable(
  "agent_versions",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull().references(() => organizations.id),
    agentId: text("agent_id").notNull().references(() => agents.id),
    version: integer("version").notNull(),
    compiledConfig: jsonb("compiled_config").$type<Record<string, unknown>>().notNull(),
    note: text("note"),
    publishedBy: text("published_by"),
    publishedAt: timestamp("published_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("agent_versions_number_idx").on(t.agentId, t.version)],
);
