import { boolean, index, integer, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { agents } from "./agents.ts";
import { organizations } from "./organizations.ts";

/** One atomic action an agent can take; part of the agent's draft until published. */
export const skills = pgTable(
  "skills",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull().references(() => organizations.id),
    agentId: text("agent_id").notNull().references(() => agents.id),
    name: text("name").notNull(),
    description: text("description").notNull(),
    skillType: text("skill_type").notNull(),
    parametersSchema: jsonb("parameters_schema").$type<Record<string, unknown>>().notNull(),
    requiredParams: jsonb("required_params").$type<string[]>().notNull(),
    /** Type-specific operator settings; secret header values are sealed with the master key. */
    executionConfig: jsonb("execution_config").$type<Record<string, unknown>>().notNull(),
    dataEgressMap: jsonb("data_egress_map").$type<Record<string, unknown>>().notNull(),
    allowedFields: jsonb("allowed_fields").$type<string[]>().notNull(),
    isWrite: boolean("is_write").notNull().default(false),
    requiresVerifiedIdentity: boolean("requires_verified_identity").notNull().default(false),
    requiresConfirmation: boolean("requires_confirmation").notNull().default(false),
    nonParallelizable: boolean("non_parallelizable").notNull().default(false),
    stakes: text("stakes").notNull().default("low"),
    smsMode: text("sms_mode"),
    channels: jsonb("channels").$type<string[]>().notNull(),
    errorHandling: jsonb("error_handling").$type<Record<string, unknown>>().notNull(),
    isEnabled: boolean("is_enabled").notNull().default(true),
    expectedLatencyMs: integer("expected_latency_ms"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("skills_agent_idx").on(t.agentId, t.id)],
);
