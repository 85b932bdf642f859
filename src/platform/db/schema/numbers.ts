import { sql } from "drizzle-orm";
import { bigint, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { agents } from "./agents.ts";
import { organizations } from "./organizations.ts";

/**
 * The DIDs the operator's SIP trunk routes (declared in configuration or through the API): the inventory that
 * number search, reserve and purchase act on. A pool entry is free, held (reserved) or owned by one organization.
 */
export const numberPool = pgTable(
  "number_pool",
  {
    e164: text("e164").primaryKey(),
    provider: text("provider").notNull(),
    numberType: text("number_type").notNull().default("local"),
    country: text("country").notNull(),
    locality: text("locality"),
    region: text("region"),
    rateCenter: text("rate_center"),
    features: jsonb("features").$type<string[]>().notNull(),
    monthlyCostCents: integer("monthly_cost_cents").notNull().default(0),
    setupCostCents: integer("setup_cost_cents").notNull().default(0),
    heldByOrganizationId: text("held_by_organization_id"),
    holdId: text("hold_id"),
    heldUntil: timestamp("held_until", { withTimezone: true }),
    ownedByOrganizationId: text("owned_by_organization_id"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("number_pool_owner_idx").on(t.ownedByOrganizationId)],
);

/** A number an organization owns (purchased from the pool or imported) and the agent it rings. */
export const phoneNumbers = pgTable(
  "phone_numbers",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull().references(() => organizations.id),
    e164: text("e164").notNull(),
    provider: text("provider").notNull(),
    defaultAgentId: text("default_agent_id").references(() => agents.id),
    monthlyCostCents: integer("monthly_cost_cents").notNull().default(0),
    features: jsonb("features").$type<string[]>().notNull(),
    imported: text("imported"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    releasedAt: timestamp("released_at", { withTimezone: true }),
  },
  (t) => [index("phone_numbers_org_idx").on(t.organizationId, t.id), uniqueIndex("phone_numbers_active_e164_idx").on(t.e164).where(sql`${t.releasedAt} is null`)],
);

/** Prepaid credit per organization, in cents (1 credit = 1 cent); number purchases debit it. */
export const wallets = pgTable("wallets", {
  organizationId: text("organization_id")
    .primaryKey()
    .references(() => organizations.id),
  balanceCents: bigint("balance_cents", { mode: "number" }).notNull().default(0),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

/** Every change to a wallet, with what caused it. */
export const walletTransactions = pgTable(
  "wallet_transactions",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull().references(() => organizations.id),
    amountCents: bigint("amount_cents", { mode: "number" }).notNull(),
    kind: text("kind").notNull(),
    reference: text("reference"),
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("wallet_transactions_org_idx").on(t.organizationId, t.id)],
);
