import { pgTable, text, timestamp } from "drizzle-orm/pg-core";

/**
 * Which replica holds an Asterisk's Stasis application (voice/cluster/lease.ts). The holder renews `expires_at`;
 * once it has passed, any replica may take the row over. Times are the database's, so replicas' clocks never matter.
 */
export const voiceLeases = pgTable("voice_leases", {
  /** The application on one Asterisk: "<ARI_APP>@<ARI_URL>". */
  asteriskKey: text("asterisk_key").primaryKey(),
  /** The replica id (REPLICA_ID) holding it. */
  holder: text("holder").notNull(),
  acquiredAt: timestamp("acquired_at", { withTimezone: true }).notNull().defaultNow(),
  expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
});
