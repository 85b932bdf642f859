import { index, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { organizations } from "./organizations.ts";

/**
 * An OAuth authorization under way: made by connect, consumed once by the callback. Kept in storage (not in a
 * replica's memory) because the browser may come back to any replica. `stateHash` is the SHA-256 of the `state` sent
 * to the provider; the PKCE code verifier is sealed with the master key.
 */
export const integrationOAuthRequests = pgTable(
  "integration_oauth_requests",
  {
    stateHash: text("state_hash").primaryKey(),
    organizationId: text("organization_id").notNull().references(() => organizations.id),
    kind: text("kind").notNull(),
    sealedVerifier: text("sealed_verifier").notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("integration_oauth_requests_expires_idx").on(t.expiresAt)],
);
