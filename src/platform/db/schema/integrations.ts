import { integer, jsonb, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";
import type { DiscoveredSchema } from "../../../api/integrations/contract.ts";
import { organizations } from "./organizations.ts";

/**
 * An organization's connection to one provider (made once, used by any agent's skills). Credentials are sealed
 * with the master key and cleared on disconnect; the row stays so skills built on it fail cleanly and a
 * reconnect finds its discovered schema again.
 */
export const integrations = pgTable(
  "integrations",
  {
    organizationId: text("organization_id").notNull().references(() => organizations.id),
    kind: text("kind").notNull(),
    /** connected | disconnected | error (an OAuth grant that can no longer be refreshed) */
    status: text("status").notNull(),
    /** Why the status is `error`, in words an operator can act on. */
    statusReason: text("status_reason"),
    /** Identifies the current credentials; changes on every connect so plugins drop pools made with older ones. */
    connectionId: text("connection_id").notNull(),
    sealedCredentials: text("sealed_credentials"),
    accountLabel: text("account_label"),
    connectedAt: timestamp("connected_at", { withTimezone: true }),
    /** The latest discovery snapshot, replaced by each discover. */
    schema: jsonb("schema").$type<DiscoveredSchema>(),
    discoveredAt: timestamp("discovered_at", { withTimezone: true }),
    /** Tables/objects and `object.field` columns agents may not see or bind; kept across re-discovery. */
    blockedObjects: jsonb("blocked_objects").$type<string[]>().notNull().default([]),
    blockedFields: jsonb("blocked_fields").$type<string[]>().notNull().default([]),
    /** Bumped on every change, so caches on other replicas can tell they are stale. */
    revision: integer("revision").notNull().default(1),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.kind] })],
);
