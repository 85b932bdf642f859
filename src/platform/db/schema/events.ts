import { sql } from "drizzle-orm";
import { bigint, customType, index, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/** Postgres's 64-bit transaction id (never wraps): which transaction wrote an event, to read only finished ones. */
const xid8 = customType<{ data: string; driverData: string }>({ dataType: () => "xid8" });

/**
 * The outbox of domain events (src/platform/events/): written in the transaction of the change that causes them,
 * read in log order, (tx_id, position), by the bus. See src/platform/events/log.ts for why the order is not position
 * alone.
 */
export const domainEvents = pgTable(
  "domain_events",
  {
    position: bigint("position", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    txId: xid8("tx_id").notNull().default(sql`pg_current_xact_id()`),
    eventId: text("event_id").notNull().unique(),
    organizationId: text("organization_id").notNull(),
    type: text("type").notNull(),
    aggregateType: text("aggregate_type").notNull(),
    aggregateId: text("aggregate_id").notNull(),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    occurredAt: timestamp("occurred_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("domain_events_log_idx").on(t.txId, t.position), index("domain_events_occurred_idx").on(t.occurredAt)],
);

/**
 * A durable subscription's cursor: the last event it handled, in log order. `owner`/`leaseUntil`: the replica
 * processing it now (one at a time across the cluster); `seenAt`: its last sign of life, for forgetting abandoned ones.
 */
export const eventSubscriptions = pgTable("event_subscriptions", {
  name: text("name").primaryKey(),
  txId: xid8("tx_id").notNull(),
  position: bigint("position", { mode: "number" }).notNull(),
  owner: text("owner"),
  leaseUntil: timestamp("lease_until", { withTimezone: true }),
  seenAt: timestamp("seen_at", { withTimezone: true }).notNull().defaultNow(),
});
