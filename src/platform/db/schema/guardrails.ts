import { boolean, index, integer, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { agents } from "./agents.ts";
import { organizations } from "./organizations.ts";

export const guardrailPolicies = pgTable(
  "guardrail_policies",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull().references(() => organizations.id),
    agentId: text("agent_id").notNull().references(() => agents.id),
    policyType: text("policy_type").notNull(),
    appliesToSkillType: text("applies_to_skill_type"),
    config: jsonb("config").$type<Record<string, unknown>>().notNull(),
    isEnabled: boolean("is_enabled").notNull().default(true),
    /** Order as sent in the last replace. */
    position: integer("position").notNull(),
  },
  (t) => [index("guardrail_policies_agent_idx").on(t.agentId, t.position)],
);

export const callerVerificationConfigs = pgTable(
  "caller_verification_configs",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull().references(() => organizations.id),
    agentId: text("agent_id").notNull().references(() => agents.id),
    method: text("method").notNull(),
    verifierSkillId: text("verifier_skill_id").notNull(),
    requiredFields: jsonb("required_fields").$type<string[]>().notNull(),
    tokenTtlSeconds: integer("token_ttl_seconds").notNull(),
    maxAttempts: integer("max_attempts").notNull(),
    stepUpFor: jsonb("step_up_for").$type<string[]>().notNull(),
    position: integer("position").notNull(),
  },
  (t) => [index("caller_verification_agent_idx").on(t.agentId, t.position)],
);
